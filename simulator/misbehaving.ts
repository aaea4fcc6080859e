/**
 * Replies of a model that never gives a usable task, for the pipeline's yield guard: TEST TOOL.
 * - `degenerate`: a repetition loop that runs until max_tokens (nested brackets, a key repeated),
 *   the kind of reply a model stuck in a loop sends, cut off with finish_reason "length";
 * - `chatter`: polite Chinese text that talks about the tasks instead of writing them (a small local
 *   model that ignores the JSON instruction, a provider's content filter).
 */
import type { Rng } from './random.ts';

/** normal: the usual synthetic tasks; the others never hold a task. */
export const REPLY_MODES = ['normal', 'degenerate', 'chatter'] as const;
export type ReplyMode = (typeof REPLY_MODES)[number];

/** Longest degenerate reply when the request sets no max_tokens. */
const MAX_DEGENERATE_CHARS = 64 * 1024;

const LOOPS: readonly ((rng: Rng) => string)[] = [
  () => '[',
  () => '{"instruction": [',
  () => '{"任务": {"指令": ',
  (rng) => (rng.chance(0.5) ? '[{' : '{['),
  () => '```json\n[',
];

/**
 * A loop unit repeated to the token limit. Every character here is ASCII, which the simulator's
 * token estimate counts four to a token, so `maxTokens * 4` characters fill the limit exactly.
 */
export function degenerateReply(rng: Rng, maxTokens: number | undefined): string {
  const chars = maxTokens === undefined ? MAX_DEGENERATE_CHARS : Math.min(maxTokens * 4, 4 * MAX_DEGENERATE_CHARS);
  const unit = rng.pick(LOOPS)(rng);
  const lead = rng.chance(0.5) ? '' : 'Sure! Here are the tasks:\n';
  return (lead + unit.repeat(Math.ceil(chars / unit.length))).slice(0, chars);
}

const OPENINGS = [
  '好的，很高兴能帮您设计一批中文任务！',
  '没问题，我来帮您想一想。',
  '感谢您的耐心说明。',
  '明白了，您需要的是一组多样的指令。',
];
const MIDDLES = [
  '在动笔之前，我想先确认几件事：这些任务是给哪个年龄段的用户准备的？',
  '不同领域的任务难度差别很大，写作类和数学类最好分开考虑。',
  '一个好的指令应当清楚、具体，并且能让回答者一眼看出要做什么。',
  '如果您能再提供几个您特别满意的例子，我就能更好地把握风格。',
  '另外，输出的长度是否需要严格控制在规定的字数以内？',
];
const CLOSINGS = ['请告诉我您的想法，我再继续。', '期待您的回复！', '如有其他要求，欢迎随时补充。'];

/** Two to four friendly sentences about the request, and no task. */
export function chatterReply(rng: Rng): string {
  return [rng.pick(OPENINGS), ...rng.sample(MIDDLES, rng.between(1, 3)), rng.pick(CLOSINGS)].join('');
}
