/** LlmError from what the openai client throws: every failure of a model call, classified by kind, never carrying the API key. */
import OpenAI from 'openai';
import { readRateLimitHeaders } from './headers.ts';
import { LlmError, type LlmErrorKind } from './llm-error.ts';
import { Redactor } from './secrets.ts';

export { LlmError, type AttemptRecord, type LlmErrorKind } from './llm-error.ts';

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
