/** output_equals_input: the answer repeats its input (ignoring case, spacing and full-width forms). */
import { normalize } from '../dedup/similarity.ts';
import { quote } from './evidence.ts';
import type { Rule } from './types.ts';

/** Normalised prefixes this long settle most pairs without normalising whole outputs. */
const PREFIX = 32;
/** Characters at the end of a prefix that normalising (NFKC, spacing) of the cut may have changed. */
const SLACK = 4;

export const copyRule: Rule = ({ input, output }) => {
  if (input === '') return undefined;
  const a = normalize(input.slice(0, PREFIX));
  const b = normalize(output.slice(0, PREFIX));
  const n = Math.min(a.length, b.length) - SLACK;
  if (n > 0 && a.slice(0, n) !== b.slice(0, n)) return undefined;
  if (normalize(input) === normalize(output)) {
    return { reason: 'output_equals_input', detail: `output repeats the input ${quote(output)}` };
  }
  return undefined;
};
