/**
 * The vector side of issue 24, pure: vectors checked at the edge, exact nearest neighbours, the
 * approximate index's recall@1 against exact search on the same data, and the selection's guarantee
 * (no two kept vectors at or above the threshold; every one left out has a kept one at or above it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderCandidates, selectDiverse } from '../pipeline/embed/select.ts';
import { SELECT_INDEX } from '../pipeline/export/select.ts';
import { ApproxIndex, BruteForceIndex, ExactIndex, usearchNow, unitVector } from '../pipeline/embed/vector-index.ts';
import { checkEmbeddings } from '../pipeline/llm/client.ts';
import { blobVector, vectorBlob } from '../pipeline/store/embeddings.ts';
import { simEmbedding } from '../simulator/embeddings.ts';

/** Deterministic vectors around `clusters` centres (so near neighbours exist, as in real data). */
function clustered(n: number, d: number, clusters: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, rand));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % clusters]!;
    return unitVector(Float32Array.from(c, (x) => x + 0.35 * rand()))!;
  });
}

function bruteNearest(q: Float32Array, data: readonly Float32Array[]): { id: number; cosine: number } {
  let best = { id: -1, cosine: -Infinity };
  data.forEach((v, id) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * q[i]!;
    if (s > best.cosine) best = { id, cosine: s };
  });
  return best;
}

const cos = (a: Float32Array, b: Float32Array): number => a.reduce((n, x, i) => n + x * b[i]!, 0);

describe('checkEmbeddings (the edge)', () => {
  const body = (rows: unknown[]) => ({ data: rows.map((embedding, index) => ({ index, embedding })) });
  it('accepts finite non-zero vectors of one dimension, in index order', () => {
    const r = checkEmbeddings(
      {
        data: [
          { index: 1, embedding: [0, 1] },
          { index: 0, embedding: [1, 0] },
        ],
      },
      2,
    );
    expect(r).toEqual([Float32Array.from([1, 0]), Float32Array.from([0, 1])]);
  });
  it.each([
    ['no data array', { object: 'list' }, 1, undefined, /not an embeddings list/],
    ['data not an array', { data: 'x' }, 1, undefined, /not an embeddings list/],
    ['fewer vectors than inputs', body([[1, 2]]), 2, undefined, /1 embeddings for 2 inputs/],
    ['NaN (null in JSON)', body([[1, null]]), 1, undefined, /not a finite number/],
    ['a string value', body([[1, '2']]), 1, undefined, /not a finite number/],
    ['a zero vector', body([[0, 0]]), 1, undefined, /zero vector/],
    ['a value beyond float32 (Infinity once stored)', body([[1, 1e39]]), 1, undefined, /beyond float32 range/],
    ['values too small for float32 (zero once stored)', body([[1e-46, -1e-46]]), 1, undefined, /zero vector/],
    [
      'mixed dimensions',
      body([
        [1, 2],
        [1, 2, 3],
      ]),
      2,
      undefined,
      /3 dimensions, expected 2/,
    ],
    ['another dimension than stored', body([[1, 2]]), 1, 3, /2 dimensions, expected 3/],
    [
      'a repeated index',
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 0, embedding: [1] },
        ],
      },
      2,
      undefined,
      /repeated/,
    ],
  ])('refuses %s', (_name, b, count, dims, message) => {
    const r = checkEmbeddings(b, count, dims);
    expect(typeof r).toBe('string');
    expect(r).toMatch(message);
  });
  it('is total on any JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.nat(5), (v, n) => ['string', 'object'].includes(typeof checkEmbeddings(v, n))));
  });
});

describe('float32 blobs', () => {
  it('round-trip exactly', () => {
    const v = Float32Array.from([0.1, -2.5, 3e-8, 1e30]);
    expect(blobVector(vectorBlob(v))).toEqual(v);
    expect(vectorBlob(v).length).toBe(16);
  });
});

describe('ExactIndex', () => {
  it('finds the same nearest neighbour as a brute-force scan', () => {
    const data = clustered(600, 48, 20, 7);
    const index = new ExactIndex(48, 4);
    data.slice(0, 500).forEach((v, i) => index.add(i, v));
    for (const q of data.slice(500)) {
      const got = index.nearest(q)!;
      const want = bruteNearest(q, data.slice(0, 500));
      expect(got.id).toBe(want.id);
      expect(got.cosine).toBeCloseTo(want.cosine, 5);
    }
  });
  it('refuses a vector of another dimension', () => {
    expect(() => new ExactIndex(3).add(1, new Float32Array(4))).toThrow(/4 dimensions in an index of 3/);
  });
});

describe('ApproxIndex (usearch HNSW)', () => {
  it('has recall@1 of at least 0.95 against exact search on the same data', async () => {
    const usearch = usearchNow();
    expect(usearch, 'usearch ships a prebuilt linux-x64 addon; it must load here').not.toBeNull();
    const d = 64;
    const data = clustered(6000, d, 300, 11);
    const base = data.slice(0, 5000);
    const approx = new ApproxIndex(usearch!, d);
    const exact = new ExactIndex(d, base.length);
    const flat = new Float32Array(base.length * d);
    base.forEach((v, i) => {
      flat.set(v, i * d);
      exact.add(i, v);
    });
    approx.addMany(
      base.map((_, i) => i),
      flat,
    );
    let hits = 0;
    for (const q of data.slice(5000)) if (approx.nearest(q)!.id === exact.nearest(q)!.id) hits++;
    expect(hits / 1000).toBeGreaterThanOrEqual(0.95);
  });
});

describe('ApproxIndex i8 with exact re-rank (what export --select uses above 20,000)', () => {
  it('keeps recall@1 at 0.95 or more, returns the exact cosine, and answers a batch as one query at a time', async () => {
    const usearch = usearchNow()!;
    const d = 64;
    const data = clustered(5500, d, 300, 13);
    const base = data.slice(0, 5000);
    const approx = new ApproxIndex(usearch, d, { ...SELECT_INDEX, rerank: { k: SELECT_INDEX.rerank, vectorOf: (id) => base[id] } });
    const exact = new ExactIndex(d, base.length);
    const flat = new Float32Array(base.length * d);
    base.forEach((v, i) => {
      flat.set(v, i * d);
      exact.add(i, v);
    });
    approx.addMany(
      base.map((_, i) => i),
      flat,
    );
    const queries = data.slice(5000);
    const flatQ = new Float32Array(queries.length * d);
    queries.forEach((q, i) => flatQ.set(q, i * d));
    const batch = approx.nearestMany(flatQ, queries.length);
    let hits = 0;
    queries.forEach((q, i) => {
      const got = approx.nearest(q)!;
      expect(batch[i]).toEqual(got);
      // Re-ranked: the cosine is the float32 dot product of the query and the stored vector, not i8's estimate.
      expect(got.cosine).toBeCloseTo(cos(q, base[got.id]!), 6);
      if (got.id === exact.nearest(q)!.id) hits++;
    });
    expect(hits / queries.length).toBeGreaterThanOrEqual(0.95);
    expect(approx.nearestMany(flatQ, 1)).toEqual([approx.nearest(queries[0]!)]);
  });
});

describe('ApproxIndex saved and opened again (how bench:embed sweeps one built graph)', () => {
  const d = 48;
  const data = clustered(4400, d, 40, 29);
  const base = data.slice(0, 4000);
  const queries = data.slice(4000);
  const exact = new ExactIndex(d, base.length);
  base.forEach((v, i) => exact.add(i, v));
  const truth = queries.map((q) => exact.nearest(q)!.id);
  const recall = (index: ApproxIndex): number => queries.filter((q, i) => index.nearest(q)!.id === truth[i]).length / queries.length;

  it('searches the saved graph at the breadth it is opened with, not the one it was built with', async () => {
    const usearch = usearchNow()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approx-open-'));
    try {
      const file = path.join(dir, 'g.usearch');
      // A sparse graph searched narrowly misses neighbours; opened with a breadth above the data's size it finds them.
      const built = new ApproxIndex(usearch, d, { connectivity: 8, expansionAdd: 16, expansionSearch: 1 });
      const flat = new Float32Array(base.length * d);
      base.forEach((v, i) => flat.set(v, i * d));
      // One thread: the same graph on every run.
      built.addMany(
        base.map((_, i) => i),
        flat,
        1,
      );
      built.save(file);
      expect(recall(built)).toBeLessThan(0.6);
      const wide = ApproxIndex.open(usearch, d, file, { expansionSearch: 5000 });
      expect(wide.size).toBe(base.length);
      expect(recall(wide)).toBeGreaterThanOrEqual(0.98);
      // The re-rank depth widens the search too (usearch searches at least as wide as the results asked for).
      const deep = ApproxIndex.open(usearch, d, file, { expansionSearch: 1, rerank: { k: 5000, vectorOf: (id) => base[id] } });
      expect(recall(deep)).toBeGreaterThanOrEqual(0.98);
      expect(ApproxIndex.open(usearch, d, file, { expansionSearch: 1 }).nearest(queries[0]!)).toEqual(built.nearest(queries[0]!));
      expect(() => ApproxIndex.open(usearch, d + 1, file, {})).toThrow(/an index of 48 dimensions, not 49/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an i8 index without re-rank (its distances are not cosines)', async () => {
    const usearch = usearchNow()!;
    expect(() => new ApproxIndex(usearch, d, { quantization: 'i8' })).toThrow(/i8 index needs rerank/);
  });
});

describe('selection', () => {
  it('orders judged by score (ties by id), unjudged after by id; minScore drops below and unjudged', () => {
    const c = [
      { taskId: 5, score: null },
      { taskId: 3, score: 7 },
      { taskId: 1, score: 9 },
      { taskId: 2, score: 7 },
      { taskId: 4, score: null },
    ];
    expect(orderCandidates(c, null).map((x) => x.taskId)).toEqual([1, 2, 3, 4, 5]);
    expect(orderCandidates(c, 8).map((x) => x.taskId)).toEqual([1]);
  });

  it('never keeps two vectors at or above the threshold, and leaves out only those near a kept one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.double({ min: 0.3, max: 0.95, noNaN: true }),
        fc.integer({ min: 1, max: 80 }),
        (seed, t, n) => {
          const vs = clustered(120, 16, 6, seed);
          const vectors = new Map(vs.map((v, i) => [i, v]));
          const candidates = vs.map((_, i) => ({ taskId: i, score: i % 3 === 0 ? null : (i * 7) % 10 }));
          const ordered = orderCandidates(candidates, null);
          const s = selectDiverse(ordered, vectors, { n, threshold: t });
          expect(s.exact).toBe(true);
          expect(s.kept.length).toBeLessThanOrEqual(n);
          for (let i = 0; i < s.kept.length; i++)
            for (let j = 0; j < i; j++) expect(cos(vectors.get(s.kept[i]!)!, vectors.get(s.kept[j]!)!)).toBeLessThan(t);
          // Every candidate considered and left out has a kept one at or above the threshold (kept before it).
          const kept = new Set(s.kept);
          for (const c of ordered.slice(0, s.considered)) {
            if (kept.has(c.taskId)) continue;
            expect(s.kept.some((k) => cos(vectors.get(k)!, vectors.get(c.taskId)!) >= t)).toBe(true);
          }
          expect(s.considered).toBe(s.kept.length + s.similar);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('with the approximate index, in blocks: the same choice as one at a time with exact search', async () => {
    const usearch = usearchNow()!;
    const vs = clustered(400, 16, 8, 21);
    // Some candidates have no vector; neighbours within a block of 64 are common (8 clusters).
    const vectors = new Map(vs.map((v, i) => [i, v] as const).filter(([i]) => i % 37 !== 5));
    const ordered = orderCandidates(
      vs.map((_, i) => ({ taskId: i, score: (i * 7) % 10 })),
      null,
    );
    for (const [n, t] of [
      [400, 0.6],
      [25, 0.6],
      [400, 0.95],
    ] as const) {
      const exact = selectDiverse(ordered, vectors, { n, threshold: t });
      // A large search width over a few hundred vectors: the graph search is exact here.
      const approx = new ApproxIndex(usearch, 16, { expansionAdd: 400, expansionSearch: 400 });
      const blocks = selectDiverse(ordered, vectors, { n, threshold: t, index: approx });
      expect(blocks).toEqual({ ...exact, exact: false });
      expect(approx.size).toBe(exact.kept.length);
    }
  });

  it('in blocks: a paraphrase next to its kept original is left out without searching the graph', async () => {
    const usearch = usearchNow()!;
    // Pairs: even i a fresh direction, i + 1 its paraphrase (cosine ≈ 0.99); pairs far apart in 64 dimensions.
    const fresh = clustered(150, 64, 150, 5);
    const vs = fresh.flatMap((v, i) => [v, unitVector(Float32Array.from(v, (x, j) => x + 0.012 * Math.sin(i * 64 + j)))!]);
    const vectors = new Map(vs.map((v, i) => [i, v] as const));
    const ordered = vs.map((_, i) => ({ taskId: i, score: null }));
    class Counting extends ApproxIndex {
      searched = 0;
      override nearest(q: Float32Array) {
        this.searched++;
        return super.nearest(q);
      }
      override nearestMany(q: Float32Array, count: number, threads?: number) {
        this.searched += count;
        return super.nearestMany(q, count, threads);
      }
    }
    const index = new Counting(usearch, 64, { expansionAdd: 400, expansionSearch: 400 });
    const s = selectDiverse(ordered, vectors, { n: 300, threshold: 0.9, index });
    expect(s).toEqual({ ...selectDiverse(ordered, vectors, { n: 300, threshold: 0.9 }), exact: false });
    expect(s.kept).toEqual(vs.map((_, i) => i).filter((i) => i % 2 === 0));
    expect(s.similar).toBe(150);
    // Only the originals were searched (a paraphrase whose block holds its kept original needs no search).
    expect(index.searched).toBe(150);
  });

  it("with usearch's exact scan, in blocks: the same choice as one at a time in JavaScript, still exact", async () => {
    const usearch = usearchNow()!;
    const vs = clustered(500, 32, 10, 23);
    const vectors = new Map(vs.map((v, i) => [i, v] as const).filter(([i]) => i % 41 !== 7));
    const ordered = orderCandidates(
      vs.map((_, i) => ({ taskId: i, score: (i * 3) % 10 })),
      null,
    );
    for (const [n, t] of [
      [500, 0.55],
      [30, 0.55],
      [500, 0.9],
    ] as const) {
      const one = selectDiverse(ordered, vectors, { n, threshold: t });
      const index = new BruteForceIndex(usearch, 32, 16);
      const blocks = selectDiverse(ordered, vectors, { n, threshold: t, index });
      expect(blocks).toEqual(one);
      expect(blocks.exact).toBe(true);
      expect(index.size).toBe(one.kept.length);
      // Its nearest is ExactIndex's over the same kept vectors (cosine up to float32 rounding).
      const js = new ExactIndex(32);
      for (const id of one.kept) js.add(id, vectors.get(id)!);
      for (const q of vs.slice(0, 20)) {
        const got = index.nearest(q)!;
        expect(got.id).toBe(js.nearest(q)!.id);
        expect(got.cosine).toBeCloseTo(js.nearest(q)!.cosine, 5);
      }
    }
  });

  it('counts candidates with no vector apart', () => {
    const v = unitVector(Float32Array.from([1, 0]))!;
    const s = selectDiverse(
      [
        { taskId: 1, score: 5 },
        { taskId: 2, score: 4 },
      ],
      new Map([[2, v]]),
      { n: 5, threshold: 0.9 },
    );
    expect(s).toMatchObject({ kept: [2], noVector: 1, scoreRange: [4, 4] });
  });
});

describe('the simulator embedding (not a semantic model)', () => {
  it('puts light edits close and unrelated texts far', () => {
    const a = Float32Array.from(simEmbedding('写一首关于春天的诗，描写花开和鸟鸣。'));
    const edit = Float32Array.from(simEmbedding('写一首关于春天的诗，描写花开与鸟鸣！'));
    const other = Float32Array.from(simEmbedding('计算下列矩阵的行列式并说明步骤。'));
    expect(cos(a, edit)).toBeGreaterThan(0.8);
    expect(cos(a, other)).toBeLessThan(0.3);
    // Deterministic.
    expect(simEmbedding('同一段话')).toEqual(simEmbedding('同一段话'));
  });
});
