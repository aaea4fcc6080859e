/**
 * Where exact search ends and which approximate index takes over, for each use of nearest neighbours,
 * as measured in `npm run bench:embed` (docs/embed.md has the tables). One place, so a new measurement
 * changes one line.
 */

/** `export --select`: above this many to keep, the approximate index is searched instead of an exact scan. */
export const EXACT_SELECTION_UP_TO = 20_000;

/**
 * The approximate index above EXACT_SELECTION_UP_TO: an i8 HNSW graph (a quarter of f32's memory, about 3×
 * cheaper to build) searched at breadth 64, whose 10 best candidates are re-ranked by exact float32 cosine,
 * so the cosine compared with the threshold is exact and only a neighbour missing from all 10 candidates is
 * missed. Breadth 64 rather than 32: in a 50k graph of the hard (near-tie) data, of 290 queries with a stored
 * neighbour ≥ 0.9, ef 32 found 269 and ef 64 285 (the low-dimensional data: all 293 either way), for about
 * twice the search CPU.
 */
export const SELECT_INDEX = { quantization: 'i8', connectivity: 16, expansionAdd: 32, expansionSearch: 64, rerank: 10 } as const;

/**
 * `generate --semantic-threshold`: above this many vectors compared with, each new task is searched in the
 * approximate index instead of scanned (a scan of 1,024-dimension vectors costs 62–83 ms per task at 20,000,
 * 1.1–1.7 s at 100k, 1.7–6.3 s at 1M; a search of ACCEPT_INDEX about 2.5 ms at 20,000). Building the graph
 * at the switch costs 7–12 CPU s at 20,000.
 */
export const EXACT_ACCEPTANCE_UP_TO = 20_000;

/**
 * The approximate index above EXACT_ACCEPTANCE_UP_TO: the i8 graph built with ef_add 64, searched at breadth
 * 256, its 64 best candidates re-ranked by exact float32 cosine. One search per accepted task (not 50,000 in
 * a minute as in a selection), so a wider search than SELECT_INDEX's: at 1M vectors CPU p99 6.2 ms (near-tie
 * clusters) and 7.4 ms (low-dimensional data: recall@1 0.998, every neighbour ≥ 0.9 found); at 100k every
 * stored neighbour ≥ 0.9 was found in both data shapes.
 */
export const ACCEPT_INDEX = { quantization: 'i8', connectivity: 16, expansionAdd: 64, expansionSearch: 256, rerank: 64 } as const;
