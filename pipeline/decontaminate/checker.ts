/**
 * Benchmarks loaded into one index, and the check of a task against them: the text checked is the
 * instruction, the input and the output together, so a question copied into any of them is found.
 */
import { UsageError } from '../errors.ts';
import type { Task } from '../types.ts';
import { DEFAULT_INDEX_PARAMS, IndexBuilder, type BenchmarkIndex, type IndexParams, type MatchScope } from './ngram-index.ts';
import { loadNormalizer } from './normalize.ts';
import { readBenchmark, type LoadedBenchmark } from './read.ts';

export const DEFAULT_THRESHOLD = 0.5;

export interface BenchmarkSpec {
  path: string;
  /** Default: the folder's name, or the file's without its extension. */
  name?: string | undefined;
}

export interface BenchmarkMatch {
  /** Position of the benchmark in the list loaded. */
  benchmark: number;
  itemId: string;
  coverage: number;
  scope: MatchScope;
}

export interface LoadedBenchmarks {
  benchmarks: LoadedBenchmark[];
  index: BenchmarkIndex;
  /** Items too short (once normalized) for any rule: they can never match. */
  tooShort: number;
  /** Building OpenCC's character table (once per process), and reading + indexing the files. */
  normalizerMs: number;
  indexMs: number;
}

export interface LoadOptions {
  field?: string | undefined;
  onNote?: ((message: string) => void) | undefined;
  params?: IndexParams;
}

/** Reads every benchmark and indexes its items; names must differ. */
export function loadBenchmarks(specs: readonly BenchmarkSpec[], options: LoadOptions = {}): LoadedBenchmarks {
  const { normalizer, loadMs } = loadNormalizer();
  const started = performance.now();
  const builder = new IndexBuilder(normalizer, options.params ?? DEFAULT_INDEX_PARAMS);
  const benchmarks: LoadedBenchmark[] = [];
  for (const spec of specs) {
    const position = benchmarks.length;
    const loaded = readBenchmark(spec.path, spec.name, { field: options.field, onNote: options.onNote }, (item) =>
      builder.add(position, item),
    );
    const same = benchmarks.find((b) => b.name === loaded.name);
    if (same !== undefined) {
      throw new UsageError(`${spec.path} and ${same.path} are both named "${loaded.name}": give each its own \`name\``, { option: 'name' });
    }
    benchmarks.push(loaded);
  }
  const index = builder.build();
  return { benchmarks, index, tooShort: builder.tooShort, normalizerMs: loadMs, indexMs: performance.now() - started };
}

/** The text of a task that is checked: every field, so a question copied into the input or output counts. */
export function taskText(task: Pick<Task, 'instruction' | 'input' | 'output'>): string {
  return `${task.instruction}\n${task.input}\n${task.output}`;
}

export class BenchmarkChecker {
  constructor(
    private readonly loaded: LoadedBenchmarks,
    readonly threshold: number = DEFAULT_THRESHOLD,
  ) {}

  get benchmarks(): readonly LoadedBenchmark[] {
    return this.loaded.benchmarks;
  }

  /** The benchmark item the task overlaps most, when the overlap reaches the threshold. */
  check(task: Pick<Task, 'instruction' | 'input' | 'output'>): BenchmarkMatch | undefined {
    return this.checkMany([task])[0];
  }

  /** `check` of each task, in one batch: much faster per task over a few thousand (see ngram-index.ts). */
  checkMany(tasks: readonly Pick<Task, 'instruction' | 'input' | 'output'>[]): (BenchmarkMatch | undefined)[] {
    const { index } = this.loaded;
    return index.matchMany(tasks.map(taskText), this.threshold).map((m) => {
      if (m === undefined) return undefined;
      const item = index.items[m.item]!;
      return { benchmark: item.benchmark, itemId: item.id, coverage: m.coverage, scope: m.scope };
    });
  }
}
