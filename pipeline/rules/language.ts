/**
 * not_chinese: a task whose instruction is not Chinese. The instruction decides (translation tasks answer
 * in English); the output is consulted only for an instruction that quotes much English or has no words
 * at all: a Chinese frame answered in Chinese is a Chinese task (评价句子“She managed to win the race”,
 * `6 + 3 = ?`).
 */
import { quote } from './evidence.ts';
import type { Rule } from './types.ts';

/**
 * "Mainly Chinese": at least two Han characters, and no fewer Han characters than Latin words. A
 * Chinese instruction may quote English (解释Python中的list comprehension); an English sentence with a
 * Chinese word in it is not kept, nor is Japanese (more kana than kanji). A single letter is not a word:
 * in 求导数 f(x) = x^3 + 5x it is a variable.
 */
export function isMainlyChinese(s: string): boolean {
  return countHanAndLatin(s).ok;
}

/** One pass over code units; ranges cover the Han, kana and hangul blocks (astral Han by its surrogates). */
function countHanAndLatin(s: string): { han: number; latinWords: number; ok: boolean } {
  let han = 0;
  let latinWords = 0;
  let other = 0;
  let wordLength = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const latin = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    wordLength = latin ? wordLength + 1 : 0;
    if (wordLength === 2) latinWords++;
    if (
      (c >= 0x4e00 && c <= 0x9fff) ||
      (c >= 0x3400 && c <= 0x4dbf) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0x2e80 && c <= 0x2fdf) ||
      c === 0x3005 ||
      c === 0x3007 ||
      (c >= 0xd840 && c <= 0xd87f)
    ) {
      han++;
    } else if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0x1100 && c <= 0x11ff)) {
      other++;
    }
  }
  return { han, latinWords, ok: han >= 2 && han >= latinWords && han > other };
}

export const languageRule: Rule = ({ instruction, output }) => {
  const { han, latinWords, ok } = countHanAndLatin(instruction);
  if (ok) return undefined;
  const answer = countHanAndLatin(output);
  // A Chinese frame quoting English, answered in Chinese. The frame must be of some weight: "Translate
  // this into 中文" is an English task.
  if (han >= 4 && han * 4 >= latinWords && answer.ok) return undefined;
  // No words at all (6 + 3 = ?): the task is in no language; its answer must not be English.
  if (han === 0 && latinWords === 0 && !/[\u3040-\u30ff\uac00-\ud7af]/u.test(instruction) && (answer.ok || answer.latinWords === 0)) {
    return undefined;
  }
  return { reason: 'not_chinese', detail: `instruction has ${han} Han characters and ${latinWords} Latin words: ${quote(instruction)}` };
};
