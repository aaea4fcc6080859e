/**
 * Nearest neighbours by cosine over unit vectors (dot product). Exact: one Float32Array scanned in
 * blocks, fast enough up to tens of thousands of vectors of 1,024 dimensions per query. Approximate:
 * usearch's HNSW (a prebuilt native addon shipped in the npm package), measured against exact search in
 * `npm run bench:embed`; loaded only when asked for, so a machine where it cannot load keeps exact search.
 */
import { createRequire } from 'node:module';

export interface Neighbour {
  id: number;
  cosine: number;
}

export interface VectorIndex {
  readonly size: number;
  readonly exact: boolean;
  /** `v` must be a unit vector of the index's dimension. */
  add(id: number, v: Float32Array): void;
  /** The nearest stored vector to the unit vector `q`, or undefined when empty. */
  nearest(q: Float32Array): Neighbour | undefined;
}

/** `v` scaled to length 1 (a copy); undefined for a zero or non-finite vector. */
export function unitVector(v: Float32Array): Float32Array | undefined {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  const s = 1 / Math.sqrt(norm);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * s;
  return out;
}

export function dot(a: Float32Array, b: Float32Array, bOffset: number, d: number): number {
  // Four sums: independent chains the JIT keeps in registers.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < d; i += 4) {
    s0 += a[i]! * b[bOffset + i]!;
    s1 += a[i + 1]! * b[bOffset + i + 1]!;
    s2 += a[i + 2]! * b[bOffset + i + 2]!;
    s3 += a[i + 3]! * b[bOffset + i + 3]!;
  }
  for (; i < d; i++) s0 += a[i]! * b[bOffset + i]!;
  return s0 + s1 + s2 + s3;
}

/** Exact search: every stored vector in one growing Float32Array. */
export class ExactIndex implements VectorIndex {
  readonly exact = true;
  private data: Float32Array;
  private ids: number[] = [];

  constructor(
    readonly dimensions: number,
    capacity = 1024,
  ) {
    this.data = new Float32Array(dimensions * Math.max(1, capacity));
  }

  get size(): number {
    return this.ids.length;
  }

  add(id: number, v: Float32Array): void {
    if (v.length !== this.dimensions) throw new RangeError(`vector of ${v.length} dimensions in an index of ${this.dimensions}`);
    const at = this.ids.length * this.dimensions;
    if (at + this.dimensions > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(v, at);
    this.ids.push(id);
  }

  nearest(q: Float32Array): Neighbour | undefined {
    return this.scan(q, undefined);
  }

  /** The nearest stored vector other than the one stored as `self` (a task's nearest neighbour but itself). */
  nearestOther(q: Float32Array, self: number): Neighbour | undefined {
    return this.scan(q, self);
  }

  private scan(q: Float32Array, skip: number | undefined): Neighbour | undefined {
    let best = -1;
    let cosine = -Infinity;
    const d = this.dimensions;
    for (let i = 0; i < this.ids.length; i++) {
      if (this.ids[i] === skip) continue;
      const s = dot(q, this.data, i * d, d);
      if (s > cosine) {
        cosine = s;
        best = i;
      }
    }
    return best < 0 ? undefined : { id: this.ids[best]!, cosine };
  }

  /** The stored ids in order and their vectors, row by row (views of the index's own memory, not copies). */
  rows(): { ids: readonly number[]; data: Float32Array } {
    return { ids: this.ids, data: this.data.subarray(0, this.ids.length * this.dimensions) };
  }

  /** The first stored vector whose cosine to `q` is at least `threshold` (stops there), else the nearest. */
  firstAtOrAbove(q: Float32Array, threshold: number): Neighbour | undefined {
    const d = this.dimensions;
    let best: Neighbour | undefined;
    for (let i = 0; i < this.ids.length; i++) {
      const s = dot(q, this.data, i * d, d);
      if (s >= threshold) return { id: this.ids[i]!, cosine: s };
      if (best === undefined || s > best.cosine) best = { id: this.ids[i]!, cosine: s };
    }
    return best;
  }
}

export type Usearch = typeof import('usearch');
let usearchModule: Usearch | null | undefined;

/**
 * usearch when its native addon loads on this machine, else null (callers keep exact search). Loaded
 * synchronously (its CommonJS build), so a stage can switch to it inside a reply's transaction.
 */
export function usearchNow(): Usearch | null {
  if (usearchModule !== undefined) return usearchModule;
  try {
    usearchModule = createRequire(import.meta.url)('usearch') as Usearch;
  } catch {
    usearchModule = null;
  }
  return usearchModule;
}

export interface ApproxOptions {
  /** HNSW graph degree. Default 16. */
  connectivity?: number;
  /** Candidates kept while adding. Default 128. */
  expansionAdd?: number;
  /**
   * Candidates kept while searching: recall against speed. Default 64. usearch searches at least as wide as
   * the number of results asked for, so with `rerank` the breadth is max(expansionSearch, rerank.k).
   */
  expansionSearch?: number;
  /**
   * How usearch stores the vectors: f32 (default), f16, or i8 (a quarter of f32's memory, distances several
   * times cheaper, near neighbours ordered less exactly; its distances are not cosines, so it needs `rerank`).
   */
  quantization?: 'f32' | 'f16' | 'i8';
  /**
   * Re-rank: take this many candidates from the graph and return the one with the highest exact float32
   * cosine, from `vectorOf` (the caller's own copies). The returned cosine is then exact, whatever the
   * quantization; only a neighbour missing from all k candidates is missed.
   */
  rerank?: { k: number; vectorOf: (id: number) => Float32Array | undefined };
}

/** What the selection's blocks need of an index: many searched and added at once, and a block's own cosines. */
export interface BlockIndex extends VectorIndex {
  readonly dimensions: number;
  /** The nearest of each of many queries (one flat block of `count` vectors). */
  nearestMany(queries: Float32Array, count: number): (Neighbour | undefined)[];
  addMany(ids: readonly number[], vectors: Float32Array): void;
  /**
   * The cosines of `count` unit vectors (one flat block) with each other, `count` × `count` row by row,
   * exactly (float32). Not the index's contents.
   */
  similarities(block: Float32Array, count: number): Float32Array;
}

type Found = { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };

/**
 * usearch's exactSearch reads its arrays from the start of their buffers, whatever their offset (its
 * index's add and search do not): a view that starts later is copied first.
 */
const fromStart = (a: Float32Array): Float32Array => (a.byteOffset === 0 ? a : a.slice());

/** A block's cosines with each other by usearch's brute-force search: several times cheaper than in JavaScript. */
function blockCosines(usearch: Usearch, d: number, block: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * count);
  if (count === 1) out[0] = dot(block, block, 0, d);
  if (count <= 1) return out;
  const flat = fromStart(block.subarray(0, count * d));
  const m = usearch.exactSearch(flat, flat, d, count, 'ip' as never, 1) as unknown as Found;
  for (let i = 0; i < count; i++) {
    for (let j = i * count; j < i * count + Number(m.counts![i]); j++) out[i * count + Number(m.keys[j]!)] = 1 - m.distances[j]!;
  }
  return out;
}

/**
 * Exact search by usearch's brute-force scan (SIMD, on the addon's threads) over the stored vectors in one
 * growing Float32Array: the same answers as ExactIndex (up to float32 rounding), several times faster on
 * blocks of queries.
 */
export class BruteForceIndex implements BlockIndex {
  readonly exact = true;
  private readonly stored: ExactIndex;

  constructor(
    private readonly usearch: Usearch,
    readonly dimensions: number,
    capacity = 1024,
  ) {
    this.stored = new ExactIndex(dimensions, capacity);
  }

  get size(): number {
    return this.stored.size;
  }

  add(id: number, v: Float32Array): void {
    this.stored.add(id, v);
  }

  addMany(ids: readonly number[], vectors: Float32Array): void {
    const d = this.dimensions;
    ids.forEach((id, i) => this.stored.add(id, vectors.subarray(i * d, (i + 1) * d)));
  }

  nearest(q: Float32Array): Neighbour | undefined {
    return this.nearestMany(q, 1)[0];
  }

  nearestMany(queries: Float32Array, count: number, threads = 2): (Neighbour | undefined)[] {
    if (this.size === 0 || count === 0) return new Array<undefined>(count).fill(undefined);
    const d = this.dimensions;
    const { ids, data } = this.stored.rows();
    const m = this.usearch.exactSearch(data, fromStart(queries.subarray(0, count * d)), d, 1, 'ip' as never, threads) as unknown as Found;
    return Array.from({ length: count }, (_, i) => ({ id: ids[Number(m.keys[i]!)]!, cosine: 1 - m.distances[i]! }));
  }

  similarities(block: Float32Array, count: number): Float32Array {
    return blockCosines(this.usearch, this.dimensions, block, count);
  }
}

/** usearch HNSW over inner product (= cosine on unit vectors). */
export class ApproxIndex implements BlockIndex {
  readonly exact = false;
  private readonly index: InstanceType<Usearch['Index']>;
  private readonly rerank: ApproxOptions['rerank'];
  private n = 0;

  constructor(
    private readonly usearch: Usearch,
    readonly dimensions: number,
    o: ApproxOptions = {},
  ) {
    if (o.quantization === 'i8' && o.rerank === undefined) throw new RangeError('an i8 index needs rerank: its distances are not cosines');
    this.index = ApproxIndex.native(usearch, dimensions, o);
    this.rerank = o.rerank;
  }

  similarities(block: Float32Array, count: number): Float32Array {
    return blockCosines(this.usearch, this.dimensions, block, count);
  }

  private static native(usearch: Usearch, dimensions: number, o: ApproxOptions): InstanceType<Usearch['Index']> {
    return new usearch.Index({
      dimensions,
      metric: 'ip' as never,
      quantization: (o.quantization ?? 'f32') as never,
      connectivity: o.connectivity ?? 16,
      expansion_add: o.expansionAdd ?? 128,
      expansion_search: o.expansionSearch ?? 64,
      multi: false,
    });
  }

  /**
   * An index saved by `save`, searched with `o`'s search settings: the file holds the graph, the vectors,
   * their quantization and the connectivity (the file's win), not the search breadth, so one built graph
   * can be searched at several breadths. Give the quantization it was built with (an i8 graph needs `rerank`).
   */
  static open(usearch: Usearch, dimensions: number, path: string, o: ApproxOptions = {}): ApproxIndex {
    const opened = new ApproxIndex(usearch, dimensions, o);
    opened.index.load(path);
    if (opened.index.dimensions() !== dimensions) {
      throw new RangeError(`${path}: an index of ${opened.index.dimensions()} dimensions, not ${dimensions}`);
    }
    opened.n = opened.index.size();
    return opened;
  }

  save(path: string): void {
    this.index.save(path);
  }

  get size(): number {
    return this.n;
  }

  add(id: number, v: Float32Array): void {
    this.index.add(BigInt(id), v);
    this.n++;
  }

  /** Many at once, on the addon's threads. */
  addMany(ids: readonly number[], vectors: Float32Array, threads = 2): void {
    this.index.add(
      BigUint64Array.from(ids, (x) => BigInt(x)),
      vectors,
      threads,
    );
    this.n += ids.length;
  }

  nearest(q: Float32Array): Neighbour | undefined {
    if (this.n === 0) return undefined;
    const k = this.rerank === undefined ? 1 : Math.max(1, this.rerank.k);
    const m = this.index.search(q, k, 1);
    return this.best(q, m.keys, m.distances, 0, Math.min(k, m.keys.length));
  }

  /** The nearest of each of many queries (one flat block of `count` vectors), on the addon's threads. */
  nearestMany(queries: Float32Array, count: number, threads = 2): (Neighbour | undefined)[] {
    if (this.n === 0 || count === 0) return new Array<undefined>(count).fill(undefined);
    const k = this.rerank === undefined ? 1 : Math.max(1, this.rerank.k);
    const d = this.dimensions;
    const row = (i: number) => queries.subarray(i * d, (i + 1) * d);
    // usearch answers a batch of one as a single search.
    if (count === 1) return [this.nearest(row(0))];
    const m = this.index.search(queries.subarray(0, count * d), k, threads) as unknown as {
      keys: BigUint64Array;
      distances: Float32Array;
      counts: BigUint64Array;
    };
    return Array.from({ length: count }, (_, i) => this.best(row(i), m.keys, m.distances, i * k, Math.min(k, Number(m.counts[i]))));
  }

  /** Of `count` candidates from `at`: the first (usearch's "ip" distance is 1 - dot), or the best re-ranked exactly. */
  private best(q: Float32Array, keys: BigUint64Array, distances: Float32Array, at: number, count: number): Neighbour | undefined {
    if (count <= 0) return undefined;
    if (this.rerank === undefined) return { id: Number(keys[at]!), cosine: 1 - distances[at]! };
    let best: Neighbour | undefined;
    for (let j = at; j < at + count; j++) {
      const id = Number(keys[j]!);
      const v = this.rerank.vectorOf(id);
      if (v === undefined) continue;
      const c = dot(q, v, 0, this.dimensions);
      if (best === undefined || c > best.cosine) best = { id, cosine: c };
    }
    return best;
  }
}
