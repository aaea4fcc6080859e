/**
 * Puts an existing dataset into the store as accepted tasks of a named source, through the same
 * cleaning, (optional) filters and near-duplicate check as generated tasks, so that new generations are
 * never near-duplicates of data the user already trains on. Re-importing the same file adds nothing.
 */
import path from 'node:path';
import { readDatasetFile } from '../datasets.ts';
import type { NearDupIndex } from '../dedup/index.ts';
import { buildIndex } from '../dedup/qgram-index.ts';
import { UsageError } from '../errors.ts';
import { takeLock } from '../lock.ts';
import { importSettingsSchema, resolveOptions, type ImportSettings } from '../options.ts';
import { dedupKey } from '../dedup/similarity.ts';
import { DEFAULT_RULE_OPTIONS } from '../rules/index.ts';
import { Ingestor, type IngestResult } from '../ingest.ts';
import { Store } from '../store/store.ts';
import { cleanTask } from '../text.ts';
import type { Task } from '../types.ts';
import { openBenchmarkGate, prepareBenchmarks, type BenchmarkGate } from '../decontaminate/gate.ts';

export interface ImportOptions {
  source: string;
  similarity: number;
  /** Apply the quality filters too (default: dedup only; it is the user's own data). */
  filter: boolean;
  /** Store instructions only (output dropped), to be answered by `answer`. Default false. */
  instructionOnly?: boolean;
  /** With instructionOnly: a record that has an output keeps it (and is checked as a pair). Default false. */
  keepOutputs?: boolean;
  /** Reject records that copy a benchmark item (issue 25). Default: none. */
  benchmarks?: BenchmarkGate | undefined;
}

export interface ImportSummary {
  total: number;
  /**
   * Records this source had already brought in an earlier import, or that repeat an earlier record of
   * the same file exactly (same key): skipped, not stored again.
   */
  alreadyImported: number;
  accepted: number;
  rejected: IngestResult['rejected'];
}

/** Rows per transaction: big enough to be fast, small enough that a kill loses little work. */
const CHUNK = 5000;

/** Imports tasks into an open store, against `index` (the store's accepted keys). */
export function importIntoStore(store: Store, index: NearDupIndex, tasks: readonly Task[], options: ImportOptions): ImportSummary {
  const ingestOptions = {
    similarity: options.similarity,
    filters: DEFAULT_RULE_OPTIONS,
    skipFilters: !options.filter,
    benchmarks: options.benchmarks,
  };
  const pairs = new Ingestor(store, index, ingestOptions);
  const instructions = new Ingestor(store, index, { ...ingestOptions, instructionOnly: true });
  const ingestorFor = (task: Task): Ingestor =>
    !options.instructionOnly || (options.keepOutputs && task.output.trim() !== '') ? pairs : instructions;
  // One chunk holds tasks of one ingestor, so records are decided in file order.
  let ingestor = pairs;
  const seen = store.keysOfSource(options.source);
  const summary: ImportSummary = { total: tasks.length, alreadyImported: 0, accepted: 0, rejected: {} };
  let chunk: Task[] = [];
  const flush = (): void => {
    const result = ingestor.ingest({ source: options.source, tasks: chunk });
    summary.accepted += result.accepted.length;
    for (const [reason, n] of Object.entries(result.rejected) as [keyof IngestResult['rejected'], number][]) {
      summary.rejected[reason] = (summary.rejected[reason] ?? 0) + n;
    }
    chunk = [];
  };
  for (const task of tasks) {
    // The key the Ingestor will compute, so "already imported" means exactly the same stored task.
    const key = dedupKey(cleanTask(task));
    if (seen.has(key)) {
      summary.alreadyImported++;
      continue;
    }
    seen.add(key);
    if (chunk.length > 0 && ingestorFor(task) !== ingestor) flush();
    ingestor = ingestorFor(task);
    chunk.push(task);
    if (chunk.length >= CHUNK) flush();
  }
  if (chunk.length > 0) flush();
  return summary;
}

/** Sources that are the pipeline's own. */
const RESERVED_SOURCES = new Set(['seed', 'generated']);

export interface ImportResult extends ImportSummary {
  source: string;
  db: string;
  seconds: number;
}

/**
 * Reads a dataset file and imports it into the database under the one-writer lock: the file is read
 * and checked in full before anything is written.
 */
export function importTasks(options: ImportSettings & { onWarning?: (message: string) => void }): ImportResult {
  const started = performance.now();
  const { onWarning, ...rest } = options;
  const settings = resolveOptions(importSettingsSchema, rest);
  const source = settings.source ?? path.basename(settings.in).replace(/\.(jsonl|json)$/i, '');
  if (RESERVED_SOURCES.has(source) || source.trim() === '') {
    throw new UsageError(`${JSON.stringify(source)}: choose another name (seed and generated are the pipeline's own)`, {
      option: 'source',
    });
  }
  const tasks = readDatasetFile(settings.in, { allowEmptyInstruction: true });
  const benchmarks =
    settings.benchmark === undefined
      ? undefined
      : prepareBenchmarks(settings.benchmark, settings.benchmarkThreshold, { field: settings.benchmarkField });
  Store.check(settings.db);
  const lock = takeLock(settings.db, `import --in ${settings.in}`, onWarning);
  try {
    const store = Store.open(settings.db);
    try {
      const index = buildIndex(store.acceptedKeys());
      const summary = importIntoStore(store, index, tasks, {
        source,
        similarity: settings.similarity,
        filter: settings.filter,
        benchmarks: benchmarks === undefined ? undefined : openBenchmarkGate(store, benchmarks),
      });
      return { ...summary, source, db: settings.db, seconds: (performance.now() - started) / 1000 };
    } finally {
      store.close();
    }
  } finally {
    lock.release();
  }
}
