/**
 * Rules for an answer written in its own request. Pure and total: model output in, a verdict out, in
 * linear time. A rejected answer is stored with its reason and the task waits for another attempt.
 */
import { normalize } from '../dedup/similarity.ts';
import { injectionRule } from '../rules/injection.ts';
import { refusalRule } from '../rules/refusal.ts';
import { scriptRule } from '../rules/script.ts';
import { secretRule } from '../rules/secret.ts';
import { DEFAULT_RULE_OPTIONS } from '../rules/types.ts';
import { cleanField, isAboutEscaping } from '../text.ts';

export type AnswerRejectReason =
  | 'empty'
  | 'truncated'
  | 'refusal'
  | 'placeholder'
  | 'repeats_prompt'
  | 'garbled'
  | 'contains_secret'
  | 'prompt_injection'
  | 'script_markup';
export const ANSWER_REJECT_REASONS: readonly AnswerRejectReason[] = [
  'empty',
  'truncated',
  'refusal',
  'placeholder',
  'repeats_prompt',
  'garbled',
  'contains_secret',
  'prompt_injection',
  'script_markup',
];

export type AnswerVerdict = { ok: true; output: string } | { ok: false; output: string; reason: AnswerRejectReason; detail: string };

/** A whole answer that is only a stand-in: 略, 待补充, ……, TODO, [答案], （此处填写回答）. */
const PLACEHOLDER_WHOLE = new RegExp(
  '^[\\[【(（<《{]*\\s*(?:' +
    [
      '(?:此处|这里|在此)?(?:请)?(?:填写|填入|输入|插入|补充)?(?:你的|您的)?(?:答案|回答|回复|输出|内容)(?:略|待补充)?',
      '略',
      '答案略',
      '同上',
      '待补充',
      '待完善',
      '暂无',
      '无',
      'todo',
      'tbd',
      'n/a',
      'xxx+',
      'answer',
      'output',
      'response',
      '[.。…·、\\-—_]+',
    ].join('|') +
    ')\\s*[\\]】)）>》}]*[。.!！]?$',
  'iu',
);
/** A fill-in marker anywhere in an answer: [在此填写…], 【此处插入…】, {{output}}, <回答>. */
const PLACEHOLDER_PART =
  /[[【<{]\s*(?:在此|此处|这里)(?:填写|填入|插入|补充|输入)[^\]】>}\n]{0,30}[\]】>}]|\{\{\s*(?:output|answer|回答|答案)\s*\}\}|<\s*(?:回答|答案|输出)\s*>/iu;

export interface AnswerToCheck {
  output: string;
  finishReason: string | null;
  instruction: string;
  input: string;
  /** Literal secrets the answer must not contain (the run's keys); API-key-shaped strings are caught anyway. */
  secrets?: readonly string[];
}

export function checkAnswer(a: AnswerToCheck): AnswerVerdict {
  const output = cleanField(a.output, { unescape: !isAboutEscaping(a.instruction) });
  const reject = (reason: AnswerRejectReason, detail: string): AnswerVerdict => ({ ok: false, output, reason, detail });
  // Cut off by max_tokens: the end of the answer is missing, whatever it says.
  if (a.finishReason === 'length') return reject('truncated', 'finish_reason is length (max_tokens reached)');
  if (output === '') return reject('empty', 'the answer is empty');
  // What a task may never carry, an answer may not either: it is exported as the task's output.
  if (output.includes('\uFFFD')) return reject('garbled', 'the answer has a replacement character (text lost in decoding)');
  const answerOnly = { instruction: a.instruction, input: '', output };
  const unsafe =
    secretRule({ instruction: '', input: '', output }, { ...DEFAULT_RULE_OPTIONS, secrets: a.secrets ?? [] }, {}) ??
    injectionRule(answerOnly, DEFAULT_RULE_OPTIONS, {}) ??
    scriptRule(answerOnly, DEFAULT_RULE_OPTIONS, {});
  if (unsafe !== undefined) return reject(unsafe.reason as AnswerRejectReason, unsafe.detail.replace(/^output/, 'answer'));
  // The task rules' refusal test, with the task: a story's or a dialogue's apology is content.
  const refusal = refusalRule({ instruction: a.instruction, input: a.input, output }, DEFAULT_RULE_OPTIONS, {});
  if (refusal !== undefined) return reject('refusal', refusal.detail.replace(/^output/, 'answer'));
  if (PLACEHOLDER_WHOLE.test(output)) return reject('placeholder', `the answer is only "${output.slice(0, 20)}"`);
  const part = PLACEHOLDER_PART.exec(output)?.[0];
  if (part !== undefined) return reject('placeholder', `answer contains "${part}"`);
  const key = normalize(output);
  if (key === normalize(a.instruction) || (a.input !== '' && key === normalize(a.input))) {
    return reject('repeats_prompt', 'the answer repeats the instruction or the input');
  }
  return { ok: true, output };
}
