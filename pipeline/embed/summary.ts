/** What an embed run reports, and the error a failed one throws (apart from embed.ts, so the library entry loads no runner). */
import type { BudgetStop } from '../budget.ts';
import { PipelineError } from '../errors.ts';

export interface EmbedSummary {
  runId: number;
  /** `waiting`: --batch, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'waiting';
  model: string;
  /** The embedded text: what the manifest and docs promise. */
  text: 'instruction + "\\n" + input; a dialogue: its first two user turns';
  pendingAtStart: number;
  /** Tasks that took the vector stored for the same text (no request). */
  reused: number;
  embeddedNow: number;
  left: number;
  dimensions: number | null;
  requests: number;
  failedRequests: number;
  promptTokens: number;
  costUsd: number;
  seconds: number;
  /** --batch: the batch still out. */
  openBatch?: { id: number; providerBatchId: string | null; status: string };
  stopReason?: 'signal' | BudgetStop['reason'];
  stopMessage?: string;
  error?: string;
}

/** The embed run failed (category `failed`); its summary says how far it got. */
export class EmbedFailed extends PipelineError {
  override name = 'EmbedFailed';
  constructor(
    message: string,
    readonly summary: EmbedSummary,
  ) {
    super('failed', message);
  }
}
