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
import { createBatchApi, type BatchApi } from '../llm/batch-api.ts';
import { runBatchStep } from '../runtime/batch-step.ts';
import { runStages } from '../runtime/online.ts';
import type { GenerateEvent } from '../runtime/progress.ts';
import { EMBED, EmbedStage } from '../stages/embed.ts';
import { EmbeddingStore, type EmbedSince, type TaskToEmbed } from '../store/embeddings.ts';
import { Store } from '../store/store.ts';
import { EmbedFailed, type EmbedSummary } from '../embed/summary.ts';

export { EmbedFailed, type EmbedSummary } from '../embed/summary.ts';

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

export type EmbedOptions = EmbedSettings & Omit<GenerateHooks, 'random'>;

export async function embed(options: EmbedOptions): Promise<EmbedSummary> {
  const { apiKey: givenKey, env = process.env, onEvent, onLog, onWarning, signal, ...rest } = options;
  const s = resolveOptions(embedSettingsSchema, rest);
  const connection = connect(s, givenKey, env);
  const { baseURL, apiKey, llm } = connection;
  const price = resolvePrice(s);
  if (s.maxCost !== undefined && price === undefined) {
    throw new UsageError(`needs the price of ${s.model}, which is not in the built-in table: give \`price\` or \`prices\``, {
      option: 'maxCost',
    });
  }
  if (s.probe && !s.batch) await probe(llm, baseURL);
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
      const api = s.batch ? createBatchApi({ apiKey, baseURL, maxRetries: s.retries }) : undefined;
      return await embedTasks(run, {
        store,
        llm,
        ...(api && { api }),
        ...(signal && { signal }),
        ...(onEvent && { onEvent }),
        ...(onLog && { onLog }),
      });
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
  /** Given: one Batch API step instead of the online run. */
  api?: BatchApi;
  onEvent?: (event: GenerateEvent) => void;
  onLog?: (message: string, fields: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

/** The embedding run over an open store (the lock held by the caller): online, or one batch step. */
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
  // Once online; in a batch step once for the results that came back and once for what is still pending.
  const makeStage = (tasks: readonly TaskToEmbed[]) =>
    new EmbedStage(store, { model: o.model, price: o.price, perRequest: o.perRequest, work: { kind: 'tasks', tasks } });
  const common = { store, budget, ...(deps.signal && { signal: deps.signal }) };
  const result =
    deps.api !== undefined
      ? await runBatchStep(
          () => [makeStage(embeddings.pending(o.model, o.since))],
          { runId, label: 'embed batch', kind: 'embed', target: pending.length, goalAcceptedAtStart: 0 },
          { ...common, api: deps.api, ...(deps.onLog && { log: deps.onLog }) },
        )
      : {
          ...(await runStages(
            [makeStage(pending)],
            {
              runId,
              target: pending.length,
              acceptedAtStart: 0,
              concurrency: o.concurrency,
              maxConsecutiveFailures: o.maxConsecutiveFailures ?? 20,
              drainTimeoutMs: o.drainTimeoutMs,
              indexSize: pending.length,
            },
            { ...common, llm: deps.llm, ...(deps.onEvent && { onEvent: deps.onEvent }) },
          )),
          open: [],
        };
  const { fatal, budgetStop } = result;
  const left = embeddings.pending(o.model, o.since).length;
  const status: EmbedSummary['status'] =
    fatal !== undefined ? 'failed' : left === 0 ? 'completed' : result.open.length > 0 && !deps.signal?.aborted ? 'waiting' : 'interrupted';
  const stopReason = budgetStop?.reason ?? (deps.signal?.aborted ? 'signal' : undefined);
  // A batch out leaves the run open: the next invocation collects it.
  store.finishRun(
    runId,
    status === 'waiting' ? 'interrupted' : status,
    fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined),
  );
  const t = result.stages[EMBED]!;
  const open = result.open[0];
  const summary: EmbedSummary = {
    runId,
    status,
    model: o.model,
    text: 'instruction + "\\n" + input; a dialogue: its first two user turns',
    pendingAtStart: pendingAtStart.length,
    reused,
    embeddedNow: t.accepted,
    left,
    dimensions: embeddings.dimensions(o.model) ?? null,
    requests: t.requests,
    failedRequests: t.failedRequests,
    promptTokens: t.promptTokens,
    costUsd: budget.spentUsd - costAtStart,
    seconds: (performance.now() - started) / 1000,
    ...(status === 'interrupted' && stopReason !== undefined ? { stopReason } : {}),
    ...(status === 'interrupted' && budgetStop !== undefined ? { stopMessage: budgetStop.message } : {}),
    ...(open !== undefined && {
      openBatch: { id: open.id, providerBatchId: open.providerBatchId, status: open.providerStatus ?? open.status },
    }),
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
