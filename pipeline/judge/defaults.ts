/**
 * The judge's defaults, in a module that loads nothing: the options schema quotes them, and every
 * command's start-up (even `dedup`'s) reads the schema, so they must not pull in the judge's request
 * loop, the store and the HTTP client with them.
 */

export const DEFAULT_JUDGE_MODEL = 'gpt-4o-mini';
export const DEFAULT_JUDGE_TASKS_PER_REQUEST = 10;
/** The score a task needs to be shown as an example; also what `export --min-score` means without a value. */
export const DEFAULT_MIN_SCORE = 7;
