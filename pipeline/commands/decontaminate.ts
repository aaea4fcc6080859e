/**
 * `decontaminate()`: checks every accepted task of a store against benchmark files and records the
 * tasks that copy a benchmark item, so `export` leaves them out. The files are read and indexed before
 * the store is touched; the flags of each benchmark are replaced in one transaction under the
 * one-writer lock, so a failed check changes nothing.
 */
import { UsageError } from '../errors.ts';
import { takeLock } from '../lock.ts';
import { decontaminateSettingsSchema, resolveOptions, type DecontaminateSettings } from '../options.ts';
import { ContaminationStore, type ContaminationRow } from '../store/contamination.ts';
import { Store } from '../store/store.ts';
import { BenchmarkChecker, loadBenchmarks, type BenchmarkMatch } from '../decontaminate/checker.ts';
import { registerBenchmarks } from '../decontaminate/gate.ts';

/** Tasks checked together: enough n-grams (~0.5 M) for the sorted lookups to pay, little memory. */
const CHECK_BATCH = 2000;

export type DecontaminateOptions = DecontaminateSettings & {
  /** Files skipped in a benchmark folder (hidden, other extensions). */
  onNote?: (message: string) => void;
  /** Things the caller should know that do not stop the check (a stale lock taken over). */
  onWarning?: (message: string) => void;
};

export interface DecontaminateBenchmark {
  name: string;
  items: number;
  sha256: string;
  files: { path: string; sha256: string; items: number }[];
  /** Accepted tasks overlapping one of its items. */
  contaminated: number;
}

export interface DecontaminateResult {
  db: string;
  threshold: number;
  /** Characters per n-gram. */
  n: number;
  benchmarks: DecontaminateBenchmark[];
  /** Accepted tasks checked, and how many overlap at least one benchmark. */
  checked: number;
  contaminated: number;
  /** The highest-coverage overlaps found (at most 10). */
  closest: { taskId: number; benchmark: string; itemId: string; coverage: number; scope: string }[];
  /** Items too short to ever match, once normalized. */
  tooShort: number;
  seconds: { normalizer: number; index: number; check: number; total: number };
}

export function decontaminate(options: DecontaminateOptions): DecontaminateResult {
  const started = performance.now();
  const { onNote, onWarning, ...rest } = options;
  const s = resolveOptions(decontaminateSettingsSchema, rest);
  if (s.name !== undefined && s.name.length > s.benchmark.length) {
    throw new UsageError(`${s.name.length} names for ${s.benchmark.length} benchmarks: give at most one \`name\` per \`benchmark\``, {
      option: 'name',
    });
  }
  const loaded = loadBenchmarks(
    s.benchmark.map((p, i) => ({ path: p, name: s.name?.[i] })),
    { field: s.field, onNote },
  );
  const checker = new BenchmarkChecker(loaded, s.threshold);
  Store.check(s.db);
  const lock = takeLock(s.db, `decontaminate --benchmark ${s.benchmark.join(' ')}`, onWarning);
  try {
    const store = Store.open(s.db);
    try {
      const contamination = new ContaminationStore(store);
      const checkStarted = performance.now();
      // Reads finish before anything is written: the connection is busy while a statement iterates.
      const found: { taskId: number; match: BenchmarkMatch }[] = [];
      let checked = 0;
      let batch: { id: number; instruction: string; input: string; output: string }[] = [];
      const flush = (): void => {
        checker.checkMany(batch).forEach((match, i) => {
          if (match !== undefined) found.push({ taskId: batch[i]!.id, match });
        });
        batch = [];
      };
      for (const task of contamination.acceptedTasks()) {
        checked++;
        batch.push(task);
        if (batch.length === CHECK_BATCH) flush();
      }
      flush();
      const checkSeconds = (performance.now() - checkStarted) / 1000;
      const perBenchmark = loaded.benchmarks.map(() => 0);
      store.transaction(() => {
        const ids = registerBenchmarks(contamination, loaded, s.threshold);
        for (const id of ids) contamination.clearAccepted(id);
        for (const { taskId, match } of found) {
          const row: ContaminationRow = {
            taskId,
            benchmarkId: ids[match.benchmark]!,
            itemId: match.itemId,
            coverage: match.coverage,
            scope: match.scope,
          };
          contamination.insert(row);
          perBenchmark[match.benchmark]!++;
        }
      });
      const closest = [...found]
        .sort((a, b) => b.match.coverage - a.match.coverage || a.taskId - b.taskId)
        .slice(0, 10)
        .map(({ taskId, match }) => ({
          taskId,
          benchmark: loaded.benchmarks[match.benchmark]!.name,
          itemId: match.itemId,
          coverage: match.coverage,
          scope: match.scope,
        }));
      return {
        db: s.db,
        threshold: s.threshold,
        n: loaded.index.params.n,
        benchmarks: loaded.benchmarks.map((b, i) => ({
          name: b.name,
          items: b.items,
          sha256: b.sha256,
          files: b.files,
          contaminated: perBenchmark[i]!,
        })),
        checked,
        contaminated: found.length,
        closest,
        tooShort: loaded.tooShort,
        seconds: {
          normalizer: loaded.normalizerMs / 1000,
          index: loaded.indexMs / 1000,
          check: checkSeconds,
          total: (performance.now() - started) / 1000,
        },
      };
    } finally {
      store.close();
    }
  } finally {
    lock.release();
  }
}
