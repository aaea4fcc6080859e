/**
 * Quality first, then diversity (Deita's selection): candidates ordered by the judge's score, then each
 * kept only if its cosine to every task already kept is below the threshold, until N are kept. Pure:
 * the caller brings the candidates, their vectors and the index to search.
 *
 * Order: judged tasks by score, highest first; ties and unjudged tasks by task id, oldest first; unjudged
 * tasks after every judged one (dropped only with a minimum score). The store has no evolution round or
 * other complexity signal yet, so none is used.
 */
import { ApproxIndex, type BlockIndex, BruteForceIndex, ExactIndex, type Neighbour, type VectorIndex } from './vector-index.ts';

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
   * Where the kept tasks are searched. Default: exact search in JavaScript, which guarantees that no two kept
   * tasks are at or above the threshold, as does a BruteForceIndex (usearch's exact scan, faster); an
   * approximate index holds that guarantee only up to its recall.
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

/**
 * Unit vectors by task id (undefined: none). A Map, or a reader that loads them as they are asked for: the
 * selection asks only for the candidates it considers, in order, and stops once N are kept.
 */
export type VectorSource = Pick<ReadonlyMap<number, Float32Array>, 'get' | 'has'>;

export function selectDiverse(ordered: readonly Candidate[], vectors: VectorSource, o: SelectOptions): Selection {
  if (o.index instanceof ApproxIndex || o.index instanceof BruteForceIndex) return selectInBlocks(ordered, vectors, o, o.index);
  let index = o.index;
  const s: Selection = { kept: [], considered: 0, similar: 0, noVector: 0, scoreRange: null, exact: index?.exact ?? true };
  for (const c of ordered) {
    if (s.kept.length >= o.n) break;
    s.considered++;
    const v = vectors.get(c.taskId);
    if (v === undefined) {
      s.noVector++;
      continue;
    }
    index ??= new ExactIndex(v.length, Math.min(o.n, 65_536));
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
 * The same selection with a native index (usearch's graph, or its brute-force scan) searched and added to a
 * block at a time, on the addon's threads: each candidate of a block is checked against the index as it was before the block and,
 * exactly, against the ones kept earlier in the same block, which is what one at a time would check.
 * The block's cosines with each other come first (one native call): a candidate with one at or above the
 * threshold earlier in its block is searched in the index only if none of those is kept (otherwise it is
 * left out whatever the index holds), so a paraphrase next to its original costs no graph search.
 * Candidates searched after N were kept are not counted as considered.
 */
function selectInBlocks(ordered: readonly Candidate[], vectors: VectorSource, o: SelectOptions, index: BlockIndex): Selection {
  const d = index.dimensions;
  const s: Selection = { kept: [], considered: 0, similar: 0, noVector: 0, scoreRange: null, exact: index.exact };
  const rows = new Float32Array(BLOCK * d);
  const queries = new Float32Array(BLOCK * d);
  let at = 0;
  while (at < ordered.length && s.kept.length < o.n) {
    const block = ordered.slice(at, at + BLOCK);
    at += block.length;
    const withVector = block.filter((c) => vectors.has(c.taskId));
    const m = withVector.length;
    withVector.forEach((c, i) => rows.set(vectors.get(c.taskId)!, i * d));
    const sim = index.similarities(rows, m);
    const closeEarlier = (i: number): boolean => {
      for (let j = 0; j < i; j++) if (sim[i * m + j]! >= o.threshold) return true;
      return false;
    };
    // The graph is searched now for those with nothing close earlier in the block, later for the others if needed.
    const searched = withVector.map((_, i) => i).filter((i) => !closeEarlier(i));
    searched.forEach((i, q) => queries.set(rows.subarray(i * d, (i + 1) * d), q * d));
    const found = index.nearestMany(queries, searched.length);
    const near = new Map<number, Neighbour | undefined>(searched.map((i, q) => [i, found[q]]));
    const keptAt: number[] = [];
    let i = 0;
    for (const c of block) {
      if (s.kept.length >= o.n) break;
      s.considered++;
      if (!vectors.has(c.taskId)) {
        s.noVector++;
        continue;
      }
      const row = i++;
      if (keptAt.some((j) => sim[row * m + j]! >= o.threshold)) {
        s.similar++;
        continue;
      }
      const before = near.has(row) ? near.get(row) : index.nearest(rows.subarray(row * d, (row + 1) * d));
      if (before !== undefined && before.cosine >= o.threshold) {
        s.similar++;
        continue;
      }
      keptAt.push(row);
      keep(s, c);
    }
    if (keptAt.length > 0) {
      const flat = new Float32Array(keptAt.length * d);
      keptAt.forEach((row, k) => flat.set(rows.subarray(row * d, (row + 1) * d), k * d));
      index.addMany(
        keptAt.map((row) => withVector[row]!.taskId),
        flat,
      );
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
