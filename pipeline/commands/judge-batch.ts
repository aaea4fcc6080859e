/**
 * `judge --batch`: one step per invocation of the Batch runner (runtime/batch-step.ts) with the judge
 * stage: open judge batches are taken as far as they go, each result line stored with its judgments;
 * when nothing is out and outputs are pending (tasks' own, answers: store/judgments.ts), the next batch
 * (K per line, at batch prices within --max-cost) is submitted. Subjects a line left unmatched are simply
 * still pending and go into the next batch.
 */
import { Budget } from '../budget.ts';
import type { BatchApi } from '../llm/batch-api.ts';
import { runBatchStep } from '../runtime/batch-step.ts';
import { JudgeStage } from '../stages/judge.ts';
import { BatchStore } from '../store/batches.ts';
import { batchLineTasks, jsonModeRefused, JudgmentStore } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { storedSubjects } from '../judge/request.ts';
import { loadRubric } from '../judge/rubric.ts';
import { JUDGE_DEFAULTS, JudgeFailed, judgeRun, type JudgeOptions, type JudgeSummary } from './judge-run.ts';

export interface JudgeBatchDeps {
  store: Store;
  api: BatchApi;
  log?: (message: string, fields: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export async function judgeBatchStep(options: JudgeOptions, deps: JudgeBatchDeps): Promise<JudgeSummary> {
  const { store, api } = deps;
  const started = performance.now();
  const model = options.model ?? JUDGE_DEFAULTS.model;
  const rubric = options.rubric ?? loadRubric();
  const k = options.tasksPerRequest ?? JUDGE_DEFAULTS.tasksPerRequest;
  const key = { model, rubricSha256: rubric.sha256 };
  const selection = { since: options.since ?? 'all', sources: options.sources } as const;
  const judgments = new JudgmentStore(store);

  const pendingAtStart = judgments.pendingSubjects(key, selection).length;
  const runId = judgeRun(store, judgments, {
    target: pendingAtStart,
    model,
    options: { ...options.runOptions, rubricSha256: rubric.sha256, batch: true },
  });
  const totalsAtStart = store.runTotals(runId).requests;
  const judgedAtStart = judgments.countJudgments(key);

  // The same judge stage as online; its work is what is pending once the finished batches are stored.
  const makeStage = () =>
    new JudgeStage(store, {
      model,
      rubric,
      price: options.price,
      tasksPerRequest: k,
      maxTries: 1,
      // A server that refused response_format for an earlier line gets the next batch without it.
      jsonMode: (options.jsonMode ?? true) && !jsonModeRefused(store, runId),
      work: { kind: 'subjects', subjects: judgments.pendingSubjects(key, selection) },
    });
  // Made when the next batch is built, so the results stored just before count.
  const budget = () => Budget.forRun({ maxCostUsd: options.maxCostUsd, maxRequests: options.maxRequests }, store.runTotals(runId).requests);
  const step = await runBatchStep(
    () => [makeStage()],
    {
      runId,
      label: 'judge batch',
      kind: 'judge',
      target: pendingAtStart,
      goalAcceptedAtStart: 0,
      defaultStage: 'judge',
      // Lines written before lines kept their unit: the subjects they judge, by prompt id.
      restoreUnit: (_stage, line) => {
        const subjects = batchLineTasks(store, line.id);
        return {
          unit: { tasks: subjects.map((x) => ({ ...x, instruction: '', input: '', output: '' })) },
          stored: { judge: { ...storedSubjects(subjects), rubricSha256: rubric.sha256 } },
        };
      },
    },
    { store, api, budget, ...(deps.log && { log: deps.log }), ...(deps.signal && { signal: deps.signal }) },
  );
  const { fatal, budgetStop } = step;
  const aborted = deps.signal?.aborted ?? false;
  const open = new BatchStore(store).openBatches(runId);
  const left = judgments.pendingSubjects(key, selection).length;
  const status: JudgeSummary['status'] =
    fatal !== undefined
      ? 'failed'
      : left === 0 && open.length === 0
        ? 'completed'
        : open.length > 0 && !aborted
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
