/**
 * What `generate --semantic-threshold` compares each newly embedded task with: the accepted tasks' unit
 * vectors, scanned exactly while there are few, searched in usearch's HNSW graph (ACCEPT_INDEX) once there
 * are more than `approximateFrom`, with the graph's best candidates re-ranked by exact float32 cosine, so
 * the cosine compared with the threshold is always exact and only a neighbour the graph does not offer is
 * missed. Where usearch cannot load, the scan goes on, however large.
 */
import { ACCEPT_INDEX, EXACT_ACCEPTANCE_UP_TO } from './index-choices.ts';
import { ApproxIndex, ExactIndex, type Neighbour, type Usearch, usearchNow } from './vector-index.ts';

export interface AcceptanceIndexOptions {
  /** Exact scan up to this many vectors, the approximate index above. Default EXACT_ACCEPTANCE_UP_TO. */
  approximateFrom?: number;
  /** usearch, or null where it cannot load. Default: loaded on first need (`usearchNow`). */
  usearch?: () => Usearch | null;
}

/** Vectors added to the graph per call when it is built from the scanned ones (on the addon's threads). */
const BUILD_CHUNK = 4096;

export class AcceptanceIndex {
  private exactIndex: ExactIndex | undefined;
  private approx: ApproxIndex | undefined;
  /** Approximate only: every vector by id, for the re-rank (views of the former scan's memory, then copies). */
  private readonly vectors = new Map<number, Float32Array>();
  private readonly approximateFrom: number;
  private readonly usearch: () => Usearch | null;
  /** usearch did not load: exact for good. */
  private exactOnly = false;

  constructor(
    readonly dimensions: number,
    capacity: number,
    o: AcceptanceIndexOptions = {},
  ) {
    this.exactIndex = new ExactIndex(dimensions, capacity);
    this.approximateFrom = o.approximateFrom ?? EXACT_ACCEPTANCE_UP_TO;
    this.usearch = o.usearch ?? usearchNow;
  }

  get size(): number {
    return this.approx?.size ?? this.exactIndex!.size;
  }

  get search(): 'exact' | 'approximate' {
    return this.approx === undefined ? 'exact' : 'approximate';
  }

  /** `u` a unit vector of the index's dimension. */
  add(id: number, u: Float32Array): void {
    if (this.approx !== undefined) {
      this.vectors.set(id, u);
      this.approx.add(id, u);
      return;
    }
    this.exactIndex!.add(id, u);
    if (this.exactIndex!.size > this.approximateFrom && !this.exactOnly) this.toApproximate();
  }

  /** Many at once (the accepted tasks at start): the graph, if needed, is built once, from all of them. */
  addAll(entries: Iterable<{ id: number; u: Float32Array }>): void {
    if (this.approx !== undefined) {
      for (const e of entries) this.add(e.id, e.u);
      return;
    }
    for (const e of entries) this.exactIndex!.add(e.id, e.u);
    if (this.exactIndex!.size > this.approximateFrom && !this.exactOnly) this.toApproximate();
  }

  /**
   * A stored vector at or above `threshold` to `u` if one is found (exact: the first in the scan; approximate:
   * the nearest of the re-ranked candidates), else the nearest found (undefined when empty). The cosine is exact.
   */
  firstAtOrAbove(u: Float32Array, threshold: number): Neighbour | undefined {
    return this.approx === undefined ? this.exactIndex!.firstAtOrAbove(u, threshold) : this.approx.nearest(u);
  }

  /** The scanned vectors into the graph, once; the scan's memory is kept for the re-rank. */
  private toApproximate(): void {
    const usearch = this.usearch();
    if (usearch === null) {
      this.exactOnly = true;
      return;
    }
    const d = this.dimensions;
    const approx = new ApproxIndex(usearch, d, {
      ...ACCEPT_INDEX,
      rerank: { k: ACCEPT_INDEX.rerank, vectorOf: (id) => this.vectors.get(id) },
    });
    const { ids, data } = this.exactIndex!.rows();
    ids.forEach((id, i) => this.vectors.set(id, data.subarray(i * d, (i + 1) * d)));
    for (let at = 0; at < ids.length; at += BUILD_CHUNK) {
      const chunk = ids.slice(at, at + BUILD_CHUNK);
      approx.addMany(chunk, data.subarray(at * d, (at + chunk.length) * d));
    }
    this.approx = approx;
    this.exactIndex = undefined;
  }
}
