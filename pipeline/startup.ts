/**
 * What every command that talks to a model does before it writes anything: its hooks, the prices it
 * needs, and the start-up probe of the server. One module, so generate, answer, judge, evolve and embed
 * start the same way (and none of them imports another command).
 */
import { PipelineError, UnavailableError, UsageError } from './errors.ts';
import type { LlmClient } from './llm.ts';
import { DEFAULT_PRICES, loadPriceFile, priceFor, type Price } from './llm/cost.ts';
import { displayURL } from './llm/secrets.ts';
import type { ServerInfo } from './llm/server-info.ts';
import type { Random } from './prompt.ts';
import type { GenerateEvent } from './runtime/progress.ts';

export interface GenerateHooks {
  /** Default: `OPENAI_API_KEY`. May be left unset for a non-OpenAI base URL (vLLM, Ollama). */
  apiKey?: string;
  /** Where `OPENAI_*` are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Progress: start, each reply, failed requests, stopping. */
  onEvent?: (event: GenerateEvent) => void;
  /** Batch mode's steps (uploaded, created, polled, ingested, submitted), with their figures. */
  onLog?: (message: string, fields: Record<string, unknown>) => void;
  /** Things the caller should know that do not stop the run (a stale lock taken over). */
  onWarning?: (message: string) => void;
  /** Aborting stops new requests; in-flight ones get `drainTimeout` seconds, then are cancelled. */
  signal?: AbortSignal;
  random?: Random;
}

/** The model's price from \`price\`, else \`prices\` over the built-in table; undefined when none knows it. */
export function resolvePrice(settings: {
  price?: Price | undefined;
  prices?: string | Record<string, Price> | undefined;
  model: string;
}): Price | undefined {
  if (settings.price !== undefined) return settings.price;
  const extra = settings.prices === undefined ? {} : typeof settings.prices === 'string' ? loadPriceFile(settings.prices) : settings.prices;
  return priceFor(settings.model, { ...DEFAULT_PRICES, ...extra });
}

/** The start-up probe: an UnavailableError when the server does not answer, a failure when it refuses the key. */
export async function probe(llm: LlmClient, baseURL: string | undefined): Promise<ServerInfo> {
  try {
    return await llm.probe();
  } catch (err) {
    if (err instanceof UsageError) throw err; // a base URL without its /v1 (llm/client.ts): exit 2, with the fix
    // With several endpoints, the one that failed (a name without userinfo); else the base URL.
    const where = (err as { endpoint?: string }).endpoint ?? (baseURL === undefined ? 'https://api.openai.com/v1' : displayURL(baseURL));
    // probe() throws LlmErrors, whose messages are redacted already.
    const message = (err as Error).message;
    if ((err as { kind?: string }).kind === 'auth')
      throw new PipelineError('failed', `the model API at ${where} refused the key: ${message}`, { cause: err });
    throw new UnavailableError(`the model API at ${where} does not answer (${message}); check OPENAI_BASE_URL and the network`, {
      cause: err,
    });
  }
}
