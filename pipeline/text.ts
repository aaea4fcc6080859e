/** Text clean-up applied to every field before it is filtered, stored or compared. */
import type { Task } from './types.ts';

/**
 * Characters NFKC would damage in Chinese text: the full-width punctuation of Chinese typography
 * (，→ , ：→ :), the ideographic space, the ellipsis (… → ...), circled numbers, and superscripts,
 * subscripts and fractions, which carry meaning in formulas (x² is not x2). Everything else
 * (full-width letters, digits and symbols like ＋, compatibility ideographs, ligatures) is normalised.
 */
const NFKC_UNSAFE = /[\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f\u2025\u2026\u2460-\u24ff\u3000！（），．：；？～]/u;
const NFKC_SAFE_RUNS = new RegExp(`[^${NFKC_UNSAFE.source.slice(1, -1)}]+`, 'gu');

/** Markers models use for "this task has no input"; compared after trimming and lower-casing. */
const EMPTY_INPUT_MARKERS = new Set([
  '<无输入>',
  '＜无输入＞',
  '无输入',
  '无',
  '(无)',
  '（无）',
  '空',
  '<空>',
  '<noinput>',
  'noinput',
  'none',
  'n/a',
  'null',
  '<none>',
  '-',
]);

/** NFKC everywhere it is safe (see NFKC_UNSAFE). */
export function safeNfkc(s: string): string {
  return s.replace(NFKC_SAFE_RUNS, (run) => run.normalize('NFKC'));
}

/** Trim, unify line endings, safe NFKC. */
export function cleanField(s: string): string {
  return safeNfkc(s.replace(/\r\n?/g, '\n')).trim();
}

/** Like cleanField, but an empty-input marker becomes "". */
export function cleanInput(s: string): string {
  const cleaned = cleanField(s);
  return EMPTY_INPUT_MARKERS.has(cleaned.toLowerCase()) ? '' : cleaned;
}

/**
 * A task as it is filtered, compared and stored, whatever brought it (reply, batch, import, `dedup`):
 * every field cleaned, empty-input markers turned into "".
 */
export function cleanTask(raw: Task): Task {
  const task: Task = { instruction: cleanField(raw.instruction), input: cleanInput(raw.input), output: cleanField(raw.output) };
  if (raw.category) task.category = cleanField(raw.category);
  return task;
}

/** Length in characters (code points), which is what a Chinese reader counts. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
