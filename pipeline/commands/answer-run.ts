/**
 * `answer`: instructions you already have (a file, or a source in the store) answered by a model of your
 * choice, each in its own request. Resumable like generate: answers are stored as they come, and the
 * next invocation answers only what is still without an accepted answer by that model.
 */
import { buildIndex } from '../dedup/qgram-index.ts';
import { importIntoStore, type ImportSummary } from './import.ts';
import { Budget } from '../budget.ts';
import type { OnlineDeps } from './generate-stages.ts';
import { runStages } from '../runtime/online.ts';
import { AnswerStage, type AnswerStageOptions } from '../stages/answers.ts';
import { AnswerStore } from '../store/answers.ts';
import type { Store } from '../store/store.ts';
import type { Task } from '../types.ts';
import { ANSWER_DEFAULTS } from '../answer/defaults.ts';
import { finishStages, type TwoStageSummary } from './answer-summary.ts';

export interface InstructionImportOptions {
  source: string;
  /** Near-duplicate threshold against every stored task. Default 0.7. */
  similarity?: number | undefined;
  /** False: keep near-duplicates (exact repeats are still skipped: two accepted tasks never share a key). Default true. */
  dedup?: boolean | undefined;
  /** Apply the instruction quality filters. Default false. */
  filter?: boolean | undefined;
  /** Keep a record's own output (it is then not answered); default false: outputs are ignored. */
  keepExisting?: boolean | undefined;
}

/** Stores instructions as a source; records with an output keep it only with `keepExisting`. */
export function importInstructions(store: Store, tasks: readonly Task[], options: InstructionImportOptions): ImportSummary {
  const index = buildIndex(store.acceptedKeys());
  const similarity = options.dedup === false ? 1 : (options.similarity ?? 0.7);
  return importIntoStore(store, index, tasks, {
    source: options.source,
    similarity,
    filter: options.filter ?? false,
    instructionOnly: true,
    keepOutputs: options.keepExisting ?? false,
  });
}

export interface AnswerTasksOptions {
  source: string;
  /** True: only tasks stored without an output (imported instructions); false: every accepted task of the source. */
  awaitingOnly: boolean;
  answer: AnswerStageOptions;
  /** Default 8. */
  concurrency?: number | undefined;
  maxConsecutiveFailures?: number | undefined;
  drainTimeoutMs?: number | undefined;
  maxCostUsd?: number | undefined;
  maxRequests?: number | undefined;
  /** Stored with the run; must hold no secrets. */
  runOptions: Record<string, unknown>;
  /** Continue the latest unfinished `answer` run of the same model. Default true. */
  resume?: boolean | undefined;
}

export async function answerTasks(options: AnswerTasksOptions, deps: Omit<OnlineDeps, 'index'>): Promise<TwoStageSummary> {
  const { store } = deps;
  const started = performance.now();
  const a = options.answer;
  const retries = a.retries ?? ANSWER_DEFAULTS.retries;
  const selection = { source: options.source, awaitingOnly: options.awaitingOnly, model: a.model, maxAttempts: retries + 1 };
  const latest = store.latestRun();
  const resumed =
    (options.resume ?? true) &&
    latest !== undefined &&
    latest.status !== 'completed' &&
    latest.mode === 'answer' &&
    latest.model === a.model;
  const answers = new AnswerStore(store);
  const run = { mode: 'answer', model: a.model, options: options.runOptions };
  let runId: number;
  let target: number;
  if (resumed) {
    runId = latest.id;
    target = answers.countAccepted(runId) + answers.countToAnswer(selection);
    store.resumeRun(runId, { ...run, target });
  } else {
    target = answers.countToAnswer(selection);
    runId = store.createRun({ ...run, target });
  }
  const stage = new AnswerStage(store, a, { runId, source: options.source, awaitingOnly: options.awaitingOnly });
  const answeredAtStart = answers.countAccepted(runId);
  const budget = Budget.forRun({ maxCostUsd: options.maxCostUsd, maxRequests: options.maxRequests }, store.runTotals(runId).requests);
  const result = await runStages(
    [stage],
    {
      runId,
      target,
      acceptedAtStart: answeredAtStart,
      concurrency: options.concurrency ?? 8,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? 20,
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
      indexSize: stage.waiting,
      resumed: answeredAtStart > 0,
    },
    { store, llm: deps.llm, budget, ...(deps.onEvent && { onEvent: deps.onEvent }), ...(deps.signal && { signal: deps.signal }) },
  );
  return finishStages(
    store,
    { runId, target, resumed, started, model: a.model, retries, selectionSource: options.source, awaitingOnly: options.awaitingOnly },
    {
      answered: result.goalAccepted,
      answeredAtStart,
      exhausted: result.exhausted,
      ...(result.fatal !== undefined && { fatal: result.fatal }),
      ...(result.budgetStop !== undefined && { budgetStop: result.budgetStop }),
    },
  );
}
