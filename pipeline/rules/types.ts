/** Shared types of the quality rules. Reasons are stable strings: they are stored and reported. */
import type { Task } from '../types.ts';

/** Reasons the quality rules give, in the order `applyRules` checks them. */
export const RULE_REASONS = [
  'contains_secret',
  'prompt_injection',
  'instruction_too_short',
  'instruction_too_long',
  'starts_with_punctuation',
  'not_chinese',
  'needs_non_text',
  'missing_input',
  'empty_output',
  'placeholder_output',
  'refusal',
  'script_markup',
  'markup_garbage',
  'degenerate_output',
  'output_equals_input',
  'translation_damage',
] as const;

export type RuleReason = (typeof RULE_REASONS)[number];

/** Every reason a task can be stored as rejected with: the rules' plus the ingest path's own. */
export type RejectReason = RuleReason | 'benchmark_overlap' | 'near_duplicate' | 'semantic_duplicate' | 'target_reached';

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

/** A rule's finding: the reason and the evidence, quoted. */
export interface Hit {
  reason: RuleReason;
  detail: string;
}

export interface RuleOptions {
  /** Shortest instruction kept, in characters. Default 4 (写一首诗 is a task). */
  minInstructionChars: number;
  /** Longest instruction kept, in characters. Default 400. */
  maxInstructionChars: number;
  /**
   * Literal secrets no task may contain (`contains_secret`): the run's API key, the key of any endpoint
   * it talks to, a password in a base URL. Strings shorter than 8 characters are ignored (they would
   * match ordinary text). Default none; API-key-shaped strings (`sk-…`) are rejected either way.
   */
  secrets?: readonly string[];
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = { minInstructionChars: 4, maxInstructionChars: 400 };

/** What the caller may know about where the task came from; everything optional. */
export interface RuleContext {
  /**
   * `finish_reason` of the completion this task's output is the whole of. `length` means the output was
   * cut by the token limit, so an output ending mid-sentence is cut, not terse. Leave it out when a
   * reply held several tasks: the parser already drops the item the limit cut.
   */
  finishReason?: string | null | undefined;
}

/** One family of rules: a pure, total, linear-time look at a cleaned task. */
export type Rule = (task: Task, options: RuleOptions, context: RuleContext) => Hit | undefined;
