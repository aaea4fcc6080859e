/** not_chinese: the instruction is looked at, not the output (translation tasks answer in English). */
import { quote } from './evidence.ts';
import type { Rule } from './types.ts';

const HAN = /\p{Script=Han}/gu;
const LATIN_WORD = /[A-Za-z]+/g;

/**
 * "Mainly Chinese": at least two Han characters, and no fewer Han characters than Latin words. A
 * Chinese instruction may quote English (解释Python中的list comprehension); an English sentence with a
 * Chinese word in it is not kept.
 */
export function isMainlyChinese(s: string): boolean {
  return countHanAndLatin(s).ok;
}

function countHanAndLatin(s: string): { han: number; latinWords: number; ok: boolean } {
  const han = s.match(HAN)?.length ?? 0;
  const latinWords = s.match(LATIN_WORD)?.length ?? 0;
  return { han, latinWords, ok: han >= 2 && han >= latinWords };
}

export const languageRule: Rule = ({ instruction }) => {
  const { han, latinWords, ok } = countHanAndLatin(instruction);
  if (ok) return undefined;
  return { reason: 'not_chinese', detail: `instruction has ${han} Han characters and ${latinWords} Latin words: ${quote(instruction)}` };
};
