/** The chat client's public shapes. */
import type { AttemptRecord } from './errors.ts';
import type { ServerInfo } from './server-info.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatParams {
  model: string;
  temperature: number;
  top_p: number;
  max_tokens: number;
  /** Ask for a JSON object (judge requests); not every server supports it. Passed through as is. */
  response_format?: { type: 'json_object' } | undefined;
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
  /** Latency of the successful attempt. */
  latencyMs: number;
  attempts: number;
  /** Every attempt, the successful one last. */
  attemptLog: AttemptRecord[];
  /** Which endpoint answered, when the client spreads requests over several. */
  endpoint?: string;
}

/** The vectors of one embeddings request, in input order: finite, non-zero, all of one dimension. */
export interface EmbeddingReply {
  vectors: Float32Array[];
  /** Prompt tokens only (completionTokens 0). */
  usage: Usage | null;
  latencyMs: number;
  attempts: number;
  attemptLog: AttemptRecord[];
  endpoint?: string;
}

export interface LlmClient {
  /**
   * One chat completion, through the rate limiter and the retry policy. Aborting `signal` cancels the
   * request (and any wait) with an LlmError of kind 'aborted'.
   */
  complete(messages: ChatMessage[], params: ChatParams, signal?: AbortSignal): Promise<ChatReply>;
  /**
   * Embeddings of `input` (POST /embeddings), through the same limiter, retries and timeout as `complete`.
   * A reply without a usable vector per input (or of another dimension than `expect.dimensions`) is a
   * failed attempt (`bad_reply`). Optional: test doubles of chat-only clients need not have it.
   */
  embed?(input: string[], model: string, signal?: AbortSignal, expect?: { dimensions?: number | undefined }): Promise<EmbeddingReply>;
  /**
   * A quick reachability check (GET /models, one attempt, short timeout) so a wrong base URL fails in
   * seconds instead of retrying for an hour. Resolves when the server answered at all (even 404), with
   * what its model list says about it.
   */
  probe(timeoutMs?: number): Promise<ServerInfo>;
  /** The client's estimate of a request's prompt tokens (tiktoken, corrected by the usage seen so far). */
  estimatePromptTokens?(messages: readonly ChatMessage[], model: string): number;
}
