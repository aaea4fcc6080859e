/**
 * Reading an evolution reply: total (never throws) and linear. The scaffolding the prompt asked for
 * (【指令】/【输入】) and the labels models put in front of an answer (改写后的指令：, "#Rewritten Prompt#:",
 * 好的，以下是…：) are stripped; what remains is eliminated, with a stored reason, when it is no gain, leaks
 * the prompt's words, copies the parent's answer, refuses, grows past the bound or drops the input.
 */
import { normalize } from '../dedup/similarity.ts';
import { refusalRule } from '../rules/refusal.ts';
import { DEFAULT_RULE_OPTIONS } from '../rules/index.ts';
import { charLength, cleanField, cleanInput } from '../text.ts';
import { OPS_CHANGING_INPUT, type EvolveOp } from './ops.ts';

export const EVOLVE_REASONS = [
  'evolve_no_gain',
  'evolve_leaked_marker',
  'evolve_copies_answer',
  'evolve_refusal',
  'evolve_too_long',
  'evolve_dropped_input',
] as const;
export type EvolveReason = (typeof EVOLVE_REASONS)[number];

export interface EvolveParent {
  instruction: string;
  input: string;
  /** The parent's answer (its own output, or an accepted answer); '' when unknown. */
  answer: string;
}

export type EvolveReading =
  | { ok: true; instruction: string; input: string }
  | { ok: false; reason: EvolveReason; detail: string; instruction: string; input: string };

/** More than any instruction worth keeping; the rest is not read (keeps the reader linear and bounded). */
const MAX_READ = 20_000;

/** Section headers of the reply layout, as asked (【指令】) or as models vary them (#输入#, 指令：). */
const HEADER = /^[ \t]*(?:【\s*(指令|输入)\s*】|#\s*(指令|输入)\s*#|(指令|输入)[ \t]*[:：])[ \t]*[:：]?[ \t]*/gmu;

/** A label in front of the text: scaffolding to strip, not content (distilabel keeps what follows it too). */
const LEADING_LABEL =
  /^\s*(?:#\s*)?(?:改写后的指令|改写后指令|改写的指令|新的指令|新指令|创建的指令|rewritten\s+prompt|created\s+prompt|new\s+prompt)\s*#?\s*[:：]?\s*/iu;
/** A first line that only announces the answer: 好的，以下是改写后的指令：. */
const PREAMBLE = /^\s*(?:好的|当然|没问题|以下是|下面是|这是|here\s+is|sure)[^\n]{0,40}[:：]\s*\n/iu;

/**
 * The prompt's own words in the text: the model copied the scaffolding into the data. Bare 给定的输入 is
 * left alone: "对给定的输入数组排序" is an ordinary programming task; only its #…# heading form is a leak.
 */
const LEAKED =
  /#\s*(?:给定的?指令|给定的?输入|改写后的?指令|创建的指令|原始指令|新指令|指令|输入)\s*#|【\s*(?:指令|输入)\s*】|给定的?指令|改写后的?指令|原始指令|原指令|(?:rewritten|given|created)\s+prompt|#\s*prompt\s*#/iu;

/** The model says it will not or cannot rewrite: not a task. */
const WONT_REWRITE = /^[^\n]{0,20}(?:无法|不能|没法|不便|不需要|无需)(?:对[^\n]{0,10})?(?:改写|修改|重写|进一步改|创作|生成)/u;

/** Values of an input slot that mean "no input". */
const NO_INPUT = /^[（(]?\s*(?:无|没有|空|无输入|不需要输入|none|n\/a)\s*[)）]?[。.]?$/iu;

export interface EvolveLimits {
  /** Characters the instruction may grow by (see ops.maxAdded). */
  maxAdded: number;
}

export function readEvolution(reply: string, parent: EvolveParent, op: EvolveOp, limits: EvolveLimits): EvolveReading {
  try {
    return readUnsafe(reply, parent, op, limits);
  } catch (err) {
    // Every step above is total; should one ever throw, the reply is eliminated, not the run.
    return { ok: false, reason: 'evolve_no_gain', detail: `reader error: ${String(err).slice(0, 200)}`, instruction: '', input: '' };
  }
}

function readUnsafe(reply: string, parent: EvolveParent, op: EvolveOp, limits: EvolveLimits): EvolveReading {
  let text = reply.slice(0, MAX_READ).replace(/\r\n?/g, '\n');
  text = text.replace(/^\s*```[a-z]*\s*\n?/iu, '').replace(/\n?```\s*$/u, '');
  text = text.replace(PREAMBLE, '');
  for (let i = 0; i < 3; i++) {
    const stripped = text.replace(LEADING_LABEL, '');
    if (stripped === text) break;
    text = stripped;
  }
  const sections = splitSections(text);
  const instruction = unquote(cleanField(sections.instruction));
  const rawInput = sections.input === undefined ? undefined : cleanInput(sections.input);
  const givenInput = rawInput === undefined || NO_INPUT.test(rawInput) ? '' : rawInput;
  const input = OPS_CHANGING_INPUT.has(op) ? givenInput : parent.input;
  const fail = (reason: EvolveReason, detail: string): EvolveReading => ({ ok: false, reason, detail, instruction, input });

  if (WONT_REWRITE.test(instruction)) return fail('evolve_refusal', `reply ${quote(instruction)}`);
  const refusal = refusalRule({ instruction: parent.instruction, input: '', output: instruction }, DEFAULT_RULE_OPTIONS, {});
  if (refusal !== undefined) return fail('evolve_refusal', refusal.detail.replace(/^output/, 'reply'));

  const leak = LEAKED.exec(instruction) ?? (OPS_CHANGING_INPUT.has(op) ? LEAKED.exec(input) : null);
  if (leak !== null) return fail('evolve_leaked_marker', `"${leak[0]}" in the evolved text`);

  // Told to copy the input: a reply without it was made as if there were none (or with the input inlined).
  if (parent.input.trim() !== '' && op !== 'breadth' && givenInput === '') {
    return fail('evolve_dropped_input', 'the parent has an input and the reply gives none');
  }

  if (normalize(stripPunctuation(instruction + input)) === normalize(stripPunctuation(parent.instruction + parent.input))) {
    return fail('evolve_no_gain', 'equal to the parent after normalization');
  }

  const copied = copiesAnswer(instruction, parent.answer);
  if (copied !== undefined) return fail('evolve_copies_answer', copied);

  const parentChars = charLength(parent.instruction);
  const bound = parentChars + limits.maxAdded;
  const chars = charLength(instruction);
  if (chars > bound) return fail('evolve_too_long', `instruction ${chars} characters, bound ${bound} (parent ${parentChars})`);
  if (OPS_CHANGING_INPUT.has(op)) {
    const inputBound = Math.max(charLength(parent.input) * 2, 0) + limits.maxAdded * 2;
    const inputChars = charLength(input);
    if (inputChars > inputBound) return fail('evolve_too_long', `input ${inputChars} characters, bound ${inputBound}`);
  }
  return { ok: true, instruction, input };
}

/** The instruction section (text before the first header, or after 【指令】) and the input section, if any. */
function splitSections(text: string): { instruction: string; input: string | undefined } {
  const headers: { kind: string; start: number; end: number }[] = [];
  for (const m of text.matchAll(HEADER)) {
    headers.push({ kind: m[1] ?? m[2] ?? m[3] ?? '', start: m.index, end: m.index + m[0].length });
  }
  if (headers.length === 0) return { instruction: text, input: undefined };
  const body = (i: number): string => text.slice(headers[i]!.end, headers[i + 1]?.start ?? text.length);
  const firstInstruction = headers.findIndex((h) => h.kind === '指令');
  const firstInput = headers.findIndex((h) => h.kind === '输入');
  let instruction = firstInstruction >= 0 ? body(firstInstruction) : text.slice(0, headers[0]!.start);
  // Text before the first header when that header is 【指令】 is a preamble (already stripped) or noise.
  if (firstInstruction < 0 && instruction.trim() === '') instruction = '';
  // A second 【指令】 section is left in the text, so the leak check sees it.
  for (let i = firstInstruction + 1; firstInstruction >= 0 && i < headers.length; i++) {
    if (headers[i]!.kind === '指令') instruction += `\n${text.slice(headers[i]!.start, headers[i]!.end)}${body(i)}`;
  }
  return { instruction, input: firstInput >= 0 ? body(firstInput) : undefined };
}

function unquote(s: string): string {
  const m = /^[“"「『]([\s\S]*)[”"」』]$/u.exec(s);
  return m === null || /[“”"「」『』]/u.test(m[1]!) ? s : m[1]!.trim();
}

function stripPunctuation(s: string): string {
  return s.replace(/[\p{P}\p{S}]/gu, '');
}

/** Shortest answer worth comparing, and the n-gram length of the comparison. */
const MIN_ANSWER = 12;
const GRAM = 8;
const MAX_ANSWER = 4_000;

/**
 * The instruction holds the parent's answer: the model answered (or pasted the answer) instead of
 * rewriting. Whole answer inside, or at least half of its 8-grams.
 */
function copiesAnswer(instruction: string, answer: string): string | undefined {
  const a = normalize(stripPunctuation(answer.slice(0, MAX_ANSWER)));
  if (a.length < MIN_ANSWER) return undefined;
  const t = normalize(stripPunctuation(instruction));
  if (t.includes(a)) return 'the instruction contains the parent answer';
  if (a.length < GRAM * 3) return undefined;
  const grams = new Set<string>();
  for (let i = 0; i + GRAM <= t.length; i++) grams.add(t.slice(i, i + GRAM));
  let total = 0;
  let found = 0;
  for (let i = 0; i + GRAM <= a.length; i += GRAM) {
    total++;
    if (grams.has(a.slice(i, i + GRAM))) found++;
  }
  return total > 0 && found / total >= 0.5 ? `${Math.round((100 * found) / total)}% of the parent answer is in the instruction` : undefined;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
