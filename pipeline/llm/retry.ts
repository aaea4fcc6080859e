/**
 * The retry policy, as a pure function of the error and the attempt number: what to do after a failed
 * attempt. Transient failures (429, 5xx, timeouts, connection errors, a 200 that is no completion) are retried a bounded number of
 * times, waiting what the server asked for (`retry-after-ms`, `retry-after`, the rate-limit reset
 * headers) or else an exponential back-off with jitter. A 400 that says the context is too long is
 * retried once with a max_tokens that fits; any other 4xx, auth and quota errors are not retried.
 */
import { resetWaitMs } from './headers.ts';
import type { LlmError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts after the first. */
  maxRetries: number;
  /** First back-off; doubles each attempt. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever the server says. */
  maxDelayMs: number;
  /** Below this, shrinking max_tokens to fit the context is pointless: the request is recorded as failed. */
  minMaxTokens: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 60_000, minMaxTokens: 256 };

export type RetryDecision =
  | { action: 'give-up'; reason: string }
  /** Wait `delayMs`, then try again; `fromServer` when the server said how long. */
  | { action: 'retry'; delayMs: number; fromServer: boolean }
  /** Try again at once with a smaller max_tokens. */
  | { action: 'shrink'; maxTokens: number };

export interface RetryContext {
  /** max_tokens of the failed attempt. */
  maxTokens: number;
  /** Tokens the attempt reserved (prompt + max_tokens), to read the token reset header. */
  reservedTokens: number;
  policy: RetryPolicy;
  /** In [0, 1). */
  random: () => number;
}

/** `attempt` is the number of the attempt that just failed (1 = the first). */
export function decideRetry(error: LlmError, attempt: number, ctx: RetryContext): RetryDecision {
  const { policy } = ctx;
  const budgetLeft = attempt <= policy.maxRetries;
  switch (error.kind) {
    case 'aborted':
      return { action: 'give-up', reason: 'aborted' };
    case 'auth':
    case 'quota':
      return { action: 'give-up', reason: `${error.kind} errors do not heal by waiting` };
    case 'other':
      return { action: 'give-up', reason: 'unclassified error' };
    case 'bad_request': {
      if (!budgetLeft) return { action: 'give-up', reason: 'out of attempts' };
      const fit = fittingMaxTokens(error.message, ctx.maxTokens);
      if (fit === undefined) return { action: 'give-up', reason: 'the request itself was refused' };
      if (fit < policy.minMaxTokens)
        return { action: 'give-up', reason: `the prompt leaves only ${Math.max(0, fit)} tokens for the reply` };
      return { action: 'shrink', maxTokens: fit };
    }
    case 'rate_limit':
    case 'server':
    case 'bad_reply':
    case 'timeout':
    case 'connection': {
      if (!budgetLeft) return { action: 'give-up', reason: 'out of attempts' };
      const info = error.rateLimit;
      const hint = info.retryAfterMs ?? (error.kind === 'rate_limit' ? resetWaitMs(info, ctx.reservedTokens) : undefined);
      if (hint !== undefined) {
        // A little jitter on top, so the requests the same 429 stopped do not all return at one instant.
        return { action: 'retry', delayMs: Math.min(policy.maxDelayMs, hint * (1 + 0.1 * ctx.random())), fromServer: true };
      }
      return { action: 'retry', delayMs: backoffMs(attempt, policy, ctx.random), fromServer: false };
    }
  }
}

/** Exponential back-off with "equal jitter": half fixed, half random, so waits spread but never vanish. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}

/** Safety margin below the model's context, for the tokens the server's template adds. */
const CONTEXT_MARGIN = 16;

/**
 * From a context-length 400, the max_tokens that would fit; undefined when the message is not one.
 * Understands OpenAI's and vLLM's wording ("maximum context length is 4097 tokens. However, you
 * requested 5000 tokens (1000 in the messages, 4000 in the completion)") and the completion-cap one
 * ("max_tokens is too large: 5000. This model supports at most 4096 completion tokens").
 */
export function fittingMaxTokens(message: string, maxTokens: number): number | undefined {
  const cap = /max_tokens is too large: \d+\. This model supports at most (\d+) completion tokens/i.exec(message);
  if (cap) {
    const fit = Number(cap[1]);
    return fit < maxTokens ? fit : undefined;
  }
  const context = /maximum context length is (\d+) tokens/i.exec(message);
  if (!context) return undefined;
  const inMessages = /\((\d+) in the messages/i.exec(message) ?? /messages resulted in (\d+) tokens/i.exec(message);
  if (!inMessages) return undefined;
  const fit = Number(context[1]) - Number(inMessages[1]) - CONTEXT_MARGIN;
  return fit < maxTokens ? fit : undefined;
}
