/**
 * Replies to evolution prompts (Evol-Instruct, templates/evolve_*.txt). TEST DATA ONLY: the rewrites are
 * mechanical (a constraint, a scene, a reasoning demand appended to the parent; a new task from the
 * families for breadth) and are NOT a quality model. What they are for is the elimination: a share of
 * replies carries the failures real models show — the instruction unchanged, the prompt's markers leaked
 * into the text, a refusal, the input dropped, a rewrite far too long — and, not a failure, the labels
 * models put in front of an answer (改写后的指令：, 好的，以下是…：), which the reader must strip.
 */
import type { Composer } from './composer.ts';
import type { Rng } from './random.ts';

export interface EvolveFaults {
  /** The parent's instruction given back unchanged. Default 0.06. */
  unchanged: number;
  /** A marker of the prompt left in the text (#改写后的指令# mid-text, 给定的指令, "Rewritten Prompt"). Default 0.06. */
  leaked: number;
  /** The model will not rewrite. Default 0.04. */
  refusal: number;
  /** The input section left out (only when the parent has an input). Default 0.3 of those. */
  droppedInput: number;
  /** A rewrite that keeps stacking demands, far past the bound. Default 0.04. */
  tooLong: number;
}

export const DEFAULT_EVOLVE_FAULTS: EvolveFaults = { unchanged: 0.06, leaked: 0.06, refusal: 0.04, droppedInput: 0.3, tooLong: 0.04 };

export type EvolveKind = 'rewrite' | keyof EvolveFaults;

/** The prompts' own heading of the parent (every evolve template has it). */
export function isEvolvePrompt(lastUser: string): boolean {
  return lastUser.includes('#给定的指令#');
}

/** The check model's prompt (templates/evolve_check.txt): a parent and its rewrite side by side. */
export function isEvolveCheckPrompt(lastUser: string): boolean {
  return lastUser.includes('【原指令】') && lastUser.includes('【改写后的指令】');
}

const CHECK_PAIR = /【原指令】\s*\n([\s\S]*?)\n\s*【原输入】[\s\S]*?【改写后的指令】\s*\n([\s\S]*?)\n\s*【改写后的输入】/u;

/**
 * The check model's verdict: 否 when the rewrite adds fewer than 8 characters (punctuation aside) or, at
 * the share `noGain`, at random (a strict reviewer); else 是. A mechanical rule, not a judgement.
 */
export function evolveCheckReply(lastUser: string, rng: Rng, noGain: number): string {
  const m = CHECK_PAIR.exec(lastUser);
  const bare = (t: string) => t.replace(/[\p{P}\p{S}\s]/gu, '').length;
  const added = m === null ? 0 : bare(m[2]!) - bare(m[1]!);
  if (added < 8 || rng.next() < noGain) return '否\n改写后的指令只是换了个说法，没有增加新的要求或内容。';
  return '是\n改写后的指令增加了新的要求，比原指令问得更具体。';
}

const PARENT = /#给定的指令#\s*\n([\s\S]*?)\n\s*#给定的输入#\s*\n([\s\S]*?)\n\s*\n/u;

const DEEPER = [
  '并分析背后的主要原因。',
  '同时说明在不同条件下结论会有什么变化。',
  '并比较两种常见做法各自的利弊。',
  '并指出这种做法最容易被忽视的风险。',
];
const CONSTRAINTS = [
  '不超过一百五十字',
  '分三点作答',
  '面向小学高年级学生，用浅显的语言',
  '不使用任何专业术语',
  '在结尾用一句话总结',
  '以表格以外的纯文字列出要点',
];
const SCENES = [
  '假设你是一家社区面包店的店长，',
  '以一位刚到杭州工作的应届毕业生为例，',
  '设想在一个只有十二名学生的乡村课堂上，',
  '针对一位六十五岁、刚学会用智能手机的老人，',
];
const REASONING = ['请先列出已知条件，再分步推理，最后给出结论。', '请分两步完成：先求出中间结果，再据此作出判断，并写出每一步的依据。'];
const LEAKS = ['在给定的指令基础上，', '#改写后的指令# ', 'Rewritten Prompt: ', '（改写后的指令）'];
const LABELS = ['', '', '', '改写后的指令：', '好的，以下是改写后的指令：\n', '#改写后的指令#: '];
const REFUSALS = ['抱歉，我无法改写这个指令。', '这个指令已经足够清楚，不需要改写。', '对不起，作为一个AI语言模型，我不能完成这个请求。'];

export function evolveReply(lastUser: string, composer: Composer, rng: Rng, faults: EvolveFaults): { text: string; kind: EvolveKind } {
  const m = PARENT.exec(lastUser);
  const instruction = (m?.[1] ?? '').trim();
  const input = (m?.[2] ?? '').trim();
  const hasInput = input !== '' && input !== '无';
  const r = rng.next();
  let edge = faults.unchanged;
  if (r < edge) return { text: layout(instruction, input, rng), kind: 'unchanged' };
  if (r < (edge += faults.refusal)) return { text: rng.pick(REFUSALS), kind: 'refusal' };
  // The operation is told by the template's own text, before the parent (whose words may say 推理 too).
  const head = lastUser.slice(0, Math.max(0, lastUser.indexOf('#给定的指令#')));
  const made = rewrite(head, instruction, input, composer, rng);
  let evolved = made.instruction;
  let kind: EvolveKind = 'rewrite';
  if (r < (edge += faults.leaked)) {
    const leak = rng.pick(LEAKS);
    evolved = rng.chance(0.5)
      ? leak + evolved
      : `${evolved.slice(0, Math.floor(evolved.length / 2))}${leak}${evolved.slice(Math.floor(evolved.length / 2))}`;
    kind = 'leaked';
  } else if (r < (edge += faults.tooLong)) {
    evolved = `${evolved}${Array.from({ length: 12 }, (_, i) => `第${i + 1}，${rng.pick(CONSTRAINTS)}`).join('；')}。`;
    kind = 'tooLong';
  }
  const newInput = made.input;
  if (hasInput && !isBreadth(head) && rng.chance(faults.droppedInput)) {
    return { text: rng.pick(LABELS) + evolved, kind: 'droppedInput' };
  }
  return { text: rng.pick(LABELS) + layout(evolved, newInput, rng), kind };
}

function isBreadth(prompt: string): boolean {
  return prompt.includes('全新');
}

/** The rewritten instruction, and the input the reply carries (the parent's, or a breadth task's own). */
function rewrite(prompt: string, instruction: string, input: string, composer: Composer, rng: Rng): { instruction: string; input: string } {
  const base = instruction.replace(/[。.！!？?]\s*$/u, '');
  const keep = (text: string) => ({ instruction: text, input });
  if (isBreadth(prompt)) {
    const task = composer.compose();
    return { instruction: task.instruction, input: task.input };
  }
  if (prompt.includes('推理')) return keep(`${base}。${rng.pick(REASONING)}`);
  if (prompt.includes('约束')) return keep(`${base}，要求${rng.pick(CONSTRAINTS)}。`);
  if (prompt.includes('更具体')) return keep(`${rng.pick(SCENES)}${base}。`);
  return keep(`${base}，${rng.pick(DEEPER)}`);
}

function layout(instruction: string, input: string, rng: Rng): string {
  const inputText = input === '' ? '无' : input;
  return rng.chance(0.8) ? `【指令】${instruction}\n【输入】${inputText}` : `【指令】\n${instruction}\n\n【输入】\n${inputText}`;
}
