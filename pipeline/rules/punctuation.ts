/**
 * starts_with_punctuation: leading punctuation means a fragment of something (a cut list item, a stray
 * quote close). Opening brackets and quotes are fine: 《红楼梦》的作者是谁？ is a task.
 */
import type { Rule } from './types.ts';

const LEADING_PUNCTUATION = /^[\p{Pd}\p{Pe}\p{Pf}\p{Po}\p{Sm}]/u;
const ALLOWED_LEADING = new Set(['"', "'", '“', '‘', '#', '@', '¿', '¡', '*', '&', '%']);

/** A minus sign before a digit is a number: -625 是什么类型的数字？ */
const NEGATIVE_NUMBER = /^[-−－]\d/u;

export const punctuationRule: Rule = ({ instruction }) => {
  const first = String.fromCodePoint(instruction.codePointAt(0) ?? 0x20);
  if (LEADING_PUNCTUATION.test(first) && !ALLOWED_LEADING.has(first) && !NEGATIVE_NUMBER.test(instruction)) {
    return { reason: 'starts_with_punctuation', detail: `instruction starts with "${first}"` };
  }
  return undefined;
};
