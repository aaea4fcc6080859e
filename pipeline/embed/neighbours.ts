/**
 * How close each task is to its nearest other task by meaning: the highest cosine of sampled tasks to any
 * other task of a reference set (exact search, so the figure has no recall caveat), and its distribution.
 * Pure: the caller brings unit vectors.
 */
import { ExactIndex } from './vector-index.ts';

/** Cosines at or above which a pair is counted (Deita and Persona Hub deduplicate at 0.9). */
export const NEIGHBOUR_THRESHOLDS = [0.9, 0.95] as const;

/**
 * For each query id (which must be in `reference`): the highest cosine to another reference vector, and
 * which. Queries without a vector, or with no other vector to compare with, are left out.
 */
export function nearestOtherCosines(
  reference: ReadonlyMap<number, Float32Array>,
  queries: readonly number[],
): { id: number; nearestId: number; cosine: number }[] {
  const first = reference.values().next().value;
  if (first === undefined) return [];
  const index = new ExactIndex(first.length, reference.size);
  for (const [id, v] of reference) if (v.length === first.length) index.add(id, v);
  const out: { id: number; nearestId: number; cosine: number }[] = [];
  for (const id of queries) {
    const q = reference.get(id);
    if (q === undefined || q.length !== first.length) continue;
    const near = index.nearestOther(q, id);
    if (near !== undefined) out.push({ id, nearestId: near.id, cosine: near.cosine });
  }
  return out;
}

export interface CosineDistribution {
  /** Values counted. */
  rows: number;
  /** Lower edge of each bin of `step`; the first bin also holds everything below it, the last holds 1. */
  lo: number[];
  counts: number[];
  /** Values at or above each threshold (exactly, not from the bins). */
  atOrAbove: { threshold: number; n: number }[];
  /** Nearest-rank median and 95th percentile; null with no values. */
  p50: number | null;
  p95: number | null;
}

/** Bins of `step` over [0, 1] (round edges), with exact counts at or above `thresholds`. */
export function cosineDistribution(
  values: readonly number[],
  step = 0.05,
  thresholds: readonly number[] = NEIGHBOUR_THRESHOLDS,
): CosineDistribution {
  const bins = Math.round(1 / step);
  const lo = Array.from({ length: bins }, (_, i) => Math.round(i * step * 1000) / 1000);
  const counts = new Array<number>(bins).fill(0);
  // Rounding noise puts an exact copy at 1.0000001 or a bin edge at 0.8999999: 1e-6 keeps it where it belongs.
  for (const v of values) counts[Math.max(0, Math.min(bins - 1, Math.floor((v + 1e-6) / step)))]!++;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number | null =>
    sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return {
    rows: values.length,
    lo,
    counts,
    atOrAbove: thresholds.map((threshold) => ({ threshold, n: values.filter((v) => v >= threshold - 1e-6).length })),
    p50: rank(0.5),
    p95: rank(0.95),
  };
}
