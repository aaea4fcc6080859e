/**
 * The retry policy per error class, the header parsing it relies on, and the real client (openai
 * package over HTTP) against a scripted server: what is retried, how often, and what is not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlmClient, LlmError } from '../pipeline/llm.ts';
import { parseDurationMs, parseRetryAfterMs, readRateLimitHeaders, resetWaitMs } from '../pipeline/llm/headers.ts';
import { backoffMs, decideRetry, DEFAULT_RETRY_POLICY, fittingMaxTokens, type RetryContext } from '../pipeline/llm/retry.ts';
import type { LlmErrorKind } from '../pipeline/llm/errors.ts';

const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({
  maxTokens: 4096,
  reservedTokens: 5000,
  policy: { ...DEFAULT_RETRY_POLICY, maxRetries: 3 },
  random: () => 0.5,
  ...over,
});
const error = (kind: LlmErrorKind, message = 'x', status?: number): LlmError => new LlmError(message, kind, status, 1);

describe('headers', () => {
  it('parses Go-style durations, bare seconds, and refuses junk', () => {
    expect(parseDurationMs('6m0s')).toBe(360_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('20ms')).toBe(20);
    expect(parseDurationMs('1h2m3s')).toBe(3_723_000);
    expect(parseDurationMs('2')).toBe(2000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('5s later')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });

  it('reads retry-after as seconds or an HTTP date, retry-after-ms first', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    const h = new Headers({
      'retry-after': '9',
      'retry-after-ms': '250',
      'x-ratelimit-remaining-tokens': '12',
      'x-ratelimit-reset-tokens': '1s',
    });
    expect(readRateLimitHeaders(h)).toEqual({ remainingTokens: 12, resetTokensMs: 1000, retryAfterMs: 250 });
  });

  it('waits only for the share of the reset that refills what is missing', () => {
    // 600 RPM, none left, full reset in 60 s: one request is back in 100 ms.
    expect(resetWaitMs({ limitRequests: 600, remainingRequests: 0, resetRequestsMs: 60_000 }, 0)).toBeCloseTo(100, 5);
    // 10 000 TPM, 1000 left, 9000 used → reset 54 s; 3000 needed: 2000 missing = 12 s.
    expect(resetWaitMs({ limitTokens: 10_000, remainingTokens: 1000, resetTokensMs: 54_000 }, 3000)).toBeCloseTo(12_000, 5);
    expect(resetWaitMs({ remainingRequests: 5, resetRequestsMs: 1000 }, 0)).toBeUndefined();
  });
});

describe('decideRetry', () => {
  it('retries 429 after what the server asked for, with a little jitter on top', () => {
    const e = error('rate_limit', 'slow down', 429);
    e.rateLimit = { retryAfterMs: 2000 };
    const d = decideRetry(e, 1, ctx({ random: () => 0.5 }));
    expect(d).toEqual({ action: 'retry', delayMs: 2100, fromServer: true });
    const e2 = error('rate_limit', 'slow down', 429);
    e2.rateLimit = { limitRequests: 600, remainingRequests: 0, resetRequestsMs: 60_000 };
    expect(decideRetry(e2, 1, ctx({ random: () => 0 }))).toEqual({ action: 'retry', delayMs: 100, fromServer: true });
  });

  it('backs off exponentially with jitter on 5xx, timeouts and connection errors when the server gives no hint', () => {
    for (const kind of ['server', 'timeout', 'connection', 'rate_limit'] as const) {
      const delays = [1, 2, 3].map((attempt) => decideRetry(error(kind), attempt, ctx({ random: () => 0 })));
      for (const d of delays) expect(d.action).toBe('retry');
      expect(delays.map((d) => (d.action === 'retry' ? Math.round(d.delayMs) : 0))).toEqual([500, 1000, 2000]);
    }
    // Jitter spreads within [ceiling/2, ceiling].
    const policy = DEFAULT_RETRY_POLICY;
    expect(backoffMs(3, policy, () => 0)).toBe(2000);
    expect(backoffMs(3, policy, () => 0.5)).toBe(3000);
    expect(backoffMs(30, policy, () => 0.999)).toBeLessThanOrEqual(policy.maxDelayMs);
  });

  it('stops after the configured number of retries', () => {
    expect(decideRetry(error('server'), 3, ctx()).action).toBe('retry');
    expect(decideRetry(error('server'), 4, ctx())).toMatchObject({ action: 'give-up', reason: 'out of attempts' });
    expect(decideRetry(error('server'), 1, ctx({ policy: { ...DEFAULT_RETRY_POLICY, maxRetries: 0 } })).action).toBe('give-up');
  });

  it('never retries auth, quota, aborted or unclassified errors', () => {
    for (const kind of ['auth', 'quota', 'aborted', 'other'] as const) expect(decideRetry(error(kind), 1, ctx()).action).toBe('give-up');
  });

  it('a context-length 400 is retried once with a max_tokens that fits; other 400s are not retried', () => {
    const msg =
      "This model's maximum context length is 4097 tokens. However, you requested 5000 tokens (1000 in the messages, 4000 in the completion). Please reduce the length of the messages or completion.";
    expect(decideRetry(error('bad_request', msg, 400), 1, ctx({ maxTokens: 4000 }))).toEqual({
      action: 'shrink',
      maxTokens: 4097 - 1000 - 16,
    });
    expect(decideRetry(error('bad_request', 'Invalid value for temperature', 400), 1, ctx()).action).toBe('give-up');
    const tight =
      "This model's maximum context length is 4097 tokens. However, you requested 8000 tokens (3950 in the messages, 4050 in the completion).";
    expect(decideRetry(error('bad_request', tight, 400), 1, ctx({ maxTokens: 4050 }))).toMatchObject({ action: 'give-up' });
    expect(
      fittingMaxTokens(
        'max_tokens is too large: 5000. This model supports at most 4096 completion tokens, whereas you provided 5000.',
        5000,
      ),
    ).toBe(4096);
    // Already at or below the fitting value: shrinking cannot help.
    expect(fittingMaxTokens(msg, 1000)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// The real client against a scripted HTTP server.

type Script = (n: number, body: { max_tokens: number }) => { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';
let script: Script = () => ({ status: 200 });
let seen: { max_tokens: number; at: number }[] = [];
let server: http.Server;
let baseURL: string;

const completion = (content = '[]') => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
});

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { max_tokens: number };
      seen.push({ max_tokens: body.max_tokens, at: performance.now() });
      const answer = script(seen.length, body);
      if (answer === 'hang') return; // never answers
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(
        JSON.stringify(
          answer.body ?? (answer.status === 200 ? completion() : { error: { message: `status ${answer.status}`, type: 'x', code: null } }),
        ),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const params = { model: 'gpt-3.5-turbo', temperature: 1, top_p: 1, max_tokens: 1000 };
const messages = [{ role: 'user' as const, content: '写三个中文任务。' }];
const client = (over: Parameters<typeof createLlmClient>[0] extends infer O ? Partial<O> : never = {}) =>
  createLlmClient({ apiKey: 'test-key-retry-testtest', baseURL, timeoutMs: 2000, maxRetries: 3, retryBaseMs: 20, ...over });

describe('the client over HTTP', () => {
  it('retries 500s and succeeds, logging every attempt; the openai client adds no retries of its own', async () => {
    seen = [];
    script = (n) => (n <= 2 ? { status: 500 } : { status: 200 });
    const reply = await client().complete(messages, params);
    expect(seen).toHaveLength(3);
    expect(reply.attempts).toBe(3);
    expect(reply.attemptLog.map((a) => [a.status, a.errorKind])).toEqual([
      [500, 'server'],
      [500, 'server'],
      [200, null],
    ]);
    expect(reply.attemptLog[1]!.waitMs).toBeGreaterThanOrEqual(10);

    seen = [];
    script = () => ({ status: 503 });
    const err = await client({ maxRetries: 2 })
      .complete(messages, params)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).kind).toBe('server');
    expect((err as LlmError).attempts).toBe(3);
    expect((err as LlmError).attemptLog).toHaveLength(3);
    expect(seen).toHaveLength(3);
  });

  it('honours retry-after-ms on 429', async () => {
    seen = [];
    script = (n) => (n === 1 ? { status: 429, headers: { 'retry-after-ms': '300' } } : { status: 200 });
    await client().complete(messages, params);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(290);
  });

  it('does not retry 401 or a quota 429, and never puts the key in the message', async () => {
    seen = [];
    script = () => ({
      status: 401,
      body: {
        error: { message: 'Incorrect API key provided: test-key-retry-testtest', type: 'invalid_request_error', code: 'invalid_api_key' },
      },
    });
    const auth = (await client()
      .complete(messages, params)
      .catch((e: unknown) => e)) as LlmError;
    expect(auth.kind).toBe('auth');
    expect(auth.message).not.toContain('test-key-retry-testtest');
    expect(seen).toHaveLength(1);

    seen = [];
    script = () => ({
      status: 429,
      body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } },
    });
    const quota = (await client()
      .complete(messages, params)
      .catch((e: unknown) => e)) as LlmError;
    expect(quota.kind).toBe('quota');
    expect(seen).toHaveLength(1);
  });

  it('shrinks max_tokens after a context-length 400 and tries again', async () => {
    seen = [];
    script = (_n, body) =>
      body.max_tokens > 500
        ? {
            status: 400,
            body: {
              error: {
                message: `This model's maximum context length is 600 tokens. However, you requested ${body.max_tokens + 84} tokens (84 in the messages, ${body.max_tokens} in the completion).`,
                type: 'invalid_request_error',
                code: 'context_length_exceeded',
              },
            },
          }
        : { status: 200 };
    const reply = await client().complete(messages, { ...params, max_tokens: 1000 });
    expect(seen.map((s) => s.max_tokens)).toEqual([1000, 600 - 84 - 16]);
    expect(reply.attemptLog.map((a) => a.maxTokens)).toEqual([1000, 500]);
  });

  it('times out a hung attempt after --timeout and retries it', async () => {
    seen = [];
    script = (n) => (n === 1 ? 'hang' : { status: 200 });
    const started = performance.now();
    const reply = await client({ timeoutMs: 300 }).complete(messages, params);
    expect(reply.attemptLog.map((a) => a.errorKind)).toEqual(['timeout', null]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("leaves no listener behind on the caller's signal, however many attempts a request takes", async () => {
    seen = [];
    script = (n) => (n <= 12 ? { status: 500 } : { status: 200 });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const stop = new AbortController();
      const reply = await client({ maxRetries: 12, retryBaseMs: 1, retryMaxMs: 2 }).complete(messages, params, stop.signal);
      expect(reply.attempts).toBe(13);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a stop signal cancels the request in flight at once', async () => {
    seen = [];
    script = () => 'hang';
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const err = (await client({ timeoutMs: 10_000 })
      .complete(messages, params, stop.signal)
      .catch((e: unknown) => e)) as LlmError;
    expect(err.kind).toBe('aborted');
    expect(seen).toHaveLength(1);
  });
});
