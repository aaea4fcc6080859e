/**
 * Quality first, then diversity (Deita's selection): candidates ordered by the judge's score, then each
 * kept only if its cosine to every task already kept is below the threshold, until N are kept. Pure:
 * the caller brings the candidates, their vectors and the index to search.
 *
 * Order: judged tasks by score, highest first; ties and unjudged tasks by task id, oldest first; unjudged
 * tasks after every judged one (dropped only with a minimum score). The store has no evolution round or
 * other complexity signal yet, so none is used.
 */
import { ExactIndex, type Neighbour, type VectorIndex } from './vector-index.ts';

export interface Candidate {
  taskId: number;
  /** The judge's latest score, null when unjudged. */
  score: number | null;
}

/** The candidates in selection order; with `minScore`, those below it and unjudged ones are left out. */
export function orderCandidates(candidates: readonly Candidate[], minScore: number | null): Candidate[] {
  const kept = minScore === null ? [...candidates] : candidates.filter((c) => c.score !== null && c.score >= minScore);
  return kept.sort((a, b) => {
    if (a.score === null || b.score === null) {
      if (a.score !== b.score) return a.score === null ? 1 : -1;
      return a.taskId - b.taskId;
    }
    return b.score - a.score || a.taskId - b.taskId;
  });
}

export interface SelectOptions {
  /** Tasks to keep at most. */
  n: number;
  /** A task whose cosine to a kept one is at or above this is left out. */
  threshold: number;
  /**
   * Where the kept tasks are searched. Default: exact search, which guarantees that no two kept tasks
   * are at or above the threshold; an approximate index holds that guarantee only up to its recall.
   */
  index?: VectorIndex;
}

export interface Selection {
  /** Kept task ids, in selection order. */
  kept: number[];
  /** Candidates looked at before N were kept (or all). */
  considered: number;
  /** Left out for being too close to a kept task. */
  similar: number;
  /** Left out for having no vector. */
  noVector: number;
  /** Scores of the kept tasks (judged ones): lowest and highest. */
  scoreRange: [number, number] | null;
  exact: boolean;
}

/** `vectors`: unit vectors by task id. */
export function selectDiverse(ordered: readonly Candidate[], vectors: ReadonlyMap<number, Float32Array>, o: SelectOptions): Selection {
  const first = vectors.values().next().value;
  const index = o.index ?? new ExactIndex(first?.length ?? 1, Math.min(o.n, 65_536));
  const s: Selection = { kept: [], considered: 0, similar: 0, noVector: 0, scoreRange: null, exact: index.exact };
  for (const c of ordered) {
    if (s.kept.length >= o.n) break;
    s.considered++;
    const v = vectors.get(c.taskId);
    if (v === undefined) {
      s.noVector++;
      continue;
    }
    const near: Neighbour | undefined = index instanceof ExactIndex ? index.firstAtOrAbove(v, o.threshold) : index.nearest(v);
    if (near !== undefined && near.cosine >= o.threshold) {
      s.similar++;
      continue;
    }
    index.add(c.taskId, v);
    s.kept.push(c.taskId);
    if (c.score !== null) {
      s.scoreRange = s.scoreRange === null ? [c.score, c.score] : [Math.min(s.scoreRange[0], c.score), Math.max(s.scoreRange[1], c.score)];
    }
  }
  return s;
}
