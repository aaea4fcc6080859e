/**
 * A 2-D map of embeddings: principal component analysis by orthogonal (power) iteration. Pure and
 * deterministic (a fixed start, no randomness), linear in points × dimensions per iteration, and it never
 * forms the d × d covariance matrix, so 5,000 vectors of 1,024 dimensions take a fraction of a second.
 */

export interface Projection {
  /** Coordinates of each point on the first and second axis (the centred vector's dot with the axis). */
  x: Float64Array;
  y: Float64Array;
  /** The two axes: orthonormal, each signed so that its largest-magnitude component is positive. */
  axes: [Float64Array, Float64Array];
  /** Variance along each axis (the Rayleigh quotient of the covariance), and the total variance. */
  variance: [number, number];
  totalVariance: number;
  /** Iterations run (it stops once neither axis moves by more than `tolerance`). */
  iterations: number;
}

export interface ProjectionOptions {
  /** Default 50. */
  maxIterations?: number;
  /** Default 1e-6 (largest change of an axis component between iterations). */
  tolerance?: number;
}

/** The first two principal axes of `points` (all of one dimension) and every point's place on them. */
export function project2d(points: readonly Float32Array[], o: ProjectionOptions = {}): Projection {
  const n = points.length;
  const d = points[0]?.length ?? 0;
  const maxIterations = o.maxIterations ?? 50;
  const tolerance = o.tolerance ?? 1e-6;
  const mean = new Float64Array(d);
  for (const p of points) for (let j = 0; j < d; j++) mean[j]! += p[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, n);
  let total = 0;
  for (const p of points) {
    for (let j = 0; j < d; j++) {
      const c = p[j]! - mean[j]!;
      total += c * c;
    }
  }
  total /= Math.max(1, n);

  // A fixed start that is unlikely to be orthogonal to any axis: two different irregular patterns.
  let a = normalized(Float64Array.from({ length: d }, (_, j) => 1 + ((j * 7919) % 101) / 101));
  let b = orthonormalTo(
    Float64Array.from({ length: d }, (_, j) => ((j * 104_729) % 97) / 97 - 0.5),
    a,
  );
  let iterations = 0;
  while (iterations < maxIterations && d > 0 && n > 0) {
    iterations++;
    const [ca, cb] = covarianceTimes(points, mean, a, b);
    const a2 = normalized(ca);
    const b2 = orthonormalTo(cb, a2);
    const moved = Math.max(maxDiff(a, a2), maxDiff(b, b2));
    a = a2;
    b = b2;
    if (moved <= tolerance) break;
  }
  a = signed(a);
  b = signed(b);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let va = 0;
  let vb = 0;
  points.forEach((p, i) => {
    let sa = 0;
    let sb = 0;
    for (let j = 0; j < d; j++) {
      const c = p[j]! - mean[j]!;
      sa += c * a[j]!;
      sb += c * b[j]!;
    }
    x[i] = sa;
    y[i] = sb;
    va += sa * sa;
    vb += sb * sb;
  });
  return { x, y, axes: [a, b], variance: [va / Math.max(1, n), vb / Math.max(1, n)], totalVariance: total, iterations };
}

/** C a and C b, C the covariance of the points, as Σ ((p - μ)·v)(p - μ) / n: both in one pass over the data. */
function covarianceTimes(
  points: readonly Float32Array[],
  mean: Float64Array,
  a: Float64Array,
  b: Float64Array,
): [Float64Array, Float64Array] {
  const d = a.length;
  const ca = new Float64Array(d);
  const cb = new Float64Array(d);
  const c = new Float64Array(d);
  for (const p of points) {
    let sa = 0;
    let sb = 0;
    for (let j = 0; j < d; j++) {
      const x = p[j]! - mean[j]!;
      c[j] = x;
      sa += x * a[j]!;
      sb += x * b[j]!;
    }
    for (let j = 0; j < d; j++) {
      ca[j]! += sa * c[j]!;
      cb[j]! += sb * c[j]!;
    }
  }
  for (let j = 0; j < d; j++) {
    ca[j]! /= points.length;
    cb[j]! /= points.length;
  }
  return [ca, cb];
}

function normalized(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  // All points equal (no variance): any unit vector is as good an axis.
  if (!(s > 0)) return v.map((_, j) => (j === 0 ? 1 : 0));
  const k = 1 / Math.sqrt(s);
  return v.map((x) => x * k);
}

/** `v` minus its part along the unit vector `u`, normalized; a unit vector orthogonal to `u` when nothing is left. */
function orthonormalTo(v: Float64Array, u: Float64Array): Float64Array {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j]! * u[j]!;
  const r = v.map((x, j) => x - s * u[j]!);
  let norm = 0;
  for (const x of r) norm += x * x;
  if (norm > 1e-24) return normalized(r);
  // Rank one (or less): an axis orthogonal to u, for a well-defined (zero-variance) second axis.
  const k = u.findIndex((x) => Math.abs(x) < 0.9);
  const e = new Float64Array(v.length);
  e[Math.max(k, 0)] = 1;
  let t = 0;
  for (let j = 0; j < e.length; j++) t += e[j]! * u[j]!;
  return normalized(e.map((x, j) => x - t * u[j]!));
}

function signed(v: Float64Array): Float64Array {
  let at = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]!) > Math.abs(v[at]!)) at = j;
  return v[at]! < 0 ? v.map((x) => -x) : v;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!), 0);
  return m;
}
