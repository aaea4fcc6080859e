/**
 * Rate limits end to end: the simulator's enforcement (buckets, 429s, x-ratelimit-* headers), and the
 * real client against it, learning the limits from the headers alone, compared with no limiter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLlmClient, LlmError, type ChatReply } from '../../pipeline/llm.ts';
import { parseDurationMs } from '../../pipeline/llm/headers.ts';
import { buildPrompt, DEFAULT_TEMPLATE_FILES, loadTemplate } from '../../pipeline/prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../../pipeline/seeds.ts';
import { admissionTokens, formatDuration, ServerRateLimits } from '../../simulator/ratelimit.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';

describe("the simulator's limits", () => {
  it("admits a minute's allowance, then refuses with headers saying when to come back", () => {
    const t = 0;
    const limits = new ServerRateLimits({ rpm: 60, tpm: 10_000 }, () => t);
    const first = limits.admit(1000);
    expect(first.ok).toBe(true);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '9000',
      'x-ratelimit-reset-tokens': '6s',
    });
    for (let i = 0; i < 8; i++) expect(limits.admit(1000).ok).toBe(true);
    // 1000 tokens left: a 2000-token request waits for 1000 more = 6 s.
    const refused = limits.admit(2000);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.limit).toBe('tokens');
    expect(refused.headers['retry-after-ms']).toBe('6000');
    expect(refused.headers['retry-after']).toBe('6');
    expect(refused.message).toMatch(/TPM/);
    expect(limits.stats).toMatchObject({ admitted: 9, rejected: 1 });
  });

  it('charges the real usage when a request settles', () => {
    let t = 0;
    const limits = new ServerRateLimits({ tpm: 10_000 }, () => t);
    const a = limits.admit(5000);
    if (!a.ok) throw new Error('refused');
    expect(limits.headers()['x-ratelimit-remaining-tokens']).toBe('5000');
    a.settle(1200);
    expect(limits.headers()['x-ratelimit-remaining-tokens']).toBe('8800');
    t += 6000; // 1000 tokens refill in 6 s
    expect(limits.headers()['x-ratelimit-remaining-tokens']).toBe('8800'); // headers() reports, refill happens on admit
    expect(limits.admit(9800).ok).toBe(true);
  });

  it('enforces over a shorter window when asked, as providers quantize limits', () => {
    let t = 0;
    const limits = new ServerRateLimits({ rpm: 600, windowMs: 1000 }, () => t);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (limits.admit(0).ok) ok++;
    expect(ok).toBe(10);
    t += 500;
    for (let i = 0; i < 20; i++) if (limits.admit(0).ok) ok++;
    expect(ok).toBe(15);
  });

  it("speaks OpenAI's duration format and counts prompt + max_tokens on arrival", () => {
    expect(formatDuration(120)).toBe('120ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(360_000)).toBe('6m0s');
    for (const ms of [0, 7, 999, 1000, 59_999, 61_250, 3_600_000]) expect(parseDurationMs(formatDuration(ms))).toBe(Math.ceil(ms));
    expect(admissionTokens({ messages: [{ role: 'user', content: '写三个任务' }], max_tokens: 100 })).toBe(3 + 4 + 5 + 100);
    expect(admissionTokens({ nope: true })).toBeUndefined();
  });
});

describe('the client against enforced limits', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const template = loadTemplate(DEFAULT_TEMPLATE_FILES['self-instruct'], 'self-instruct');
  const seeds = loadSeeds(DEFAULT_SEED_FILE);
  let n = 0;
  const prompt = (): string =>
    buildPrompt({
      mode: 'self-instruct',
      template,
      numTasks: 2,
      maxOutputChars: 100,
      seeds,
      machineExamples: [],
      topics: [],
      taskTypes: [],
      random: () => (n = (n * 16807 + 7) % 2147483647) / 2147483647,
    });

  /** 40 requests, 20 at a time, against 600 RPM enforced as 10 per second. */
  async function burst(
    rateLimit: false | Record<string, never>,
  ): Promise<{ replies: ChatReply[]; failed: LlmError[]; seconds: number; refused: number }> {
    sim = await startSimulator({ port: 0, seed: 51, rateLimits: { rpm: 600, windowMs: 1000 } });
    const llm = createLlmClient({ apiKey: 'test', baseURL: sim.url, maxRetries: 20, retryBaseMs: 50, rateLimit });
    const params = { model: 'gpt-3.5-turbo', temperature: 1, top_p: 1, max_tokens: 400 };
    const started = performance.now();
    const replies: ChatReply[] = [];
    const failed: LlmError[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 40) {
          next++;
          try {
            replies.push(await llm.complete([{ role: 'user', content: prompt() }], params));
          } catch (err) {
            failed.push(err as LlmError);
          }
        }
      }),
    );
    return { replies, failed, seconds: (performance.now() - started) / 1000, refused: sim.rateLimits.stats.rejected };
  }

  it('learns the limit from the headers, paces itself, and gets far fewer 429s than no limiter', async () => {
    const ours = await burst({});
    expect(ours.replies).toHaveLength(40);
    const our429 = ours.replies.flatMap((r) => r.attemptLog).filter((a) => a.status === 429).length;
    expect(our429).toBe(ours.refused);
    // 10 fit at once, the other 30 come at 10 per second.
    expect(ours.seconds).toBeGreaterThan(2.5);
    // Only the opening burst (sent before any header was seen) can be refused.
    expect(our429).toBeLessThanOrEqual(12);

    // Without a limiter, 20 callers retrying on their own keep hitting the limit (some may run out of retries).
    const theirs = await burst(false);
    expect(theirs.replies.length + theirs.failed.length).toBe(40);
    const their429 = [...theirs.replies, ...theirs.failed].flatMap((r) => r.attemptLog).filter((a) => a.status === 429).length;
    expect(their429).toBe(theirs.refused);
    expect(their429).toBeGreaterThan(5 * Math.max(1, our429));
  }, 30_000);

  it('a request refused more often than --retries allows fails as rate_limit, with every attempt logged', async () => {
    sim = await startSimulator({ port: 0, seed: 52, rateLimits: { rpm: 1, windowMs: 1000 } });
    const llm = createLlmClient({ apiKey: 'test', baseURL: sim.url, maxRetries: 1, retryMaxMs: 50, rateLimit: false });
    const params = { model: 'gpt-3.5-turbo', temperature: 1, top_p: 1, max_tokens: 100 };
    await llm.complete([{ role: 'user', content: prompt() }], params); // takes the only one
    const err = (await llm.complete([{ role: 'user', content: prompt() }], params).catch((e: unknown) => e)) as LlmError;
    expect(err).toBeInstanceOf(LlmError);
    expect(err.kind).toBe('rate_limit');
    expect(err.attemptLog.map((a) => a.status)).toEqual([429, 429]);
    expect(err.rateLimit.limitRequests).toBe(1);
  });
});
