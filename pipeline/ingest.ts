/**
 * The accept/reject path every task takes into the store, whatever brought it (a model reply, an
 * imported file): clean → quality filters → benchmark check (when given) → near-duplicate check → one
 * SQL transaction.
 */
import {
  checkInstruction,
  checkDecoded,
  checkPair,
  checkTask,
  DEFAULT_RULE_OPTIONS,
  redactSecrets,
  type RejectReason,
  type RuleOptions,
  type Verdict,
} from './rules/index.ts';
import type { NearDupIndex } from './dedup/index.ts';
import { dedupKey } from './dedup/similarity.ts';
import type { Store } from './store/store.ts';
import { ContaminationStore } from './store/contamination.ts';
import type { BenchmarkGate } from './decontaminate/gate.ts';
import { cleanTask } from './text.ts';
import type { Task } from './types.ts';

export interface IngestOptions {
  /** Near-duplicate threshold: reject when similarity ≥ this. Default 0.7. */
  similarity: number;
  filters: RuleOptions;
  /**
   * Skip the quality filters (import of data the user already trusts); dedup still applies, and so
   * does the minimum of a training pair (an instruction and an output).
   */
  skipFilters: boolean;
  /**
   * Instructions without outputs (stage 1 of a two-stage run, `answer --in`): the output is dropped and
   * only the instruction's filters apply (none but a non-empty instruction with `skipFilters`). Default false.
   */
  instructionOnly?: boolean;
  /**
   * Benchmarks no task may copy (issue 25): a task overlapping one of their items is rejected with reason
   * `benchmark_overlap`, and the item and coverage are stored with it. Default: none.
   */
  benchmarks?: BenchmarkGate | undefined;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = { similarity: 0.7, filters: DEFAULT_RULE_OPTIONS, skipFilters: false };

export interface IngestBatch {
  source: string;
  runId?: number | null;
  requestId?: number | null;
  tasks: readonly Task[];
  /** Accept at most this many; the rest are stored as rejected `target_reached`. Default: no limit. */
  maxAccept?: number;
  /**
   * `finish_reason` of the completion when each task's output is a whole completion (so `length` means
   * that output was cut). Leave it out for replies holding several tasks: the parser drops the cut one.
   */
  finishReason?: string | null;
}

export interface IngestResult {
  accepted: Task[];
  rejected: Partial<Record<RejectReason, number>>;
}

export class Ingestor {
  private readonly contamination: ContaminationStore;

  constructor(
    private readonly store: Store,
    private readonly index: NearDupIndex,
    private readonly options: IngestOptions = DEFAULT_INGEST_OPTIONS,
  ) {
    this.contamination = new ContaminationStore(store);
  }

  /**
   * Decides and stores a batch in one transaction. Must be called inside `store.transaction` if the
   * caller writes more rows that belong with these (the request row, say); nesting is fine.
   */
  ingest(batch: IngestBatch): IngestResult {
    const result: IngestResult = { accepted: [], rejected: {} };
    const base = { source: batch.source, runId: batch.runId ?? null, requestId: batch.requestId ?? null };
    let room = batch.maxAccept ?? Infinity;
    this.store.transaction(() => {
      for (const raw of batch.tasks) {
        const task = this.options.instructionOnly ? { ...cleanTask(raw), output: '' } : cleanTask(raw);
        const key = dedupKey(task);
        const reject = (reason: RejectReason, detail: string | null, nearest?: { id: number; similarity: number }): number => {
          const id = this.store.insertTask({
            ...base,
            ...(reason === 'contains_secret' ? redactTask(task, this.options.filters) : task),
            dedupKey: key,
            status: 'rejected',
            reason,
            detail,
            nearestTaskId: nearest?.id ?? null,
            similarity: nearest?.similarity ?? null,
          });
          result.rejected[reason] = (result.rejected[reason] ?? 0) + 1;
          return id;
        };
        const verdict = this.verdict(task, batch.finishReason);
        if (!verdict.ok) {
          reject(verdict.reason, verdict.detail);
          continue;
        }
        const overlap = this.options.benchmarks?.check(task);
        if (overlap !== undefined) {
          const taskId = reject('benchmark_overlap', overlap.detail);
          this.contamination.insert({ ...overlap.row, taskId });
          continue;
        }
        const nearest = this.index.findNearDuplicate(key, this.options.similarity);
        if (nearest !== undefined) {
          reject('near_duplicate', null, nearest);
          continue;
        }
        if (room <= 0) {
          reject('target_reached', 'the run had already reached its target');
          continue;
        }
        const id = this.store.insertTask({ ...base, ...task, dedupKey: key, status: 'accepted' });
        this.index.add(key, id);
        result.accepted.push(task);
        room--;
      }
    });
    return result;
  }

  private verdict(task: Task, finishReason: string | null | undefined): Verdict {
    const { skipFilters, instructionOnly, filters } = this.options;
    if (instructionOnly) return skipFilters ? checkInstructionPresent(task) : checkInstruction(task, filters);
    return skipFilters ? checkPair(task) : checkTask(task, filters, { finishReason });
  }
}

/** The task with its secrets replaced by `***` (see redactSecrets). */
function redactTask(task: Task, filters: RuleOptions): Task {
  return {
    ...task,
    instruction: redactSecrets(task.instruction, filters),
    input: redactSecrets(task.input, filters),
    output: redactSecrets(task.output, filters),
  };
}

function checkInstructionPresent(task: Task): Verdict {
  return task.instruction.trim() === ''
    ? { ok: false, reason: 'instruction_too_short', detail: 'instruction is empty' }
    : checkDecoded(task);
}
