/**
 * The chat model client: the official `openai` package against any OpenAI-compatible base URL, with a
 * plain bounded retry on transient failures. Errors come out as LlmError with a kind, and never carry
 * the API key.
 */
import OpenAI from 'openai';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatParams {
  model: string;
  temperature: number;
  top_p: number;
  max_tokens: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ChatReply {
  content: string;
  finishReason: string | null;
  usage: Usage | null;
  latencyMs: number;
  attempts: number;
}

export type LlmErrorKind = 'rate_limit' | 'server' | 'timeout' | 'connection' | 'bad_request' | 'auth' | 'other';

export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    message: string,
    readonly kind: LlmErrorKind,
    readonly status: number | undefined,
    readonly attempts: number,
  ) {
    super(message);
  }

  get transient(): boolean {
    return this.kind === 'rate_limit' || this.kind === 'server' || this.kind === 'timeout' || this.kind === 'connection';
  }
}

export interface LlmClientOptions {
  apiKey: string;
  /** Default: the openai client's own (OPENAI_BASE_URL, else https://api.openai.com/v1). */
  baseURL?: string | undefined;
  /** Per-attempt timeout. Default 120 000 ms. */
  timeoutMs?: number;
  /** Attempts after the first, on 429, 5xx, timeouts and connection errors. Default 3. */
  maxRetries?: number;
  /** First back-off; doubles each retry. Default 1000 ms. */
  retryBaseMs?: number;
}

export interface LlmClient {
  complete(messages: ChatMessage[], params: ChatParams): Promise<ChatReply>;
}

export function createLlmClient(options: LlmClientOptions): LlmClient {
  const { apiKey, timeoutMs = 120_000, maxRetries = 3, retryBaseMs = 1000 } = options;
  // Our loop does the retrying; the client's own would retry a second time underneath it.
  const client = new OpenAI({ apiKey, baseURL: options.baseURL, timeout: timeoutMs, maxRetries: 0 });

  return {
    async complete(messages, params) {
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        try {
          const completion = await client.chat.completions.create({ ...params, messages, stream: false });
          const choice = completion.choices[0];
          const u = completion.usage;
          return {
            content: choice?.message?.content ?? '',
            finishReason: choice?.finish_reason ?? null,
            usage: u ? { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens } : null,
            latencyMs: Math.round(performance.now() - started),
            attempts: attempt,
          };
        } catch (err) {
          const error = toLlmError(err, attempt, apiKey);
          if (!error.transient || attempt > maxRetries) throw error;
          await sleep(retryDelayMs(err, attempt, retryBaseMs));
        }
      }
    },
  };
}

function retryDelayMs(err: unknown, attempt: number, baseMs: number): number {
  const headers = err instanceof OpenAI.APIError ? err.headers : undefined;
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, 60_000);
  const s = Number(headers?.get('retry-after'));
  if (Number.isFinite(s) && s > 0) return Math.min(s * 1000, 60_000);
  return baseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
}

export function toLlmError(err: unknown, attempts: number, apiKey: string): LlmError {
  const raw = err instanceof Error ? err.message : String(err);
  const message = redact(raw, apiKey);
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new LlmError(message, 'timeout', undefined, attempts);
  if (err instanceof OpenAI.APIConnectionError) return new LlmError(message, 'connection', undefined, attempts);
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const kind: LlmErrorKind = status === 429 ? 'rate_limit'
      : status !== undefined && status >= 500 ? 'server'
      : status === 401 || status === 403 ? 'auth'
      : status === 408 ? 'timeout'
      : status !== undefined && status >= 400 ? 'bad_request' : 'other';
    return new LlmError(message, kind, status, attempts);
  }
  return new LlmError(message, 'other', undefined, attempts);
}

/** Removes the key (and anything shaped like one) from text bound for logs, the DB or the terminal. */
export function redact(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('***');
  return out.replace(/sk-[A-Za-z0-9_-]{8,}/g, 'sk-***');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
