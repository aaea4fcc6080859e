/** Length and value histograms from grouped counts (value → rows), as SQLite's GROUP BY returns them. */
import { binsFor } from './figures.ts';
import type { LengthDistribution } from './types.ts';

/** Nearest-rank percentile over grouped counts sorted by value. */
function percentile(rows: readonly { len: number; n: number }[], total: number, p: number): number {
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const r of rows) {
    seen += r.n;
    if (seen >= rank) return r.len;
  }
  return rows.length === 0 ? 0 : rows[rows.length - 1]!.len;
}

/** Bins of a round width up to the 99th percentile; the last bin holds the long tail too. */
export function lengthDistribution(grouped: readonly { len: number; n: number }[]): LengthDistribution {
  const rows = [...grouped].filter((r) => r.len !== null).sort((a, b) => a.len - b.len);
  const total = rows.reduce((s, r) => s + r.n, 0);
  if (total === 0) return { rows: 0, binWidth: 1, lo: [], counts: [], mean: 0, p50: 0, p95: 0, max: 0 };
  const p99 = percentile(rows, total, 0.99);
  const width = binsFor(p99);
  const bins = Math.floor(p99 / width) + 1;
  const counts = new Array<number>(bins).fill(0);
  let sum = 0;
  for (const r of rows) {
    counts[Math.min(bins - 1, Math.floor(r.len / width))]! += r.n;
    sum += r.len * r.n;
  }
  return {
    rows: total,
    binWidth: width,
    lo: counts.map((_, i) => i * width),
    counts,
    mean: Math.round((sum / total) * 10) / 10,
    p50: percentile(rows, total, 0.5),
    p95: percentile(rows, total, 0.95),
    max: rows[rows.length - 1]!.len,
  };
}

/** Bins of `step` over [from, to]; values outside go to the nearest end bin. */
export function histogramOf(
  values: readonly { value: number; n: number }[],
  from: number,
  to: number,
  step: number,
): { lo: number[]; counts: number[] } {
  const start = Math.floor(from / step) * step;
  const bins = Math.max(1, Math.ceil((to - start) / step - 1e-9));
  const lo = Array.from({ length: bins }, (_, i) => Math.round((start + i * step) * 100) / 100);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.max(0, Math.min(bins - 1, Math.floor((v.value - start) / step + 1e-9)))]! += v.n;
  return { lo, counts };
}
