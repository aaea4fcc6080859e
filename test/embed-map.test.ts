/**
 * The report's embedding figures, pure (issue 24): the 2-D projection finds planted principal axes and
 * places each point on them; the nearest-other-task cosines skip the task itself; the distribution's bins,
 * threshold counts and percentiles by hand.
 */
import { describe, expect, it } from 'vitest';
import { cosineDistribution, nearestOtherCosines } from '../pipeline/embed/neighbours.ts';
import { project2d } from '../pipeline/embed/projection.ts';
import { unitVector } from '../pipeline/embed/vector-index.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const dotF = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Two orthonormal directions that are not coordinate axes, in 6 dimensions. */
const e1 = Float64Array.from([3, 1, 0, 0, 1, -1].map((x) => x / Math.sqrt(12)));
const e2 = Float64Array.from([0, 1, 1, 1, 0, 1].map((x) => x / 2));
const centre = [0.3, -0.2, 0.5, 0.1, 0, 0.7];

/**
 * Points centre + s1·t·e1 + s2·u·e2 over a grid of (t, u) in a shuffled order: the grid makes t and u
 * exactly uncorrelated, so e1 and e2 are exactly the principal axes. Returns the planted coordinates too.
 */
function planted(s1: number, s2: number, seed: number) {
  const r = lcg(seed);
  const grid: [number, number][] = [];
  for (let i = -6; i <= 6; i++) for (let k = -4; k <= 4; k++) grid.push([i / 12, k / 8]);
  for (let i = grid.length - 1; i > 0; i--) {
    const j = Math.floor((r() + 0.5) * (i + 1));
    [grid[i], grid[j]] = [grid[j]!, grid[i]!];
  }
  const t = grid.map((g) => g[0]);
  const u = grid.map((g) => g[1]);
  const points = grid.map(([a, b]) => Float32Array.from(centre, (c, j) => c + s1 * a * e1[j]! + s2 * b * e2[j]!));
  return { points, t, u };
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

describe('project2d (PCA by power iteration)', () => {
  it('finds the planted axes in order of variance, signed, and puts each point at its planted place', () => {
    const { points, t, u } = planted(3, 1, 5);
    const p = project2d(points);
    // The sign convention: the largest component positive (e1's is its first).
    expect(dotF(p.axes[0], e1)).toBeCloseTo(1, 6);
    expect(Math.abs(dotF(p.axes[1], e2))).toBeCloseTo(1, 6);
    expect(dotF(p.axes[0], p.axes[1])).toBeCloseTo(0, 8);
    const mt = mean(t);
    const mu = mean(u);
    const sign = Math.sign(dotF(p.axes[1], e2));
    for (let i = 0; i < points.length; i++) {
      expect(p.x[i]!).toBeCloseTo(3 * (t[i]! - mt), 5);
      expect(p.y[i]!).toBeCloseTo(sign * (u[i]! - mu), 5);
    }
    // Variance along the axes: 9 var(t) and var(u); nearly all of the total.
    const varT = mean(t.map((x) => (x - mt) ** 2));
    const varU = mean(u.map((x) => (x - mu) ** 2));
    expect(p.variance[0]).toBeCloseTo(9 * varT, 5);
    expect(p.variance[1]).toBeCloseTo(varU, 5);
    expect((p.variance[0] + p.variance[1]) / p.totalVariance).toBeCloseTo(1, 6);
    expect(p.iterations).toBeLessThan(50);
  });

  it('swaps the axes when the second planted direction has more variance', () => {
    const { points } = planted(0.5, 2, 9);
    const p = project2d(points);
    expect(Math.abs(dotF(p.axes[0], e2))).toBeCloseTo(1, 6);
    expect(Math.abs(dotF(p.axes[1], e1))).toBeCloseTo(1, 6);
    expect(p.variance[0]).toBeGreaterThan(p.variance[1] * 10);
  });

  it('is deterministic, and total on degenerate input (no points, one point, all equal)', () => {
    const { points } = planted(2, 1, 3);
    expect(Array.from(project2d(points).x)).toEqual(Array.from(project2d(points).x));
    expect(project2d([]).x.length).toBe(0);
    const same = Array.from({ length: 5 }, () => Float32Array.from([1, 2, 3]));
    const q = project2d(same);
    expect(Array.from(q.x)).toEqual([0, 0, 0, 0, 0]);
    expect(q.totalVariance).toBe(0);
    expect(dotF(q.axes[0], q.axes[1])).toBeCloseTo(0, 10);
    expect(project2d([Float32Array.from([1, 0])]).x[0]).toBe(0);
  });
});

describe('nearest other task', () => {
  it('is the highest cosine to another vector, never the task itself', () => {
    const s = Math.sqrt(1 - 0.96 ** 2);
    const vectors = new Map<number, Float32Array>([
      [1, Float32Array.from([1, 0, 0])],
      [2, Float32Array.from([0.96, s, 0])],
      [3, Float32Array.from([0, 0, 1])],
      [4, Float32Array.from([0, 0.6, 0.8])],
    ]);
    const found = nearestOtherCosines(vectors, [1, 2, 3, 4, 99]);
    expect(found.map((f) => [f.id, f.nearestId])).toEqual([
      [1, 2],
      [2, 1],
      [3, 4],
      [4, 3],
    ]);
    expect(found.map((f) => f.cosine)).toEqual([0.96, 0.96, 0.8, 0.8].map((c) => expect.closeTo(c, 6)));
    // Alone: nothing to compare with.
    expect(nearestOtherCosines(new Map([[1, unitVector(Float32Array.from([1, 1]))!]]), [1])).toEqual([]);
  });
});

describe('cosineDistribution', () => {
  it('bins of 0.05 over [0, 1], exact counts at or above 0.9 and 0.95, nearest-rank percentiles', () => {
    const values = [0.93, 0.95, 0.9499999, 1.0000001, 0.12, -0.3, 0.5];
    const d = cosineDistribution(values);
    expect(d.rows).toBe(7);
    expect(d.lo.length).toBe(20);
    expect(d.lo[18]).toBe(0.9);
    const expected = new Array(20).fill(0);
    expected[0] = 1; // -0.3: below the first edge
    expected[2] = 1; // 0.12
    expected[10] = 1; // 0.5
    expected[18] = 1; // 0.93
    expected[19] = 3; // 0.95, 0.9499999 (float noise), 1.0000001
    expect(d.counts).toEqual(expected);
    expect(d.atOrAbove).toEqual([
      { threshold: 0.9, n: 4 },
      { threshold: 0.95, n: 3 },
    ]);
    expect(d.p50).toBe(0.93);
    expect(d.p95).toBe(1.0000001);
  });

  it('is empty without values', () => {
    expect(cosineDistribution([])).toMatchObject({ rows: 0, p50: null, p95: null, atOrAbove: [{ n: 0 }, { n: 0 }] });
  });
});
