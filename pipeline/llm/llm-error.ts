/**
 * LlmError: every failure of a model call, classified by kind, never carrying the API key. Apart from
 * errors.ts (which reads the openai client's errors) so the library entry offers it without the client.
 */
import { PipelineError } from '../errors.ts';
import type { RateLimitInfo } from './headers.ts';

export type LlmErrorKind =
  | 'rate_limit' // 429: too many requests or tokens for now
  | 'quota' // 429 insufficient_quota: out of credit, waiting will not help
  | 'server' // 5xx
  | 'timeout' // no whole answer (headers and body) within --timeout, or 408
  | 'bad_reply' // a 2xx answer that is not a chat completion (an HTML page, `null`, `{"error":null}`)
  | 'connection' // refused, reset, DNS
  | 'bad_request' // other 4xx: the request itself is wrong (context too long, bad parameter)
  | 'auth' // 401, 403
  | 'aborted' // we cancelled it (stop signal)
  | 'other';

/** One HTTP attempt of a request, as stored in `request_attempts`. */
export interface AttemptRecord {
  attempt: number;
  /** ISO time the HTTP request went out. */
  startedAt: string;
  /** HTTP status, or null when there was none (timeout, connection error, abort). */
  status: number | null;
  latencyMs: number;
  /** null when the attempt succeeded. */
  errorKind: LlmErrorKind | null;
  /** Waited before this attempt: the rate limiter's queue plus any back-off. */
  waitMs: number;
  /** max_tokens sent (lower than asked after a context-length 400). */
  maxTokens: number;
}

export class LlmError extends PipelineError {
  override name = 'LlmError';
  /** Rate-limit headers and retry hints of the failed response, if it had any. */
  rateLimit: RateLimitInfo = {};
  /** Every attempt made, oldest first (filled in by the client when it gives up). */
  attemptLog: AttemptRecord[] = [];
  /** The endpoint that failed, when the client spreads requests over several. */
  endpoint?: string;

  constructor(
    message: string,
    readonly kind: LlmErrorKind,
    readonly status: number | undefined,
    public attempts: number,
    options: { cause?: unknown } = {},
  ) {
    super('failed', message, options);
  }
}
