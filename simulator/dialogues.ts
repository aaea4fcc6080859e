/**
 * Synthetic multi-turn conversations for dialogue prompts. TEST DATA ONLY: assembled from the task
 * composer and follow-up frames, never training data. Follow-ups point back at the previous reply
 * (追问, 纠正, 要求展开, 换个角度); a share of conversations is broken the ways models break them (two
 * user turns in a row, an empty turn, ending on the user, a follow-up that ignores the history, a reply
 * repeated, a loop, too few exchanges), and the reply comes in every shape the pipeline parses.
 */
import type { Composer } from './composer.ts';
import type { SimTask } from './families/common.ts';
import { AUDIENCES } from './lexicon.ts';
import { nearDuplicate } from './noise.ts';
import type { Rng } from './random.ts';

export type DialogueFlaw = 'two_users' | 'empty_turn' | 'ends_on_user' | 'ignores_history' | 'repeats_answer' | 'loop' | 'too_few';
export const DIALOGUE_FLAWS: readonly DialogueFlaw[] = [
  'two_users',
  'empty_turn',
  'ends_on_user',
  'ignores_history',
  'repeats_answer',
  'loop',
  'too_few',
];

export type DialogueShape = 'json-conversations' | 'sharegpt' | 'messages' | 'turn-arrays' | 'text-zh' | 'text-qa' | 'fenced';
export const DIALOGUE_SHAPES: readonly DialogueShape[] = [
  'json-conversations',
  'sharegpt',
  'messages',
  'turn-arrays',
  'text-zh',
  'text-qa',
  'fenced',
];

export interface SimTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface SimDialogue {
  turns: SimTurn[];
  flaw: DialogueFlaw | null;
  /** A near-duplicate of an earlier opening. */
  near: boolean;
}

/** The prompt asks for "N 段…对话" and "MIN 到 MAX 轮"; absent, 5 and 2–4. */
export function dialogueRequest(prompt: string): { count: number; min: number; max: number } {
  const count = /(\d{1,3})\s*段/.exec(prompt);
  const turns = /(\d{1,2})\s*到\s*(\d{1,2})\s*轮/.exec(prompt);
  const min = turns === null ? 2 : Math.max(1, Number(turns[1]));
  const max = turns === null ? 4 : Math.max(min, Number(turns[2]));
  return { count: count === null ? 5 : Math.min(50, Math.max(1, Number(count[1]))), min, max };
}

/** Whether a prompt asks for conversations rather than tasks. */
export function isDialoguePrompt(prompt: string): boolean {
  return prompt.includes('多轮对话');
}

/** Whether a prompt asks for the user's next turn of a conversation it shows (conversations built turn by turn). */
export function isFollowUpPrompt(prompt: string): boolean {
  return prompt.includes('扮演这位用户');
}

/**
 * The user's next turn: a follow-up frame quoting the last reply of the conversation the prompt shows
 * (the text after its last 助手： label, up to the prompt's closing paragraph).
 */
export function followUpReply(prompt: string, rng: Rng): string {
  const at = prompt.lastIndexOf('助手：');
  let last = at === -1 ? '' : prompt.slice(at + 3);
  const end = last.lastIndexOf('\n\n');
  if (end !== -1) last = last.slice(0, end);
  return rng.pick(FOLLOW_UPS)(fragmentOf(last, rng), rng).user;
}

const FOLLOW_UPS: readonly ((frag: string, rng: Rng) => { user: string; lead: string })[] = [
  (f) => ({ user: `你刚才说的“${f}”，能再展开讲讲吗？`, lead: `好的，关于“${f}”，再具体说一下：` }),
  (f) => ({ user: `为什么是“${f}”？我没太明白。`, lead: `这个问题问得好，“${f}”是这样考虑的：` }),
  (f) => ({ user: `不对吧，“${f}”这里好像有问题，你再核对一下？`, lead: '谢谢指出，这里我说得不够准确，更正如下：' }),
  (_f, rng) => ({ user: `能不能换个角度，讲给${rng.pick(AUDIENCES)}听？`, lead: '好的，换一种说法：' }),
  (f) => ({ user: `那如果不考虑“${f}”呢？`, lead: `如果把“${f}”放在一边，可以这样看：` }),
  (f) => ({ user: `嗯，“${f}”这一点能举个例子吗`, lead: `可以，围绕“${f}”举个例子：` }),
];
/** Follow-ups of a user who forgot the conversation: fresh tasks with no word pointing back. */
const POINTS_BACK =
  /刚才|上面|前面|之前|你说|这个|那个|这些|那些|这样|这里|这种|其中|它|为什么|换个|展开|详细|具体|不对|还有|另外|如果|^那|呢/u;

/** A short phrase of a reply to quote back: the start of one of its runs of Han characters. */
function fragmentOf(text: string, rng: Rng): string {
  const runs = text.split(/[^\p{Script=Han}]+/u).filter((c) => [...c].length >= 4);
  if (runs.length === 0) return '这一点';
  const chars = [...rng.pick(runs)];
  return chars.slice(0, Math.min(chars.length, rng.between(4, 8))).join('');
}

const opening = (t: SimTask): string => (t.input === '' ? t.instruction : `${t.instruction}\n${t.input}`);

export interface DialogueMaker {
  make(min: number, max: number, flawRate: number, nearRate: number): SimDialogue;
}

/** `history` is shared with task replies, so a conversation may open like an earlier task (or the other way round). */
export function dialogueMaker(composer: Composer, rng: Rng, history: SimTask[], remember: (t: SimTask) => void): DialogueMaker {
  const freshFollowUp = (): SimTask => {
    for (let i = 0; i < 20; i++) {
      const t = composer.compose();
      if (!POINTS_BACK.test(t.instruction) && t.input === '') return t;
    }
    return {
      instruction: '介绍一下长城的历史。',
      input: '',
      output: '长城始建于春秋战国时期，秦朝把各国长城连接起来，明朝又大规模修筑，现存的大多是明长城。',
      category: '知识',
    };
  };
  return {
    make(min, max, flawRate, nearRate) {
      const near = history.length > 0 && rng.chance(nearRate);
      const first = near ? nearDuplicate(rng.pick(history), rng) : composer.compose();
      if (!near) remember(first);
      const flaw = rng.chance(flawRate) ? rng.pick(DIALOGUE_FLAWS) : null;
      const exchanges = flaw === 'too_few' ? Math.max(0, min - 1) : rng.between(min, max);
      const turns: SimTurn[] = [
        { role: 'user', content: opening(first) },
        { role: 'assistant', content: first.output },
      ];
      const broken = 1 + rng.int(Math.max(1, exchanges - 1));
      for (let k = 1; k < Math.max(1, exchanges); k++) {
        const previous = turns[turns.length - 1]!.content;
        if (flaw === 'ignores_history' && k === broken) {
          const t = freshFollowUp();
          turns.push({ role: 'user', content: t.instruction }, { role: 'assistant', content: t.output });
          continue;
        }
        const { user, lead } = rng.pick(FOLLOW_UPS)(fragmentOf(previous, rng), rng);
        const body = composer.compose().output;
        const reply =
          flaw === 'repeats_answer' && k === broken
            ? first.output
            : flaw === 'loop' && k === broken
              ? `${lead}${'这一点非常重要。'.repeat(5)}`
              : `${lead}${body}`;
        turns.push({ role: 'user', content: user }, { role: 'assistant', content: reply });
      }
      if (flaw === 'two_users') turns.splice(1, 0, { role: 'user', content: rng.pick(['在吗？', '你好，想问个问题', '急，在线等']) });
      if (flaw === 'empty_turn') turns[2 * rng.int(turns.length / 2) + 1]!.content = '';
      if (flaw === 'ends_on_user')
        turns.push({ role: 'user', content: rng.pick(['那还有别的办法吗？', '好的，那下一步呢？', '明白了，还有吗？']) });
      if (exchanges === 0) turns.length = 1;
      return { turns, flaw, near };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// reply shapes

const CHATTER = ['好的，下面是按要求写的几段多轮对话：', '没问题，以下是生成的对话数据：', '根据你的要求，我写了这些对话。'];

export function renderDialogues(dialogues: readonly SimDialogue[], shape: DialogueShape, rng: Rng): string {
  const roleTurns = (d: SimDialogue) => d.turns.map((t) => ({ role: t.role, content: t.content }));
  switch (shape) {
    case 'json-conversations':
      return JSON.stringify(
        dialogues.map((d) => ({ conversations: roleTurns(d) })),
        null,
        rng.chance(0.5) ? 2 : undefined,
      );
    case 'sharegpt':
      return JSON.stringify(
        dialogues.map((d) => ({
          conversations: d.turns.map((t) => ({ from: t.role === 'user' ? 'human' : 'gpt', value: t.content })),
        })),
      );
    case 'messages':
      return JSON.stringify({ dialogues: dialogues.map((d) => ({ messages: roleTurns(d) })) }, null, 2);
    case 'turn-arrays':
      return JSON.stringify(dialogues.map(roleTurns));
    case 'fenced': {
      const json = JSON.stringify(
        dialogues.map((d) => ({ conversations: roleTurns(d) })),
        null,
        2,
      );
      return `${rng.pick(CHATTER)}\n\n\`\`\`json\n${json}\n\`\`\`\n\n希望对你有帮助！`;
    }
    case 'text-zh':
    case 'text-qa': {
      const [u, a] = shape === 'text-zh' ? ['用户：', '助手：'] : ['Q: ', 'A: '];
      const line = (t: SimTurn): string => `${t.role === 'user' ? u : a}${t.content}`;
      const blocks = dialogues.map((d, i) => [`### 对话${i + 1}`, ...d.turns.map(line)].join('\n'));
      return `${rng.pick(CHATTER)}\n\n${blocks.join('\n\n')}\n\n---\n如需更多对话，请告诉我。`;
    }
  }
}
