/**
 * What a run reports while it goes (events with a progress snapshot) and when it ends (its summary),
 * for every command that sends requests: the CLI's progress line and JSON logs read these.
 */
import { PipelineError } from '../errors.ts';
import type { BudgetStop } from '../budget.ts';
import type { RunTotals, Store } from '../store/store.ts';
import type { GuardStop, YieldGuardState } from '../yield-guard.ts';

/** A snapshot of the run, sent with every event. */
export interface Progress {
  runId: number;
  target: number;
  accepted: number;
  /** Accepted before this invocation (a resumed run). */
  acceptedAtStart: number;
  rejected: number;
  requests: number;
  failedRequests: number;
  inFlight: number;
  promptTokens: number;
  completionTokens: number;
  /** USD the run has spent (earlier invocations included); 0 when the model has no price. */
  costUsd: number;
  elapsedMs: number;
}

export type GenerateEvent =
  | { type: 'start'; progress: Progress; resumed: boolean; indexSize: number }
  | { type: 'reply'; progress: Progress; requestId: number; newlyAccepted: number }
  | { type: 'request-failed'; progress: Progress; requestId: number; error: string }
  | { type: 'stopping'; progress: Progress; reason: string };

export interface RunSummary extends RunTotals {
  runId: number;
  /** 'waiting': batch mode, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'waiting';
  target: number;
  resumed: boolean;
  /** Accepted by this invocation. */
  acceptedNow: number;
  seconds: number;
  error?: string;
  /** Why an interrupted run stopped: a stop signal, a budget cap, or a full / read-only disk. */
  stopReason?: 'signal' | 'storage' | BudgetStop['reason'];
  stopMessage?: string;
  /** Batch mode: the batch still out when the step ended. */
  openBatch?: { id: number; providerBatchId: string | null; status: string; requests: number };
  /** The yield guard's figures for this invocation, and its stop if it tripped. */
  yieldGuard?: YieldGuardState;
}

/** The figures every run's summary starts from: the run's stored totals and what this invocation did. */
export function summaryBase(
  store: Store,
  run: { runId: number; target: number; resumed: boolean; started: number },
  status: RunSummary['status'],
  acceptedNow: number,
): RunSummary {
  return {
    ...store.runTotals(run.runId),
    runId: run.runId,
    status,
    target: run.target,
    resumed: run.resumed,
    acceptedNow,
    seconds: (performance.now() - run.started) / 1000,
  };
}

/** A yield guard stopped the run (see yield-guard.ts); the message says which and what to check. */
export class YieldGuardError extends Error {
  override name = 'YieldGuardError';
  constructor(readonly stop: GuardStop) {
    super(stop.message);
  }
}

/**
 * The run failed (category `failed`, or `unavailable` when every model server was out); its summary says
 * how far it got.
 */
export class GenerationFailed extends PipelineError {
  override name = 'GenerationFailed';
  constructor(
    message: string,
    readonly summary: RunSummary,
    options: { cause?: unknown; category?: 'failed' | 'unavailable' } = {},
  ) {
    super(options.category ?? 'failed', message, options);
  }
}

/** Every endpoint of the run is out of rotation: the run stops (exit 69), nothing lost. */
export class EndpointsUnavailable extends Error {
  override name = 'EndpointsUnavailable';
}
