/**
 * One generation run: build prompts, call the model with bounded concurrency, parse, filter, dedup and
 * store until `target` new tasks are accepted. A library function: the CLI only parses flags.
 *
 * Crash safety comes from the store: each reply and all its tasks are one transaction, so a kill at any
 * moment leaves whole replies or nothing. Resuming counts what the run already has in the DB.
 */
import { PipelineError } from './errors.ts';
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { Budget, type BudgetStop } from './budget.ts';
import { buildIndex } from './dedup/qgram-index.ts';
import type { NearDupIndex } from './dedup/index.ts';
import { dedupKey } from './dedup/similarity.ts';
import type { RuleOptions } from './rules/index.ts';
import { Ingestor, type IngestResult } from './ingest.ts';
import { LlmError, type ChatMessage, type ChatParams, type ChatReply, type LlmClient, type Usage } from './llm.ts';
import { costUsd, type Price } from './llm/cost.ts';
import { parseReply, type ParseResult } from './parse.ts';
import { buildPrompt, type GenerationMode, type Random, type Template } from './prompt.ts';
import { AttemptStore, type NewAttempt } from './store/attempts.ts';
import { asStorageError, StorageError } from './store/storage-errors.ts';
import { MachineExamples, type ExampleFilter } from './judge/examples.ts';
import type { InlineJudgeContext } from './judge/inline.ts';
import type { NewRequest, RunTotals, Store } from './store/store.ts';
import type { SeedTask, Task } from './types.ts';
import type { BenchmarkGate } from './decontaminate/gate.ts';
import { YieldGuard, type GuardStop, type YieldGuardState } from './yield-guard.ts';
// -- dialogue mode (issue 14)
import { DialogueIngestor } from './dialogue/ingest.ts';
import { parseDialogues } from './dialogue/parse.ts';
import { DEFAULT_TURN_BOUNDS, type TurnBounds } from './dialogue/types.ts';
// -- end dialogue mode

export interface OnlineOptions {
  /** Accepted tasks the run must reach (a resumed run counts what it already has). */
  target: number;
  mode: GenerationMode;
  template: Template;
  seeds: readonly SeedTask[];
  /** Topic and task-type lists (topics mode). */
  topics: readonly string[];
  taskTypes: readonly string[];
  params: ChatParams;
  /** Requests in flight at once. Default 8. */
  concurrency: number;
  /** Tasks asked for per request. Default 20. */
  tasksPerRequest: number;
  /** Output length bound stated in the prompt, in characters. Default 300. */
  maxOutputChars: number;
  similarity: number;
  filters: RuleOptions;
  /** Give up after this many requests in a row fail. Default 20. */
  maxConsecutiveFailures: number;
  /** Continue the latest unfinished run instead of starting a new one. Default true. */
  resume: boolean;
  /** After a stop signal, how long in-flight requests may still finish. Default 10 000 ms. */
  drainTimeoutMs: number;
  /** Stored with the run so it can be repeated; must hold no secrets. */
  runOptions: Record<string, unknown>;
  /** The model's price; undefined: cost is not recorded (and --max-cost cannot be used). */
  price?: Price | undefined;
  /** Stop cleanly before the run's spending could pass this many USD. */
  maxCostUsd?: number | undefined;
  /** Stop cleanly once the run has sent this many requests. */
  maxRequests?: number | undefined;
  // -- yield guard (yield-guard.ts) --
  /** Replies in a row with no usable task that fail the run; 0: off. Default 20. */
  maxEmptyReplies?: number | undefined;
  /** Accepted tasks per reply over the last 50 replies under which the run fails; 0: off. Default 0.1. */
  minAcceptedPerReply?: number | undefined;
  // -- end yield guard --
  /** Dialogue mode: exchanges per conversation, asked for and checked. Default 2–4. */
  turns?: TurnBounds | undefined;
  /** Machine examples only from tasks judged at least this well, once there are judged ones (issue 12). */
  machineExamples?: ExampleFilter | undefined;
  /** Reject tasks that copy a benchmark item (issue 25). */
  benchmarks?: BenchmarkGate | undefined;
}

export interface OnlineDeps {
  store: Store;
  llm: LlmClient;
  random?: Random;
  /** Replaces the default index (tests, benchmarks). */
  index?: NearDupIndex;
  onEvent?: (event: GenerateEvent) => void;
  /** Aborting stops new requests; in-flight ones get `drainTimeoutMs`, then are cancelled. */
  signal?: AbortSignal;
  /**
   * generate --judge-model (issue 12): judges a stored reply's accepted tasks in the same request slot and
   * budget; returns those that scored well enough to be shown as examples.
   */
  judgeReply?: (ctx: InlineJudgeContext) => Promise<Task[]>;
}

/** A snapshot of the run, sent with every event. */
export interface Progress {
  runId: number;
  target: number;
  accepted: number;
  /** Accepted before this invocation (a resumed run). */
  acceptedAtStart: number;
  rejected: number;
  requests: number;
  failedRequests: number;
  inFlight: number;
  promptTokens: number;
  completionTokens: number;
  /** USD the run has spent (earlier invocations included); 0 when the model has no price. */
  costUsd: number;
  elapsedMs: number;
}

export type GenerateEvent =
  | { type: 'start'; progress: Progress; resumed: boolean; indexSize: number }
  | { type: 'reply'; progress: Progress; requestId: number; newlyAccepted: number }
  | { type: 'request-failed'; progress: Progress; requestId: number; error: string }
  | { type: 'stopping'; progress: Progress; reason: string };

export interface RunSummary extends RunTotals {
  runId: number;
  /** 'waiting': batch mode, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'waiting';
  target: number;
  resumed: boolean;
  /** Accepted by this invocation. */
  acceptedNow: number;
  seconds: number;
  error?: string;
  /** Why an interrupted run stopped: a stop signal, a budget cap, or a full / read-only disk. */
  stopReason?: 'signal' | 'storage' | BudgetStop['reason'];
  stopMessage?: string;
  /** Batch mode: the batch still out when the step ended. */
  openBatch?: { id: number; providerBatchId: string | null; status: string; requests: number };
  /** The yield guard's figures for this invocation, and its stop if it tripped. */
  yieldGuard?: YieldGuardState;
}

/** A yield guard stopped the run (see yield-guard.ts); the message says which and what to check. */
export class YieldGuardError extends Error {
  override name = 'YieldGuardError';
  constructor(readonly stop: GuardStop) {
    super(stop.message);
  }
}

/** The run failed (category `failed`); its summary says how far it got. */
export class GenerationFailed extends PipelineError {
  override name = 'GenerationFailed';
  constructor(
    message: string,
    readonly summary: RunSummary,
    options: { cause?: unknown } = {},
  ) {
    super('failed', message, options);
  }
}

/** Machine examples shown in prompts come from this many recently accepted tasks. */
export const MACHINE_POOL = 500;

export async function runOnline(options: OnlineOptions, deps: OnlineDeps): Promise<RunSummary> {
  const { store, llm } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();

  const { index, ingestor, templateId, runId, resumed } = prepareRun(options, store, deps.index);
  const examples = new MachineExamples(store, MACHINE_POOL, random, options.machineExamples);
  const machinePool: Task[] = examples.pool;
  const sink: RequestSink = { store, attempts: new AttemptStore(store), ingestor, runId };
  // -- dialogue mode (issue 14): conversations go through their own checks, into the same index
  if (options.mode === 'dialogue') {
    sink.dialogues = new DialogueIngestor(store, index, {
      similarity: options.similarity,
      filters: options.filters,
      turns: options.turns ?? DEFAULT_TURN_BOUNDS,
    });
  }
  // -- end dialogue mode

  const acceptedAtStart = store.countAccepted(runId);
  const budget = Budget.forRun(options, store.runTotals(runId).requests);
  const p: Progress = {
    runId,
    target: options.target,
    accepted: acceptedAtStart,
    acceptedAtStart,
    rejected: 0,
    requests: 0,
    failedRequests: 0,
    inFlight: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: budget.spentUsd,
    elapsedMs: 0,
  };
  const snapshot = (): Progress => ({ ...p, elapsedMs: performance.now() - started });
  deps.onEvent?.({ type: 'start', progress: snapshot(), resumed, indexSize: index.size });

  // Cancels in-flight requests once the drain deadline after a stop signal has passed.
  const cancel = new AbortController();
  // Every request in flight (and each one queued at the rate limiter) listens on it: no leak, just many.
  setMaxListeners(options.concurrency * 4 + 10, cancel.signal);
  let drainTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: 'stop signal' });
    drainTimer = setTimeout(() => cancel.abort(), options.drainTimeoutMs);
  };
  if (deps.signal?.aborted) onStop();
  else deps.signal?.addEventListener('abort', onStop, { once: true });

  let consecutiveFailures = 0;
  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  // A request the budget refused while others were in flight: wait for them before trying again.
  let budgetBlocked = false;
  const price = options.price;
  // Running estimate of accepted tasks per request, so the last requests are not sent for nothing.
  let yieldPerRequest = options.tasksPerRequest * 0.5;
  const guard = yieldGuardFor(options);

  const oneRequest = async (): Promise<void> => {
    const messages = promptMessages(options, machinePool, random);
    const base = { runId, templateId, model: options.params.model, messages, params: options.params };
    // Worst case: the prompt as estimated, and every max_token used.
    const promptEstimate = llm.estimatePromptTokens?.(messages, options.params.model) ?? messages[0]!.content.length;
    const worstUsd =
      price === undefined ? 0 : costUsd({ promptTokens: promptEstimate, completionTokens: options.params.max_tokens }, price);
    const refused = budget.check(worstUsd);
    if (refused !== undefined) {
      // Requests still out may cost less than their worst case and make room; if none is out, this is the end.
      if (budget.inFlight > 0) {
        budgetBlocked = true;
        return;
      }
      if (budgetStop === undefined) {
        budgetStop = refused;
        deps.onEvent?.({ type: 'stopping', progress: { ...snapshot(), inFlight: 0 }, reason: refused.message });
      }
      return;
    }
    const settleBudget = budget.start(worstUsd);
    p.requests++;
    let reply: ChatReply;
    try {
      reply = await llm.complete(messages, options.params, cancel.signal);
    } catch (err) {
      const error = err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
      settleBudget(0);
      budgetBlocked = false;
      const requestId = storeFailure(sink, base, {
        error: `${error.kind}: ${error.message}`,
        attempts: error.attempts,
        attemptLog: error.attemptLog,
      });
      p.failedRequests++;
      deps.onEvent?.({ type: 'request-failed', progress: snapshot(), requestId, error: `${error.kind}: ${error.message}` });
      if (error.kind === 'aborted') return;
      consecutiveFailures++;
      if (error.kind === 'auth') fatal = new Error(`the model API refused the key: ${error.message}`);
      else if (error.kind === 'quota') fatal = new Error(`the model API says the account is out of quota: ${error.message}`);
      else if (consecutiveFailures >= options.maxConsecutiveFailures) {
        fatal = new Error(`${consecutiveFailures} requests in a row failed; last error: ${error.kind}: ${error.message}`);
      }
      return;
    }
    consecutiveFailures = 0;
    p.promptTokens += reply.usage?.promptTokens ?? 0;
    p.completionTokens += reply.usage?.completionTokens ?? 0;
    // No usage reported: count the worst case, so a budget is never overrun by a silent server.
    const cost = price === undefined ? null : reply.usage === null ? worstUsd : costUsd(reply.usage, price);
    settleBudget(cost ?? 0);
    budgetBlocked = false;
    p.costUsd = budget.spentUsd;
    const { requestId, result, parseProblems } = storeReply(sink, base, { ...reply, costUsd: cost }, options.target - p.accepted);
    p.accepted += result.accepted.length;
    // -- yield guard: stop paying for replies that bring nothing --
    const guardStop = guard.record({ content: reply.content, accepted: result.accepted.length, rejected: result.rejected, parseProblems });
    if (guardStop !== undefined && fatal === undefined) {
      fatal = new YieldGuardError(guardStop);
      deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: guardStop.message });
    }
    // -- end yield guard --
    for (const n of Object.values(result.rejected)) p.rejected += n ?? 0;
    examples.offer(result.accepted);
    yieldPerRequest = 0.8 * yieldPerRequest + 0.2 * result.accepted.length;
    deps.onEvent?.({ type: 'reply', progress: snapshot(), requestId, newlyAccepted: result.accepted.length });
    // -- inline judge (issue 12): same slot, same budget; never fatal --
    if (deps.judgeReply !== undefined && result.accepted.length > 0) {
      examples.offerJudged(await deps.judgeReply({ runId, requestId, budget, signal: cancel.signal }));
      p.costUsd = budget.spentUsd;
      budgetBlocked = false; // its judge requests settled: a request the budget refused meanwhile may fit now
    }
  };

  const limit = pLimit(options.concurrency);
  const finished = (): boolean =>
    p.accepted >= options.target || fatal !== undefined || budgetStop !== undefined || (deps.signal?.aborted ?? false);
  /** Fewer requests in flight as the target nears: each one is expected to bring `yieldPerRequest`. */
  const wanted = (): number => {
    const remaining = options.target - p.accepted;
    return Math.min(options.concurrency, Math.max(1, Math.ceil(remaining / Math.max(1, yieldPerRequest))));
  };

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (finished()) {
        if (p.inFlight === 0) resolve();
        return;
      }
      while (p.inFlight < wanted() && !budgetBlocked) {
        p.inFlight++;
        void limit(oneRequest)
          .catch((err: unknown) => {
            // A full or read-only disk is a clean stop (storage-errors.ts), anything else a failure.
            fatal ??= asStorageError(err, store.path) ?? (err instanceof Error ? err : new Error(String(err)));
          })
          .finally(() => {
            p.inFlight--;
            pump();
          });
      }
    };
    pump();
  });
  clearTimeout(drainTimer);
  deps.signal?.removeEventListener('abort', onStop);

  const diskFull = fatal instanceof StorageError;
  const status = diskFull ? 'interrupted' : fatal !== undefined ? 'failed' : p.accepted >= options.target ? 'completed' : 'interrupted';
  try {
    store.finishRun(runId, status, fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined));
  } catch (err) {
    // The disk that stopped the run may not take this row either; the run stays resumable all the same.
    if (!diskFull) throw err;
  }
  const summary: RunSummary = {
    ...store.runTotals(runId),
    runId,
    status,
    target: options.target,
    resumed,
    acceptedNow: p.accepted - acceptedAtStart,
    seconds: (performance.now() - started) / 1000,
    yieldGuard: guard.state(),
  };
  if (diskFull) summary.stopReason = 'storage';
  else if (status === 'interrupted') {
    summary.stopReason = budgetStop?.reason ?? 'signal';
    if (budgetStop !== undefined) summary.stopMessage = budgetStop.message;
  }
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new GenerationFailed(fatal.message, summary);
  }
  return summary;
}

export interface PreparedRun {
  index: NearDupIndex;
  ingestor: Ingestor;
  templateId: number;
  runId: number;
  resumed: boolean;
}

type RunSetup = Pick<
  OnlineOptions,
  'seeds' | 'similarity' | 'filters' | 'template' | 'target' | 'mode' | 'params' | 'runOptions' | 'resume' | 'benchmarks'
>;

/**
 * What an online run and a batch step both begin with: seeds stored, the near-duplicate index loaded,
 * and the latest unfinished run resumed (or a new one created).
 */
export function prepareRun(options: RunSetup, store: Store, givenIndex?: NearDupIndex): PreparedRun {
  storeSeeds(store, options.seeds);
  // Exact, and fast enough for millions of stored tasks (see dedup/qgram-index.ts for why it cannot miss).
  const index = givenIndex ?? buildIndex(store.acceptedKeys());
  const ingestor = new Ingestor(store, index, {
    similarity: options.similarity,
    filters: options.filters,
    skipFilters: false,
    benchmarks: options.benchmarks,
  });
  const templateId = store.templateId(options.template.name, options.template.sha256, options.template.content);

  const newRun = { target: options.target, mode: options.mode, model: options.params.model, options: options.runOptions };
  const latest = store.latestRun();
  // An unfinished `answer` run (issue 13) counts answers, not generated tasks: a generate never takes it over.
  const resumed = options.resume && latest !== undefined && latest.status !== 'completed' && latest.mode !== 'answer';
  let runId: number;
  if (resumed) {
    runId = latest.id;
    store.resumeRun(runId, newRun);
  } else {
    runId = store.createRun(newRun);
  }
  return { index, ingestor, templateId, runId, resumed };
}

type PromptSetup = Pick<
  OnlineOptions,
  'mode' | 'template' | 'tasksPerRequest' | 'maxOutputChars' | 'seeds' | 'topics' | 'taskTypes' | 'turns'
>;

/**
 * One request's messages: a prompt showing two machine examples drawn from `machinePool` (none while it
 * is empty). `instructionOnly`: stage 1 of two-stage generation (examples without outputs, no output cap).
 */
export function promptMessages(options: PromptSetup, machinePool: readonly Task[], random: Random, instructionOnly = false): ChatMessage[] {
  // Dialogue mode draws one opening per conversation, so it may use as many machine examples.
  const shown = options.mode === 'dialogue' ? options.tasksPerRequest : 2;
  const machineExamples =
    machinePool.length > 0 ? Array.from({ length: shown }, () => machinePool[Math.floor(random() * machinePool.length)]!) : [];
  const prompt = buildPrompt({
    mode: options.mode,
    template: options.template,
    numTasks: options.tasksPerRequest,
    maxOutputChars: instructionOnly ? 0 : options.maxOutputChars,
    seeds: options.seeds,
    machineExamples,
    topics: options.topics,
    taskTypes: options.taskTypes,
    random,
    ...(options.turns ? { turns: options.turns } : {}),
    ...(instructionOnly && { instructionOnly }),
  });
  return [{ role: 'user', content: prompt }];
}

/** Where a run's requests, their attempts and their tasks go. */
export interface RequestSink {
  store: Store;
  attempts: AttemptStore;
  ingestor: Ingestor;
  runId: number;
  /** Dialogue mode: replies hold conversations, decided by this instead of `ingestor`. */
  dialogues?: DialogueIngestor;
}

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
}

/**
 * Parses a reply and stores it in one transaction: the request (with its shape, parse problems and
 * cost), its attempts, and its tasks through filters and dedup (at most `maxAccept` accepted).
 * Transactions nest: a caller may wrap this in its own to store more with the reply.
 */
export function storeReply(
  sink: RequestSink,
  base: RequestBase,
  reply: ReplyToStore,
  maxAccept: number,
): { requestId: number; result: IngestResult; parseProblems: string[] } {
  if (sink.dialogues !== undefined) return storeDialogueReply(sink, sink.dialogues, base, reply, maxAccept);
  const parsed = parseReplySafely(reply.content, reply.finishReason);
  return sink.store.transaction(() => {
    const requestId = insertReply(sink.store, sink.attempts, base, reply, { replyShape: parsed.shape, parseProblems: parsed.problems });
    const result = sink.ingestor.ingest({ source: 'generated', runId: sink.runId, requestId, tasks: parsed.tasks, maxAccept });
    return { requestId, result, parseProblems: parsed.problems };
  });
}

/**
 * A reply's request row (status ok, usage, latency, how it parsed, cost) and its attempts, inside the
 * caller's transaction; returns the request id. Every kind of request (tasks, dialogues, answers,
 * judgments) is stored through this one function.
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
  });
  attempts.insertAttempts(requestId, reply.attemptLog);
  return requestId;
}

/** The yield guard of a run (online or one batch step), from its options. */
export function yieldGuardFor(options: Pick<OnlineOptions, 'maxEmptyReplies' | 'minAcceptedPerReply' | 'similarity'>): YieldGuard {
  return new YieldGuard({
    maxEmptyReplies: options.maxEmptyReplies,
    minAcceptedPerReply: options.minAcceptedPerReply,
    similarity: options.similarity,
  });
}

/** parseReply is total; should a bug ever make it throw, the reply is still stored, with the error as its problem. */
function parseReplySafely(content: string, finishReason: string | null): ParseResult {
  try {
    return parseReply(content, finishReason);
  } catch (err) {
    return { tasks: [], shape: 'none', problems: [`parser error: ${String(err).slice(0, 200)}`], droppedTruncated: 0 };
  }
}

// -- dialogue mode (issue 14) ------------------------------------------------------------------------

/**
 * storeReply for conversations: the request, its attempts and its conversations in one transaction. The
 * result lists each accepted conversation's first exchange as a task, so the loop counts and shows
 * conversations as it does tasks, and later prompts can open from them.
 */
function storeDialogueReply(
  sink: RequestSink,
  dialogues: DialogueIngestor,
  base: RequestBase,
  reply: ReplyToStore,
  maxAccept: number,
): { requestId: number; result: IngestResult; parseProblems: string[] } {
  const parsed = parseDialogues(reply.content, reply.finishReason);
  return sink.store.transaction(() => {
    const requestId = insertReply(sink.store, sink.attempts, base, reply, { replyShape: parsed.shape, parseProblems: parsed.problems });
    const r = dialogues.ingest({ runId: sink.runId, requestId, dialogues: parsed.dialogues, maxAccept });
    const accepted = r.accepted.map((turns) => ({ instruction: turns[0]!.content, input: '', output: turns[1]!.content }));
    return { requestId, result: { accepted, rejected: r.rejected }, parseProblems: parsed.problems };
  });
}

// -- end dialogue mode -------------------------------------------------------------------------------

/** Stores a failed request and its attempts in one transaction; returns the request's id. */
export function storeFailure(
  sink: RequestSink,
  base: RequestBase,
  failure: { error: string; attempts: number; attemptLog: readonly NewAttempt[] },
): number {
  return sink.store.transaction(() => {
    const requestId = sink.store.insertRequest({ ...base, status: 'error', error: failure.error, attempts: failure.attempts });
    sink.attempts.insertAttempts(requestId, failure.attemptLog);
    return requestId;
  });
}

/** Seeds live in the store as accepted tasks of source `seed`, so the index and `nearest` can point at them. */
function storeSeeds(store: Store, seeds: readonly SeedTask[]): void {
  store.transaction(() => {
    for (const seed of seeds) {
      const key = dedupKey(seed);
      if (store.hasAcceptedKey(key)) continue;
      store.insertTask({ ...seed, source: 'seed', dedupKey: key, status: 'accepted' });
    }
  });
}
