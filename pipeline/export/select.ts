/**
 * `export --select N`: which rows a quality-diversity export keeps (embed/select.ts decides), from the
 * rows the export would write otherwise, and what the manifest says about it.
 */
import { UsageError } from '../errors.ts';
import { orderCandidates, selectDiverse, type Candidate, type VectorSource } from '../embed/select.ts';
import { EXACT_SELECTION_UP_TO, SELECT_INDEX } from '../embed/index-choices.ts';
import { ApproxIndex, BruteForceIndex, usearchNow, unitVector } from '../embed/vector-index.ts';
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
  const embeddings = new EmbeddingStore(store);
  const vectors = new VectorPages(embeddings, r.model, ordered);
  const usearch = usearchNow();
  const dims = embeddings.dimensions(r.model) ?? 1;
  // Exact up to EXACT_SELECTION_UP_TO (usearch's brute-force scan, or JavaScript's where usearch cannot load).
  const index =
    usearch === null
      ? undefined
      : r.n > EXACT_SELECTION_UP_TO
        ? new ApproxIndex(usearch, dims, { ...SELECT_INDEX, rerank: { k: SELECT_INDEX.rerank, vectorOf: (id) => vectors.get(id) } })
        : new BruteForceIndex(usearch, dims, Math.min(r.n, 65_536));
  const s = selectDiverse(ordered, vectors, { n: r.n, threshold: r.threshold, ...(index !== undefined && { index }) });
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

/** Candidates' vectors read from the store at a time. */
const PAGE = 4096;

/**
 * The candidates' unit vectors, read from the store a page of the selection order at a time when the
 * selection first asks for one of the page: it stops once N are kept, often long before the last candidate
 * (50,000 kept of 1M: about 56,000 read instead of 1M, a fifteenth of the reading and of the memory).
 */
class VectorPages implements VectorSource {
  private readonly position = new Map<number, number>();
  private readonly loaded = new Map<number, Float32Array>();
  private readonly pagesRead = new Set<number>();

  constructor(
    private readonly embeddings: EmbeddingStore,
    private readonly model: string,
    private readonly ordered: readonly Candidate[],
  ) {
    ordered.forEach((c, i) => this.position.set(c.taskId, i));
  }

  has(taskId: number): boolean {
    return this.get(taskId) !== undefined;
  }

  get(taskId: number): Float32Array | undefined {
    const v = this.loaded.get(taskId);
    if (v !== undefined) return v;
    const at = this.position.get(taskId);
    if (at === undefined) return undefined;
    const page = Math.floor(at / PAGE);
    if (this.pagesRead.has(page)) return undefined;
    this.pagesRead.add(page);
    const taskIds = this.ordered.slice(page * PAGE, (page + 1) * PAGE).map((c) => c.taskId);
    for (const e of this.embeddings.vectors(this.model, { taskIds })) {
      const u = unitVector(e.vector);
      if (u !== undefined) this.loaded.set(e.taskId, u);
    }
    return this.loaded.get(taskId);
  }
}
