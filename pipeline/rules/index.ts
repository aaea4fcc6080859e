/**
 * The quality rules: a cleaned task in, a verdict out. Pure, total and linear-time on any string (they
 * read model output). Rules run in a fixed order and the first hit decides, so a task has one stable
 * reason: what must never be kept (secrets, injections), instruction shape, then what the task depends
 * on, then what the answer is. Rejected tasks are never shown to a model as examples (examples are
 * drawn from accepted tasks), so rejecting a task is enough to keep it out of the next prompts.
 */
import type { Task } from '../types.ts';
import { copyRule } from './copy.ts';
import { injectionRule } from './injection.ts';
import { scriptRule } from './script.ts';
import { secretRule } from './secret.ts';
import { translationRule } from './translation.ts';
import { degenerateRule } from './degenerate.ts';
import { inputRule } from './input.ts';
import { languageRule } from './language.ts';
import { lengthRule } from './length.ts';
import { markupRule } from './markup.ts';
import { nonTextRule } from './non-text.ts';
import { placeholderRule } from './placeholder.ts';
import { punctuationRule } from './punctuation.ts';
import { refusalRule } from './refusal.ts';
import { DEFAULT_RULE_OPTIONS, type Hit, type Rule, type RuleContext, type RuleOptions, type Verdict } from './types.ts';

export { isMainlyChinese } from './language.ts';
export { endpointSecrets, redactSecrets } from './secret.ts';
export * from './types.ts';

/** In order; see RULE_REASONS for the reasons each gives. Exported for the benchmark's per-family timing. */
export const RULES: readonly Rule[] = [
  secretRule,
  injectionRule,
  lengthRule,
  punctuationRule,
  languageRule,
  nonTextRule,
  inputRule,
  placeholderRule,
  refusalRule,
  scriptRule,
  markupRule,
  degenerateRule,
  copyRule,
  translationRule,
];

/** The first rule that rejects the task, or undefined. */
export function applyRules(task: Task, options: RuleOptions = DEFAULT_RULE_OPTIONS, context: RuleContext = {}): Hit | undefined {
  for (const rule of RULES) {
    const hit = rule(task, options, context);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The verdict stored with a task. */
export function checkTask(task: Task, options: RuleOptions = DEFAULT_RULE_OPTIONS, context: RuleContext = {}): Verdict {
  const hit = applyRules(task, options, context);
  return hit === undefined ? { ok: true } : { ok: false, reason: hit.reason, detail: hit.detail };
}

/** Rules that read only the instruction and input: for instructions still awaiting their answer. */
const INSTRUCTION_RULES: readonly Rule[] = [secretRule, injectionRule, lengthRule, punctuationRule, languageRule, nonTextRule, inputRule];

/** The verdict on an instruction alone (stage 1 of a two-stage run, `answer --in`): no output yet. */
export function checkInstruction(task: Task, options: RuleOptions = DEFAULT_RULE_OPTIONS): Verdict {
  const instructionOnly = { ...task, output: '' };
  for (const rule of INSTRUCTION_RULES) {
    const hit = rule(instructionOnly, options, {});
    if (hit !== undefined) return { ok: false, reason: hit.reason, detail: hit.detail };
  }
  return { ok: true };
}

/**
 * The least a training pair needs, checked even when the quality rules are off (import): an instruction,
 * an output, and no text lost in decoding (U+FFFD, which cleaning also puts for a lone surrogate: an
 * export never contains one).
 */
export function checkPair(task: Task): Verdict {
  if (task.instruction.trim() === '') return { ok: false, reason: 'instruction_too_short', detail: 'instruction is empty' };
  if (task.output.trim() === '') return { ok: false, reason: 'empty_output', detail: 'output is empty' };
  return checkDecoded(task);
}

/** markup_garbage when a field holds U+FFFD. */
export function checkDecoded(task: Task): Verdict {
  for (const [name, text] of [
    ['instruction', task.instruction],
    ['input', task.input],
    ['output', task.output],
  ] as const) {
    if (text.includes('\uFFFD'))
      return { ok: false, reason: 'markup_garbage', detail: `${name} has a replacement character (lost in decoding)` };
  }
  return { ok: true };
}
