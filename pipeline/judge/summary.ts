/** What a judge run reports, and the error a failed one throws (apart from run.ts, so the library entry loads neither runner). */
import type { BudgetStop } from '../budget.ts';
import { PipelineError } from '../errors.ts';
import type { ScoreSummary } from '../store/judgments.ts';

export interface JudgeSummary {
  runId: number;
  /** 'waiting': --batch, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'waiting';
  model: string;
  rubricSha256: string;
  /** Outputs (tasks' own, answers) pending when this invocation started. */
  pendingAtStart: number;
  judgedNow: number;
  /** Pending when it ended (unmatched, failed, or not reached). */
  left: number;
  requests: number;
  failedRequests: number;
  /** Outputs sent again because a reply did not answer for them. */
  retried: number;
  promptTokens: number;
  completionTokens: number;
  /** This invocation's spending, and the judge run's over all invocations. */
  costUsd: number;
  runCostUsd: number;
  seconds: number;
  scores: ScoreSummary;
  stopReason?: 'signal' | 'unmatched' | BudgetStop['reason'];
  stopMessage?: string;
  error?: string;
  /** --batch: the batch still out. */
  openBatch?: { id: number; providerBatchId: string | null; status: string };
}

/** The judge run failed (category `failed`); its summary says how far it got. */
export class JudgeFailed extends PipelineError {
  override name = 'JudgeFailed';
  constructor(
    message: string,
    readonly summary: JudgeSummary,
  ) {
    super('failed', message);
  }
}
