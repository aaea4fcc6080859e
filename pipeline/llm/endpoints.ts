/**
 * Several endpoints behind one client: a fleet of vLLM or Ollama replicas, or two providers serving the
 * same model. Each endpoint has its own client (rate limiter, back-off, retries) and its own cap on
 * requests in flight; requests are spread by weight (smooth weighted round robin, so the spread is exact
 * over any window, not only on average). An endpoint that fails repeatedly is taken out of rotation and
 * let back in for one trial request after a cool-off that doubles while it keeps failing; the run goes
 * on with the others. When every endpoint is out, a request fails at once with each one's last error.
 */
import type { ChatMessage, ChatParams, ChatReply, EmbeddingReply, LlmClient } from './types.ts';
import { LlmError } from './errors.ts';

export interface Endpoint {
  /** Shown in logs and stored with each request (no userinfo, no key). */
  name: string;
  client: LlmClient;
  /** Share of requests, relative to the others. Default 1. */
  weight?: number | undefined;
  /** Requests in flight at once on this endpoint. Default: no cap of its own. */
  concurrency?: number | undefined;
}

export interface EndpointPoolOptions {
  /** Failed requests in a row (after the client's own retries) that take an endpoint out. Default 3. */
  maxFailures?: number;
  /** First cool-off before a trial request; doubles per failed trial up to `maxCooloffMs`. Default 15 000 ms. */
  cooloffMs?: number;
  /** Default 300 000 ms. */
  maxCooloffMs?: number;
  now?: () => number;
}

/** Figures of one endpoint, for the run summary and `stats`. */
export interface EndpointHealth {
  name: string;
  healthy: boolean;
  requests: number;
  failed: number;
  lastError: string | null;
}

/** Kinds that say something about the endpoint, not about the request or the account. */
const ENDPOINT_FAULTS = new Set(['timeout', 'connection', 'server', 'rate_limit', 'bad_reply', 'other']);

interface Slot {
  e: Endpoint;
  weight: number;
  current: number;
  inFlight: number;
  failures: number;
  downUntil: number;
  cooloff: number;
  trialInFlight: boolean;
  health: EndpointHealth;
}

export class AllEndpointsDown extends LlmError {
  override name = 'AllEndpointsDown';
}

export interface EndpointPool extends LlmClient {
  health(): EndpointHealth[];
}

export function createEndpointPool(endpoints: readonly Endpoint[], options: EndpointPoolOptions = {}): EndpointPool {
  if (endpoints.length === 0) throw new Error('an endpoint pool needs at least one endpoint');
  const maxFailures = options.maxFailures ?? 3;
  const baseCooloff = options.cooloffMs ?? 15_000;
  const maxCooloff = options.maxCooloffMs ?? 300_000;
  const now = options.now ?? Date.now;
  const slots: Slot[] = endpoints.map((e) => ({
    e,
    weight: e.weight ?? 1,
    current: 0,
    inFlight: 0,
    failures: 0,
    downUntil: 0,
    cooloff: baseCooloff,
    trialInFlight: false,
    health: { name: e.name, healthy: true, requests: 0, failed: 0, lastError: null },
  }));
  // Requests waiting for a slot of their own (every usable endpoint at its cap).
  const waiting: (() => void)[] = [];

  const usable = (s: Slot, t: number): boolean => {
    if (s.e.concurrency !== undefined && s.inFlight >= s.e.concurrency) return false;
    if (s.downUntil === 0) return true;
    // Out of rotation: one trial request once the cool-off has passed.
    return t >= s.downUntil && !s.trialInFlight;
  };

  /** Smooth weighted round robin over the usable endpoints. */
  const pick = (): Slot | undefined => {
    const t = now();
    const candidates = slots.filter((s) => usable(s, t));
    if (candidates.length === 0) return undefined;
    const total = candidates.reduce((n, s) => n + s.weight, 0);
    let best = candidates[0]!;
    for (const s of candidates) {
      s.current += s.weight;
      if (s.current > best.current) best = s;
    }
    best.current -= total;
    return best;
  };

  const allDown = (): boolean => slots.every((s) => s.downUntil !== 0);

  const release = (): void => {
    waiting.shift()?.();
  };

  const settle = (s: Slot, error: LlmError | undefined): void => {
    s.inFlight--;
    const trial = s.downUntil !== 0;
    if (trial) s.trialInFlight = false;
    if (error === undefined) {
      s.failures = 0;
      s.downUntil = 0;
      s.cooloff = baseCooloff;
      s.health.healthy = true;
    } else if (ENDPOINT_FAULTS.has(error.kind)) {
      s.failures++;
      s.health.failed++;
      s.health.lastError = `${error.kind}: ${error.message}`;
      if (trial || s.failures >= maxFailures) {
        s.downUntil = now() + s.cooloff;
        if (trial) s.cooloff = Math.min(maxCooloff, s.cooloff * 2);
        s.health.healthy = false;
      }
    }
    release();
  };

  const acquire = async (signal: AbortSignal | undefined): Promise<Slot> => {
    for (;;) {
      const s = pick();
      if (s !== undefined) {
        s.inFlight++;
        if (s.downUntil !== 0) s.trialInFlight = true;
        return s;
      }
      if (allDown() && slots.every((x) => x.trialInFlight || now() < x.downUntil)) {
        const lasts = slots.map((x) => `${x.e.name}: ${x.health.lastError ?? 'failing'}`).join('; ');
        throw new AllEndpointsDown(`every endpoint is out of rotation (${lasts})`, 'connection', undefined, 0);
      }
      if (signal?.aborted) throw new LlmError('aborted while waiting for an endpoint', 'aborted', undefined, 0);
      // Wait for a request to settle (or, when some are cooling off, for the first trial to be due).
      const due = Math.min(...slots.filter((x) => x.downUntil > 0).map((x) => x.downUntil));
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(due) ? setTimeout(resolve, Math.max(10, due - now())) : undefined;
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  /** One request on the next endpoint due, its outcome counted for that endpoint's health. */
  const through = async <R extends { endpoint?: string }>(
    signal: AbortSignal | undefined,
    send: (client: LlmClient) => Promise<R>,
  ): Promise<R> => {
    const s = await acquire(signal);
    s.health.requests++;
    try {
      const reply = await send(s.e.client);
      settle(s, undefined);
      return { ...reply, endpoint: s.e.name };
    } catch (err) {
      const error = err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
      settle(s, error);
      error.endpoint = s.e.name;
      throw error;
    }
  };

  return {
    health: () => slots.map((s) => ({ ...s.health })),

    estimatePromptTokens(messages, model) {
      const c = slots[0]!.e.client;
      return c.estimatePromptTokens?.(messages, model) ?? messages.reduce((n, m) => n + m.content.length, 0);
    },

    complete(messages: ChatMessage[], params: ChatParams, signal?: AbortSignal): Promise<ChatReply> {
      return through(signal, (client) => client.complete(messages, params, signal));
    },

    embed(input, model, signal, expect): Promise<EmbeddingReply> {
      return through(signal, (client) => {
        if (client.embed === undefined) throw new LlmError('this endpoint client cannot embed', 'other', undefined, 1);
        return client.embed(input, model, signal, expect);
      });
    },

    async probe(timeoutMs) {
      // Start-up: every endpoint must answer, or the user has a typo in one of them. The run is the
      // simulator's only when every endpoint is.
      let simulator = true;
      for (const s of slots) {
        try {
          simulator = (await s.e.client.probe(timeoutMs)).simulator && simulator;
        } catch (err) {
          if (err instanceof LlmError) err.endpoint = s.e.name;
          throw err;
        }
      }
      return { simulator };
    },
  };
}
