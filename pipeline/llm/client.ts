/**
 * The chat model client: the official `openai` package against any OpenAI-compatible base URL, with its
 * own retries off (ours decide, so nothing is retried twice), a client-side rate limiter, the retry
 * policy of retry.ts and a per-attempt timeout. Every attempt is logged for the store.
 */
import OpenAI from 'openai';
import { readRateLimitHeaders } from './headers.ts';
import { LimiterAborted, RateLimiter, systemClock, type Clock, type Permit } from './limiter.ts';
import { decideRetry, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import { LlmError, toLlmError, type AttemptRecord } from './errors.ts';
import { tokenCounterFor } from './tokens.ts';
import { SIMULATOR_OWNER } from './server-info.ts';
import type { ChatMessage, LlmClient } from './types.ts';

export interface RateLimitOptions {
  /** Requests per minute (--rpm). */
  rpm?: number | undefined;
  /** Tokens per minute (--tpm). */
  tpm?: number | undefined;
  /** Learn limits from `x-ratelimit-*` headers and follow the server's remaining counts. Default true. */
  fromHeaders?: boolean;
}

export interface LlmClientOptions {
  apiKey: string;
  /** Default: the openai client's own (OPENAI_BASE_URL, else https://api.openai.com/v1). */
  baseURL?: string | undefined;
  /** Per-attempt timeout. Default 120 000 ms. */
  timeoutMs?: number;
  /** Attempts after the first, on 429, 5xx, timeouts and connection errors. Default 3. */
  maxRetries?: number;
  /** First back-off; doubles each retry. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest single wait. Default 60 000 ms. */
  retryMaxMs?: number;
  /** The client-side limiter; `false` turns it off entirely (each request only retries on its own). */
  rateLimit?: RateLimitOptions | false;
  clock?: Clock;
  random?: () => number;
}

/**
 * Prompt estimates are padded by this factor: our count and the server's differ by a few percent per
 * request even after the ratio is learned, and an underestimate at the limit is a 429. Padding only
 * moves the level the bucket runs at, not the rate: the excess comes back when the request settles.
 */
const PROMPT_MARGIN = 1.1;

export function createLlmClient(options: LlmClientOptions): LlmClient {
  const { apiKey, timeoutMs = 120_000 } = options;
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    baseDelayMs: options.retryBaseMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.retryMaxMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const limiter = options.rateLimit === false ? undefined : new RateLimiter({ ...options.rateLimit, clock });
  // Our loop does the retrying; the client's own would retry a second time underneath it.
  const client = new OpenAI({ apiKey, baseURL: options.baseURL, timeout: timeoutMs, maxRetries: 0 });
  // Server prompt tokens per tiktoken token: 1 for OpenAI, learned for providers whose tokenizer differs.
  let tokenRatio = 1;
  let ratioSeen = false;

  const rawPromptTokens = (messages: readonly ChatMessage[], model: string): number => tokenCounterFor(model).countChat(messages);

  return {
    estimatePromptTokens(messages, model) {
      return Math.ceil(rawPromptTokens(messages, model) * tokenRatio * PROMPT_MARGIN);
    },

    async complete(messages, params, signal) {
      const attemptLog: AttemptRecord[] = [];
      const raw = rawPromptTokens(messages, params.model);
      let maxTokens = params.max_tokens;
      let backoffWaited = 0;
      const fail = (error: LlmError): LlmError => {
        error.attempts = Math.max(1, attemptLog.length);
        error.attemptLog = attemptLog;
        return error;
      };

      for (let attempt = 1; ; attempt++) {
        const queuedAt = clock.now();
        let permit: Permit | undefined;
        try {
          permit = await limiter?.acquire(Math.ceil(raw * tokenRatio * PROMPT_MARGIN) + maxTokens, signal);
        } catch (err) {
          if (err instanceof LimiterAborted) throw fail(new LlmError('request aborted', 'aborted', undefined, attempt));
          throw err;
        }
        const waitMs = Math.round(backoffWaited + (clock.now() - queuedAt));
        backoffWaited = 0;
        const startedAt = new Date().toISOString();
        const started = performance.now();
        const log = (status: number | null, errorKind: AttemptRecord['errorKind']): number => {
          const latencyMs = Math.round(performance.now() - started);
          attemptLog.push({ attempt, startedAt, status, latencyMs, errorKind, waitMs, maxTokens });
          return latencyMs;
        };

        try {
          const { response_format, ...sampling } = params;
          const body = {
            ...sampling,
            ...(response_format && { response_format }),
            max_tokens: maxTokens,
            messages,
            stream: false as const,
          };
          const { data, response } = await withLinkedSignal(signal, (attemptSignal) =>
            client.chat.completions.create(body, { signal: attemptSignal }).withResponse(),
          );
          const latencyMs = log(response.status, null);
          const u = data.usage;
          // The server charged its own prompt count + max_tokens on arrival (we reserved our estimate).
          permit?.observe(readRateLimitHeaders(response.headers), u?.prompt_tokens === undefined ? undefined : u.prompt_tokens + maxTokens);
          permit?.settle(u?.total_tokens ?? permit.tokens);
          if (u !== undefined && u !== null && u.prompt_tokens > 0 && raw > 0) {
            const r = Math.min(4, Math.max(0.25, u.prompt_tokens / raw));
            tokenRatio = ratioSeen ? 0.8 * tokenRatio + 0.2 * r : r;
            ratioSeen = true;
          }
          const choice = data.choices[0];
          return {
            // Typed string | null, but it is whatever the server sent: a non-string is no reply text.
            content: typeof choice?.message?.content === 'string' ? choice.message.content : '',
            finishReason: choice?.finish_reason ?? null,
            usage: u ? { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens } : null,
            latencyMs,
            attempts: attempt,
            attemptLog,
          };
        } catch (err) {
          const error = toLlmError(err, attempt, apiKey);
          log(error.status ?? null, error.kind);
          permit?.observe(error.rateLimit);
          // Refused requests used no tokens; one that timed out may still be running on the server.
          const refused =
            error.kind === 'rate_limit' ||
            error.kind === 'quota' ||
            error.kind === 'bad_request' ||
            error.kind === 'auth' ||
            error.kind === 'connection';
          permit?.settle(refused ? 0 : permit.tokens);
          if (signal?.aborted) throw fail(new LlmError('request aborted', 'aborted', undefined, attempt));

          const decision = decideRetry(error, attempt, { maxTokens, reservedTokens: permit?.tokens ?? maxTokens, policy, random });
          if (decision.action === 'give-up') throw fail(error);
          if (decision.action === 'shrink') {
            maxTokens = decision.maxTokens;
            continue;
          }
          if (error.kind === 'rate_limit' && limiter !== undefined) {
            // Everyone waits, not just this request: the server is over its limit for all of us.
            limiter.pause(decision.delayMs);
            continue;
          }
          await sleep(decision.delayMs, signal);
          backoffWaited = decision.delayMs;
          if (signal?.aborted) throw fail(new LlmError('request aborted', 'aborted', undefined, attempt));
        }
      }
    },

    async probe(probeTimeoutMs = 5000) {
      try {
        const models = await client.models.list({ timeout: probeTimeoutMs, maxRetries: 0 });
        // Any server's reply: read without trusting its shape.
        const list: unknown[] = Array.isArray(models.data) ? models.data : [];
        const owners = list.map((m) => (typeof m === 'object' && m !== null ? (m as { owned_by?: unknown }).owned_by : undefined));
        return { simulator: owners.length > 0 && owners.every((o) => o === SIMULATOR_OWNER) };
      } catch (err) {
        const error = toLlmError(err, 1, apiKey);
        // Any HTTP answer proves the server is there; only auth failures matter beyond that.
        if (error.kind === 'connection' || error.kind === 'timeout' || error.kind === 'auth') throw error;
        return { simulator: false };
      }
    },
  };
}

/**
 * Runs `fn` with a signal of its own that follows `parent`. The HTTP client adds an abort listener to
 * the signal it is given and never removes it; on a signal shared by all attempts of a request (or by
 * a whole run) those would pile up, one per attempt.
 */
async function withLinkedSignal<T>(parent: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (parent === undefined) return fn(undefined);
  const child = new AbortController();
  const abort = (): void => child.abort();
  if (parent.aborted) child.abort();
  else parent.addEventListener('abort', abort, { once: true });
  try {
    return await fn(child.signal);
  } finally {
    parent.removeEventListener('abort', abort);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
