/** LlmError: every failure of a model call, classified by kind, never carrying the API key. */
import { PipelineError } from '../errors.ts';
import OpenAI from 'openai';
import { readRateLimitHeaders, type RateLimitInfo } from './headers.ts';
import { Redactor } from './secrets.ts';

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

/** The kind of an HTTP error status; `code` is the provider's error code (`insufficient_quota`, …). */
export function kindForStatus(status: number | undefined, code?: string): LlmErrorKind {
  if (status === undefined) return 'other';
  if (status === 429) return code === 'insufficient_quota' ? 'quota' : 'rate_limit';
  if (status >= 500) return 'server';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'timeout';
  return status >= 400 ? 'bad_request' : 'other';
}

/** `secrets`: the endpoint's Redactor, or just its key. */
export function toLlmError(err: unknown, attempts: number, secrets: Redactor | string): LlmError {
  if (err instanceof LlmError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = (typeof secrets === 'string' ? new Redactor([secrets]) : secrets).text(raw);
  if (err instanceof OpenAI.APIUserAbortError) return new LlmError('request aborted', 'aborted', undefined, attempts);
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new LlmError(message, 'timeout', undefined, attempts);
  if (err instanceof OpenAI.APIConnectionError) return new LlmError(message, 'connection', undefined, attempts);
  if (err instanceof OpenAI.APIError) {
    const code = typeof err.code === 'string' ? err.code : undefined;
    const error = new LlmError(message, kindForStatus(err.status, code), err.status, attempts);
    error.rateLimit = readRateLimitHeaders(err.headers);
    return error;
  }
  if (err instanceof Error && err.name === 'AbortError') return new LlmError('request aborted', 'aborted', undefined, attempts);
  return new LlmError(message, 'other', undefined, attempts);
}

/**
 * Removes the key, anything shaped like one, abbreviations of it and the credentials of `baseURL` from
 * text bound for logs, the DB or the terminal (see secrets.ts).
 */
export function redact(text: string, apiKey?: string, baseURL?: string): string {
  return Redactor.forEndpoint(apiKey, baseURL).text(text);
}
