/**
 * The embedding stage: the vectors of tasks' near-duplicate key texts (store/embeddings.ts says which
 * text), many texts per request. A unit is plain JSON: the text hashes asked for and the tasks each one
 * is stored for (tasks sharing a text share one input). As the `embed` command's goal it works through the
 * tasks pending at start; as a follower it embeds what its run accepts, as it is accepted.
 */
import type { LlmError } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { EmbeddingReply, Reading, Stage, StageOutcome, StageRequest } from './stage.ts';
import { EmbeddingStore, type EmbedSince, type TaskToEmbed } from '../store/embeddings.ts';
import type { Store } from '../store/store.ts';
import { AcceptanceIndex } from '../embed/acceptance-index.ts';
import { unitVector } from '../embed/vector-index.ts';

export const EMBED = 'embed';

/** `generate --embedding-model`: the embedding stage that follows a run. */
export interface EmbedFollowerOptions {
  model: string;
  price: Price | undefined;
  /** Default 64. */
  perRequest?: number;
  /** Reject a task whose cosine to an accepted one is at or above this (`semantic_duplicate`). */
  semanticThreshold?: number | undefined;
}

export interface EmbedStageOptions {
  model: string;
  price: Price | undefined;
  /** Texts per request. */
  perRequest: number;
  /**
   * Follower only: a task whose cosine to an accepted task embedded before it is at or above this is
   * rejected (`semantic_duplicate`, the nearest task stored) and taken off the run's count.
   */
  semanticThreshold?: number | undefined;
  /**
   * Semantic check: compared exactly up to this many accepted vectors, in the approximate index above
   * (default EXACT_ACCEPTANCE_UP_TO, embed/index-choices.ts).
   */
  approximateFrom?: number;
  /** Goal: the tasks pending at start. Follower: the run whose accepted tasks are embedded as they come. */
  work: { kind: 'tasks'; tasks: readonly TaskToEmbed[] } | { kind: 'run'; runId: number };
}

interface Unit {
  /** Text hashes, one per input. */
  shas: string[];
  /** Tasks stored with each input's vector. */
  taskIds: number[][];
}

interface Group {
  sha: string;
  text: string;
  taskIds: number[];
}

export class EmbedStage implements Stage<Unit, Float32Array[], EmbeddingReply> {
  readonly name = EMBED;
  readonly role: 'goal' | 'follower';
  readonly templateId = null;
  readonly price: Price | undefined;
  private readonly embeddings: EmbeddingStore;
  private readonly queue: Group[] = [];
  /** Texts (by hash) asked for in this invocation: asked once. */
  private readonly texts = new Map<string, string>();
  private readonly seen = new Set<number>();
  private dimensions: number | undefined;
  private stale = true;
  /** Unit vectors of the accepted tasks with this model's embedding (semantic check only). */
  private index: AcceptanceIndex | undefined;
  /** Tasks rejected as semantic near-duplicates in this invocation. */
  semanticDuplicates = 0;

  constructor(
    store: Store,
    private readonly o: EmbedStageOptions,
  ) {
    this.role = o.work.kind === 'tasks' ? 'goal' : 'follower';
    this.price = o.price;
    this.embeddings = new EmbeddingStore(store);
    this.dimensions = this.embeddings.dimensions(o.model);
    if (o.work.kind === 'tasks') this.enqueue(o.work.tasks);
    if (o.semanticThreshold !== undefined && o.work.kind === 'run') {
      const stored = this.embeddings.vectors(o.model);
      const index = this.newIndex(this.dimensions ?? 1, stored.length + 1024);
      // A generator: each unit copy lives only until the index has copied it.
      index.addAll(
        (function* () {
          for (const e of stored) {
            const u = unitVector(e.vector);
            if (u !== undefined && u.length === index.dimensions) yield { id: e.taskId, u };
          }
        })(),
      );
      this.index = index;
    }
  }

  private newIndex(dimensions: number, capacity: number): AcceptanceIndex {
    return new AcceptanceIndex(dimensions, capacity, {
      ...(this.o.approximateFrom !== undefined && { approximateFrom: this.o.approximateFrom }),
    });
  }

  /** How the semantic check searches now (undefined: no check). */
  get semanticSearch(): 'exact' | 'approximate' | undefined {
    return this.index?.search;
  }

  /** Tasks still waiting in the queue. */
  get waiting(): number {
    return this.queue.reduce((n, g) => n + g.taskIds.length, 0);
  }

  private enqueue(tasks: readonly TaskToEmbed[]): void {
    const bySha = new Map<string, Group>();
    for (const t of tasks) {
      if (this.seen.has(t.taskId)) continue;
      this.seen.add(t.taskId);
      const g = bySha.get(t.textSha256);
      if (g !== undefined) g.taskIds.push(t.taskId);
      else {
        const group = { sha: t.textSha256, text: t.text, taskIds: [t.taskId] };
        bySha.set(t.textSha256, group);
        this.queue.push(group);
      }
    }
  }

  next(): StageRequest<Unit> | undefined {
    if (this.queue.length === 0 && this.o.work.kind === 'run' && this.stale) {
      this.stale = false;
      this.enqueue(this.embeddings.pending(this.o.model, this.o.work.runId));
    }
    if (this.queue.length === 0) return undefined;
    const groups = this.queue.splice(0, this.o.perRequest);
    for (const g of groups) this.texts.set(g.sha, g.text);
    return {
      unit: { shas: groups.map((g) => g.sha), taskIds: groups.map((g) => g.taskIds) },
      embedding: { model: this.o.model, input: groups.map((g) => g.text), dimensions: this.dimensions },
    };
  }

  notice(): void {
    this.stale = true;
  }

  /** The client checked the vectors (count, dimension, values); this only names what came. */
  read(unit: Unit, reply: EmbeddingReply): Reading<Float32Array[]> {
    const ok = reply.vectors.length === unit.shas.length;
    return {
      shape: ok ? 'embeddings' : 'embeddings:count',
      problems: ok ? [] : [`${reply.vectors.length} vectors for ${unit.shas.length} texts`],
      value: ok ? reply.vectors : [],
    };
  }

  store(unit: Unit, requestId: number, vectors: Float32Array[]): StageOutcome {
    let accepted = 0;
    let revoked = 0;
    for (let i = 0; i < vectors.length; i++) {
      for (const taskId of unit.taskIds[i]!) {
        if (!this.embeddings.insert(taskId, this.o.model, unit.shas[i]!, vectors[i]!, requestId)) continue;
        accepted++;
        if (this.checkSemantic(taskId, vectors[i]!)) revoked++;
      }
    }
    const rejected: Record<string, number> = vectors.length === 0 ? { bad_reply: unit.shas.length } : {};
    if (revoked > 0) rejected['semantic_duplicate'] = revoked;
    return { accepted, rejected, ...(revoked > 0 && { revoked }) };
  }

  /**
   * After the exact edit-distance index let the task in: rejected when an accepted task embedded before it
   * is at or above the threshold (true), else it joins the index. In order, so of two such tasks the
   * first one embedded stays.
   */
  private checkSemantic(taskId: number, v: Float32Array): boolean {
    if (this.index === undefined || this.o.semanticThreshold === undefined) return false;
    const u = unitVector(v);
    if (u === undefined) return false;
    if (this.index.size === 0 && this.index.dimensions !== u.length) this.index = this.newIndex(u.length, 1024);
    const near = this.index.firstAtOrAbove(u, this.o.semanticThreshold);
    if (near !== undefined && near.cosine >= this.o.semanticThreshold && near.id !== taskId) {
      if (this.embeddings.rejectSemanticDuplicate(taskId, near.id, near.cosine)) {
        this.semanticDuplicates++;
        return true;
      }
      return false;
    }
    this.index.add(taskId, u);
    return false;
  }

  afterStore(_unit: Unit, _outcome: StageOutcome, vectors: Float32Array[]): void {
    // Every later reply must match the first one's dimension (the client fails the attempt otherwise).
    this.dimensions ??= vectors[0]?.length;
  }

  release(unit: Unit, error: LlmError | undefined): undefined {
    const groups = unit.shas.map((sha, i) => ({ sha, text: this.texts.get(sha) ?? '', taskIds: unit.taskIds[i]! }));
    // Not sent for the budget: first next time. Failed: to the back, so one bad text cannot block the rest.
    if (error === undefined) this.queue.unshift(...groups);
    else this.queue.push(...groups);
    return undefined;
  }
}

export type { EmbedSince };
