/** Small arithmetic of the report's figures: over-represented values, histogram bins, percentages. */

/** The values holding more than `share` of the total: the leading-verb warning (BELLE's 生成一个 problem). */
export function overShare(
  items: readonly { name: string; count: number }[],
  total: number,
  share: number,
): { name: string; share: number }[] {
  if (total === 0) return [];
  return items.filter((x) => x.count / total > share).map((x) => ({ name: x.name, share: x.count / total }));
}

/** Fixed-width histogram bins over [0, max]; values above the last edge go in an overflow bin. */
export interface Histogram {
  /** Lower edge of each bin; bin i holds lo[i] ≤ v < lo[i + 1]; the last bin is "≥ lo[last]". */
  lo: number[];
  counts: number[];
}

export function binsFor(max: number, target = 30): number {
  if (max <= target) return 1;
  const raw = max / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow;
  return 10 * pow;
}

/** Shares to percentages with one decimal, for readings. */
export function pct(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((part / whole) * 100).toFixed(1)}%`;
}
