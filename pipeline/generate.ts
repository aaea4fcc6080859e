/**
 * One generation run: build prompts, call the model with bounded concurrency, parse, filter, dedup and
 * store until `target` new tasks are accepted. A library function: the CLI only parses flags.
 */
import pLimit from 'p-limit';
import { BruteForceIndex } from './dedup/brute.ts';
import type { NearDupIndex } from './dedup/index.ts';
import { dedupKey } from './dedup/similarity.ts';
import type { FilterOptions, RejectReason } from './filters.ts';
import { Ingestor } from './ingest.ts';
import { LlmError, type ChatMessage, type ChatParams, type LlmClient } from './llm.ts';
import { parseReply } from './parse.ts';
import { buildPrompt, type GenerationMode, type Random, type Template } from './prompt.ts';
import type { Store } from './store/store.ts';
import type { SeedTask, Task } from './types.ts';

export interface GenerateOptions {
  /** New accepted tasks this run must add. */
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
  /** Output length bound stated in the prompt, in characters. Default 600. */
  maxOutputChars: number;
  similarity: number;
  filters: FilterOptions;
  /** Give up after this many requests in a row fail. Default 20. */
  maxConsecutiveFailures: number;
  /** Stored with the run so it can be repeated; must hold no secrets. */
  runOptions: Record<string, unknown>;
}

export interface GenerateDeps {
  store: Store;
  llm: LlmClient;
  random?: Random;
  /** Replaces the default index (tests, benchmarks). */
  index?: NearDupIndex;
  onEvent?: (event: GenerateEvent) => void;
  /** Aborting stops new requests; in-flight ones finish and are stored. */
  signal?: AbortSignal;
}

export type GenerateEvent =
  | { type: 'start'; runId: number; target: number; indexSize: number }
  | { type: 'reply'; accepted: number; target: number; requestId: number; newlyAccepted: number; rejected: number }
  | { type: 'request-failed'; requestId: number; error: string };

export interface RunSummary {
  runId: number;
  status: 'completed' | 'interrupted' | 'failed';
  target: number;
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
  requests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  seconds: number;
  error?: string;
}

export class GenerationFailed extends Error {
  override name = 'GenerationFailed';
  constructor(message: string, readonly summary: RunSummary) {
    super(message);
  }
}

/** Machine examples shown in prompts come from this many recently accepted tasks. */
const MACHINE_POOL = 500;

export async function generate(options: GenerateOptions, deps: GenerateDeps): Promise<RunSummary> {
  const { store, llm } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();

  storeSeeds(store, options.seeds);
  const index = deps.index ?? new BruteForceIndex();
  if (deps.index === undefined) for (const { id, key } of store.acceptedKeys()) index.add(key, id);
  const ingestor = new Ingestor(store, index, { similarity: options.similarity, filters: options.filters, skipFilters: false });
  const templateId = store.templateId(options.template.name, options.template.sha256, options.template.content);
  const runId = store.createRun({ target: options.target, mode: options.mode, model: options.params.model, options: options.runOptions });
  const machinePool: Task[] = store.sampleAccepted('generated', MACHINE_POOL);

  const summary: RunSummary = {
    runId, status: 'completed', target: options.target, accepted: 0, rejected: {}, requests: 0, failedRequests: 0,
    promptTokens: 0, completionTokens: 0, seconds: 0,
  };
  deps.onEvent?.({ type: 'start', runId, target: options.target, indexSize: index.size });

  let consecutiveFailures = 0;
  let fatal: Error | undefined;
  // Running estimate of accepted tasks per request, so the last requests are not sent for nothing.
  let yieldPerRequest = options.tasksPerRequest * 0.5;

  const oneRequest = async (): Promise<void> => {
    const machineExamples = machinePool.length > 0
      ? [0, 1].map(() => machinePool[Math.floor(random() * machinePool.length)]!)
      : [];
    const prompt = buildPrompt({
      mode: options.mode, template: options.template, numTasks: options.tasksPerRequest,
      maxOutputChars: options.maxOutputChars, seeds: options.seeds, machineExamples,
      topics: options.topics, taskTypes: options.taskTypes, random,
    });
    const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
    const base = { runId, templateId, model: options.params.model, messages, params: options.params };
    summary.requests++;
    let reply;
    try {
      reply = await llm.complete(messages, options.params);
    } catch (err) {
      const error = err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
      const requestId = store.insertRequest({ ...base, status: 'error', error: `${error.kind}: ${error.message}`, attempts: error.attempts });
      summary.failedRequests++;
      consecutiveFailures++;
      deps.onEvent?.({ type: 'request-failed', requestId, error: error.message });
      if (error.kind === 'auth') fatal = new Error(`the model API refused the key: ${error.message}`);
      else if (consecutiveFailures >= options.maxConsecutiveFailures) {
        fatal = new Error(`${consecutiveFailures} requests in a row failed; last error: ${error.kind}: ${error.message}`);
      }
      return;
    }
    consecutiveFailures = 0;
    if (reply.usage) {
      summary.promptTokens += reply.usage.promptTokens;
      summary.completionTokens += reply.usage.completionTokens;
    }
    const parsed = parseReply(reply.content, reply.finishReason);
    const outcome = store.transaction(() => {
      const requestId = store.insertRequest({
        ...base, status: 'ok', rawReply: reply.content, finishReason: reply.finishReason,
        promptTokens: reply.usage?.promptTokens, completionTokens: reply.usage?.completionTokens,
        totalTokens: reply.usage?.totalTokens, latencyMs: reply.latencyMs, attempts: reply.attempts,
        replyShape: parsed.shape, parseProblems: parsed.problems,
      });
      const result = ingestor.ingest({
        source: 'generated', runId, requestId, tasks: parsed.tasks, maxAccept: options.target - summary.accepted,
      });
      return { requestId, result };
    });
    const { requestId, result } = outcome;
    summary.accepted += result.accepted.length;
    let rejectedHere = 0;
    for (const [reason, n] of Object.entries(result.rejected) as [RejectReason, number][]) {
      summary.rejected[reason] = (summary.rejected[reason] ?? 0) + n;
      rejectedHere += n;
    }
    for (const t of result.accepted) {
      if (machinePool.length < MACHINE_POOL) machinePool.push(t);
      else machinePool[Math.floor(random() * MACHINE_POOL)] = t;
    }
    yieldPerRequest = 0.8 * yieldPerRequest + 0.2 * result.accepted.length;
    deps.onEvent?.({
      type: 'reply', accepted: summary.accepted, target: options.target, requestId,
      newlyAccepted: result.accepted.length, rejected: rejectedHere,
    });
  };

  const limit = pLimit(options.concurrency);
  let inFlight = 0;
  const finished = (): boolean => summary.accepted >= options.target || fatal !== undefined || (deps.signal?.aborted ?? false);
  /** Fewer requests in flight as the target nears: each one in flight is expected to bring `yieldPerRequest`. */
  const wanted = (): number => {
    const remaining = options.target - summary.accepted;
    return Math.min(options.concurrency, Math.max(1, Math.ceil(remaining / Math.max(1, yieldPerRequest))));
  };

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (finished()) {
        if (inFlight === 0) resolve();
        return;
      }
      while (inFlight < wanted()) {
        inFlight++;
        void limit(oneRequest)
          .catch((err: unknown) => {
            fatal ??= err instanceof Error ? err : new Error(String(err));
          })
          .finally(() => {
            inFlight--;
            pump();
          });
      }
    };
    pump();
  });

  summary.seconds = (performance.now() - started) / 1000;
  if (fatal !== undefined) {
    summary.status = 'failed';
    summary.error = fatal.message;
    store.finishRun(runId, 'failed', fatal.message);
    throw new GenerationFailed(fatal.message, summary);
  }
  summary.status = summary.accepted >= options.target ? 'completed' : 'interrupted';
  store.finishRun(runId, summary.status);
  return summary;
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
