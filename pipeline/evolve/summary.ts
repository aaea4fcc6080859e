/** What an evolve run reports, and the error a failed one throws (apart from evolve.ts, so the library entry loads no runner). */
import type { BudgetStop } from '../budget.ts';
import { PipelineError } from '../errors.ts';
import type { EvolveOp } from './ops.ts';

export interface EvolveStageFigures {
  requests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  /** At the stage's model price; null without one. */
  costUsd: number | null;
}

export interface EvolveSummary {
  /** null: nothing was due (no run made) or a dry run. */
  runId: number | null;
  /** `nothing`: no task was due to evolve or awaiting an answer; `dry-run`: counted only. */
  /** `waiting`: --batch, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'nothing' | 'dry-run' | 'waiting';
  resumed: boolean;
  rounds: number;
  ops: EvolveOp[];
  model: string;
  answerModel: string;
  /** n, or the most the pool could give (every evolution surviving). */
  target: number;
  /** Parents due at start, by round. */
  dueAtStart: Record<string, number>;
  /** Evolved tasks awaiting an answer at start. */
  awaitingAtStart: number;
  /** Evolved tasks accepted in this invocation, by round. */
  evolvedNow: number;
  evolvedByRound: Record<string, number>;
  /** Failed evolutions in this invocation, by reason. */
  eliminatedNow: Record<string, number>;
  answeredNow: number;
  /** Rejected answers in this invocation, by reason. */
  rejectedAnswers: Record<string, number>;
  /** The pool ran out before n. */
  poolExhausted: boolean;
  /** `check`: with a check model only. */
  stages: { evolve: EvolveStageFigures; answers: EvolveStageFigures; check?: EvolveStageFigures };
  requests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  seconds: number;
  /** Dry run: the worst case of one evolution request and of one answer request, USD (null without a price). */
  worstCaseUsdPerRequest?: { evolve: number | null; answer: number | null };
  /** --batch: the batch still out. */
  openBatch?: { id: number; providerBatchId: string | null; status: string };
  stopReason?: 'signal' | 'storage' | BudgetStop['reason'];
  stopMessage?: string;
  error?: string;
}

/** The evolve run failed (category `failed`); its summary says how far it got. */
export class EvolveFailed extends PipelineError {
  override name = 'EvolveFailed';
  constructor(
    message: string,
    readonly summary: EvolveSummary,
  ) {
    super('failed', message);
  }
}
