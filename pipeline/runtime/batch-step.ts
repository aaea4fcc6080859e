/**
 * The Batch runner: one step per invocation, for any stages (the online runner's counterpart). A step
 * takes every open batch of the run as far as it goes (upload, create, poll; once the provider is done,
 * each result line is read and stored by the stage that wrote it), and when nothing is out asks each
 * stage for the work it has due and submits it, one batch per stage (one model and one route per batch).
 *
 * A line keeps its stage's unit of work as JSON, so the stage that reads the result needs nothing from
 * the invocation that wrote it. The stages do not know they run in batches: their `next`, `read` and
 * `store` are the ones the online runner calls. Exactness: work is submitted only while nothing is out,
 * so a stage's pending work, read from the store, never holds a unit already in a batch.
 */
import type { Budget, BudgetStop } from '../budget.ts';
import type { BatchApi } from '../llm/batch-api.ts';
import { costUsd } from '../llm/cost.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import { AttemptStore } from '../store/attempts.ts';
import { CHAT_ENDPOINT, EMBEDDINGS_ENDPOINT, type BatchRequestRow, type BatchRow, type NewBatchRequest } from '../store/batches.ts';
import type { Store } from '../store/store.ts';
import type { YieldGuard } from '../yield-guard.ts';
import { BatchJobs, fillBatch, readResultLine, storeLine, type LineAsked } from './batch.ts';
import type { StageTally } from './online.ts';
import { YieldGuardError } from './progress.ts';
import { insertFailure, type RequestBase } from './requests.ts';
import type { RunView, Stage, StageRequest } from '../stages/stage.ts';

/** Most lines in one batch (the API allows 50 000). */
const MAX_LINES = 50_000;

export interface BatchStepOptions {
  runId: number;
  /** How the log names the batches ("judge batch", "evolve batch"). */
  label: string;
  /** Sent as the batches' metadata and used in their file names. */
  kind: string;
  /** Goal items the run must have, and had before this step. */
  target: number;
  goalAcceptedAtStart: number;
  /** Lines per batch. Default 50 000. */
  maxLines?: number | undefined;
  /** Input file bytes per batch. Default the API's limit. */
  maxBytes?: number | undefined;
  /** Batches in a row that brought back no usable reply before the run fails. Default 3. */
  maxFailedBatches?: number;
  /** The stage of a batch written before batches named theirs (migration 13). */
  defaultStage?: string | ((batch: BatchRow) => string | undefined);
  /** Cancel the goal's and feeders' batches still out once the goal is met (a target lowered between steps). */
  cancelAtGoal?: boolean;
  /** A line written before lines kept their unit: its unit, rebuilt by the command. */
  restoreUnit?: (stage: Stage<any, any, any>, line: BatchRequestRow) => LineUnit | undefined;
}

export interface BatchStepDeps {
  store: Store;
  api: BatchApi;
  /** The run's budget; a function is called when the next batches are built, after this step's results are stored (their cost counted). */
  budget: Budget | (() => Budget);
  /** Watches the replies of guarded stages, in line order, from the run's latest stored ones. */
  guard?: YieldGuard;
  log?: (message: string, fields: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export interface BatchStepResult {
  goalAccepted: number;
  /** Batches of these stages still out after the step. */
  open: BatchRow[];
  /** Batches submitted in this step. */
  submitted: number;
  /** Nothing is out and no stage had work although the goal is short. */
  exhausted: boolean;
  /** The goal is met, nothing is out, and no stage had work left. */
  done: boolean;
  fatal?: Error;
  budgetStop?: BudgetStop;
  stages: Record<string, StageTally>;
}

/** What a line keeps of its request: the unit and the fields stored with the request's params. */
export interface LineUnit {
  unit: unknown;
  stored?: Record<string, unknown> | undefined;
}

/**
 * `makeStages` is called twice: for the results that came back, then again, after they are stored, for
 * the next submission, so each stage reads its pending work from the store as it is then.
 */
export async function runBatchStep(
  makeStages: () => readonly Stage<any, any, any>[],
  o: BatchStepOptions,
  deps: BatchStepDeps,
): Promise<BatchStepResult> {
  const { store, api } = deps;
  let budget: Budget | undefined;
  let stages = makeStages();
  const attempts = new AttemptStore(store);
  const log = (message: string, fields: Record<string, unknown> = {}): void => deps.log?.(message, fields);
  const aborted = (): boolean => deps.signal?.aborted ?? false;
  const defaultStage = (batch: BatchRow): string | undefined =>
    typeof o.defaultStage === 'function' ? o.defaultStage(batch) : o.defaultStage;
  const stageOf = (batch: BatchRow): Stage<any, any, any> | undefined =>
    stages.find((s) => s.name === (batch.stage ?? defaultStage(batch)));
  const tallies: Record<string, StageTally> = {};
  for (const s of stages)
    tallies[s.name] = { requests: 0, failedRequests: 0, accepted: 0, rejected: {}, promptTokens: 0, completionTokens: 0 };
  let goalAccepted = o.goalAcceptedAtStart;
  const lineCounts = new Map<string, number>();
  const view = (idle: boolean): RunView => ({
    target: o.target,
    goalAccepted,
    inFlight: (name) => lineCounts.get(name) ?? 0,
    idle,
    overAsk: true,
  });

  const unitOf = (stage: Stage<any, any, any>, line: BatchRequestRow): LineUnit | undefined => {
    if (line.unitJson === null) return o.restoreUnit?.(stage, line);
    try {
      return JSON.parse(line.unitJson) as LineUnit;
    } catch {
      return undefined;
    }
  };
  const baseOf = (batch: BatchRow, line: BatchRequestRow, stored: Record<string, unknown> | undefined): RequestBase => {
    const params = JSON.parse(line.paramsJson) as Record<string, unknown>;
    return {
      runId: o.runId,
      templateId: line.templateId,
      model: String(params.model),
      messages: (JSON.parse(line.messagesJson) as unknown) ?? [],
      params: stored === undefined ? params : { ...params, ...stored },
      batchId: batch.id,
    };
  };
  const asked = (line: BatchRequestRow | undefined, endpoint: string): LineAsked => {
    if (line === undefined) return { maxTokens: 0 };
    const params = JSON.parse(line.paramsJson) as { max_tokens?: number; input?: unknown[] };
    if (endpoint === EMBEDDINGS_ENDPOINT) return { maxTokens: 0, embeddings: { count: params.input?.length ?? 0 } };
    return { maxTokens: params.max_tokens ?? 0 };
  };

  const jobs = new BatchJobs(store, api, {
    runId: o.runId,
    label: o.label,
    metadata: { zhsi_kind: o.kind },
    fileName: (id) => `zhsi-${o.kind}-run${o.runId}-batch${id}.jsonl`,
    log,
    aborted,
    ingest: (batch, text) => {
      const stage = stageOf(batch)!;
      const read = readResultLine(text, batch.submittedAt ?? batch.createdAt, (id) =>
        asked(id === undefined ? undefined : jobs.batches.line(id), batch.endpoint),
      );
      const line = read?.lineId === undefined ? undefined : jobs.batches.line(read.lineId);
      if (read === undefined || line === undefined || line.batchId !== batch.id || line.requestId !== null) return 'skipped';
      const kept = unitOf(stage, line);
      // A line whose unit cannot be read back is left unanswered: stored as failed once the batch is done.
      if (kept === undefined) return 'skipped';
      const { result } = read;
      const usage = result.kind === 'reply' ? result.reply.usage : null;
      const cost = stage.price === undefined || usage === null ? null : costUsd(usage, stage.price, true);
      const tally = tallies[stage.name]!;
      tally.requests++;
      const stored = storeLine(store, attempts, stage, kept.unit, baseOf(batch, line, kept.stored), result, cost, view(false), line);
      if (stored === undefined || result.kind === 'failed') {
        tally.failedRequests++;
        return 'error';
      }
      const { outcome, reading } = stored;
      tally.promptTokens += usage?.promptTokens ?? 0;
      tally.completionTokens += usage?.completionTokens ?? 0;
      tally.accepted += outcome.accepted;
      for (const [reason, n] of Object.entries(outcome.rejected)) tally.rejected[reason] = (tally.rejected[reason] ?? 0) + n;
      goalAccepted += (stage.role === 'goal' ? outcome.accepted : 0) - (outcome.revoked ?? 0);
      stage.afterStore?.(kept.unit, outcome, reading);
      if (outcome.accepted > 0) for (const other of stages) if (other !== stage) other.notice?.(stage.name, outcome);
      if (stage.guarded && result.kind === 'reply' && 'content' in result.reply) {
        deps.guard?.record({
          content: result.reply.content,
          accepted: outcome.accepted,
          rejected: outcome.rejected,
          parseProblems: outcome.parseProblems ?? reading.problems,
        });
      }
      return 'ok';
    },
    missing: (batch, line, error) => {
      const stage = stageOf(batch)!;
      const kept = unitOf(stage, line);
      const id = insertFailure(store, attempts, baseOf(batch, line, kept?.stored), { error, attempts: 1, attemptLog: [] });
      if (kept !== undefined) stage.mark?.(kept.unit, id);
      jobs.batches.linkResult(line.id, id);
      tallies[stage.name]!.requests++;
      tallies[stage.name]!.failedRequests++;
    },
    ingested: (batch, provider, c) =>
      log(`${o.label} ${batch.id}: ${provider.status}; stored ${c.ok} replies, ${c.error + c.missing} failed`, {
        batchId: batch.id,
        stage: batch.stage,
        ok: c.ok,
        error: c.error,
        skipped: c.skipped,
        missing: c.missing,
      }),
  });
  const ours = (): BatchRow[] => jobs.batches.openBatches(o.runId).filter((b) => stageOf(b) !== undefined);

  /** One batch of a stage's due work; the budget's refusal, if any. */
  const submit = async (stage: Stage<any, any, any>, idle: boolean): Promise<{ lines: number; stop: BudgetStop | undefined }> => {
    let endpoint = CHAT_ENDPOINT;
    const worst = (request: StageRequest<unknown>): number => {
      if (stage.price === undefined) return 0;
      const counter = tokenCounterFor(request.params?.model ?? request.embedding!.model);
      const prompt =
        request.embedding === undefined
          ? counter.countChat(request.messages)
          : request.embedding.input.reduce((n, t) => n + counter.count(t), 0);
      return costUsd({ promptTokens: prompt, completionTokens: request.params?.max_tokens ?? 0 }, stage.price, true);
    };
    const pending = new Map<NewBatchRequest, StageRequest<unknown>>();
    budget ??= typeof deps.budget === 'function' ? deps.budget() : deps.budget;
    const filled = fillBatch(
      budget,
      o.maxLines ?? MAX_LINES,
      o.maxBytes ?? Number.POSITIVE_INFINITY,
      () => {
        const request = stage.next(view(idle)) as StageRequest<unknown> | undefined;
        if (request === undefined) return undefined;
        if (request.embedding !== undefined) endpoint = EMBEDDINGS_ENDPOINT;
        lineCounts.set(stage.name, (lineCounts.get(stage.name) ?? 0) + 1);
        const line = toLine(stage, request);
        pending.set(line, request);
        return line;
      },
      (line) => worst(pending.get(line)!),
      () => endpoint,
    );
    if (filled.last !== undefined) {
      // Taken from the stage but not sent: it stays the stage's pending work.
      lineCounts.set(stage.name, (lineCounts.get(stage.name) ?? 1) - 1);
      stage.release(pending.get(filled.last)!.unit, undefined);
    }
    if (filled.requests.length === 0) return { lines: 0, stop: filled.stop };
    const batch = jobs.create(filled.requests, undefined, { stage: stage.name, endpoint });
    const estimates = stage.estimates?.() ?? {};
    const said = Object.entries(estimates).map(([k, v]) => `${k} ≈${Number(v.toFixed(2))}`);
    log(`${o.label} ${batch.id}: built ${filled.requests.length} ${stage.name} requests${said.length > 0 ? ` (${said.join(', ')})` : ''}`, {
      batchId: batch.id,
      stage: stage.name,
      requests: filled.requests.length,
      goalAccepted,
      target: o.target,
      ...estimates,
    });
    await jobs.advance(batch);
    return { lines: filled.requests.length, stop: filled.stop };
  };

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  let submitted = 0;
  let exhausted = false;
  try {
    for (const batch of ours()) {
      if (aborted()) break;
      await jobs.advance(batch);
    }
    // The goal is met (say, the target was lowered) with goal work still out: stop paying for it.
    if (o.cancelAtGoal && !aborted() && goalAccepted >= o.target) {
      for (const batch of ours()) {
        if (stageOf(batch)?.role !== 'follower') await jobs.cancel(batch, `the run has its ${o.target}`);
      }
    }
    if (deps.guard?.stop !== undefined) {
      // A finished batch whose replies brought nothing fails the run before the next one is sent.
      fatal = new YieldGuardError(deps.guard.stop);
    } else if (!aborted() && ours().length === 0) {
      const maxFailed = o.maxFailedBatches ?? 3;
      const recent = jobs.batches.recentOkCounts(o.runId, maxFailed);
      if (recent.length >= maxFailed && recent.every((ok) => ok === 0)) {
        const last = jobs.batches.batchesOfRun(o.runId).at(-1);
        const why = last === undefined ? '' : `; last: ${last.providerStatus ?? last.status}${last.error ? ` (${last.error})` : ''}`;
        fatal = new Error(`${recent.length} ${o.label}es in a row brought back no usable reply${why}`);
      } else {
        // As online: each stage asks for what is due; when none has anything and the goal is short, once
        // more as idle (a feeder's estimate of what is coming was too hopeful).
        stages = makeStages();
        for (const idle of [false, true]) {
          for (const stage of stages) {
            if (budgetStop !== undefined || aborted()) break;
            if (stage.role !== 'follower' && goalAccepted >= o.target) continue;
            const { lines, stop } = await submit(stage, idle);
            if (lines > 0) submitted++;
            budgetStop ??= stop;
          }
          if (submitted > 0 || goalAccepted >= o.target || budgetStop !== undefined) break;
        }
        exhausted = submitted === 0 && budgetStop === undefined && goalAccepted < o.target;
      }
    }
  } catch (err) {
    fatal = err instanceof Error ? err : new Error(String(err));
  }
  const open = ours();
  const done =
    fatal === undefined && budgetStop === undefined && !aborted() && open.length === 0 && submitted === 0 && goalAccepted >= o.target;
  const result: BatchStepResult = { goalAccepted, open, submitted, exhausted, done, stages: tallies };
  if (fatal !== undefined) result.fatal = fatal;
  if (budgetStop !== undefined) result.budgetStop = budgetStop;
  return result;
}

/** A stage request as a batch line: a chat completion, or embeddings ({model, input}). */
function toLine(stage: Stage<any, any, any>, request: StageRequest<unknown>): NewBatchRequest {
  const unit: LineUnit = { unit: request.unit, ...(request.stored !== undefined && { stored: request.stored }) };
  if (request.embedding !== undefined) {
    return {
      templateId: stage.templateId,
      messages: null,
      params: { model: request.embedding.model, input: request.embedding.input },
      unit,
    };
  }
  return { templateId: stage.templateId, messages: request.messages, params: request.params, unit };
}
