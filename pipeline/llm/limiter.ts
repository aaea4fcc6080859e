/**
 * Client-side rate limiter for requests and tokens per minute: two token buckets, each holding up to one
 * minute's allowance and refilling continuously (the model OpenAI documents: `x-ratelimit-reset-*` is
 * the time until the bucket is full again). Callers queue in FIFO order; a request reserves 1 request
 * and its worst-case tokens (prompt + max_tokens), and settles with the real usage when it is done.
 *
 * The server's headers correct us: a limit we were not told is learned from `x-ratelimit-limit-*`, and
 * when `x-ratelimit-remaining-*` shows less than we expected at the moment that request was admitted
 * (another process on the same key, a tokenizer that counts differently), the difference is taken
 * from our bucket too. Remaining + reset × rate is the server's bucket size: a server that enforces
 * its per-minute limit over a shorter window (600 RPM as 10 a second) shrinks our burst to match.
 * A 429 pauses every request until the server's wait is over.
 *
 * Given no limits, the first request goes out alone: its reply's headers tell the limits before the
 * rest of the start-up burst can run into them. If no reply has come within PROBE_MAX_MS (a slow or
 * hung first request), the others go anyway.
 */
import { PipelineError } from '../errors.ts';

/** Time source and timers; a fake one drives the tests. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, Math.ceil(ms)));
    return () => clearTimeout(timer);
  },
};

export type Resource = 'requests' | 'tokens';

export interface ServerView {
  limitRequests?: number | undefined;
  limitTokens?: number | undefined;
  remainingRequests?: number | undefined;
  remainingTokens?: number | undefined;
  /** Time until the server's bucket is full again. */
  resetRequestsMs?: number | undefined;
  resetTokensMs?: number | undefined;
}

export interface RateLimiterOptions {
  /** Requests per minute; undefined: none unless learned from headers. */
  rpm?: number | undefined;
  /** Tokens per minute (prompt + completion); undefined: none unless learned from headers. */
  tpm?: number | undefined;
  /** Learn limits and corrections from the server's `x-ratelimit-*` headers. Default true. */
  fromHeaders?: boolean;
  clock?: Clock;
}

/** A granted reservation. */
export interface Permit {
  /** Tokens reserved (the request's worst case, at most the bucket's capacity). */
  readonly tokens: number;
  /** Charges the real usage instead of the reservation (once; later calls are ignored). */
  settle(actualTokens: number): void;
  /**
   * Applies what the server's headers said about the moment this request was admitted.
   * `serverTokens`: what the server charged for it on arrival, when known (its prompt count +
   * max_tokens); our own reservation when not.
   */
  observe(view: ServerView, serverTokens?: number): void;
}

/** Longest the first request of a limiter with no configured limits holds back the others. */
export const PROBE_MAX_MS = 5000;

export class LimiterAborted extends PipelineError {
  override name = 'LimiterAborted';
  constructor(detail: string) {
    super('failed', detail);
  }
}

class Bucket {
  capacity: number;
  private perMs: number;
  level: number;
  private at: number;
  /** Sum of corrections taken from the server's headers (see Permit.observe). */
  corrected = 0;

  constructor(perMinute: number, now: number, level = perMinute) {
    this.capacity = perMinute;
    this.perMs = perMinute / 60_000;
    this.level = level;
    this.at = now;
  }

  refill(now: number): void {
    if (now > this.at) this.level = Math.min(this.capacity, this.level + (now - this.at) * this.perMs);
    this.at = Math.max(this.at, now);
  }

  /** ms until `need` is available (0 when it is now); call after refill. */
  waitFor(need: number): number {
    const missing = Math.min(need, this.capacity) - this.level;
    return missing <= 0 ? 0 : missing / this.perMs;
  }

  setLimit(perMinute: number, now: number): void {
    this.refill(now);
    this.capacity = Math.min(this.capacity, perMinute);
    this.perMs = perMinute / 60_000;
    this.level = Math.min(this.level, this.capacity);
  }

  /** The per-minute rate. */
  get perMinute(): number {
    return this.perMs * 60_000;
  }

  shrinkCapacity(capacity: number, now: number): void {
    if (!(capacity < this.capacity)) return;
    this.refill(now);
    this.capacity = capacity;
    this.level = Math.min(this.level, capacity);
  }
}

interface Waiter {
  tokens: number;
  resolve: (p: Permit) => void;
  reject: (e: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Bucket state when a permit was granted, for comparing with the server's view of the same moment. */
interface Snapshot {
  level: number;
  corrected: number;
  /** What this request took from the bucket. */
  reserved: number;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly fromHeaders: boolean;
  private readonly configured: { requests: number | undefined; tokens: number | undefined };
  private readonly buckets: { requests: Bucket | undefined; tokens: Bucket | undefined };
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private cancelTimer: (() => void) | undefined;
  /** Units reserved so far, per resource: a bucket learned late starts from the server's figure minus what we reserved since. */
  private readonly reservedTotal = { requests: 0, tokens: 0 };
  /** No limits configured and none heard yet: one request at a time until the first answer (or the deadline). */
  private probing: boolean;
  private probeDeadline: number | undefined;

  constructor(options: RateLimiterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.fromHeaders = options.fromHeaders ?? true;
    this.configured = { requests: options.rpm, tokens: options.tpm };
    const now = this.clock.now();
    this.buckets = {
      requests: options.rpm === undefined ? undefined : new Bucket(options.rpm, now),
      tokens: options.tpm === undefined ? undefined : new Bucket(options.tpm, now),
    };
    this.probing = this.fromHeaders && options.rpm === undefined && options.tpm === undefined;
  }

  /** Current limits per minute (configured or learned); undefined when unknown. */
  get limits(): { rpm: number | undefined; tpm: number | undefined } {
    return { rpm: this.buckets.requests?.perMinute, tpm: this.buckets.tokens?.perMinute };
  }

  /** Largest burst allowed (a minute's worth, or the server's smaller bucket once seen). */
  get burst(): { requests: number | undefined; tokens: number | undefined } {
    return { requests: this.buckets.requests?.capacity, tokens: this.buckets.tokens?.capacity };
  }

  /** Allowance left right now (may be negative after a correction); undefined when unlimited. */
  available(resource: Resource): number | undefined {
    const b = this.buckets[resource];
    if (b === undefined) return undefined;
    b.refill(this.clock.now());
    return b.level;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Waits its turn until one request and `tokens` fit, then reserves them. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(new LimiterAborted('aborted while waiting for the rate limiter'));
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        tokens: Math.max(0, tokens),
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new LimiterAborted('aborted while waiting for the rate limiter'));
          this.pump();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** Holds every request until `ms` from now (after a 429: the server is over its limit for all of us). */
  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
    this.pump();
  }

  private pump(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.queue.length > 0) {
      const now = this.clock.now();
      if (now < this.pausedUntil) return this.wake(this.pausedUntil - now);
      if (this.probing && this.probeDeadline !== undefined) {
        if (now < this.probeDeadline) return this.wake(this.probeDeadline - now);
        this.probing = false;
      }
      const head = this.queue[0]!;
      const { requests, tokens } = this.buckets;
      requests?.refill(now);
      tokens?.refill(now);
      const wait = Math.max(requests?.waitFor(1) ?? 0, tokens?.waitFor(head.tokens) ?? 0);
      if (wait > 0) return this.wake(wait);
      this.queue.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      if (this.probing) this.probeDeadline = now + PROBE_MAX_MS;
      head.resolve(this.grant(head));
    }
  }

  private wake(ms: number): void {
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      this.pump();
    }, ms);
  }

  private grant(w: Waiter): Permit {
    const { requests, tokens } = this.buckets;
    const reserved = tokens === undefined ? w.tokens : Math.min(w.tokens, tokens.capacity);
    if (requests !== undefined) requests.level -= 1;
    if (tokens !== undefined) tokens.level -= reserved;
    this.reservedTotal.requests += 1;
    this.reservedTotal.tokens += reserved;
    const snap = (b: Bucket | undefined, took: number): Snapshot | undefined =>
      b === undefined ? undefined : { level: b.level, corrected: b.corrected, reserved: took };
    const at = {
      requests: snap(requests, 1),
      tokens: snap(tokens, reserved),
      reservedTotal: { ...this.reservedTotal },
    };
    let settled = false;
    return {
      tokens: reserved,
      settle: (actual) => {
        if (settled) return;
        settled = true;
        if (this.probing) {
          // An answer without headers: the server has no limits to tell; let the rest go.
          this.probing = false;
          this.pump();
        }
        const b = this.buckets.tokens;
        if (b === undefined) return;
        b.refill(this.clock.now());
        // Unused worst case goes back; a larger real usage is charged.
        b.level = Math.min(b.capacity, b.level + reserved - Math.max(0, actual));
        this.pump();
      },
      observe: (view, serverTokens) => {
        if (!this.fromHeaders) return;
        this.probing = false;
        this.observeResource(
          'requests',
          view.limitRequests,
          view.remainingRequests,
          view.resetRequestsMs,
          at.requests,
          at.reservedTotal.requests,
          1,
        );
        this.observeResource(
          'tokens',
          view.limitTokens,
          view.remainingTokens,
          view.resetTokensMs,
          at.tokens,
          at.reservedTotal.tokens,
          serverTokens,
        );
        this.pump();
      },
    };
  }

  private observeResource(
    resource: Resource,
    limit: number | undefined,
    remaining: number | undefined,
    resetMs: number | undefined,
    snap: Snapshot | undefined,
    reservedThen: number,
    serverTook: number | undefined,
  ): void {
    const now = this.clock.now();
    let bucket = this.buckets[resource];
    if (bucket === undefined) {
      if (limit === undefined || !(limit > 0)) return;
      // Learned: start from what the server said was left, minus what we reserved after that request.
      const since = this.reservedTotal[resource] - reservedThen;
      bucket = new Bucket(limit, now, Math.min(limit, (remaining ?? limit) - since));
      this.buckets[resource] = bucket;
      snap = undefined; // nothing of ours to compare with
    }
    // A server limit below ours wins; our own lower setting (a shared key) stays.
    const own = this.configured[resource];
    if (limit !== undefined && limit > 0 && limit < bucket.perMinute && (own === undefined || limit < own)) bucket.setLimit(limit, now);
    if (remaining !== undefined && resetMs !== undefined && resetMs >= 0) {
      // The server's bucket holds what is left plus what refills before it is full (remaining is
      // rounded down, so this errs low).
      bucket.shrinkCapacity(Math.max(1, remaining + (resetMs * bucket.perMinute) / 60_000), now);
    }
    if (snap === undefined || remaining === undefined) return;
    // Both figures describe the moment this request was admitted, each after its own charge for it;
    // compared before those charges, since we may reserve more than the server counts. Corrections
    // applied since then already cover part of any gap. Servers send whole numbers (rounded down),
    // so only a gap of more than one unit is certain.
    const ours = Math.min(snap.level + snap.reserved, bucket.capacity);
    const theirs = remaining + 1 + (serverTook ?? snap.reserved);
    const gap = ours - theirs - (bucket.corrected - snap.corrected);
    if (gap > 0) {
      bucket.refill(now);
      bucket.level -= gap;
      bucket.corrected += gap;
    }
  }
}
