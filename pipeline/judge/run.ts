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
import { PipelineError } from '../errors.ts';
import { setMaxListeners } from 'node:events';
import { Budget, type BudgetStop } from '../budget.ts';
import type { LlmClient } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { GenerateEvent, Progress } from '../online.ts';
import { JudgmentStore, type JudgeSelection, type JudgeSubject, type ScoreSummary } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST, JudgeRequester } from './request.ts';
import { loadRubric, type Rubric } from './rubric.ts';

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

export interface JudgeSummary {
  runId: number;
  /** 'waiting': --batch, a batch is out; run again later to collect it. */
  status: 'completed' | 'interrupted' | 'failed' | 'waiting';
  model: string;
  rubricSha256: string;
  /** Outputs (tasks' own, answers) pending when this invocation started. */
  pendingAtStart: number;
  judgedNow: number;
  /** Pending when it ended (unmatched, failed, or not reached). */
  left: number;
  requests: number;
  failedRequests: number;
  /** Outputs sent again because a reply did not answer for them. */
  retried: number;
  promptTokens: number;
  completionTokens: number;
  /** This invocation's spending, and the judge run's over all invocations. */
  costUsd: number;
  runCostUsd: number;
  seconds: number;
  scores: ScoreSummary;
  stopReason?: 'signal' | 'unmatched' | BudgetStop['reason'];
  stopMessage?: string;
  error?: string;
  /** --batch: the batch still out. */
  openBatch?: { id: number; providerBatchId: string | null; status: string };
}

/** The judge run failed (category `failed`); its summary says how far it got. */
export class JudgeFailed extends PipelineError {
  override name = 'JudgeFailed';
  constructor(
    message: string,
    readonly summary: JudgeSummary,
  ) {
    super('failed', message);
  }
}

export async function judge(options: JudgeOptions, deps: JudgeDeps): Promise<JudgeSummary> {
  const { store } = deps;
  const started = performance.now();
  const model = options.model ?? JUDGE_DEFAULTS.model;
  const rubric = options.rubric ?? loadRubric();
  const k = options.tasksPerRequest ?? JUDGE_DEFAULTS.tasksPerRequest;
  const concurrency = options.concurrency ?? JUDGE_DEFAULTS.concurrency;
  const maxTries = options.maxTries ?? JUDGE_DEFAULTS.maxTries;
  const maxFailures = options.maxConsecutiveFailures ?? JUDGE_DEFAULTS.maxConsecutiveFailures;
  const judgments = new JudgmentStore(store);

  const key = { model, rubricSha256: rubric.sha256 };
  const pending = judgments.pendingSubjects(key, { since: options.since ?? 'all', sources: options.sources });
  const runId = judgeRun(store, judgments, {
    target: pending.length,
    model,
    options: { ...options.runOptions, rubricSha256: rubric.sha256 },
  });
  const budget = Budget.forRun({ maxCostUsd: options.maxCostUsd, maxRequests: options.maxRequests }, store.runTotals(runId).requests);
  const costAtStart = budget.spentUsd;
  const requester = new JudgeRequester(
    { model, rubric, runId, price: options.price },
    { store, llm: deps.llm, budget },
    options.jsonMode ?? true,
  );

  const queue = new TaskQueue(pending);
  const tries = new Map<string, number>();
  const p: Progress = {
    runId,
    target: pending.length,
    accepted: 0,
    acceptedAtStart: 0,
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
  deps.onEvent?.({ type: 'start', progress: snapshot(), resumed: false, indexSize: 0 });

  const cancel = new AbortController();
  setMaxListeners(concurrency * 4 + 10, cancel.signal);
  let drainTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: 'stop signal' });
    drainTimer = setTimeout(() => cancel.abort(), options.drainTimeoutMs ?? JUDGE_DEFAULTS.drainTimeoutMs);
  };
  if (deps.signal?.aborted) onStop();
  else deps.signal?.addEventListener('abort', onStop, { once: true });

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  let budgetBlocked = false;
  let consecutiveFailures = 0;
  let retried = 0;
  let gaveUp = 0;

  const oneRequest = async (ids: JudgeSubject[]): Promise<void> => {
    const tasks = judgments.tasks(ids);
    const outcome = await requester.judge(tasks, cancel.signal);
    if (outcome.kind === 'refused') {
      queue.returnFront(ids);
      if (budget.inFlight > 0) budgetBlocked = true;
      else if (budgetStop === undefined) {
        budgetStop = outcome.stop;
        deps.onEvent?.({ type: 'stopping', progress: { ...snapshot(), inFlight: 0 }, reason: outcome.stop.message });
      }
      return;
    }
    budgetBlocked = false;
    p.requests++;
    p.costUsd = budget.spentUsd;
    if (outcome.kind === 'failed') {
      queue.returnBack(ids);
      p.failedRequests++;
      const message = `${outcome.error.kind}: ${outcome.error.message}`;
      deps.onEvent?.({ type: 'request-failed', progress: snapshot(), requestId: outcome.requestId, error: message });
      if (outcome.error.kind === 'aborted') return;
      consecutiveFailures++;
      if (outcome.error.kind === 'auth') fatal = new Error(`the model API refused the key: ${outcome.error.message}`);
      else if (outcome.error.kind === 'quota')
        fatal = new Error(`the model API says the account is out of quota: ${outcome.error.message}`);
      else if (consecutiveFailures >= maxFailures)
        fatal = new Error(`${consecutiveFailures} judge requests in a row failed; last error: ${message}`);
      return;
    }
    consecutiveFailures = 0;
    p.accepted += outcome.added;
    p.promptTokens += outcome.promptTokens;
    p.completionTokens += outcome.completionTokens;
    const again: JudgeSubject[] = [];
    for (const id of outcome.missing) {
      const subject = `${id.taskId}:${id.answerId ?? ''}`;
      const n = (tries.get(subject) ?? 0) + 1;
      tries.set(subject, n);
      if (n < maxTries) again.push(id);
      else gaveUp++;
    }
    retried += again.length;
    queue.returnBack(again);
    deps.onEvent?.({ type: 'reply', progress: snapshot(), requestId: outcome.requestId, newlyAccepted: outcome.added });
  };

  const finished = (): boolean => fatal !== undefined || budgetStop !== undefined || (deps.signal?.aborted ?? false);
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (finished() || (queue.size === 0 && p.inFlight === 0)) {
        if (p.inFlight === 0) resolve();
        return;
      }
      while (p.inFlight < concurrency && queue.size > 0 && !budgetBlocked && !finished()) {
        const ids = queue.take(k);
        p.inFlight++;
        void oneRequest(ids)
          .catch((err: unknown) => {
            fatal ??= err instanceof Error ? err : new Error(String(err));
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

  const left = judgments.pendingSubjects(key, { since: options.since ?? 'all', sources: options.sources }).length;
  const status: JudgeSummary['status'] = fatal !== undefined ? 'failed' : left === 0 ? 'completed' : 'interrupted';
  const stopReason = budgetStop?.reason ?? (deps.signal?.aborted ? 'signal' : gaveUp > 0 || left > 0 ? 'unmatched' : undefined);
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
    retried,
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

/** Subjects waiting for a request: taken from the front, unanswered ones put back. */
class TaskQueue {
  private items: JudgeSubject[];
  private head = 0;

  constructor(ids: readonly JudgeSubject[]) {
    this.items = [...ids];
  }

  get size(): number {
    return this.items.length - this.head;
  }

  take(n: number): JudgeSubject[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  returnFront(ids: readonly JudgeSubject[]): void {
    if (ids.length <= this.head) {
      this.head -= ids.length;
      ids.forEach((id, i) => (this.items[this.head + i] = id));
    } else {
      this.items = [...ids, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  returnBack(ids: readonly JudgeSubject[]): void {
    this.items.push(...ids);
  }
}
