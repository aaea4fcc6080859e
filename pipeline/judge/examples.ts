/**
 * The machine-written examples a self-instruct prompt shows. Once tasks are judged, they come only from
 * tasks scored at or above a threshold, so one bad example cannot seed a night of similar ones; until
 * then, from accepted tasks as before.
 */
import { sampleJudgedAtLeast, JudgmentStore } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import type { Task } from '../types.ts';

import { DEFAULT_MIN_SCORE } from './defaults.ts';

export { DEFAULT_MIN_SCORE };

export interface ExampleFilter {
  /** Whose scores count; null: the judge of the newest judgment. */
  judgeModel: string | null;
  /** Default 7. */
  minScore?: number;
}

export class MachineExamples {
  /** What prompts draw from; replaced in place so callers may hold on to it. */
  readonly pool: Task[];
  /** True once the pool holds judged tasks only. */
  private judgedOnly: boolean;
  private acceptUnjudged: boolean;

  constructor(
    store: Store,
    private readonly size: number,
    private readonly random: () => number,
    filter?: ExampleFilter,
  ) {
    const model = filter === undefined ? null : (filter.judgeModel ?? new JudgmentStore(store).latestJudge()?.model ?? null);
    const judged = model === null ? [] : sampleJudgedAtLeast(store, model, filter?.minScore ?? DEFAULT_MIN_SCORE, size);
    this.judgedOnly = judged.length > 0;
    this.pool = this.judgedOnly ? judged.map(toTask) : store.sampleAccepted('generated', size);
    // With a filter and judged tasks in the store, unjudged tasks no longer join the pool.
    this.acceptUnjudged = filter === undefined || !this.judgedOnly;
  }

  /** Newly accepted tasks, not judged (yet). */
  offer(tasks: readonly Task[]): void {
    if (this.acceptUnjudged) for (const t of tasks) this.add(t);
  }

  /** Newly judged tasks that reached the threshold: from the first one on, the pool holds only such tasks. */
  offerJudged(tasks: readonly Task[]): void {
    if (tasks.length === 0) return;
    if (!this.judgedOnly) {
      this.pool.length = 0;
      this.judgedOnly = true;
    }
    this.acceptUnjudged = false;
    for (const t of tasks) this.add(t);
  }

  private add(task: Task): void {
    if (this.pool.length < this.size) this.pool.push(task);
    else this.pool[Math.floor(this.random() * this.size)] = task;
  }
}

function toTask(row: { instruction: string; input: string; output: string; category: string | null }): Task {
  return {
    instruction: row.instruction,
    input: row.input,
    output: row.output,
    ...(row.category === null ? {} : { category: row.category }),
  };
}
