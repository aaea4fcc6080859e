/**
 * A stage is one kind of model work (instructions, dialogues, answers, judgments): which pending work it
 * takes, what it asks for a unit of that work, and how it reads and stores the reply. It never sends a
 * request, counts money or knows whether it runs online or in a batch: the runner does (runtime/online.ts).
 *
 * Every piece of pending work is found from the store or from the stage's own queue refilled from the
 * store, so a kill at any moment loses only requests in flight: the next invocation finds the same work.
 */
import type { ChatMessage, ChatParams, ChatReply, EmbeddingReply, LlmError } from '../llm.ts';
import type { Price } from '../llm/cost.ts';

/**
 * - `goal`: what the run's target counts (tasks, answers, judgments);
 * - `feeder`: makes work for the goal stage (stage 1 of a two-stage run); asked only while the goal is short;
 * - `follower`: finishes the run's own pending work (the inline judge), also after the goal is reached;
 *   its failures never fail the run.
 */
export type StageRole = 'goal' | 'feeder' | 'follower';

/** One request a stage wants sent: a chat completion, or (with `embedding`) the embeddings of some texts. */
export type StageRequest<U> = ChatRequest<U> | EmbeddingRequest<U>;

export interface ChatRequest<U> {
  unit: U;
  messages: ChatMessage[];
  params: ChatParams;
  /** Kept with the stored request's params, so a stored reply can be read again (e.g. a judge's subjects). */
  stored?: Record<string, unknown>;
  embedding?: undefined;
}

/** Embeddings of `input` by `model`; the reply the stage reads is an EmbeddingReply. */
export interface EmbeddingRequest<U> {
  unit: U;
  embedding: {
    model: string;
    input: string[];
    /** The dimension stored for the model: a reply of another is a failed attempt. */
    dimensions?: number | undefined;
  };
  stored?: Record<string, unknown>;
  messages?: undefined;
  params?: undefined;
}

/** What one stored reply brought. */
export interface StageOutcome {
  /** Items of the stage's own kind accepted (tasks, answers, judgments). */
  accepted: number;
  rejected: Record<string, number>;
  /** For the yield guard: what the reader could not use. */
  parseProblems?: string[];
  /**
   * Goal items accepted earlier that a follower has now rejected (a semantic near-duplicate found once its
   * embedding came): the run's goal count goes down by this, so the goal stage makes up for them.
   */
  revoked?: number;
}

/** What the runner tells a stage when it asks for work. */
export interface RunView {
  target: number;
  /** Goal items the run has (earlier invocations included). */
  goalAccepted: number;
  /** Requests in flight, by stage name. */
  inFlight(stage: string): number;
  /**
   * Nothing is in flight and no stage had work due although the goal is short: a feeder should ask now
   * (its estimate of what is coming was too hopeful).
   */
  idle: boolean;
  /**
   * Replies come back slowly (a Batch API round trip takes up to a day): a stage that sizes its requests
   * by an expected yield asks with a margin, so one round trip nearly always covers the goal; what comes
   * back beyond it is turned away when stored (the goal stays exact). Online: false.
   */
  overAsk?: boolean;
}

/** How a stage read a reply: its shape and problems go on the request row, `value` to `store`. */
export interface Reading<P> {
  shape: string;
  problems: string[];
  value: P;
}

/** `R`: the reply the stage reads, a chat reply unless its requests ask for embeddings. */
export interface Stage<U = unknown, P = unknown, R = ChatReply> {
  readonly name: string;
  readonly role: StageRole;
  readonly templateId: number | null;
  readonly price: Price | undefined;
  /** The yield guard watches this stage's replies (stages asking for many items per reply). */
  readonly guarded?: boolean;
  /** The next request due now, or undefined (nothing pending, or not needed yet). */
  next(view: RunView): StageRequest<U> | undefined;
  /** Reads a reply: total (never throws, linear time), pure. */
  read(unit: U, reply: R): Reading<P>;
  /** Stores what the reply brought, inside the transaction that stored the reply as request `requestId`. */
  store(unit: U, requestId: number, reading: P, reply: R, view: RunView): StageOutcome;
  /** Ties a stored request to its unit, inside the transaction that stores it (ok or failed). */
  mark?(unit: U, requestId: number): void;
  /**
   * The request for `unit` failed (stored already), or was not sent (`error` undefined: the budget refused
   * it): put the unit back. `retryFree`: the stage changed how it asks (e.g. JSON mode off) and the failure
   * should not count toward the run's failures in a row.
   */
  release(unit: U, error: LlmError | undefined): { retryFree?: boolean } | undefined;
  /** Another stage stored a reply that accepted something (a follower may have new work). */
  notice?(from: string, outcome: StageOutcome): void;
  /** The stage's current estimates (e.g. accepted items per request), logged with each batch it fills. */
  estimates?(): Record<string, number>;
  /** After the reply's transaction committed: what the stage keeps in memory (example pools, queues). */
  afterStore?(unit: U, outcome: StageOutcome, reading: P): void;
}

/** Re-exported for stage files: the reply a stage reads. */
export type { ChatReply, EmbeddingReply };
