/**
 * How a request is written to the store, whatever stage sent it: one row with its messages, params,
 * usage, cost and how its reply read, plus its attempts. Every stage stores through these two
 * functions, inside the transaction that also stores what the reply brought.
 */
import type { Usage } from '../llm.ts';
import type { AttemptStore, NewAttempt } from '../store/attempts.ts';
import type { NewRequest, Store } from '../store/store.ts';

/** The fields of a stored request that do not depend on how it ended. */
export type RequestBase = Pick<NewRequest, 'runId' | 'templateId' | 'model' | 'messages' | 'params' | 'batchId'>;

export interface ReplyToStore {
  content: string;
  finishReason: string | null;
  usage: Usage | null;
  latencyMs?: number | null;
  attempts: number;
  attemptLog: readonly NewAttempt[];
  /** USD; null when the model has no price. */
  costUsd: number | null;
  /** The endpoint that answered, when there are several. */
  endpoint?: string | undefined;
}

/**
 * A reply's request row (status ok, usage, latency, how it parsed, cost) and its attempts, inside the
 * caller's transaction; returns the request id.
 */
export function insertReply(
  store: Store,
  attempts: AttemptStore,
  base: RequestBase,
  reply: ReplyToStore,
  parse: { replyShape: string; parseProblems?: string[] },
): number {
  const requestId = store.insertRequest({
    ...base,
    status: 'ok',
    rawReply: reply.content,
    finishReason: reply.finishReason,
    promptTokens: reply.usage?.promptTokens,
    completionTokens: reply.usage?.completionTokens,
    totalTokens: reply.usage?.totalTokens,
    latencyMs: reply.latencyMs,
    attempts: reply.attempts,
    replyShape: parse.replyShape,
    ...(parse.parseProblems && { parseProblems: parse.parseProblems }),
    costUsd: reply.costUsd,
    endpoint: reply.endpoint,
  });
  attempts.insertAttempts(requestId, reply.attemptLog);
  return requestId;
}

/** A failed request's row and its attempts, inside the caller's transaction; returns the request id. */
export function insertFailure(
  store: Store,
  attempts: AttemptStore,
  base: RequestBase,
  failure: { error: string; attempts: number; attemptLog: readonly NewAttempt[]; endpoint?: string | undefined },
): number {
  const requestId = store.insertRequest({
    ...base,
    status: 'error',
    error: failure.error,
    attempts: failure.attempts,
    endpoint: failure.endpoint,
  });
  attempts.insertAttempts(requestId, failure.attemptLog);
  return requestId;
}
