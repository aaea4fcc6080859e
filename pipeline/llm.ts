/**
 * The chat model client, public face of `pipeline/llm/`: the official `openai` package against any
 * OpenAI-compatible base URL, with a rate limiter (limiter.ts), a retry policy (retry.ts), token counts
 * (tokens.ts) and prices (cost.ts). Errors come out as LlmError with a kind, and never carry the API key.
 */
export type { ChatMessage, ChatParams, ChatReply, EmbeddingReply, LlmClient, Usage } from './llm/types.ts';
export { LlmError, redact, toLlmError, type AttemptRecord, type LlmErrorKind } from './llm/errors.ts';
export { createLlmClient, type LlmClientOptions, type RateLimitOptions } from './llm/client.ts';
