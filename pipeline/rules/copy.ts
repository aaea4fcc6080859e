/** output_equals_input: the answer repeats its input (ignoring case, spacing and full-width forms). */
import { normalize } from '../dedup/similarity.ts';
import { quote } from './evidence.ts';
import type { Rule } from './types.ts';

export const copyRule: Rule = ({ input, output }) => {
  if (input !== '' && normalize(input) === normalize(output)) {
    return { reason: 'output_equals_input', detail: `output repeats the input ${quote(output)}` };
  }
  return undefined;
};
