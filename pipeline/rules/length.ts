/** instruction_too_short, instruction_too_long: counted in characters, which is what a Chinese reader counts. */
import { charLength } from '../text.ts';
import type { Rule } from './types.ts';

export const lengthRule: Rule = ({ instruction }, options) => {
  const length = charLength(instruction);
  if (length < options.minInstructionChars) {
    return { reason: 'instruction_too_short', detail: `${length} characters, minimum ${options.minInstructionChars}` };
  }
  if (length > options.maxInstructionChars) {
    return { reason: 'instruction_too_long', detail: `${length} characters, maximum ${options.maxInstructionChars}` };
  }
  return undefined;
};
