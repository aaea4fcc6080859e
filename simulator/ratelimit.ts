/**
 * The simulator's rate limits, as OpenAI documents them: requests and tokens per minute, each a bucket
 * holding one minute's allowance that refills continuously. A request is admitted when one request and
 * its token estimate (prompt tokens + max_tokens) fit; it holds that estimate while it runs and is then
 * charged its real usage. Every answer carries `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
 * (reset: the time until the bucket is full again, as `1s`, `6m0s`, `120ms`); a request that does not
 * fit gets a 429 with `retry-after` / `retry-after-ms` and is not charged.
 */
import { promptTokens } from './completions.ts';

export interface RateLimitConfig {
  /** Requests per minute; undefined: unlimited. */
  rpm?: number | undefined;
  /** Tokens per minute; undefined: unlimited. */
  tpm?: number | undefined;
  /**
   * The window the allowance is enforced over: buckets hold `limit × windowMs / 60 000` and refill at
   * the per-minute rate. Default 60 000 (a full minute's burst); shorter is how providers "quantize"
   * limits (600 RPM as 10 per second), and lets tests see pacing in seconds.
   */
  windowMs?: number | undefined;
}

export type Admission =
  | { ok: true; headers: Record<string, string> /** Charges the real usage instead of the estimate. */; settle(totalTokens: number): void }
  | { ok: false; headers: Record<string, string>; limit: 'requests' | 'tokens'; message: string };

class Bucket {
  level: number;
  readonly capacity: number;
  private at: number;
  constructor(
    readonly perMinute: number,
    windowMs: number,
    now: number,
  ) {
    this.capacity = (perMinute * windowMs) / 60_000;
    this.level = this.capacity;
    this.at = now;
  }
  refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
  }
  /** ms until the bucket is full again. */
  resetMs(): number {
    return ((this.capacity - this.level) * 60_000) / this.perMinute;
  }
  /** ms until `need` fits. */
  waitMs(need: number): number {
    return Math.max(0, ((Math.min(need, this.capacity) - this.level) * 60_000) / this.perMinute);
  }
}

export interface RateLimitStats {
  admitted: number;
  rejected: number;
  /** Real tokens charged for settled requests. */
  tokens: number;
}

export class ServerRateLimits {
  private readonly requests: Bucket | undefined;
  private readonly tokens: Bucket | undefined;
  readonly stats: RateLimitStats = { admitted: 0, rejected: 0, tokens: 0 };

  constructor(
    config: RateLimitConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    const t = now();
    const windowMs = config.windowMs ?? 60_000;
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    this.requests = config.rpm === undefined ? undefined : new Bucket(config.rpm, windowMs, t);
    this.tokens = config.tpm === undefined ? undefined : new Bucket(config.tpm, windowMs, t);
  }

  get enabled(): boolean {
    return this.requests !== undefined || this.tokens !== undefined;
  }

  /** Admits (and charges) a request whose worst case is `estimate` tokens, or refuses it. */
  admit(estimate: number): Admission {
    const t = this.now();
    this.requests?.refill(t);
    this.tokens?.refill(t);
    const needTokens = this.tokens === undefined ? estimate : Math.min(estimate, this.tokens.capacity);
    const waitRequests = this.requests?.waitMs(1) ?? 0;
    const waitTokens = this.tokens?.waitMs(needTokens) ?? 0;
    if (waitRequests > 0 || waitTokens > 0) {
      this.stats.rejected++;
      const wait = Math.max(waitRequests, waitTokens);
      const limit = waitRequests >= waitTokens ? 'requests' : 'tokens';
      const bucket = limit === 'requests' ? this.requests! : this.tokens!;
      return {
        ok: false,
        limit,
        headers: { ...this.headers(), 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(Math.ceil(wait)) },
        message: `Rate limit reached on ${limit} per min (${limit === 'requests' ? 'RPM' : 'TPM'}): Limit ${bucket.perMinute}, Used ${Math.round(bucket.capacity - bucket.level)}, Requested ${limit === 'requests' ? 1 : needTokens}. Please try again in ${formatDuration(wait)}.`,
      };
    }
    if (this.requests !== undefined) this.requests.level -= 1;
    if (this.tokens !== undefined) this.tokens.level -= needTokens;
    this.stats.admitted++;
    const headers = this.headers();
    let settled = false;
    return {
      ok: true,
      headers,
      settle: (total) => {
        if (settled) return;
        settled = true;
        this.stats.tokens += total;
        if (this.tokens === undefined) return;
        this.tokens.refill(this.now());
        this.tokens.level = Math.min(this.tokens.capacity, this.tokens.level + needTokens - total);
      },
    };
  }

  /** The x-ratelimit-* headers for the state right now (empty when unlimited). */
  headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.requests !== undefined) {
      h['x-ratelimit-limit-requests'] = String(this.requests.perMinute);
      h['x-ratelimit-remaining-requests'] = String(Math.max(0, Math.floor(this.requests.level)));
      h['x-ratelimit-reset-requests'] = formatDuration(this.requests.resetMs());
    }
    if (this.tokens !== undefined) {
      h['x-ratelimit-limit-tokens'] = String(this.tokens.perMinute);
      h['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor(this.tokens.level)));
      h['x-ratelimit-reset-tokens'] = formatDuration(this.tokens.resetMs());
    }
    return h;
  }
}

/** Go-style durations as OpenAI sends them: `120ms`, `1.5s`, `6m0s`. */
export function formatDuration(ms: number): string {
  const rounded = Math.max(0, Math.ceil(ms));
  if (rounded < 1000) return `${rounded}ms`;
  const seconds = rounded / 1000;
  if (seconds < 60) return `${trim(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${trim(seconds - minutes * 60)}s`;
}

const trim = (x: number): string => String(Math.round(x * 1000) / 1000);

/** A chat request's worst case on arrival: its prompt and the completion tokens it may use. */
export interface AdmissionEstimate {
  /** The prompt, the same estimate the usage reports. */
  prompt: number;
  /** max_completion_tokens, else max_tokens, else the default. */
  reserve: number;
}

/**
 * What a chat request counts against the token limit on arrival: its prompt plus max_tokens, OpenAI's
 * documented way of reserving a request's worst case. Undefined when the body is not a chat request
 * (the engine answers 400 then).
 */
export function admissionEstimate(body: unknown, defaultMaxTokens = 4096): AdmissionEstimate | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { messages?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown };
  if (!Array.isArray(b.messages)) return undefined;
  const reserve =
    typeof b.max_completion_tokens === 'number'
      ? b.max_completion_tokens
      : typeof b.max_tokens === 'number'
        ? b.max_tokens
        : defaultMaxTokens;
  return { prompt: promptTokens(b.messages), reserve };
}

/** The admission estimate as one number: prompt + reserve. */
export function admissionTokens(body: unknown, defaultMaxTokens = 4096): number | undefined {
  const e = admissionEstimate(body, defaultMaxTokens);
  return e === undefined ? undefined : e.prompt + e.reserve;
}
