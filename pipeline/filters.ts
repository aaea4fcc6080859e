/**
 * Quality filters for generated tasks. Pure: a task in, a verdict out. Written for Chinese: lengths are
 * counted in characters, not whitespace-separated words, and "is this Chinese" looks at Han characters
 * rather than at the first byte.
 */
import type { Task } from './types.ts';
import { charLength } from './text.ts';
import { normalize } from './dedup/similarity.ts';

export type RejectReason =
  | 'instruction_too_short'
  | 'instruction_too_long'
  | 'needs_non_text'
  | 'starts_with_punctuation'
  | 'not_chinese'
  | 'empty_output'
  | 'refusal'
  | 'output_equals_input'
  | 'near_duplicate'
  | 'target_reached';

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

export interface FilterOptions {
  /** Shortest instruction kept, in characters. Default 4 (写一首诗 is a task). */
  minInstructionChars: number;
  /** Longest instruction kept, in characters. Default 400. */
  maxInstructionChars: number;
}

export const DEFAULT_FILTER_OPTIONS: FilterOptions = { minInstructionChars: 4, maxInstructionChars: 400 };

/** Things a text-only model cannot take in or produce. Checked in the instruction. */
const NON_TEXT_ZH = [
  '图片', '图像', '照片', '视频', '音频', '音乐', '绘制', '画一', '流程图', '图表', '链接', '网址', '文件', '附件',
  '截图', '录音', '录像', '扫描件', '上传',
];
const NON_TEXT_EN = /\b(?:images?|pictures?|photos?|photographs?|draw(?:ing)?|sketch|videos?|audio|music|songs?|graphs?|charts?|diagrams?|flowcharts?|links?|urls?|files?|attachments?|screenshots?|upload)\b/i;

/** Refusals and the model talking about itself; checked in the output. */
const REFUSAL = new RegExp(
  [
    '作为一个?(?:AI|人工智能|语言模型|大?语言模型|智能助手|机器人)',
    '(?:AI|人工智能)语言模型',
    '(?:抱歉|对不起|很遗憾)[，,]?\\s*(?:我|作为)',
    '我(?:无法|不能)(?:回答|提供|完成|满足|协助|帮助)',
    'as an ai', 'language model', "i'?m sorry", 'i cannot', "i can'?t assist",
    'chatgpt', 'openai', '\\bgpt(?:-?\\d(?:\\.\\d)?)?\\b',
  ].join('|'),
  'iu',
);

/**
 * Leading punctuation means a fragment of something (a cut list item, a stray quote close).
 * Opening brackets and quotes are fine: 《红楼梦》的作者是谁？ is a task.
 */
const LEADING_PUNCTUATION = /^[\p{Pd}\p{Pe}\p{Pf}\p{Po}\p{Sm}]/u;
const ALLOWED_LEADING = new Set(['"', "'", '“', '‘', '#', '@', '¿', '¡', '*', '&', '%']);

const HAN = /\p{Script=Han}/gu;
const LATIN_WORD = /[A-Za-z]+/g;

/**
 * "Mainly Chinese": at least two Han characters, and no fewer Han characters than Latin words. A
 * Chinese instruction may quote English (解释Python中的list comprehension); an English sentence with a
 * Chinese word in it is not kept.
 */
export function isMainlyChinese(s: string): boolean {
  const han = s.match(HAN)?.length ?? 0;
  const latinWords = s.match(LATIN_WORD)?.length ?? 0;
  return han >= 2 && han >= latinWords;
}

export function checkTask(task: Task, options: FilterOptions = DEFAULT_FILTER_OPTIONS): Verdict {
  const verdict = checkInstruction(task, options);
  if (!verdict.ok) return verdict;
  const { input, output } = task;
  if (output.trim() === '') return reject('empty_output', 'output is empty');
  const refusal = findRefusal(output);
  if (refusal !== undefined) return reject('refusal', `output contains "${refusal}"`);
  if (input !== '' && normalize(input) === normalize(output)) {
    return reject('output_equals_input', 'output repeats the input');
  }
  return { ok: true };
}

/** The refusal or self-talk phrase in a text, if any (作为一个AI语言模型, 抱歉，我无法, ChatGPT …). */
export function findRefusal(text: string): string | undefined {
  return REFUSAL.exec(text)?.[0];
}

/** The instruction's filters alone: stage 1 of a two-stage run, whose tasks have no output yet. */
export function checkInstruction(task: Task, options: FilterOptions = DEFAULT_FILTER_OPTIONS): Verdict {
  const { instruction } = task;
  const length = charLength(instruction);
  if (length < options.minInstructionChars) {
    return reject('instruction_too_short', `${length} characters, minimum ${options.minInstructionChars}`);
  }
  if (length > options.maxInstructionChars) {
    return reject('instruction_too_long', `${length} characters, maximum ${options.maxInstructionChars}`);
  }
  const word = NON_TEXT_ZH.find((w) => instruction.includes(w)) ?? NON_TEXT_EN.exec(instruction)?.[0];
  if (word !== undefined) return reject('needs_non_text', `instruction mentions "${word}"`);
  const first = instruction[0]!;
  if (LEADING_PUNCTUATION.test(first) && !ALLOWED_LEADING.has(first)) {
    return reject('starts_with_punctuation', `starts with "${first}"`);
  }
  if (!isMainlyChinese(instruction)) return reject('not_chinese', 'instruction is not mainly Chinese');
  return { ok: true };
}

/** The least a training pair needs, checked even when the quality filters are off (import). */
export function checkPair(task: Task): Verdict {
  if (task.instruction.trim() === '') return reject('instruction_too_short', 'instruction is empty');
  if (task.output.trim() === '') return reject('empty_output', 'output is empty');
  return { ok: true };
}

function reject(reason: RejectReason, detail: string): Verdict {
  return { ok: false, reason, detail };
}
