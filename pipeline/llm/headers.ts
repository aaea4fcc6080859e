/**
 * Rate-limit and retry hints as servers send them: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
 * (reset as a Go-style duration such as `6m0s`, `1.5s`, `20ms`), `retry-after` (seconds or an HTTP date)
 * and `retry-after-ms`. Pure functions.
 */

export interface RateLimitInfo {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Time until the allowance is back to full, in ms. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
  /** What the server asks us to wait before retrying, in ms. */
  retryAfterMs?: number;
}

/** Anything with a case-insensitive `get`, like the fetch `Headers` the openai client hands back. */
export interface HeaderSource {
  get(name: string): string | null;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** `6m0s`, `1.5s`, `20ms`, `1h2m3s`, or a bare number of seconds → ms; undefined when unreadable. */
export function parseDurationMs(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)];
  // The parts must cover the whole text, or it is not a duration we understand.
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/** `retry-after`: delta seconds or an HTTP date (relative to `nowMs`, wall clock). */
export function parseRetryAfterMs(text: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (text === null || text === undefined || text.trim() === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

const nonNegative = (text: string | null): number | undefined => {
  if (text === null || text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

export function readRateLimitHeaders(headers: HeaderSource | undefined, nowMs = Date.now()): RateLimitInfo {
  if (headers === undefined) return {};
  const info: RateLimitInfo = {};
  const set = <K extends keyof RateLimitInfo>(key: K, value: number | undefined): void => {
    if (value !== undefined) info[key] = value;
  };
  set('limitRequests', nonNegative(headers.get('x-ratelimit-limit-requests')));
  set('limitTokens', nonNegative(headers.get('x-ratelimit-limit-tokens')));
  set('remainingRequests', nonNegative(headers.get('x-ratelimit-remaining-requests')));
  set('remainingTokens', nonNegative(headers.get('x-ratelimit-remaining-tokens')));
  set('resetRequestsMs', parseDurationMs(headers.get('x-ratelimit-reset-requests')));
  set('resetTokensMs', parseDurationMs(headers.get('x-ratelimit-reset-tokens')));
  const ms = nonNegative(headers.get('retry-after-ms'));
  set('retryAfterMs', ms ?? parseRetryAfterMs(headers.get('retry-after'), nowMs));
  return info;
}

/**
 * How long until a request needing `tokens` fits, judging only by the headers: for each exhausted
 * allowance, the share of its reset time that refills what we need (a full reset is often a minute,
 * while one request's worth comes back much sooner). Undefined when the headers do not say.
 */
export function resetWaitMs(info: RateLimitInfo, tokens: number): number | undefined {
  const waits: number[] = [];
  if (info.remainingRequests !== undefined && info.remainingRequests < 1 && info.resetRequestsMs !== undefined) {
    const limit = info.limitRequests;
    waits.push(
      limit !== undefined && limit > 0 ? info.resetRequestsMs / Math.max(1, limit - info.remainingRequests) : info.resetRequestsMs,
    );
  }
  if (info.remainingTokens !== undefined && info.remainingTokens < tokens && info.resetTokensMs !== undefined) {
    const limit = info.limitTokens;
    const missing = tokens - info.remainingTokens;
    const used = limit !== undefined ? limit - info.remainingTokens : 0;
    waits.push(used > 0 ? Math.min(info.resetTokensMs, (info.resetTokensMs * missing) / used) : info.resetTokensMs);
  }
  return waits.length === 0 ? undefined : Math.max(...waits);
}
