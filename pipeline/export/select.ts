/**
 * `export --select N`: which rows a quality-diversity export keeps (embed/select.ts decides), from the
 * rows the export would write otherwise, and what the manifest says about it.
 */
import { UsageError } from '../errors.ts';
import { orderCandidates, selectDiverse, type Candidate } from '../embed/select.ts';
import { EXACT_SELECTION_UP_TO, SELECT_INDEX } from '../embed/index-choices.ts';
import { ApproxIndex, loadUsearch, unitVector } from '../embed/vector-index.ts';
import { EmbeddingStore } from '../store/embeddings.ts';
import type { Store } from '../store/store.ts';

/** Deita's threshold: kept tasks are below this cosine to each other. */
export const DEFAULT_DIVERSITY = 0.9;
export { EXACT_SELECTION_UP_TO, SELECT_INDEX };

export interface SelectRequest {
  n: number;
  threshold: number;
  model: string;
}

export interface SelectionManifest {
  embeddingModel: string;
  /** What was embedded, as `embed` stores it. */
  embeddedText: string;
  n: number;
  threshold: number;
  order: string;
  /** Rows looked at before N were kept (or all that passed the other filters). */
  considered: number;
  kept: number;
  droppedSimilar: number;
  /** Rows with no vector by the model (embed them first to have them considered). */
  droppedNoEmbedding: number;
  /** Lowest and highest judge score among the kept rows (null: none judged). */
  scoreRange: [number, number] | null;
  /** exact: no two kept rows are at or above the threshold; approximate: up to the index's recall. */
  search: 'exact' | 'approximate';
}

export const SELECTION_ORDER =
  'judge score, highest first; ties by task id, oldest first; unjudged rows after judged ones, by task id (dropped only with minScore)';

/** The embedding model to select with: the one given, else the one whose embeddings are newest. */
export function selectionModel(store: Store, given: string | undefined, db: string): string {
  const models = new EmbeddingStore(store).models();
  const model = given ?? models[0]?.model;
  if (model === undefined || !models.some((m) => m.model === model)) {
    const m = model ?? 'text-embedding-3-small';
    throw new UsageError(`no embeddings by ${m} in ${db}: run \`zh-self-instruct embed --db ${db} --model ${m}\` first`, {
      option: 'select',
    });
  }
  return model;
}

/** The task ids to keep, and the manifest's section. */
export async function selectRows(
  store: Store,
  candidates: readonly Candidate[],
  r: SelectRequest,
): Promise<{ keep: Set<number>; manifest: SelectionManifest }> {
  const ordered = orderCandidates(candidates, null);
  const vectors = new Map<number, Float32Array>();
  for (const e of new EmbeddingStore(store).vectors(r.model, { taskIds: ordered.map((c) => c.taskId) })) {
    const u = unitVector(e.vector);
    if (u !== undefined) vectors.set(e.taskId, u);
  }
  const usearch = r.n > EXACT_SELECTION_UP_TO ? await loadUsearch() : null;
  const dims = vectors.values().next().value?.length ?? 1;
  const s = selectDiverse(ordered, vectors, {
    n: r.n,
    threshold: r.threshold,
    ...(usearch !== null && {
      index: new ApproxIndex(usearch, dims, { ...SELECT_INDEX, rerank: { k: SELECT_INDEX.rerank, vectorOf: (id) => vectors.get(id) } }),
    }),
  });
  return {
    keep: new Set(s.kept),
    manifest: {
      embeddingModel: r.model,
      embeddedText: 'instruction + "\\n" + input; a dialogue: its first two user turns',
      n: r.n,
      threshold: r.threshold,
      order: SELECTION_ORDER,
      considered: s.considered,
      kept: s.kept.length,
      droppedSimilar: s.similar,
      droppedNoEmbedding: s.noVector,
      scoreRange: s.scoreRange,
      search: s.exact ? 'exact' : 'approximate',
    },
  };
}
