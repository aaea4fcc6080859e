/**
 * Quality first, then diversity (Deita's selection): candidates ordered by the judge's score, then each
 * kept only if its cosine to every task already kept is below the threshold, until N are kept. Pure:
 * the caller brings the candidates, their vectors and the index to search.
 *
 * Order: judged tasks by score, highest first; ties and unjudged tasks by task id, oldest first; unjudged
 * tasks after every judged one (dropped only with a minimum score). The store has no evolution round or
 * other complexity signal yet, so none is used.
 */
import { ApproxIndex, ExactIndex, type Neighbour, type VectorIndex } from './vector-index.ts';

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
  if (o.index instanceof ApproxIndex) return selectInBlocks(ordered, vectors, o, o.index);
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
    keep(s, c);
  }
  return s;
}

/** Candidates searched together in the approximate index. */
const BLOCK = 64;

/**
 * The same selection with the approximate index searched and added to a block at a time, on the addon's
 * threads: each candidate of a block is checked against the index as it was before the block and,
 * exactly, against the ones kept earlier in the same block, which is what one at a time would check.
 * Candidates searched after N were kept are not counted as considered.
 */
function selectInBlocks(
  ordered: readonly Candidate[],
  vectors: ReadonlyMap<number, Float32Array>,
  o: SelectOptions,
  index: ApproxIndex,
): Selection {
  const d = index.dimensions;
  const s: Selection = { kept: [], considered: 0, similar: 0, noVector: 0, scoreRange: null, exact: false };
  const queries = new Float32Array(BLOCK * d);
  let at = 0;
  while (at < ordered.length && s.kept.length < o.n) {
    const block = ordered.slice(at, at + BLOCK);
    at += block.length;
    const withVector = block.filter((c) => vectors.has(c.taskId));
    withVector.forEach((c, i) => queries.set(vectors.get(c.taskId)!, i * d));
    const near = index.nearestMany(queries, withVector.length);
    const nearOf = new Map(withVector.map((c, i) => [c.taskId, near[i]]));
    const keptHere = new ExactIndex(d, BLOCK);
    for (const c of block) {
      if (s.kept.length >= o.n) break;
      s.considered++;
      const v = vectors.get(c.taskId);
      if (v === undefined) {
        s.noVector++;
        continue;
      }
      const before = nearOf.get(c.taskId);
      if (
        (before !== undefined && before.cosine >= o.threshold) ||
        (keptHere.firstAtOrAbove(v, o.threshold)?.cosine ?? -Infinity) >= o.threshold
      ) {
        s.similar++;
        continue;
      }
      keptHere.add(c.taskId, v);
      keep(s, c);
    }
    const ids = s.kept.slice(s.kept.length - keptHere.size);
    if (ids.length > 0) {
      const flat = new Float32Array(ids.length * d);
      ids.forEach((id, i) => flat.set(vectors.get(id)!, i * d));
      index.addMany(ids, flat);
    }
  }
  return s;
}

function keep(s: Selection, c: Candidate): void {
  s.kept.push(c.taskId);
  if (c.score !== null) {
    s.scoreRange = s.scoreRange === null ? [c.score, c.score] : [Math.min(s.scoreRange[0], c.score), Math.max(s.scoreRange[1], c.score)];
  }
}
