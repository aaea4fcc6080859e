/**
 * `embed()`: the embedding of every accepted task (seeds included) that this model has none of yet,
 * end to end: checks the options, takes the database's lock, builds the client (llm/connect.ts), probes
 * the server, copies vectors already stored for the same text, and runs the embedding stage online.
 *
 * Crash safety: each reply's vectors are stored in its transaction and the pending tasks are read from the
 * store at start, so after a kill -9 the same command embeds exactly what is left.
 */
import { Budget } from '../budget.ts';
import { UsageError } from '../errors.ts';
import { probe, resolvePrice, type GenerateHooks } from '../startup.ts';
import { connect } from '../llm/connect.ts';
import { redact, type LlmClient } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import { takeLock } from '../lock.ts';
import { embedSettingsSchema, resolveOptions, type EmbedSettings } from '../options.ts';
import { runStages } from '../runtime/online.ts';
import type { GenerateEvent } from '../runtime/progress.ts';
import { EmbedStage } from '../stages/embed.ts';
import { EmbeddingStore, type EmbedSince } from '../store/embeddings.ts';
import { Store } from '../store/store.ts';
import { EmbedFailed, type EmbedSummary } from './summary.ts';

export { EmbedFailed, type EmbedSummary } from './summary.ts';

export interface EmbedRunOptions {
  model: string;
  since: EmbedSince;
  perRequest: number;
  concurrency: number;
  price: Price | undefined;
  maxCostUsd?: number | undefined;
  maxRequests?: number | undefined;
  /** Requests failing in a row that end the invocation. Default 20. */
  maxConsecutiveFailures?: number;
  drainTimeoutMs: number;
  runOptions: Record<string, unknown>;
}

export type EmbedOptions = EmbedSettings & Omit<GenerateHooks, 'random' | 'onLog'>;

export async function embed(options: EmbedOptions): Promise<EmbedSummary> {
  const { apiKey: givenKey, env = process.env, onEvent, onWarning, signal, ...rest } = options;
  const s = resolveOptions(embedSettingsSchema, rest);
  const connection = connect(s, givenKey, env);
  const { baseURL, apiKey, llm } = connection;
  const price = resolvePrice(s);
  if (s.maxCost !== undefined && price === undefined) {
    throw new UsageError(`needs the price of ${s.model}, which is not in the built-in table: give \`price\` or \`prices\``, {
      option: 'maxCost',
    });
  }
  if (s.probe) await probe(llm, baseURL);
  Store.check(s.db);
  const lock = takeLock(s.db, `embed --model ${s.model}`, onWarning);
  let store: Store | undefined;
  try {
    store = Store.open(s.db);
    const run: EmbedRunOptions = {
      model: s.model,
      since: s.since,
      perRequest: s.perRequest,
      concurrency: s.concurrency,
      price,
      maxCostUsd: s.maxCost,
      maxRequests: s.maxRequests,
      drainTimeoutMs: s.drainTimeout * 1000,
      runOptions: { ...s, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
    };
    try {
      return await embedTasks(run, { store, llm, ...(signal && { signal }), ...(onEvent && { onEvent }) });
    } catch (err) {
      if (err instanceof EmbedFailed) throw new EmbedFailed(redact(err.message, apiKey), err.summary);
      throw err;
    }
  } finally {
    store?.close();
    lock.release();
  }
}

export interface EmbedDeps {
  store: Store;
  llm: LlmClient;
  onEvent?: (event: GenerateEvent) => void;
  signal?: AbortSignal;
}

/** The online embedding run over an open store (the lock held by the caller). */
export async function embedTasks(o: EmbedRunOptions, deps: EmbedDeps): Promise<EmbedSummary> {
  const { store } = deps;
  const started = performance.now();
  const embeddings = new EmbeddingStore(store);
  const pendingAtStart = embeddings.pending(o.model, o.since);
  // The same text and model: the stored vector, never a second request.
  let reused = 0;
  store.transaction(() => {
    for (const t of pendingAtStart) {
      const v = embeddings.byText(o.model, t.textSha256);
      if (v !== undefined && embeddings.insert(t.taskId, o.model, t.textSha256, v, null)) reused++;
    }
  });
  const pending = reused === 0 ? pendingAtStart : embeddings.pending(o.model, o.since);
  const runId = embedRun(store, { target: pending.length, model: o.model, options: o.runOptions });
  const budget = Budget.forRun({ maxCostUsd: o.maxCostUsd, maxRequests: o.maxRequests }, store.runTotals(runId).requests);
  const costAtStart = budget.spentUsd;
  const stage = new EmbedStage(store, {
    model: o.model,
    price: o.price,
    perRequest: o.perRequest,
    work: { kind: 'tasks', tasks: pending },
  });
  const result = await runStages(
    [stage],
    {
      runId,
      target: pending.length,
      acceptedAtStart: 0,
      concurrency: o.concurrency,
      maxConsecutiveFailures: o.maxConsecutiveFailures ?? 20,
      drainTimeoutMs: o.drainTimeoutMs,
      indexSize: pending.length,
    },
    { store, llm: deps.llm, budget, ...(deps.onEvent && { onEvent: deps.onEvent }), ...(deps.signal && { signal: deps.signal }) },
  );
  const { fatal, budgetStop } = result;
  const left = embeddings.pending(o.model, o.since).length;
  const status: EmbedSummary['status'] = fatal !== undefined ? 'failed' : left === 0 ? 'completed' : 'interrupted';
  const stopReason = budgetStop?.reason ?? (deps.signal?.aborted ? 'signal' : undefined);
  store.finishRun(runId, status, fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined));
  const p = result.progress;
  const summary: EmbedSummary = {
    runId,
    status,
    model: o.model,
    text: 'instruction + "\\n" + input; a dialogue: its first two user turns',
    pendingAtStart: pendingAtStart.length,
    reused,
    embeddedNow: p.accepted,
    left,
    dimensions: embeddings.dimensions(o.model) ?? null,
    requests: p.requests,
    failedRequests: p.failedRequests,
    promptTokens: p.promptTokens,
    costUsd: budget.spentUsd - costAtStart,
    seconds: (performance.now() - started) / 1000,
    ...(status === 'interrupted' && stopReason !== undefined ? { stopReason } : {}),
    ...(status === 'interrupted' && budgetStop !== undefined ? { stopMessage: budgetStop.message } : {}),
  };
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new EmbedFailed(fatal.message, summary);
  }
  return summary;
}

/** The latest embed run when unfinished (its budget spans invocations), else a new one. */
function embedRun(store: Store, run: { target: number; model: string; options: Record<string, unknown> }): number {
  const latest = store.sql(`SELECT id, status FROM runs WHERE mode = 'embed' ORDER BY id DESC LIMIT 1`).get() as
    | { id: number; status: string }
    | undefined;
  const row = { ...run, mode: 'embed' };
  if (latest !== undefined && latest.status !== 'completed') {
    store.resumeRun(latest.id, row);
    return latest.id;
  }
  return store.createRun(row);
}
