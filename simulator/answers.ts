/**
 * Answers for the answer prompts of two-stage generation. TEST DATA ONLY: synthetic text assembled from
 * the task families' outputs and sentence frames, longer and more structured than one-stage outputs
 * (an opening, three to five numbered points, a closing), with the faults a real answer model shows:
 * refusals, placeholders, empty replies.
 */
import type { Composer } from './composer.ts';
import type { Rng } from './random.ts';

export interface AnswerFaults {
  /** The answer refuses (抱歉，我无法…). Default 0. */
  refusal: number;
  /** The answer is a stand-in (略, [在此填写答案]). Default 0. */
  placeholder: number;
  /** An empty answer. Default 0. */
  empty: number;
}

export const NO_ANSWER_FAULTS: AnswerFaults = { refusal: 0, placeholder: 0, empty: 0 };

const OPENINGS = [
  '这个问题可以从几个方面来看。',
  '下面分几点说明。',
  '简单来说，关键在于抓住主要矛盾，具体可以这样理解：',
  '结合常见的情况，我的回答如下。',
  '先给出结论，再逐条展开。',
  '可以按照下面的思路来处理。',
];
const POINT_LEADS = ['首先', '其次', '再次', '另外', '此外', '最后'];
const CLOSINGS = [
  '总的来说，把以上几点结合起来考虑，效果会更好。',
  '以上只是一般性的建议，具体还要结合实际情况调整。',
  '希望这些内容能帮你理清思路。',
  '综上所述，只要方法得当、循序渐进，问题并不难解决。',
  '如果还有具体的细节需要讨论，可以再补充说明。',
];
const REFUSALS = ['抱歉，我无法回答这个问题。', '对不起，作为一个AI语言模型，我不能提供这方面的内容。', '很遗憾，我无法完成这个请求。'];
const PLACEHOLDERS = ['略', '[在此填写答案]', '（此处填写回答）', '答案略。', '……', '待补充'];

/**
 * A generation prompt asks for tasks: it names JSON, "新任务", or a number of tasks (20 个任务, 三条指令).
 * Anything else is an answer prompt: a task to answer (two-stage generation, `answer`).
 */
const GENERATION_PROMPT = /json|新任务|(?:\d+|[一二两三四五六七八九十]+)\s*(?:个|条|道|项)\s*(?:新的?)?(?:中文)?(?:任务|指令)/i;

export function isAnswerPrompt(lastUser: string): boolean {
  return !GENERATION_PROMPT.test(lastUser);
}

/** Whether a generation prompt asks for instructions only (its item format has no output field). */
export function isInstructionOnlyPrompt(lastUser: string): boolean {
  return /\{\s*"instruction"\s*:/.test(lastUser) && !/"output"\s*:/.test(lastUser);
}

export type AnswerKind = 'answer' | 'refusal' | 'placeholder' | 'empty';

/** An answer to `question` (the prompt's last user message); the opening names the question, the rest is filler. */
export function makeAnswer(composer: Composer, rng: Rng, faults: AnswerFaults, question = ''): { text: string; kind: AnswerKind } {
  const r = rng.next();
  if (r < faults.refusal) return { text: rng.pick(REFUSALS), kind: 'refusal' };
  if (r < faults.refusal + faults.placeholder) return { text: rng.pick(PLACEHOLDERS), kind: 'placeholder' };
  if (r < faults.refusal + faults.placeholder + faults.empty) return { text: '', kind: 'empty' };
  const points = rng.between(3, 5);
  const topic = [...(question.split('\n')[0] ?? '').replace(/[？?。！!，,：:]+$/u, '')].slice(0, 24).join('');
  const lines = [topic === '' ? rng.pick(OPENINGS) : `关于“${topic}”，${rng.pick(OPENINGS)}`, ''];
  for (let i = 0; i < points; i++) {
    const lead = i === points - 1 && points > 3 ? '最后' : POINT_LEADS[Math.min(i, POINT_LEADS.length - 2)]!;
    lines.push(`${i + 1}. ${lead}，${composer.compose().output.replace(/\n+/g, ' ')}`);
  }
  lines.push('', rng.pick(CLOSINGS));
  return { text: lines.join('\n'), kind: 'answer' };
}
