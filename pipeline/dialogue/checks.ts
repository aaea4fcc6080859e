/**
 * Checks of one conversation (pure): shape, length, the task quality rules per turn, whether later turns
 * build on earlier ones, and loops. A verdict in, a reason and evidence out. Linear in the text.
 *
 * Turn count is in exchanges: one user turn followed by the assistant's reply. `--turns 2-4` keeps
 * conversations of 2 to 4 exchanges, i.e. 4 to 8 messages.
 */
import { isMainlyChinese } from '../rules/index.ts';
import { DEFAULT_FILTER_OPTIONS, taskRules, type FilterOptions } from './rules-adapter.ts';
import { DEFAULT_TURN_BOUNDS, type Turn, type TurnBounds } from './types.ts';

export type DialogueRejectReason =
  | 'starts_with_assistant'
  | 'not_alternating'
  | 'ends_on_user'
  | 'too_few_turns'
  | 'too_many_turns'
  | 'empty_turn'
  | 'no_dialogue_dependency'
  | 'degenerate_output'
  | 'not_chinese'
  /** Any reason of the task rules (instruction_too_short, refusal, …), applied per turn. */
  | (string & {});

export type DialogueVerdict = { ok: true } | { ok: false; reason: DialogueRejectReason; detail: string };

export interface DialogueCheckOptions {
  /** Exchanges allowed. Default 2–4. */
  turns: TurnBounds;
  filters: FilterOptions;
}

export const DEFAULT_DIALOGUE_CHECK_OPTIONS: DialogueCheckOptions = { turns: DEFAULT_TURN_BOUNDS, filters: DEFAULT_FILTER_OPTIONS };

/** Turn numbers in details are 1-based, as a reader counts them. */
export function checkDialogue(turns: readonly Turn[], options: Partial<DialogueCheckOptions> = {}): DialogueVerdict {
  const bounds = options.turns ?? DEFAULT_TURN_BOUNDS;
  const filters = options.filters ?? DEFAULT_FILTER_OPTIONS;
  const empty = turns.findIndex((t) => t.content.trim() === '');
  if (turns.length === 0) return reject('too_few_turns', 'no turns');
  if (empty !== -1) return reject('empty_turn', `turn ${empty + 1} (${turns[empty]!.role}) is empty`);
  if (turns[0]!.role !== 'user') return reject('starts_with_assistant', "turn 1 is the assistant's; a conversation starts with the user");
  for (let i = 1; i < turns.length; i++) {
    if (turns[i]!.role === turns[i - 1]!.role) {
      return reject('not_alternating', `turns ${i} and ${i + 1} are both ${turns[i]!.role} turns`);
    }
  }
  if (turns[turns.length - 1]!.role !== 'assistant') {
    return reject('ends_on_user', `turn ${turns.length} is the user's and has no reply`);
  }
  const exchanges = turns.length / 2;
  if (exchanges < bounds.min) return reject('too_few_turns', `${exchanges} exchanges, minimum ${bounds.min}`);
  if (exchanges > bounds.max) return reject('too_many_turns', `${exchanges} exchanges, maximum ${bounds.max}`);

  // The opening is an instruction and its reply an output; every later reply is an output of the same rules.
  const opening = openingAsTask(turns[0]!.content);
  for (let i = 1; i < turns.length; i += 2) {
    const verdict = taskRules({ ...opening, output: turns[i]!.content }, filters);
    if (!verdict.ok) return reject(verdict.reason, `turn ${i === 1 ? '1–2' : i + 1}: ${verdict.detail}`);
  }
  for (let i = 2; i < turns.length; i += 2) {
    if (!isMainlyChinese(turns[i]!.content)) return reject('not_chinese', `turn ${i + 1} (user) is not mainly Chinese`);
  }
  for (let i = 1; i < turns.length; i += 2) {
    const loop = findLoop(turns[i]!.content);
    if (loop !== undefined) return reject('degenerate_output', `turn ${i + 1}: ${loop}`);
  }
  const independent = findIndependence(turns);
  if (independent !== undefined) return reject('no_dialogue_dependency', independent);
  return { ok: true };
}

/**
 * The opening as a task: its first line is the instruction, the lines after it the input (the material
 * the user pastes: an English paragraph to translate, code), which is how the export joins a task's
 * instruction and input into one user turn.
 */
export function openingAsTask(text: string): { instruction: string; input: string } {
  const nl = text.indexOf('\n');
  return nl === -1 ? { instruction: text, input: '' } : { instruction: text.slice(0, nl).trim(), input: text.slice(nl + 1).trim() };
}

function reject(reason: DialogueRejectReason, detail: string): DialogueVerdict {
  return { ok: false, reason, detail };
}

// ---------------------------------------------------------------------------------------------------
// loops

const SENTENCE_END = /[。！？!?；;\n]+/u;
/** A sentence this often in one turn is a loop, not emphasis. */
const MAX_SENTENCE_REPEATS = 3;
/** Bigram variety below this in a long turn: the same few characters over and over. */
const MIN_DISTINCT_BIGRAM_SHARE = 0.25;
const MIN_CHARS_FOR_VARIETY = 60;

/** Why a turn looks like a generation loop, or undefined. */
export function findLoop(text: string): string | undefined {
  const counts = new Map<string, number>();
  for (const raw of text.split(SENTENCE_END)) {
    const sentence = raw.replace(/\s+/gu, '');
    if ([...sentence].length < 4) continue;
    const n = (counts.get(sentence) ?? 0) + 1;
    counts.set(sentence, n);
    if (n >= MAX_SENTENCE_REPEATS) return `the sentence "${sentence.slice(0, 30)}" appears ${n} times`;
  }
  const chars = [...text.replace(/\s+/gu, '')];
  if (chars.length >= MIN_CHARS_FOR_VARIETY) {
    const bigrams = new Set<string>();
    for (let i = 1; i < chars.length; i++) bigrams.add(chars[i - 1]! + chars[i]!);
    const share = bigrams.size / (chars.length - 1);
    if (share < MIN_DISTINCT_BIGRAM_SHARE) return `only ${Math.round(share * 100)}% of its character pairs are distinct`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// dependency between turns

/**
 * Words by which a follow-up points back. Strong ones (刚才, 你说的, 上面, 不对 …) count in any follow-up;
 * weak ones (这个, 为什么, 还有, 那…呢) only in a short one, because a long self-contained request may use
 * them about its own content (为什么天空是蓝色的？请解释这个现象并举例).
 */
const STRONG_REFERENCE = new RegExp(
  [
    '刚才',
    '刚刚',
    '上面',
    '前面',
    '之前',
    '你说',
    '你提到',
    '你讲',
    '你刚',
    '你的',
    '你给',
    '你写',
    '换个角度',
    '换一种',
    '不对',
    '错了',
    '说错',
    '有误',
    '再说',
    '再讲',
    '再举',
    '再给',
    '再来',
    '再写',
    '再简',
    '再详',
    '展开',
    '继续',
    '接着',
  ].join('|'),
  'u',
);
const WEAK_REFERENCE = new RegExp(
  [
    '这个',
    '那个',
    '这些',
    '那些',
    '这样',
    '这里',
    '这种',
    '那种',
    '其中',
    '它',
    '为什么',
    '为啥',
    '换个',
    '还有',
    '另外',
    '那么',
    '如果是',
    '^那',
    '呢[？?]?$',
    '^(?:好的?|嗯|哦|行|明白了?|谢谢|懂了)',
    '第[一二三四五六七八九十0-9]+(?:点|条|个|步)',
    '举个',
    '例子',
    '简单点',
    '通俗',
    '缩短',
    '精简',
    '改成',
    '改一下',
    '换成',
    '具体',
    '详细',
    '再',
    '加上',
    '加个',
    '加点',
    '去掉',
    '删掉',
    '太长',
    '太短',
    '不错',
    '^(?:哈哈|嗯嗯|好吧|可以|对了|ok|OK)',
    '那能',
    '那要',
    '那我',
    '那你',
    '那还',
  ].join('|'),
  'u',
);
/** Characters up to which a follow-up counts as short. */
const SHORT_FOLLOW_UP = 40;

/** Characters too common to show that two turns are about the same thing. */
const FUNCTION_CHARS = new Set([
  ...'的了是一个我你他她它在有和与及或这那不也就都要会请吗呢吧啊呀把被给让对从到为以很更最下上中些么什怎如何写说能可得地着过来去们而且但',
]);

/** Distinct content bigrams (no function character, no punctuation) of Han text. */
function contentBigrams(text: string): Set<string> {
  const out = new Set<string>();
  const chars = [...text];
  for (let i = 1; i < chars.length; i++) {
    const a = chars[i - 1]!;
    const b = chars[i]!;
    if (!HAN.test(a) || !HAN.test(b) || FUNCTION_CHARS.has(a) || FUNCTION_CHARS.has(b)) continue;
    out.add(a + b);
  }
  return out;
}
const HAN = /^\p{Script=Han}$/u;

/**
 * With no reference word, a follow-up must share at least this many content bigrams with earlier turns,
 * and at least this share of its own: boilerplate (要求, 篇幅, 左右) is shared by unrelated requests too.
 */
const MIN_SHARED_BIGRAMS = 2;
const MIN_SHARED_SHARE = 0.2;
/** Character-bigram Dice coefficient at or above which a reply repeats an earlier one. */
const REPEAT_DICE = 0.8;

/** Evidence that a later exchange ignores the earlier ones, or undefined. */
export function findIndependence(turns: readonly Turn[]): string | undefined {
  const earlier = new Set<string>();
  const addAll = (s: Set<string>): void => s.forEach((g) => earlier.add(g));
  addAll(contentBigrams(turns[0]!.content));
  if (turns[1] !== undefined) addAll(contentBigrams(turns[1].content));
  const replies: Set<string>[] = turns[1] === undefined ? [] : [allBigrams(turns[1].content)];
  for (let i = 2; i + 1 < turns.length; i += 2) {
    const question = turns[i]!.content;
    const answer = turns[i + 1]!.content;
    const own = contentBigrams(question);
    const ignores = ignoresHistory(question, own, earlier, i);
    if (ignores !== undefined) return ignores;
    const mine = allBigrams(answer);
    for (let j = 0; j < replies.length; j++) {
      const dice = diceOf(mine, replies[j]!);
      if (dice >= REPEAT_DICE) {
        return `turn ${i + 2} (assistant) repeats turn ${2 * j + 2} (character-pair overlap ${dice.toFixed(2)})`;
      }
    }
    replies.push(mine);
    addAll(own);
    addAll(contentBigrams(answer));
  }
  return undefined;
}

/** Why the user turn at 0-based `at` ignores the turns before it (whose content bigrams are `earlier`), or undefined. */
function ignoresHistory(question: string, own: Set<string>, earlier: ReadonlySet<string>, at: number): string | undefined {
  const reference =
    STRONG_REFERENCE.exec(question)?.[0] ?? ([...question].length <= SHORT_FOLLOW_UP ? WEAK_REFERENCE.exec(question)?.[0] : undefined);
  if (reference !== undefined) return undefined;
  let shared = 0;
  const sharedExamples: string[] = [];
  for (const g of own) {
    if (earlier.has(g)) {
      shared++;
      if (sharedExamples.length < 3) sharedExamples.push(g);
    }
  }
  if (shared >= MIN_SHARED_BIGRAMS && shared >= MIN_SHARED_SHARE * own.size) return undefined;
  return (
    `turn ${at + 1} (user) neither refers to turns 1–${at} (no word like 刚才/这个/为什么/展开) nor shares their content` +
    (shared === 0 ? ' (no shared word)' : ` (only ${shared} of its ${own.size} word pairs shared: "${sharedExamples.join('", "')}")`)
  );
}

/**
 * The checks of one follow-up user turn written after `turns` (a conversation so far, ending on a reply),
 * as `checkDialogue` makes them once its reply is there: not empty, mainly Chinese, building on what came
 * before. Lets a conversation built turn by turn reject a follow-up before its reply is paid for.
 */
export function checkFollowUp(turns: readonly Turn[], question: string): DialogueVerdict {
  const at = turns.length;
  if (question.trim() === '') return reject('empty_turn', `turn ${at + 1} (user) is empty`);
  if (!isMainlyChinese(question)) return reject('not_chinese', `turn ${at + 1} (user) is not mainly Chinese`);
  const earlier = new Set<string>();
  for (const t of turns) for (const g of contentBigrams(t.content)) earlier.add(g);
  const ignores = ignoresHistory(question, contentBigrams(question), earlier, at);
  return ignores === undefined ? { ok: true } : reject('no_dialogue_dependency', ignores);
}

function allBigrams(text: string): Set<string> {
  const chars = [...text.replace(/\s+/gu, '')];
  const out = new Set<string>();
  for (let i = 1; i < chars.length; i++) out.add(chars[i - 1]! + chars[i]!);
  return out;
}

function diceOf(a: Set<string>, b: Set<string>): number {
  if (a.size + b.size === 0) return 1;
  let both = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const g of small) if (large.has(g)) both++;
  return (2 * both) / (a.size + b.size);
}
