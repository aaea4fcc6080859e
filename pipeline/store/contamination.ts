/**
 * SQL for benchmark decontamination (issue 25): the benchmarks a store was checked against (name,
 * items, sha256 of the files) and one row per task found to overlap one of them.
 */
import type { Store } from './store.ts';

export interface BenchmarkRecord {
  name: string;
  path: string;
  items: number;
  sha256: string;
  files: { path: string; sha256: string; items: number }[];
  threshold: number;
  params: Record<string, unknown>;
}

export interface StoredBenchmark {
  id: number;
  name: string;
  items: number;
  sha256: string;
  threshold: number;
  checkedAt: string;
}

export interface ContaminationRow {
  taskId: number;
  benchmarkId: number;
  itemId: string;
  coverage: number;
  scope: 'item' | 'stem' | 'short';
}

export interface BenchmarkTally extends StoredBenchmark {
  /** Accepted tasks flagged (left out of exports by default). */
  accepted: number;
  /** Tasks rejected at acceptance (reason benchmark_overlap). */
  rejected: number;
}

export interface ClosestMatch {
  taskId: number;
  status: string;
  benchmark: string;
  itemId: string;
  coverage: number;
  scope: string;
  instruction: string;
}

const now = (): string => new Date().toISOString();

export class ContaminationStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  /** Records a benchmark (replacing an earlier record of the same name); returns its id. */
  register(b: BenchmarkRecord): number {
    this.sql(
      `INSERT INTO benchmarks (name, path, items, sha256, files_json, threshold, params_json, checked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET path = excluded.path, items = excluded.items, sha256 = excluded.sha256,
         files_json = excluded.files_json, threshold = excluded.threshold, params_json = excluded.params_json,
         checked_at = excluded.checked_at`,
    ).run(b.name, b.path, b.items, b.sha256, JSON.stringify(b.files), b.threshold, JSON.stringify(b.params), now());
    return this.sql('SELECT id FROM benchmarks WHERE name = ?').pluck().get(b.name) as number;
  }

  /** Forgets the accepted tasks flagged for a benchmark, before they are checked again. */
  clearAccepted(benchmarkId: number): number {
    return this.sql(`DELETE FROM contamination WHERE benchmark_id = ? AND task_id IN (SELECT id FROM tasks WHERE status = 'accepted')`).run(
      benchmarkId,
    ).changes;
  }

  insert(row: ContaminationRow): void {
    this.sql(
      `INSERT INTO contamination (task_id, benchmark_id, item_id, coverage, scope, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(task_id, benchmark_id) DO UPDATE SET item_id = excluded.item_id, coverage = excluded.coverage,
         scope = excluded.scope, created_at = excluded.created_at`,
    ).run(row.taskId, row.benchmarkId, row.itemId, row.coverage, row.scope, now());
  }

  /** Every accepted task's text, streamed in id order (the connection is busy until it ends). */
  acceptedTasks(): IterableIterator<{ id: number; instruction: string; input: string; output: string }> {
    return this.sql(
      `SELECT id, instruction, input, output FROM tasks WHERE status = 'accepted' ORDER BY id`,
    ).iterate() as IterableIterator<{
      id: number;
      instruction: string;
      input: string;
      output: string;
    }>;
  }

  benchmarks(): StoredBenchmark[] {
    return this.sql(
      `SELECT id, name, items, sha256, threshold, checked_at AS checkedAt FROM benchmarks ORDER BY name`,
    ).all() as StoredBenchmark[];
  }

  /** Each benchmark with its flagged accepted tasks and the tasks rejected for it at acceptance. */
  tally(): BenchmarkTally[] {
    return this.sql(
      `SELECT b.id, b.name, b.items, b.sha256, b.threshold, b.checked_at AS checkedAt,
         coalesce(sum(t.status = 'accepted'), 0) AS accepted, coalesce(sum(t.status = 'rejected'), 0) AS rejected
       FROM benchmarks b LEFT JOIN contamination c ON c.benchmark_id = b.id LEFT JOIN tasks t ON t.id = c.task_id
       GROUP BY b.id ORDER BY b.name`,
    ).all() as BenchmarkTally[];
  }

  /** Accepted tasks flagged for any benchmark. */
  contaminatedAccepted(): number {
    return this.sql(`SELECT count(DISTINCT c.task_id) FROM contamination c JOIN tasks t ON t.id = c.task_id WHERE t.status = 'accepted'`)
      .pluck()
      .get() as number;
  }

  /** The highest-coverage overlaps, accepted and rejected. */
  closest(limit: number): ClosestMatch[] {
    return this.sql(
      `SELECT c.task_id AS taskId, t.status, b.name AS benchmark, c.item_id AS itemId, c.coverage, c.scope, t.instruction
       FROM contamination c JOIN benchmarks b ON b.id = c.benchmark_id JOIN tasks t ON t.id = c.task_id
       ORDER BY c.coverage DESC, c.task_id LIMIT ?`,
    ).all(limit) as ClosestMatch[];
  }
}
