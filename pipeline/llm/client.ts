/**
 * The chat model client: the official `openai` package against any OpenAI-compatible base URL, with its
 * own retries off (ours decide, so nothing is retried twice), a client-side rate limiter, the retry
 * policy of retry.ts and a per-attempt timeout. Every attempt is logged for the store.
 */
import OpenAI from 'openai';
import { z } from 'zod';
import { readRateLimitHeaders } from './headers.ts';
import { LimiterAborted, RateLimiter, systemClock, type Clock, type Permit } from './limiter.ts';
import { decideRetry, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import { LlmError, toLlmError, type AttemptRecord } from './errors.ts';
import { tokenCounterFor } from './tokens.ts';
import { Redactor } from './secrets.ts';
import { SIMULATOR_OWNER } from './server-info.ts';
import { UsageError } from '../errors.ts';
import type { ChatMessage, LlmClient, Usage } from './types.ts';

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
  /** Per-attempt timeout, headers and body: a reply not complete by then is cut off and retried. Default 120 000 ms. */
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
  const redactor = Redactor.forEndpoint(apiKey, options.baseURL);
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

  /**
   * One request through the limiter, the whole-attempt timeout and the retry policy: `call` makes one
   * HTTP attempt (aborted by the signal it is given) and returns its value, response and usage. Every
   * attempt is logged; the error thrown after the last one carries the log.
   */
  const withAttempts = async <T>(
    raw: number,
    firstMaxTokens: number,
    signal: AbortSignal | undefined,
    call: (deadline: AbortSignal, attempt: number, maxTokens: number) => Promise<{ value: T; response: Response; usage: Usage | null }>,
  ): Promise<{ value: T; usage: Usage | null; latencyMs: number; attempts: number; attemptLog: AttemptRecord[] }> => {
    const attemptLog: AttemptRecord[] = [];
    let maxTokens = firstMaxTokens;
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
        // One record per attempt, whatever fails after it was logged: the store keys them by number.
        if (attemptLog.at(-1)?.attempt === attempt) attemptLog.pop();
        attemptLog.push({ attempt, startedAt, status, latencyMs, errorKind, waitMs, maxTokens });
        return latencyMs;
      };

      // The whole attempt (headers, body) is bounded: the client's own timeout stops at the headers,
      // and a server that then sends one byte every few seconds would hold the request forever.
      const deadline = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        deadline.abort();
      }, timeoutMs);
      const stopOnParent = (): void => deadline.abort();
      if (signal?.aborted) deadline.abort();
      else signal?.addEventListener('abort', stopOnParent, { once: true });
      try {
        const { value, response, usage: u } = await call(deadline.signal, attempt, maxTokens);
        const latencyMs = log(response.status, null);
        // The server charged its own prompt count + max_tokens on arrival (we reserved our estimate).
        permit?.observe(readRateLimitHeaders(response.headers), u === null ? undefined : u.promptTokens + maxTokens);
        permit?.settle(u?.totalTokens ?? permit.tokens);
        if (u !== null && u.promptTokens > 0 && raw > 0) {
          const r = Math.min(4, Math.max(0.25, u.promptTokens / raw));
          tokenRatio = ratioSeen ? 0.8 * tokenRatio + 0.2 * r : r;
          ratioSeen = true;
        }
        return { value, usage: u, latencyMs, attempts: attempt, attemptLog };
      } catch (err) {
        const error = timedOut
          ? new LlmError(`no complete reply within ${timeoutMs / 1000} s`, 'timeout', undefined, attempt)
          : toLlmError(err, attempt, redactor);
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
          // Only a chat request has a max_tokens to shrink; an embedding request that is too long is refused.
          if (firstMaxTokens === 0) throw fail(error);
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
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stopOnParent);
      }
    }
  };

  return {
    estimatePromptTokens(messages, model) {
      return Math.ceil(rawPromptTokens(messages, model) * tokenRatio * PROMPT_MARGIN);
    },

    async complete(messages, params, signal) {
      const raw = rawPromptTokens(messages, params.model);
      const done = await withAttempts(raw, params.max_tokens, signal, async (deadline, attempt, maxTokens) => {
        const { response_format, ...sampling } = params;
        const body = {
          ...sampling,
          ...(response_format && { response_format }),
          max_tokens: maxTokens,
          messages,
          stream: false as const,
        };
        const { data, response } = await client.chat.completions.create(body, { signal: deadline }).withResponse();
        // The body is whatever the server sent: check its shape here, at the edge, before anything uses it.
        const completion = CompletionSchema.safeParse(data);
        if (!completion.success) {
          throw new LlmError(
            `HTTP ${response.status} but not a chat completion: ${describeBody(data, redactor)}`,
            'bad_reply',
            response.status,
            attempt,
          );
        }
        const choice = completion.data.choices[0]!;
        const content = choice.message?.content;
        const value = {
          // A non-string content is no reply text. The key is cut out before anyone can store it.
          content: typeof content === 'string' ? redactor.text(content) : '',
          finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
        };
        return { value, response, usage: usageOf(completion.data.usage) };
      });
      return { ...done.value, usage: done.usage, latencyMs: done.latencyMs, attempts: done.attempts, attemptLog: done.attemptLog };
    },

    async embed(input, model, signal, expect) {
      const counter = tokenCounterFor(model);
      const raw = input.reduce((n, text) => n + counter.count(text), 0);
      const done = await withAttempts(raw, 0, signal, async (deadline, attempt) => {
        const { data, response } = await client.embeddings
          .create({ model, input, encoding_format: 'float' }, { signal: deadline })
          .withResponse();
        // Vectors are untrusted like any reply: a wrong count, dimension or value fails the attempt here,
        // so nothing unusable reaches the store or an index.
        const checked = checkEmbeddings(data, input.length, expect?.dimensions);
        if (typeof checked === 'string') {
          throw new LlmError(
            `HTTP ${response.status} but ${checked}: ${describeBody(data, redactor)}`,
            'bad_reply',
            response.status,
            attempt,
          );
        }
        return { value: checked, response, usage: embeddingUsageOf((data as { usage?: unknown }).usage) };
      });
      return { vectors: done.value, usage: done.usage, latencyMs: done.latencyMs, attempts: done.attempts, attemptLog: done.attemptLog };
    },

    async probe(probeTimeoutMs = 5000) {
      try {
        // One retry: a connection reset on a pooled socket the server was just closing is not a server that is down.
        const models = await client.models.list({ timeout: probeTimeoutMs, maxRetries: 1 });
        // Any server's reply: read without trusting its shape.
        const list: unknown[] = Array.isArray(models.data) ? models.data : [];
        const owners = list.map((m) => (typeof m === 'object' && m !== null ? (m as { owned_by?: unknown }).owned_by : undefined));
        return { simulator: owners.length > 0 && owners.every((o) => o === SIMULATOR_OWNER) };
      } catch (err) {
        const error = toLlmError(err, 1, redactor);
        // Any HTTP answer proves the server is there; only auth failures matter beyond that.
        if (error.kind === 'connection' || error.kind === 'timeout' || error.kind === 'auth') throw error;
        // Without its /v1 the base URL answers 404 for everything: say so now, not after 20 failed requests.
        if (error.status === 404) await refuseMissingV1(client.baseURL, apiKey, probeTimeoutMs, redactor);
        return { simulator: false };
      }
    },
  };
}

/**
 * GET /models answered 404. When the base URL does not end in /v1 and `<base>/v1/models` is there, the
 * user left out /v1 (vLLM, Ollama, llama.cpp serve the API under it): a UsageError saying so. Otherwise
 * the server may just lack /models, and the run goes on as before.
 */
async function refuseMissingV1(baseURL: string, apiKey: string, timeoutMs: number, redactor: Redactor): Promise<void> {
  const base = baseURL.replace(/\/+$/, '');
  if (/\/v1$/.test(base)) return;
  const withV1 = `${base}/v1`;
  let status: number;
  try {
    const res = await fetch(`${withV1}/models`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    await res.body?.cancel();
  } catch {
    return;
  }
  if (status === 404 || status >= 500) return;
  throw new UsageError(
    `the model API at ${redactor.text(base)} answers 404 for /models, but ${redactor.text(withV1)}/models is there: ` +
      `add /v1 to the base URL (${redactor.text(withV1)})`,
  );
}

/** What a chat completion must have for us to use it; anything else is a failed attempt (`bad_reply`). */
const CompletionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.unknown() }).nullish(),
        finish_reason: z.unknown(),
      }),
    )
    .min(1),
  usage: z.unknown(),
});

/**
 * The vectors of an embeddings reply in input order, or why they cannot be used: `data` missing, a count
 * other than the inputs', a dimension other than `dimensions` (the one stored for the model) or than the
 * first vector's, a value that is not a finite number, or a zero vector (no direction to compare).
 */
export function checkEmbeddings(body: unknown, count: number, dimensions?: number): Float32Array[] | string {
  const parsed = EmbeddingsSchema.safeParse(body);
  if (!parsed.success) return 'not an embeddings list (no data array of {index, embedding})';
  const rows = parsed.data.data;
  if (rows.length !== count) return `${rows.length} embeddings for ${count} inputs`;
  const vectors: (Float32Array | undefined)[] = new Array(count);
  const dim = dimensions ?? rows[0]?.embedding.length ?? 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    // Servers that leave out index send the vectors in input order.
    const at = row.index ?? i;
    if (at < 0 || at >= count || vectors[at] !== undefined) return `embedding index ${at} out of range or repeated`;
    if (row.embedding.length !== dim || dim === 0) return `embedding ${at} has ${row.embedding.length} dimensions, expected ${dim}`;
    const v = new Float32Array(dim);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const x = row.embedding[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) return `embedding ${at} has a value that is not a finite number`;
      v[j] = x;
      // Stored as float32: 1e39 would become Infinity there, 1e-46 zero; judge the value that is stored.
      if (!Number.isFinite(v[j]!)) return `embedding ${at} has a value beyond float32 range`;
      norm += v[j]! * v[j]!;
    }
    if (!(norm > 0) || !Number.isFinite(norm)) return `embedding ${at} is a zero vector`;
    vectors[at] = v;
  }
  return vectors as Float32Array[];
}

// Values are checked one by one above (a NaN arrives as null in JSON): z.unknown keeps this linear.
const EmbeddingsSchema = z.object({
  data: z.array(z.object({ index: z.number().int().optional(), embedding: z.array(z.unknown()) })),
});

/** Embedding replies count prompt tokens only. */
function embeddingUsageOf(usage: unknown): Usage | null {
  const u = z
    .object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative().optional() })
    .safeParse(usage);
  return u.success
    ? { promptTokens: u.data.prompt_tokens, completionTokens: 0, totalTokens: u.data.total_tokens ?? u.data.prompt_tokens }
    : null;
}

const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

/** The reply's token counts; null when it has none we can trust (then the worst case is counted). */
function usageOf(usage: unknown): Usage | null {
  const u = UsageSchema.safeParse(usage);
  return u.success
    ? { promptTokens: u.data.prompt_tokens, completionTokens: u.data.completion_tokens, totalTokens: u.data.total_tokens }
    : null;
}

/** A short, redacted description of a body that is not a completion, for the error message. */
function describeBody(data: unknown, redactor: Redactor): string {
  const text = typeof data === 'string' ? data : (JSON.stringify(data) ?? String(data));
  const head = text.slice(0, 120).replace(/\s+/g, ' ');
  return redactor.text(`${typeof data === 'string' ? 'text' : 'JSON'} ${JSON.stringify(head)}${text.length > 120 ? '…' : ''}`);
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
