/**
 * The client every command talks through, from its settings: one base URL (`baseURL`, else
 * `OPENAI_BASE_URL`, else OpenAI), or several `endpoints` spread by weight (endpoints.ts). The key is
 * `OPENAI_API_KEY` unless an endpoint names another variable in `apiKeyEnv`. Keys are returned apart so
 * callers can keep them out of everything they write.
 */
import { UsageError } from '../errors.ts';
import { createLlmClient } from './client.ts';
import { createEndpointPool, type EndpointPool } from './endpoints.ts';
import { redact } from './errors.ts';
import { displayURL, hasUserinfo } from './secrets.ts';
import type { LlmClient } from './types.ts';

export interface EndpointSetting {
  baseURL: string;
  /** Share of requests relative to the other endpoints. Default 1. */
  weight?: number | undefined;
  /** Requests in flight on this endpoint. Default: no cap of its own (the run's `concurrency` caps all). */
  concurrency?: number | undefined;
  rpm?: number | undefined;
  tpm?: number | undefined;
  /** The environment variable holding this endpoint's key. Default `OPENAI_API_KEY`. */
  apiKeyEnv?: string | undefined;
}

export interface ConnectSettings {
  baseURL?: string | undefined;
  endpoints?: readonly (string | EndpointSetting)[] | undefined;
  /** Seconds per attempt. */
  timeout: number;
  retries: number;
  rpm?: number | undefined;
  tpm?: number | undefined;
}

export interface Connection {
  llm: LlmClient;
  /** The pool, when there are several endpoints (its health for summaries). */
  pool: EndpointPool | undefined;
  /** The one base URL (undefined: OpenAI), or the first endpoint's; for messages. */
  baseURL: string | undefined;
  /** The key of the one base URL (the Batch API and the probe use it). */
  apiKey: string;
  /** Every key in use: never to be written anywhere. */
  secrets: string[];
  /** The endpoints' names as stored with requests (no userinfo). */
  names: string[];
}

const OPENAI_HOST = /^https?:\/\/api\.openai\.com(\/|$)/;

/**
 * The base URL and key, found as the official client finds them (`baseURL`/`apiKey`, else
 * `OPENAI_BASE_URL`/`OPENAI_API_KEY`). A non-OpenAI server may go without a key.
 */
export function resolveEndpoint(
  givenURL: string | undefined,
  givenKey: string | undefined,
  env: NodeJS.ProcessEnv,
): { baseURL: string | undefined; apiKey: string } {
  const baseURL = givenURL ?? (env.OPENAI_BASE_URL || undefined);
  if (hasUserinfo(baseURL)) {
    // fetch refuses such URLs, and every message that quoted the URL would show the key: say so, without it.
    throw new UsageError(
      `OPENAI_BASE_URL (${displayURL(baseURL!)}) holds credentials before the host (user:key@), which are never sent: give the key in OPENAI_API_KEY`,
    );
  }
  const apiKey = givenKey ?? env.OPENAI_API_KEY ?? '';
  if (apiKey !== '') return { baseURL, apiKey };
  if (baseURL === undefined || OPENAI_HOST.test(baseURL)) {
    throw new UsageError('OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or set OPENAI_BASE_URL for another provider)', {
      option: 'apiKey',
    });
  }
  // Local servers (vLLM, Ollama) ignore it, but the client requires one.
  return { baseURL, apiKey: 'not-needed' };
}

/** An endpoint's name: its URL without userinfo, query or trailing slash. */
export function endpointName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}

export function connect(settings: ConnectSettings, givenKey: string | undefined, env: NodeJS.ProcessEnv): Connection {
  const clientOptions = { timeoutMs: settings.timeout * 1000, maxRetries: settings.retries };
  const endpoints = (settings.endpoints ?? []).map((e) => (typeof e === 'string' ? { baseURL: e } : e));
  if (endpoints.length === 0) {
    const { baseURL, apiKey } = resolveEndpoint(settings.baseURL, givenKey, env);
    const llm = createLlmClient({ apiKey, baseURL, ...clientOptions, rateLimit: { rpm: settings.rpm, tpm: settings.tpm } });
    return { llm, pool: undefined, baseURL, apiKey, secrets: [apiKey], names: [] };
  }
  const secrets: string[] = [];
  const members = endpoints.map((e, i) => {
    checkUrl(e.baseURL, i);
    const keyVar = e.apiKeyEnv ?? 'OPENAI_API_KEY';
    const fromEnv = e.apiKeyEnv === undefined ? (givenKey ?? env.OPENAI_API_KEY) : env[e.apiKeyEnv];
    if (e.apiKeyEnv !== undefined && (fromEnv === undefined || fromEnv === '')) {
      throw new UsageError(`endpoint ${endpointName(e.baseURL)} names ${keyVar}, which is not set`, { option: 'endpoints' });
    }
    const apiKey = fromEnv || 'not-needed';
    secrets.push(apiKey);
    const client = createLlmClient({ apiKey, baseURL: e.baseURL, ...clientOptions, rateLimit: { rpm: e.rpm, tpm: e.tpm } });
    return { name: endpointName(e.baseURL), client, weight: e.weight, concurrency: e.concurrency, apiKey };
  });
  const pool = createEndpointPool(members);
  return {
    llm: pool,
    pool,
    baseURL: endpoints[0]!.baseURL,
    apiKey: members[0]!.apiKey,
    secrets,
    names: members.map((m) => redact(m.name, members[0]!.apiKey)),
  };
}

function checkUrl(url: string, i: number): void {
  let ok = false;
  try {
    const u = new URL(url);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`${JSON.stringify(url)} (endpoint ${i + 1}) is not an http(s) URL`, { option: 'endpoint' });
  if (hasUserinfo(url)) {
    // Never sent by fetch, and every message quoting the URL would show it: refused, without printing it.
    throw new UsageError(
      `${displayURL(url)} (endpoint ${i + 1}) holds credentials before the host (user:key@): give the key in apiKeyEnv`,
      {
        option: 'endpoint',
      },
    );
  }
}
