/**
 * The acceptance-time semantic check (`generate --semantic-threshold`) above its exact range: the embed
 * stage compares each newly embedded task in usearch's graph (ACCEPT_INDEX) once the compared set passes
 * `approximateFrom`, still rejecting a planted near-duplicate with the exact cosine, accepting a distinct
 * task, and adding the run's own tasks to the graph as they are embedded.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcceptanceIndex } from '../pipeline/embed/acceptance-index.ts';
import { unitVector } from '../pipeline/embed/vector-index.ts';
import { EmbedStage } from '../pipeline/stages/embed.ts';
import { EmbeddingStore, textSha256 } from '../pipeline/store/embeddings.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const D = 64;
const MODEL = 'emb-test';
const T = 0.9;

/** Deterministic pseudo-random unit vectors: independent directions, far apart in 64 dimensions. */
function randomUnit(seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const v = Float32Array.from({ length: D }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  return unitVector(v)!;
}

/** `v` moved towards another direction, to cosine `c` from it (a paraphrase). */
function near(v: Float32Array, seed: number, c: number): Float32Array {
  const r = randomUnit(seed);
  const along = r.reduce((n, x, i) => n + x * v[i]!, 0);
  const orth = unitVector(Float32Array.from(r, (x, i) => x - along * v[i]!))!;
  return Float32Array.from(v, (x, i) => c * x + Math.sqrt(1 - c * c) * orth[i]!);
}

const cos = (a: Float32Array, b: Float32Array): number => a.reduce((n, x, i) => n + x * b[i]!, 0);

/** A store with `stored` accepted tasks embedded by MODEL (vectors randomUnit(i)), and a generation run. */
function world(stored: number) {
  const store = Store.open(path.join(tempDir(), 'accept.db'));
  const run = store.createRun({ target: 10, mode: 'self-instruct', model: 'gpt-3.5-turbo', options: {} });
  const embeddings = new EmbeddingStore(store);
  const ids: number[] = [];
  for (let i = 0; i < stored; i++) {
    const text = `旧任务${i}\n`;
    const id = store.insertTask({
      instruction: `旧任务${i}`,
      input: '',
      output: '答',
      source: 'seed',
      dedupKey: `old${i}`,
      status: 'accepted',
    });
    embeddings.insert(id, MODEL, textSha256(text), randomUnit(i + 1), null);
    ids.push(id);
  }
  const request = store.insertRequest({ runId: run, templateId: null, model: MODEL, messages: [], params: {}, status: 'ok' });
  const accept = (name: string) =>
    store.insertTask({ instruction: name, input: '', output: '答', source: 'generated', dedupKey: name, status: 'accepted', runId: run });
  const status = (id: number) =>
    store.db.prepare('SELECT status, reason, nearest_task_id AS nearest, similarity FROM tasks WHERE id = ?').get(id) as {
      status: string;
      reason: string | null;
      nearest: number | null;
      similarity: number | null;
    };
  return { store, run, ids, request, accept, status };
}

/** The stage's next request answered with the vectors planned for its tasks (by task id). */
function reply(stage: EmbedStage, request: number, planned: ReadonlyMap<number, Float32Array>) {
  stage.notice();
  const r = stage.next()!;
  const vectors = r.unit.taskIds.map((ids) => planned.get(ids[0]!)!);
  return stage.store(r.unit, request, vectors);
}

/** The embed stage following the world's run, checking at T, exact up to `approximateFrom` vectors. */
const follower = (w: ReturnType<typeof world>, approximateFrom: number) =>
  new EmbedStage(w.store, {
    model: MODEL,
    price: undefined,
    perRequest: 16,
    semanticThreshold: T,
    approximateFrom,
    work: { kind: 'run', runId: w.run },
  });

describe('the embed stage above its exact range', () => {
  it('searches the approximate index, rejects a planted near-duplicate with the exact cosine, accepts a distinct task', () => {
    const w = world(60);
    const stage = follower(w, 40);
    expect(stage.semanticSearch).toBe('approximate');
    const copyOf = w.ids[17]!;
    const dup = w.accept('新任务：近似重复');
    const fresh = w.accept('新任务：全新');
    const dupVector = near(randomUnit(18), 1000, 0.95);
    const out = reply(
      stage,
      w.request,
      new Map([
        [dup, dupVector],
        [fresh, randomUnit(2000)],
      ]),
    );
    expect(out).toMatchObject({ accepted: 2, revoked: 1, rejected: { semantic_duplicate: 1 } });
    const rejected = w.status(dup);
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'semantic_duplicate', nearest: copyOf });
    // Re-ranked in float32: the stored cosine is the exact one, not the i8 graph's estimate.
    expect(rejected.similarity!).toBeCloseTo(cos(dupVector, randomUnit(18)), 5);
    expect(w.status(fresh)).toMatchObject({ status: 'accepted', reason: null });

    // The run's accepted task joined the graph as it was embedded: its paraphrase, a reply later, is caught.
    const second = w.accept('新任务：全新的改写');
    expect(reply(stage, w.request, new Map([[second, near(randomUnit(2000), 3000, 0.93)]]))).toMatchObject({ revoked: 1 });
    expect(w.status(second)).toMatchObject({ status: 'rejected', nearest: fresh });
    expect(stage.semanticDuplicates).toBe(2);
  });

  it('switches from the exact scan to the graph when the run takes the compared set past its range', () => {
    const w = world(5);
    const stage = follower(w, 8);
    expect(stage.semanticSearch).toBe('exact');
    const early = Array.from({ length: 6 }, (_, i) => w.accept(`新任务${i}`));
    expect(reply(stage, w.request, new Map(early.map((id, i) => [id, randomUnit(500 + i)])))).toMatchObject({ accepted: 6 });
    expect(stage.semanticSearch).toBe('approximate');
    // A paraphrase of a task scanned exactly before the switch: the graph holds it too.
    const late = w.accept('新任务：改写');
    expect(reply(stage, w.request, new Map([[late, near(randomUnit(503), 77, 0.92)]]))).toMatchObject({ revoked: 1 });
    expect(w.status(late)).toMatchObject({ status: 'rejected', reason: 'semantic_duplicate', nearest: early[3] });
  });
});

describe('AcceptanceIndex', () => {
  // More than one build chunk (4,096), so the graph is built from views that start inside the scan's memory.
  const base = Array.from({ length: 5000 }, (_, i) => randomUnit(i + 1));

  it('answers as the exact scan does on planted paraphrases and fresh vectors, with exact cosines', () => {
    const exact = new AcceptanceIndex(D, 16, { approximateFrom: 1e9 });
    const approx = new AcceptanceIndex(D, 16, { approximateFrom: 1000 });
    const entries = base.map((u, i) => ({ id: i, u }));
    exact.addAll(entries);
    approx.addAll(entries);
    expect([exact.search, approx.search]).toEqual(['exact', 'approximate']);
    expect(approx.size).toBe(5000);
    for (let q = 0; q < 200; q++) {
      const target = (q * 137) % base.length;
      const para = near(base[target]!, 9000 + q, 0.91 + (q % 8) * 0.01);
      const got = approx.firstAtOrAbove(para, T)!;
      expect(got.id).toBe(target);
      expect(got.cosine).toBeCloseTo(cos(para, base[target]!), 5);
      expect(exact.firstAtOrAbove(para, T)!.cosine).toBeGreaterThanOrEqual(T);
      const fresh = randomUnit(50_000 + q);
      expect(approx.firstAtOrAbove(fresh, T)!.cosine).toBeLessThan(T);
    }
  });

  it('keeps scanning exactly when usearch cannot load', () => {
    const index = new AcceptanceIndex(D, 16, { approximateFrom: 10, usearch: () => null });
    base.slice(0, 50).forEach((u, i) => index.add(i, u));
    expect(index.search).toBe('exact');
    expect(index.size).toBe(50);
    expect(index.firstAtOrAbove(near(base[42]!, 5, 0.95), T)).toMatchObject({ id: 42 });
  });
});
