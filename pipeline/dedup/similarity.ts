/**
 * The near-duplicate rule. Every other part of the project (the index, `dedup`, `import`, the tests)
 * depends on these exact definitions, so change them only together with the index's proof.
 */
import { distance } from 'fastest-levenshtein';

const WHITESPACE = /\s+/gu;

/** NFKC, lower case, all whitespace removed. */
export function normalize(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(WHITESPACE, '');
}

/** The dedup key of a task: normalized instruction followed by normalized input. */
export function dedupKey(task: { instruction: string; input: string }): string {
  return normalize(task.instruction) + normalize(task.input);
}

/** 1 - levenshtein / max length, in UTF-16 code units; two empty keys are identical (1). */
export function similarity(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  if (longest === 0) return 1;
  return 1 - distance(a, b) / longest;
}
