/** LlmError: every failure of a model call, classified by kind, never carrying the API key. */
import OpenAI from 'openai';
import { readRateLimitHeaders, type RateLimitInfo } from './headers.ts';

export type LlmErrorKind =
  | 'rate_limit' // 429: too many requests or tokens for now
  | 'quota' // 429 insufficient_quota: out of credit, waiting will not help
  | 'server' // 5xx
  | 'timeout' // no answer within --timeout, or 408
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

export class LlmError extends Error {
  override name = 'LlmError';
  /** Rate-limit headers and retry hints of the failed response, if it had any. */
  rateLimit: RateLimitInfo = {};
  /** The provider's error code (`context_length_exceeded`, `insufficient_quota`, …). */
  code: string | undefined;
  /** Every attempt made, oldest first (filled in by the client when it gives up). */
  attemptLog: AttemptRecord[] = [];

  constructor(
    message: string,
    readonly kind: LlmErrorKind,
    readonly status: number | undefined,
    public attempts: number,
  ) {
    super(message);
  }

  get transient(): boolean {
    return this.kind === 'rate_limit' || this.kind === 'server' || this.kind === 'timeout' || this.kind === 'connection';
  }
}

export function toLlmError(err: unknown, attempts: number, apiKey: string): LlmError {
  if (err instanceof LlmError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = redact(raw, apiKey);
  if (err instanceof OpenAI.APIUserAbortError) return new LlmError('request aborted', 'aborted', undefined, attempts);
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new LlmError(message, 'timeout', undefined, attempts);
  if (err instanceof OpenAI.APIConnectionError) return new LlmError(message, 'connection', undefined, attempts);
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const code = typeof err.code === 'string' ? err.code : undefined;
    const kind: LlmErrorKind = status === 429 ? (code === 'insufficient_quota' ? 'quota' : 'rate_limit')
      : status !== undefined && status >= 500 ? 'server'
      : status === 401 || status === 403 ? 'auth'
      : status === 408 ? 'timeout'
      : status !== undefined && status >= 400 ? 'bad_request' : 'other';
    const error = new LlmError(message, kind, status, attempts);
    error.code = code;
    error.rateLimit = readRateLimitHeaders(err.headers);
    return error;
  }
  if (err instanceof Error && err.name === 'AbortError') return new LlmError('request aborted', 'aborted', undefined, attempts);
  return new LlmError(message, 'other', undefined, attempts);
}

/** Removes the key (and anything shaped like one) from text bound for logs, the DB or the terminal. */
export function redact(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('***');
  return out.replace(/sk-[A-Za-z0-9_-]{8,}/g, 'sk-***');
}
