/** The client-side rate limiter, driven by a fake clock: limits, FIFO order, settling, pauses, headers. */
import { describe, expect, it } from 'vitest';
import { LimiterAborted, PROBE_MAX_MS, RateLimiter, type Clock, type Permit } from '../pipeline/llm/limiter.ts';

class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }

  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Starts `n` acquisitions and records when (fake time) each is granted. */
function requestMany(limiter: RateLimiter, clock: FakeClock, n: number, tokens = 0): { granted: number[]; permits: Permit[] } {
  const granted: number[] = [];
  const permits: Permit[] = [];
  for (let i = 0; i < n; i++) {
    void limiter.acquire(tokens).then((p) => {
      granted[i] = clock.now();
      permits[i] = p;
    });
  }
  return { granted, permits };
}

describe('RateLimiter', () => {
  it('lets a full minute of requests through at once, then exactly rpm/60 per second', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 60, clock });
    const { granted } = requestMany(limiter, clock, 70);
    await flush();
    expect(granted.filter((t) => t === 0)).toHaveLength(60);
    await clock.advance(10_000);
    expect(granted).toHaveLength(70);
    // The 61st waits 1 s, the 70th 10 s.
    expect(granted[60]).toBeCloseTo(1000, 0);
    expect(granted[69]).toBeCloseTo(10_000, 0);
  });

  it('never exceeds the rate over any minute once the burst is spent', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600, clock });
    const { granted } = requestMany(limiter, clock, 600 + 3000);
    await clock.advance(5 * 60_000);
    expect(granted.filter((t) => t !== undefined)).toHaveLength(3600);
    const after = granted.slice(600);
    for (let start = 0; start <= 240_000; start += 15_000) {
      const inWindow = after.filter((t) => t > start && t <= start + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(601);
      expect(inWindow).toBeGreaterThanOrEqual(599);
    }
  });

  it('reserves worst-case tokens and gives back what the reply did not use', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 6000, clock });
    const { granted, permits } = requestMany(limiter, clock, 8, 1000);
    await flush();
    expect(granted.filter((t) => t === 0)).toHaveLength(6);
    // Nothing settled: the 7th needs 1000 new tokens = 10 s at 100 tokens/s.
    await clock.advance(5000);
    expect(granted[6]).toBeUndefined();
    // 500 refilled; two replies used 250 of their 1000, giving 1500 back: 2000, enough for both waiting.
    permits[0]!.settle(250);
    permits[1]!.settle(250);
    await flush();
    expect(granted[6]).toBe(5000);
    expect(granted[7]).toBe(5000);
    expect(limiter.available('tokens')).toBeCloseTo(0, 5);
    // Settling twice changes nothing.
    const before = limiter.available('tokens')!;
    permits[0]!.settle(0);
    expect(limiter.available('tokens')).toBeCloseTo(before, 5);
  });

  it('charges a reply that used more than reserved', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 60_000, clock });
    const p = await limiter.acquire(1000);
    p.settle(3000);
    expect(limiter.available('tokens')).toBeCloseTo(57_000, 5);
  });

  it('serves in arrival order: a large request is not starved by small ones behind it', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 6000, clock });
    const order: string[] = [];
    await limiter.acquire(5000);
    void limiter.acquire(4000).then(() => order.push('big'));
    void limiter.acquire(500).then(() => order.push('small'));
    await flush();
    expect(order).toEqual([]); // 1000 left: the big one waits, and the small one waits behind it
    // The big one needs 3000 more (30 s at 100/s); the small one then 500 more (5 s).
    await clock.advance(30_000);
    expect(order).toEqual(['big']);
    await clock.advance(5000);
    expect(order).toEqual(['big', 'small']);
  });

  it('clips a request larger than the whole allowance instead of waiting forever', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 1000, clock });
    const p = await limiter.acquire(5000);
    expect(p.tokens).toBe(1000);
  });

  it('pause holds everyone until it ends', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 6000, clock });
    limiter.pause(2000);
    const { granted } = requestMany(limiter, clock, 3);
    await clock.advance(1999);
    expect(granted.filter((t) => t !== undefined)).toHaveLength(0);
    await clock.advance(1);
    expect(granted).toEqual([2000, 2000, 2000]);
  });

  it('an aborted waiter leaves the queue and the next one moves up', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 60, clock });
    for (let i = 0; i < 60; i++) await limiter.acquire(0);
    const abort = new AbortController();
    const first = limiter.acquire(0, abort.signal);
    let secondAt: number | undefined;
    void limiter.acquire(0).then(() => (secondAt = clock.now()));
    abort.abort();
    await expect(first).rejects.toBeInstanceOf(LimiterAborted);
    await clock.advance(1000);
    expect(secondAt).toBe(1000);
    expect(limiter.queued).toBe(0);
  });

  it('with no limits given, sends one request alone until its reply tells the limits', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock });
    const first = await limiter.acquire(100);
    expect(limiter.limits).toEqual({ rpm: undefined, tpm: undefined });
    const { granted } = requestMany(limiter, clock, 2, 100);
    await clock.advance(1000);
    expect(granted.filter((t) => t !== undefined)).toHaveLength(0);
    first.observe({ limitRequests: 120, remainingRequests: 10, limitTokens: 10_000, remainingTokens: 2000 });
    await flush();
    expect(granted).toEqual([1000, 1000]);
    expect(limiter.limits).toEqual({ rpm: 120, tpm: 10_000 });
    // The two went out after the server's figure: they come off it.
    expect(limiter.available('requests')).toBeCloseTo(8, 5);
    expect(limiter.available('tokens')).toBeCloseTo(1800, 5);
  });

  it('stops holding the others back when the first reply has no headers, or is slow', async () => {
    const clock = new FakeClock();
    const plain = new RateLimiter({ clock });
    const first = await plain.acquire(100);
    const waiting = requestMany(plain, clock, 3, 100);
    first.settle(50); // a server that sends no x-ratelimit-* headers (vLLM, Ollama)
    await flush();
    expect(waiting.granted).toEqual([0, 0, 0]);

    const slow = new RateLimiter({ clock });
    await slow.acquire(100);
    const behind = requestMany(slow, clock, 2, 100);
    await clock.advance(PROBE_MAX_MS - 1);
    expect(behind.granted.filter((t) => t !== undefined)).toHaveLength(0);
    await clock.advance(1);
    expect(behind.granted).toHaveLength(2);

    // Configured limits need no probe.
    const configured = new RateLimiter({ rpm: 600, clock });
    await configured.acquire(0);
    const free = requestMany(configured, clock, 2);
    await flush();
    expect(free.granted).toHaveLength(2);
  });

  it('follows the server when it has less left than we thought, without counting the gap twice', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600, clock });
    const a = await limiter.acquire(0); // our level after: 599
    const b = await limiter.acquire(0); // 598
    // Someone else on the key used 100: the server saw 499 left after a, 498 after b. Its figures are
    // rounded down, so it may have had up to 1 more: we take 99 off, not 100.
    a.observe({ remainingRequests: 499 });
    expect(limiter.available('requests')).toBeCloseTo(499, 5);
    b.observe({ remainingRequests: 498 });
    expect(limiter.available('requests')).toBeCloseTo(499, 5);
    // More left on the server than we think is not trusted (our own requests may be on their way).
    const c = await limiter.acquire(0);
    c.observe({ remainingRequests: 590 });
    expect(limiter.available('requests')).toBeCloseTo(498, 5);
    // Rounding alone (a server level of 497.6 shown as 497) changes nothing.
    const d = await limiter.acquire(0);
    d.observe({ remainingRequests: 496 });
    expect(limiter.available('requests')).toBeCloseTo(497, 5);
  });

  it("compares token levels before each side's own charge, since we may reserve more than the server counts", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ tpm: 10_000, clock });
    // We reserve 1100 (a padded estimate); the server charged 1000 and had 9000 left: no gap.
    (await limiter.acquire(1100)).observe({ remainingTokens: 9000 }, 1000);
    expect(limiter.available('tokens')).toBeCloseTo(8900, 5);
    // Next one: the server had 500 less than it should (another client). We still hold 100 more than
    // the server for the first request (given back when it settles), so 400 (less 1 for rounding) comes off.
    (await limiter.acquire(1100)).observe({ remainingTokens: 7500 }, 1000);
    expect(limiter.available('tokens')).toBeCloseTo(7800 - 399, 5);
  });

  it('adopts a server limit lower than the configured one, but keeps a lower configured one', async () => {
    const clock = new FakeClock();
    const high = new RateLimiter({ rpm: 1000, clock });
    (await high.acquire(0)).observe({ limitRequests: 500 });
    expect(high.limits.rpm).toBe(500);
    const low = new RateLimiter({ rpm: 100, clock });
    (await low.acquire(0)).observe({ limitRequests: 500 });
    expect(low.limits.rpm).toBe(100);
  });

  it("shrinks its burst to the server's bucket, read from remaining + reset", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ rpm: 600, clock });
    // 600 RPM enforced as 10 a second: 9 left after this one, full again in 100 ms.
    (await limiter.acquire(0)).observe({ remainingRequests: 9, resetRequestsMs: 100 });
    const { granted } = requestMany(limiter, clock, 30);
    await flush();
    // Our bucket now holds at most 9 + 1 = 10, not 600: the rest is paced at 10/s.
    expect(granted.filter((t) => t === 0).length).toBeLessThanOrEqual(10);
    await clock.advance(3000);
    expect(granted).toHaveLength(30);
    expect(Math.max(...granted)).toBeGreaterThan(1500);
    expect(limiter.limits.rpm).toBe(600);
    expect(limiter.burst.requests).toBe(10);
  });

  it('ignores headers when told to', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock, fromHeaders: false });
    (await limiter.acquire(0)).observe({ limitRequests: 10, remainingRequests: 0 });
    expect(limiter.limits.rpm).toBeUndefined();
  });
});
