/**
 * Near-duplicate filtering of an existing dataset: keep each record unless it is at least `threshold`
 * similar to a seed or to a record kept before it. Pure: records in, decisions out.
 */
import type { DatasetTask } from '../datasets.ts';
import { QGramIndex } from './qgram-index.ts';
import { cleanTask } from '../text.ts';
import { dedupKey } from './similarity.ts';

export interface SourcedRecord {
  file: string;
  task: DatasetTask;
  /** The record as read, written back unchanged when kept. */
  raw: unknown;
}

export interface Rejection {
  record: SourcedRecord;
  /** The nearest kept record, or undefined when the nearest is a seed. */
  nearest: SourcedRecord | undefined;
  nearestSeed: number | undefined;
  similarity: number;
}

export interface DedupResult {
  kept: SourcedRecord[];
  rejected: Rejection[];
}

export function dedupRecords(
  records: Iterable<SourcedRecord>,
  options: {
    similarity: number;
    seeds?: readonly { instruction: string; input: string }[];
    /**
     * Default true: a rejection names the nearest kept record (or seed) and its similarity. False: some
     * record at least `similarity` similar, found faster; the kept set is the same either way.
     */
    nearest?: boolean;
  },
): DedupResult {
  const index = new QGramIndex();
  const seeds = options.seeds ?? [];
  // Ids: seeds are −1, −2, …; kept records their position in `kept`.
  seeds.forEach((seed, i) => index.add(dedupKey(seed), -(i + 1)));
  const kept: SourcedRecord[] = [];
  const rejected: Rejection[] = [];
  for (const record of records) {
    // Keyed as `import` and `generate` key a task, so all three apply the same rule to the same text.
    const key = dedupKey(cleanTask(record.task));
    const match =
      options.nearest === false ? index.findAnyNearDuplicate(key, options.similarity) : index.findNearDuplicate(key, options.similarity);
    if (match === undefined) {
      index.add(key, kept.length);
      kept.push(record);
    } else {
      rejected.push({
        record,
        nearest: match.id >= 0 ? kept[match.id] : undefined,
        nearestSeed: match.id < 0 ? -match.id - 1 : undefined,
        similarity: match.similarity,
      });
    }
  }
  return { kept, rejected };
}
