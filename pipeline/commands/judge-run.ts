/**
 * `judge(options, deps)`: scores every output of accepted, non-seed tasks that this judge (model +
 * rubric sha256) has not scored yet — a task's own output, and each accepted answer of a two-stage
 * task (store/judgments.ts) — K per request, with bounded concurrency, the shared client (limiter,
 * retries), a budget, cost and events for the progress reporter.
 *
 * Crash safety: each reply and its judgments are one transaction, and what is pending is read from the
 * DB at start, so a kill -9 at any moment then the same command judges exactly what is left. Subjects a
 * reply leaves unmatched go back in the queue for a later request (up to `maxTries` per invocation).
 */
import { Budget } from '../budget.ts';
import type { LlmClient } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import { runStages } from '../runtime/online.ts';
import type { GenerateEvent } from '../runtime/progress.ts';
import { JudgeStage } from '../stages/judge.ts';
import { JudgmentStore, type JudgeSelection } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST } from '../judge/request.ts';
import { loadRubric, type Rubric } from '../judge/rubric.ts';
import { JudgeFailed, type JudgeSummary } from '../judge/summary.ts';

export { JudgeFailed, type JudgeSummary };

export interface JudgeOptions {
  /** Judge model. Default `gpt-4o-mini` (cheap and strong enough to grade short tasks). */
  model?: string;
  /** Default: `templates/judge_rubric.txt`. */
  rubric?: Rubric;
  /** Tasks per request (K). Default 10. */
  tasksPerRequest?: number;
  /** Requests in flight. Default 4. */
  concurrency?: number;
  /** Which tasks. Default: all. */
  since?: JudgeSelection['since'];
  sources?: readonly string[] | undefined;
  price?: Price | undefined;
  maxCostUsd?: number | undefined;
  maxRequests?: number | undefined;
  /** Requests (after retries) failing in a row that end the invocation. Default 20. */
  maxConsecutiveFailures?: number;
  /** Requests a task may go unmatched in, per invocation, before it is left for the next. Default 3. */
  maxTries?: number;
  /** Ask for `response_format: json_object`; turned off by itself after a 400 saying it is unsupported. Default true. */
  jsonMode?: boolean;
  /** After a stop signal, how long in-flight requests may finish. Default 10 000 ms. */
  drainTimeoutMs?: number;
  /** Stored with the judge run; no secrets. */
  runOptions?: Record<string, unknown>;
}

export const JUDGE_DEFAULTS = {
  model: DEFAULT_JUDGE_MODEL,
  tasksPerRequest: DEFAULT_JUDGE_TASKS_PER_REQUEST,
  concurrency: 4,
  maxConsecutiveFailures: 20,
  maxTries: 3,
  drainTimeoutMs: 10_000,
} as const;

export interface JudgeDeps {
  store: Store;
  llm: LlmClient;
  onEvent?: (event: GenerateEvent) => void;
  signal?: AbortSignal;
}

export async function judge(options: JudgeOptions, deps: JudgeDeps): Promise<JudgeSummary> {
  const { store } = deps;
  const started = performance.now();
  const model = options.model ?? JUDGE_DEFAULTS.model;
  const rubric = options.rubric ?? loadRubric();
  const maxTries = options.maxTries ?? JUDGE_DEFAULTS.maxTries;
  const judgments = new JudgmentStore(store);

  const key = { model, rubricSha256: rubric.sha256 };
  const selection = { since: options.since ?? 'all', sources: options.sources } as const;
  const pending = judgments.pendingSubjects(key, selection);
  const runId = judgeRun(store, judgments, {
    target: pending.length,
    model,
    options: { ...options.runOptions, rubricSha256: rubric.sha256 },
  });
  const budget = Budget.forRun({ maxCostUsd: options.maxCostUsd, maxRequests: options.maxRequests }, store.runTotals(runId).requests);
  const costAtStart = budget.spentUsd;
  const stage = new JudgeStage(store, {
    model,
    rubric,
    price: options.price,
    tasksPerRequest: options.tasksPerRequest ?? JUDGE_DEFAULTS.tasksPerRequest,
    maxTries,
    jsonMode: options.jsonMode ?? true,
    work: { kind: 'subjects', subjects: pending },
  });
  const result = await runStages(
    [stage],
    {
      runId,
      target: pending.length,
      acceptedAtStart: 0,
      concurrency: options.concurrency ?? JUDGE_DEFAULTS.concurrency,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? JUDGE_DEFAULTS.maxConsecutiveFailures,
      drainTimeoutMs: options.drainTimeoutMs ?? JUDGE_DEFAULTS.drainTimeoutMs,
    },
    { store, llm: deps.llm, budget, ...(deps.onEvent && { onEvent: deps.onEvent }), ...(deps.signal && { signal: deps.signal }) },
  );
  const { fatal, budgetStop } = result;
  const p = result.progress;

  const left = judgments.pendingSubjects(key, selection).length;
  const status: JudgeSummary['status'] = fatal !== undefined ? 'failed' : left === 0 ? 'completed' : 'interrupted';
  const stopReason = budgetStop?.reason ?? (deps.signal?.aborted ? 'signal' : stage.gaveUp > 0 || left > 0 ? 'unmatched' : undefined);
  const stopMessage =
    budgetStop?.message ??
    (stopReason === 'unmatched'
      ? `${left} output(s) still unjudged after ${maxTries} tries each (replies did not answer for them): run judge again`
      : undefined);
  store.finishRun(runId, status, fatal?.message ?? (status === 'interrupted' ? stopMessage : undefined));
  const summary: JudgeSummary = {
    runId,
    status,
    model,
    rubricSha256: rubric.sha256,
    pendingAtStart: pending.length,
    judgedNow: p.accepted,
    left,
    requests: p.requests,
    failedRequests: p.failedRequests,
    retried: stage.retried,
    promptTokens: p.promptTokens,
    completionTokens: p.completionTokens,
    costUsd: budget.spentUsd - costAtStart,
    runCostUsd: budget.spentUsd,
    seconds: (performance.now() - started) / 1000,
    scores: judgments.scoreSummary(key),
    ...(status === 'interrupted' && stopReason !== undefined ? { stopReason } : {}),
    ...(status === 'interrupted' && stopMessage !== undefined ? { stopMessage } : {}),
  };
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new JudgeFailed(fatal.message, summary);
  }
  return summary;
}

/** The latest judge run when unfinished (its budget spans invocations), else a new one. */
export function judgeRun(
  store: Store,
  judgments: JudgmentStore,
  run: { target: number; model: string; options: Record<string, unknown> },
): number {
  const latest = judgments.latestJudgeRun();
  const row = { ...run, mode: 'judge' };
  if (latest !== undefined && latest.status !== 'completed') {
    store.resumeRun(latest.id, row);
    return latest.id;
  }
  return store.createRun(row);
}
