/** Which rows an export takes (sources, categories, seeds, answer model): normalized, compared and said. */
import type { Selection } from '../store/exports.ts';

/** Sources and categories as sets: `--source a,b` and `--source b --source a` select the same rows. */
export function normalizeSelection(
  sources: readonly string[] | undefined,
  categories: readonly string[] | undefined,
  includeSeeds: boolean,
): Selection {
  const set = (xs: readonly string[] | undefined) => (xs === undefined || xs.length === 0 ? null : [...new Set(xs)].sort());
  let srcs = set(sources);
  if (srcs !== null && includeSeeds && !srcs.includes('seed')) srcs = [...srcs, 'seed'].sort();
  return { sources: srcs, categories: set(categories), includeSeeds: srcs === null ? includeSeeds : srcs.includes('seed') };
}

export function sameSelection(a: Selection, b: Selection): boolean {
  return (
    JSON.stringify([a.sources, a.categories, a.includeSeeds, a.answerModel ?? null]) ===
    JSON.stringify([b.sources, b.categories, b.includeSeeds, b.answerModel ?? null])
  );
}

export function describeSelection(s: Selection): string {
  const parts = [s.sources === null ? (s.includeSeeds ? 'every source' : 'every source but seeds') : `source ${s.sources.join(',')}`];
  if (s.categories !== null) parts.push(`category ${s.categories.join(',')}`);
  if (s.answerModel) parts.push(`answers by ${s.answerModel}`);
  return parts.join(', ');
}
