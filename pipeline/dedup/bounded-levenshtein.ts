/**
 * Levenshtein distance with an upper bound, in UTF-16 code units (the units of `similarity()`).
 * Used to verify near-duplicate candidates: most candidates are far apart, and this stops as soon as
 * the distance is known to exceed the bound instead of filling the whole table. When the bound is so
 * loose that the band would be wider than the whole bit-parallel computation, it uses that instead.
 */
import { distance } from 'fastest-levenshtein';

/** A value above any bound; increments on it can never overflow an Int32 within a row. */
const FAR = 0x3fffffff;

let row = new Int32Array(256);

/**
 * `min(levenshtein(a, b), limit + 1)`: the exact distance when it is at most `limit`, otherwise
 * `limit + 1`. `limit` must be a non-negative integer.
 */
export function boundedLevenshtein(a: string, b: string, limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  if (a.length > b.length) [a, b] = [b, a];
  let n = a.length;
  let m = b.length;
  const over = limit + 1;
  if (m - n > limit) return over;

  // A common prefix or suffix never changes the distance, and near-duplicates share long ones.
  let start = 0;
  while (start < n && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  while (n > start && a.charCodeAt(n - 1) === b.charCodeAt(m - 1)) {
    n--;
    m--;
  }
  n -= start;
  m -= start;
  if (n === 0) return Math.min(m, over);
  // With a wide band, the bit-parallel full distance (one machine word per 32 rows) is cheaper than
  // the band; measured crossover is about 8 band cells per word step.
  if (n * (limit + 1) > 8 * Math.ceil(n / 32) * m) {
    return Math.min(distance(a.slice(start, start + n), b.slice(start, start + m)), over);
  }

  // Any alignment of cost ≤ limit that reaches diagonal j − i = δ pays |δ| to get there and
  // |Δ − δ| to reach the last cell (on diagonal Δ = m − n), so only diagonals in [low, high] matter.
  const delta = m - n;
  const slack = (limit - delta) >> 1;
  const low = -slack;
  const high = delta + slack;

  if (row.length < m + 2) row = new Int32Array(Math.max(m + 2, row.length * 2));
  const r = row;
  const firstHigh = Math.min(m, high);
  for (let j = 0; j <= firstHigh; j++) r[j] = j;
  if (firstHigh + 1 <= m) r[firstHigh + 1] = FAR;

  for (let i = 1; i <= n; i++) {
    const ca = a.charCodeAt(start + i - 1);
    const jLow = Math.max(0, i + low);
    const jHigh = Math.min(m, i + high);
    let j: number;
    let left: number; // D[i][j − 1]
    let diag: number; // D[i − 1][j − 1]
    let rowMin: number;
    if (jLow === 0) {
      diag = r[0]!;
      r[0] = i;
      left = i;
      rowMin = i;
      j = 1;
    } else {
      diag = r[jLow - 1]!; // on diagonal `low` of the previous row, so inside its band
      left = FAR;
      rowMin = FAR;
      j = jLow;
    }
    for (; j <= jHigh; j++) {
      const up = r[j]!; // D[i − 1][j]; FAR when just outside the previous row's band
      let v = diag + (ca === b.charCodeAt(start + j - 1) ? 0 : 1);
      if (up + 1 < v) v = up + 1;
      if (left + 1 < v) v = left + 1;
      diag = up;
      r[j] = v;
      left = v;
      if (v < rowMin) rowMin = v;
    }
    if (jHigh + 1 <= m) r[jHigh + 1] = FAR;
    // Every alignment passes through this row, and costs never decrease along a path.
    if (rowMin > limit) return over;
  }
  return Math.min(r[m]!, over);
}
