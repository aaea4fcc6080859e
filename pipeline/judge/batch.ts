/**
 * `judge --batch`: one step per invocation, as `generate --batch`. Open judge batches are taken as far as
 * they go (upload, create, poll; once done, each result line is parsed and stored with its judgments
 * and its input line marked answered, in one transaction); when nothing is out and outputs are pending
 * (tasks' own, answers: store/judgments.ts), the next batch (K per line, at batch prices within
 * --max-cost) is built, stored and submitted. Subjects a line left unmatched are simply still pending
 * and go into the next batch.
 */
import { inputLine } from '../batch.ts';
import { Budget, type BudgetStop } from '../budget.ts';
import { TERMINAL_BATCH_STATUSES, type BatchApi, type ProviderBatch } from '../llm/batch-api.ts';
import { costUsd } from '../llm/cost.ts';
import { kindForStatus } from '../llm/errors.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import type { ChatParams } from '../llm.ts';
import { AttemptStore } from '../store/attempts.ts';
import { BatchStore, parseCustomId, type BatchRow, type NewBatchRequest } from '../store/batches.ts';
import { batchLineTasks, jsonModeRefused, JudgmentStore, setBatchLineTasks, type JudgeSubject } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { parseJudgeReply } from './parse.ts';
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

  const ingestLine = (batch: BatchRow, text: string): 'ok' | 'error' | 'skipped' => {
    let out: {
      custom_id?: unknown;
      response?: { status_code?: number; body?: BatchBody } | null;
      error?: { code?: string; message?: string } | null;
    };
    try {
      out = JSON.parse(text) as typeof out;
    } catch {
      return 'skipped';
    }
    const lineId = parseCustomId(out.custom_id);
    const line = lineId === undefined ? undefined : batches.line(lineId);
    if (line === undefined || line.batchId !== batch.id || line.requestId !== null) return 'skipped';
    const params = JSON.parse(line.paramsJson) as ChatParams;
    const subjects = batchLineTasks(store, line.id);
    const base = {
      runId,
      templateId: line.templateId,
      model: params.model,
      messages: JSON.parse(line.messagesJson) as unknown,
      params: { ...params, judge: { ...storedSubjects(subjects), rubricSha256: rubric.sha256 } },
      batchId: batch.id,
    };
    const attempt = (status: number | null, errorKind: string | null) => [
      {
        attempt: 1,
        startedAt: batch.submittedAt ?? batch.createdAt,
        status,
        latencyMs: null,
        errorKind,
        waitMs: 0,
        maxTokens: params.max_tokens,
      },
    ];
    const status = out.response?.status_code;
    const body = out.response?.body;
    if (status === 200 && body !== undefined && Array.isArray(body.choices)) {
      const choice = body.choices[0];
      const content = choice?.message?.content ?? '';
      const u = body.usage ?? null;
      const cost =
        options.price === undefined || u === null
          ? null
          : costUsd({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens }, options.price, true);
      const parse = parseJudgeReply(
        content,
        subjects.map((_, i) => i + 1),
      );
      store.transaction(() => {
        const id = store.insertRequest({
          ...base,
          status: 'ok',
          rawReply: content,
          finishReason: choice?.finish_reason ?? null,
          promptTokens: u?.prompt_tokens,
          completionTokens: u?.completion_tokens,
          totalTokens: u?.total_tokens,
          attempts: 1,
          replyShape: `judge:${parse.shape}`,
          parseProblems: parse.problems,
          costUsd: cost,
        });
        judgments.markJudgeRequest(id);
        attempts.insertAttempts(id, attempt(200, null));
        judgments.insertJudgments(
          id,
          key,
          [...parse.judged].map(([pid, judgment]) => ({ ...subjects[pid - 1]!, judgment })),
        );
        batches.linkResult(line.id, id);
      });
      return 'ok';
    }
    const kind = out.error ? 'other' : kindForStatus(status, body?.error?.code);
    const error = out.error
      ? `${out.error.code ?? 'error'}: ${out.error.message ?? 'no message'}`
      : `${kind}: ${body?.error?.message ?? `status ${status ?? 'none'}`}`;
    store.transaction(() => {
      const id = store.insertRequest({ ...base, status: 'error', error, attempts: 1 });
      judgments.markJudgeRequest(id);
      attempts.insertAttempts(id, attempt(status ?? null, kind));
      batches.linkResult(line.id, id);
    });
    return 'error';
  };

  const ingestBatch = async (batch: BatchRow, provider: ProviderBatch): Promise<void> => {
    const counts = { ok: 0, error: 0, skipped: 0 };
    for (const fileId of [provider.output_file_id, provider.error_file_id]) {
      if (fileId === null || fileId === undefined || fileId === '') continue;
      for await (const text of api.fileLines(fileId)) {
        if (aborted()) return;
        counts[ingestLine(batch, text)]++;
      }
    }
    if (aborted()) return;
    const missing = store.transaction(() => {
      const unanswered = batches.unanswered(batch.id);
      for (const line of unanswered) {
        const id = store.insertRequest({
          runId,
          templateId: line.templateId,
          model,
          messages: JSON.parse(line.messagesJson) as unknown,
          params: JSON.parse(line.paramsJson) as unknown,
          batchId: batch.id,
          status: 'error',
          attempts: 1,
          error: `batch: no result (batch ${provider.status})`,
        });
        judgments.markJudgeRequest(id);
        batches.linkResult(line.id, id);
      }
      batches.markIngested(batch.id);
      return unanswered.length;
    });
    log(`judge batch ${batch.id}: ${provider.status}; stored ${counts.ok} replies, ${counts.error + missing} failed`, {
      batchId: batch.id,
      ...counts,
      missing,
    });
  };

  const advance = async (batch: BatchRow): Promise<void> => {
    let row = batch;
    if (row.status === 'preparing' && !aborted()) {
      const content = Buffer.from([...batches.lines(row.id)].map((l) => inputLine(l.id, l.paramsJson, l.messagesJson)).join(''));
      const file = await api.uploadFile(content, `zhsi-judge-run${runId}-batch${row.id}.jsonl`);
      batches.setUploaded(row.id, file.id, content.length);
      row = batches.get(row.id)!;
    }
    if (row.status === 'uploaded' && !aborted()) {
      const made = await api.createBatch(row.inputFileId!, { zhsi_run: String(runId), zhsi_batch: String(row.id), zhsi_kind: 'judge' });
      batches.setSubmitted(row.id, made.id, made.status);
      log(`judge batch ${row.id}: submitted as ${made.id} (${made.status})`, { batchId: row.id, providerBatchId: made.id });
      row = batches.get(row.id)!;
    }
    if (row.status === 'submitted' && !aborted()) {
      const provider = await api.retrieveBatch(row.providerBatchId!);
      const finished = TERMINAL_BATCH_STATUSES.includes(provider.status);
      batches.updateProvider(row.id, {
        providerStatus: provider.status,
        outputFileId: provider.output_file_id ?? null,
        errorFileId: provider.error_file_id ?? null,
        finished,
        error: provider.errors?.data?.[0]?.message ?? null,
      });
      if (finished) await ingestBatch(row, provider);
    }
  };

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
    const batchId = store.transaction(() => {
      const id = batches.createBatch(
        runId,
        lines.map((l) => l.request),
      );
      [...batches.lines(id)].forEach((row, i) => setBatchLineTasks(store, row.id, lines[i]!.subjects));
      return id;
    });
    log(`judge batch ${batchId}: built ${lines.length} requests for ${lines.reduce((n, l) => n + l.subjects.length, 0)} outputs`, {
      batchId,
      requests: lines.length,
    });
    await advance(batches.get(batchId)!);
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

interface BatchBody {
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  error?: { message?: string; code?: string };
}
