/**
 * `export --select` over the store (export/select.ts): the same choice as a selection over every vector
 * read up front, while reading from the store only the pages of candidates it reaches before N are kept.
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { orderCandidates, selectDiverse } from '../pipeline/embed/select.ts';
import { unitVector } from '../pipeline/embed/vector-index.ts';
import { selectRows } from '../pipeline/export/select.ts';
import { EmbeddingStore, textSha256 } from '../pipeline/store/embeddings.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const D = 16;
const MODEL = 'emb-select';

function vectorOf(i: number): Float32Array {
  // Eight directions, each repeated with a small twist: many candidates at or above 0.9 to a kept one.
  return unitVector(Float32Array.from({ length: D }, (_, j) => (j === i % 8 ? 1 : 0) + 0.2 * Math.sin(i * 13 + j * 7)))!;
}

describe('selectRows', () => {
  it('keeps what a selection over all vectors keeps, reading only the pages it reaches', async () => {
    const store = Store.open(path.join(tempDir(), 'select.db'));
    const embeddings = new EmbeddingStore(store);
    const candidates: { taskId: number; score: number | null }[] = [];
    store.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        const id = store.insertTask({
          instruction: `任务${i}`,
          input: '',
          output: '答',
          source: 'generated',
          dedupKey: `k${i}`,
          status: 'accepted',
        });
        // Every 97th task has no vector (left out and counted).
        if (i % 97 !== 3) embeddings.insert(id, MODEL, textSha256(`任务${i}\n`), vectorOf(i), null);
        candidates.push({ taskId: id, score: i % 5 === 0 ? null : i % 10 });
      }
    });
    const all = new Map(embeddings.vectors(MODEL).map((e) => [e.taskId, unitVector(e.vector)!]));
    const want = selectDiverse(orderCandidates(candidates, null), all, { n: 6, threshold: 0.9 });

    const read = vi.spyOn(EmbeddingStore.prototype, 'vectors');
    try {
      const got = await selectRows(store, candidates, { n: 6, threshold: 0.9, model: MODEL });
      expect([...got.keep]).toEqual(want.kept);
      expect(got.manifest).toMatchObject({
        kept: 6,
        considered: want.considered,
        droppedSimilar: want.similar,
        droppedNoEmbedding: want.noVector,
      });
      // Six kept among the first few candidates: one page of 4,096 read, not 10,000 vectors.
      const rows = read.mock.results.reduce((n, r) => n + (r.value as unknown[]).length, 0);
      expect(want.considered).toBeLessThan(4096);
      expect(rows).toBeLessThanOrEqual(4096);
    } finally {
      read.mockRestore();
    }
  });
});
