/**
 * The acceptance-time benchmark check (`generate --benchmark`, `import --benchmark`): the benchmarks are
 * recorded in the store, and the Ingestor asks the gate about each task before the near-duplicate check.
 */
import { ContaminationStore, type ContaminationRow } from '../store/contamination.ts';
import type { Store } from '../store/store.ts';
import type { Task } from '../types.ts';
import { BenchmarkChecker, loadBenchmarks, type BenchmarkSpec, type LoadedBenchmarks, type LoadOptions } from './checker.ts';

export interface GateHit {
  /** The rejection's detail: benchmark, item and coverage. */
  detail: string;
  row: Omit<ContaminationRow, 'taskId'>;
}

export interface BenchmarkGate {
  check(task: Task): GateHit | undefined;
}

/** What `benchmark`/`threshold`/`field` options ask for, read and indexed before the store is opened. */
export interface PreparedBenchmarks {
  loaded: LoadedBenchmarks;
  threshold: number;
}

export function prepareBenchmarks(paths: readonly string[], threshold: number, options: LoadOptions = {}): PreparedBenchmarks {
  const specs: BenchmarkSpec[] = paths.map((p) => ({ path: p }));
  return { loaded: loadBenchmarks(specs, options), threshold };
}

/** The index parameters recorded with each benchmark, so a stored coverage can be read back. */
export function indexParams(loaded: LoadedBenchmarks): Record<string, unknown> {
  return { ...loaded.index.params, normalization: 'NFKC, markers, OpenCC t/tw/hk→cn per character, lower case, letters and digits' };
}

/** Records each loaded benchmark (with its files, threshold and index parameters); their ids, in order. */
export function registerBenchmarks(contamination: ContaminationStore, loaded: LoadedBenchmarks, threshold: number): number[] {
  return loaded.benchmarks.map((b) =>
    contamination.register({
      name: b.name,
      path: b.path,
      items: b.items,
      sha256: b.sha256,
      files: b.files,
      threshold,
      params: indexParams(loaded),
    }),
  );
}

/** Records the benchmarks in the store and returns the gate the Ingestor consults. */
export function openBenchmarkGate(store: Store, prepared: PreparedBenchmarks): BenchmarkGate {
  const { loaded, threshold } = prepared;
  const ids = registerBenchmarks(new ContaminationStore(store), loaded, threshold);
  const checker = new BenchmarkChecker(loaded, threshold);
  return {
    check(task) {
      const m = checker.check(task);
      if (m === undefined) return undefined;
      const name = loaded.benchmarks[m.benchmark]!.name;
      return {
        detail: describeMatch(name, m.itemId, m.coverage, m.scope),
        row: { benchmarkId: ids[m.benchmark]!, itemId: m.itemId, coverage: m.coverage, scope: m.scope },
      };
    },
  };
}

/** `ceval val/x.csv:3: 84% of the item's n-grams`, as rejections and the CLI say it. */
export function describeMatch(benchmark: string, itemId: string, coverage: number, scope: string): string {
  if (scope === 'short') return `${benchmark} ${itemId}: the whole (short) item appears`;
  return `${benchmark} ${itemId}: ${Math.round(coverage * 100)}% of the ${scope === 'stem' ? "question stem's" : "item's"} n-grams`;
}
