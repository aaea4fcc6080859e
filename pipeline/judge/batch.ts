/**
 * `judge --batch`: one step per invocation, as `generate --batch`. Open judge batches are taken as far as
 * they go (upload, create, poll; once done, each result line is parsed and stored with its judgments
 * and its input line marked answered, in one transaction); when nothing is out and outputs are pending
 * (tasks' own, answers: store/judgments.ts), the next batch (K per line, at batch prices within
 * --max-cost) is built, stored and submitted. Subjects a line left unmatched are simply still pending
 * and go into the next batch.
 */
import { Budget, type BudgetStop } from '../budget.ts';
import type { BatchApi } from '../llm/batch-api.ts';
import { costUsd } from '../llm/cost.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import type { ChatParams } from '../llm.ts';
import { BatchJobs, readResultLine, storeLine } from '../runtime/batch.ts';
import { JudgeStage } from '../stages/judge.ts';
import { AttemptStore } from '../store/attempts.ts';
import { BatchStore, type BatchRequestRow, type BatchRow, type NewBatchRequest } from '../store/batches.ts';
import { batchLineTasks, jsonModeRefused, JudgmentStore, setBatchLineTasks, type JudgeSubject } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { judgeMessages, judgeParams, storedSubjects, subjectOf } from './request.ts';
import { loadRubric } from './rubric.ts';
import { JUDGE_DEFAULTS, JudgeFailed, judgeRun, type JudgeOptions, type JudgeSummary } from './run.ts';

export interface JudgeBatchDeps {
  store: Store;
  api: BatchApi;
  log?: (message: string, fields: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

/** Most lines in one judge batch (the API allows 50 000). */
const MAX_LINES = 50_000;
const MAX_FAILED_BATCHES = 3;

export async function judgeBatchStep(options: JudgeOptions, deps: JudgeBatchDeps): Promise<JudgeSummary> {
  const { store, api } = deps;
  const started = performance.now();
  const log = (message: string, fields: Record<string, unknown> = {}): void => deps.log?.(message, fields);
  const aborted = (): boolean => deps.signal?.aborted ?? false;
  const model = options.model ?? JUDGE_DEFAULTS.model;
  const rubric = options.rubric ?? loadRubric();
  const k = options.tasksPerRequest ?? JUDGE_DEFAULTS.tasksPerRequest;
  const key = { model, rubricSha256: rubric.sha256 };
  const selection = { since: options.since ?? 'all', sources: options.sources } as const;
  const judgments = new JudgmentStore(store);
  const batches = new BatchStore(store);
  const attempts = new AttemptStore(store);

  const pendingAtStart = judgments.pendingSubjects(key, selection).length;
  const runId = judgeRun(store, judgments, {
    target: pendingAtStart,
    model,
    options: { ...options.runOptions, rubricSha256: rubric.sha256, batch: true },
  });
  const totalsAtStart = store.runTotals(runId).requests;
  const judgedAtStart = judgments.countJudgments(key);
  // A server that refused response_format for an earlier line gets the next batch without it.
  const jsonMode = (options.jsonMode ?? true) && !jsonModeRefused(store, runId);
  const templateId = store.templateId(rubric.name, rubric.sha256, rubric.content);

  // The same judge stage as online reads each result line and stores its judgments.
  const stage = new JudgeStage(store, {
    model,
    rubric,
    price: options.price,
    tasksPerRequest: k,
    maxTries: 1,
    jsonMode,
    work: { kind: 'subjects', subjects: [] },
  });
  /** A line's unit: its subjects under ids 1..K (their text is not needed to read the reply). */
  const unitOf = (lineId: number) => ({
    tasks: batchLineTasks(store, lineId).map((s) => ({ ...s, instruction: '', input: '', output: '' })),
  });
  const baseOf = (batch: BatchRow, line: BatchRequestRow, subjects: readonly JudgeSubject[]) => {
    const params = JSON.parse(line.paramsJson) as ChatParams;
    return {
      runId,
      templateId: line.templateId,
      model: params.model,
      messages: JSON.parse(line.messagesJson) as unknown,
      params: { ...params, judge: { ...storedSubjects(subjects), rubricSha256: rubric.sha256 } },
      batchId: batch.id,
    };
  };
  const view = { target: 0, goalAccepted: 0, inFlight: () => 0, idle: false };

  const jobs = new BatchJobs(store, api, {
    runId,
    label: 'judge batch',
    metadata: { zhsi_kind: 'judge' },
    fileName: (id) => `zhsi-judge-run${runId}-batch${id}.jsonl`,
    log,
    aborted,
    ingest: (batch, text) => {
      const read = readResultLine(text, batch.submittedAt ?? batch.createdAt, (id) => {
        const l = id === undefined ? undefined : batches.line(id);
        return l === undefined ? 0 : (JSON.parse(l.paramsJson) as ChatParams).max_tokens;
      });
      const line = read?.lineId === undefined ? undefined : batches.line(read.lineId);
      if (read === undefined || line === undefined || line.batchId !== batch.id || line.requestId !== null) return 'skipped';
      const unit = unitOf(line.id);
      const u = read.result.kind === 'reply' ? read.result.reply.usage : null;
      const cost = options.price === undefined || u === null ? null : costUsd(u, options.price, true);
      storeLine(store, attempts, stage, unit, baseOf(batch, line, unit.tasks), read.result, cost, view, line);
      return read.result.kind === 'reply' ? 'ok' : 'error';
    },
    missing: (batch, line, error) => {
      const base = baseOf(batch, line, batchLineTasks(store, line.id));
      const id = store.insertRequest({ ...base, params: JSON.parse(line.paramsJson) as unknown, status: 'error', attempts: 1, error });
      judgments.markJudgeRequest(id);
      batches.linkResult(line.id, id);
    },
    ingested: (batch, provider, c) =>
      log(`judge batch ${batch.id}: ${provider.status}; stored ${c.ok} replies, ${c.error + c.missing} failed`, {
        batchId: batch.id,
        ok: c.ok,
        error: c.error,
        skipped: c.skipped,
        missing: c.missing,
      }),
  });
  const advance = (batch: BatchRow): Promise<void> => jobs.advance(batch);

  const submit = async (): Promise<BudgetStop | undefined> => {
    const pending = judgments.pendingSubjects(key, selection);
    const budget = Budget.forRun({ maxCostUsd: options.maxCostUsd, maxRequests: options.maxRequests }, store.runTotals(runId).requests);
    const counter = options.price !== undefined && options.maxCostUsd !== undefined ? tokenCounterFor(model) : undefined;
    const lines: { request: NewBatchRequest; subjects: JudgeSubject[] }[] = [];
    let stop: BudgetStop | undefined;
    for (let i = 0; i < pending.length && lines.length < MAX_LINES; i += k) {
      const tasks = judgments.tasks(pending.slice(i, i + k));
      const messages = judgeMessages(rubric, tasks);
      const params = judgeParams({ model }, tasks.length, jsonMode);
      const worst =
        counter === undefined || options.price === undefined
          ? 0
          : costUsd({ promptTokens: counter.countChat(messages), completionTokens: params.max_tokens }, options.price, true);
      stop = budget.check(worst);
      if (stop !== undefined) break;
      budget.start(worst);
      lines.push({ request: { templateId, messages, params }, subjects: tasks.map(subjectOf) });
    }
    if (lines.length === 0) return stop;
    const batch = jobs.create(
      lines.map((l) => l.request),
      (rows) => rows.forEach((row, i) => setBatchLineTasks(store, row.id, lines[i]!.subjects)),
    );
    log(`judge batch ${batch.id}: built ${lines.length} requests for ${lines.reduce((n, l) => n + l.subjects.length, 0)} outputs`, {
      batchId: batch.id,
      requests: lines.length,
    });
    await advance(batch);
    return stop;
  };

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  try {
    for (const batch of batches.openBatches(runId)) {
      if (aborted()) break;
      await advance(batch);
    }
    if (!aborted() && batches.openBatches(runId).length === 0 && judgments.pendingSubjects(key, selection).length > 0) {
      const recent = batches.recentOkCounts(runId, MAX_FAILED_BATCHES);
      if (recent.length >= MAX_FAILED_BATCHES && recent.every((ok) => ok === 0)) {
        fatal = new Error(`${recent.length} judge batches in a row brought back no usable reply`);
      } else {
        budgetStop = await submit();
      }
    }
  } catch (err) {
    fatal = err instanceof Error ? err : new Error(String(err));
  }

  const open = batches.openBatches(runId);
  const left = judgments.pendingSubjects(key, selection).length;
  const status: JudgeSummary['status'] =
    fatal !== undefined
      ? 'failed'
      : left === 0 && open.length === 0
        ? 'completed'
        : open.length > 0 && !aborted()
          ? 'waiting'
          : 'interrupted';
  const stopMessage = budgetStop?.message;
  store.finishRun(runId, status === 'waiting' ? 'interrupted' : status, fatal?.message ?? stopMessage);
  const totals = store.runTotals(runId).requests;
  const summary: JudgeSummary = {
    runId,
    status,
    model,
    rubricSha256: rubric.sha256,
    pendingAtStart,
    judgedNow: judgments.countJudgments(key) - judgedAtStart,
    left,
    requests: totals.total - totalsAtStart.total,
    failedRequests: totals.failed - totalsAtStart.failed,
    retried: 0,
    promptTokens: totals.promptTokens - totalsAtStart.promptTokens,
    completionTokens: totals.completionTokens - totalsAtStart.completionTokens,
    costUsd: totals.costUsd - totalsAtStart.costUsd,
    runCostUsd: totals.costUsd,
    seconds: (performance.now() - started) / 1000,
    scores: judgments.scoreSummary(key),
    ...(status === 'interrupted' ? { stopReason: budgetStop?.reason ?? 'signal' } : {}),
    ...(stopMessage !== undefined ? { stopMessage } : {}),
    ...(open.length > 0
      ? { openBatch: { id: open[0]!.id, providerBatchId: open[0]!.providerBatchId, status: open[0]!.providerStatus ?? open[0]!.status } }
      : {}),
  };
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new JudgeFailed(fatal.message, summary);
  }
  return summary;
}
