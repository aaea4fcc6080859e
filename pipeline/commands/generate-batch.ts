/**
 * `generate --batch`: one step of a run per invocation (a cron tick) on the Batch runner
 * (runtime/batch-step.ts), with the same stages as online (generate-stages.ts): instructions or whole
 * conversations, two-stage answers, the inline judge, the embedder. What is generate's own is policy:
 * - the instruction stage starts from the yield the store has seen (this run's replies, else earlier
 *   runs' replies to the same prompt), so the first batch of a run is sized by experience, not a guess;
 * - the yield guard starts from the run's latest stored replies and sees each finished batch's replies;
 * - a run whose target was reached (say, `--n` lowered) cancels its goal batches still out.
 * The step's status: `completed` once the target is met and nothing is out or due, `waiting` while a
 * batch is out, `interrupted` (signal, budget, full disk), `failed`.
 */
import type { TwoStageSummary } from './answer-summary.ts';
import { stagesReport } from './answer-summary.ts';
import { ANSWER_DEFAULTS, PRIOR_INSTRUCTION_SHARE } from '../answer/defaults.ts';
import { Budget, type BudgetStop } from '../budget.ts';
import type { NearDupIndex } from '../dedup/index.ts';
import { composeStages, type StageOptions } from './generate-stages.ts';
import type { BatchApi } from '../llm/batch-api.ts';
import type { Random } from '../prompt.ts';
import { runBatchStep, type LineUnit } from '../runtime/batch-step.ts';
import { GenerationFailed, summaryBase, type GenerateEvent, type Progress, type RunSummary } from '../runtime/progress.ts';
import { prepareRun, yieldGuardFor } from '../runtime/run-setup.ts';
import type { Stage } from '../stages/stage.ts';
import { ANSWERS } from '../stages/answers.ts';
import { INSTRUCTIONS } from '../stages/instructions.ts';
import { JUDGE } from '../stages/judge.ts';
import { storedSubjects } from '../judge/request.ts';
import { AnswerStore } from '../store/answers.ts';
import { BatchStore, type BatchRequestRow, type BatchRow } from '../store/batches.ts';
import { batchLineTasks, jsonModeRefused, judgeLineTries } from '../store/judgments.ts';
import { recentReplyOutcomes } from '../store/reply-outcomes.ts';
import { asStorageError, StorageError } from '../store/storage-errors.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_GUARD_WINDOW, type YieldGuardState } from '../yield-guard.ts';

export type BatchOptions = StageOptions & {
  /** Most requests in one batch. Default (and the API's limit) 50 000. */
  maxBatchRequests?: number;
  /** Most bytes in one input file. Default (and the API's limit) 200 MB. */
  maxBatchBytes?: number;
  /** The run fails when this many batches in a row bring back no usable reply. Default 3. */
  maxFailedBatches?: number;
};

export interface BatchDeps {
  store: Store;
  api: BatchApi;
  random?: Random;
  index?: NearDupIndex;
  onEvent?: (event: GenerateEvent) => void;
  /** One line per step taken (uploaded, created, polled, ingested, submitted), with its figures. */
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** Aborting stops between steps and between result lines; the next invocation continues. */
  signal?: AbortSignal;
}

/** A two-stage step's summary is a TwoStageSummary. */
export type BatchSummary = RunSummary | TwoStageSummary;

/** Accepted tasks per asked task assumed before the run has its own figure (instruction-only: PRIOR_INSTRUCTION_SHARE). */
const FIRST_YIELD_SHARE = 0.5;
/** Replies a yield figure needs: this run's, else the store's latest to the same prompt (up to PRIOR_REPLIES). */
const MIN_YIELD_REPLIES = 10;
const PRIOR_REPLIES = 200;

export async function generateBatch(options: BatchOptions, deps: BatchDeps): Promise<BatchSummary> {
  const { store } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();
  const { templateId, runId, resumed, index } = prepareRun(options, store, deps.index);
  const twoStage = options.answer !== undefined;
  // What `target` counts: accepted tasks (or conversations), or (two-stage) accepted answers.
  const goalCount = (): number =>
    twoStage && options.mode !== 'dialogue' ? new AnswerStore(store).countAccepted(runId) : store.countAccepted(runId);
  const acceptedAtStart = goalCount();
  const progress = (): Progress => {
    const t = store.runTotals(runId).requests;
    return {
      runId,
      target: options.target,
      accepted: goalCount(),
      acceptedAtStart,
      rejected: 0,
      requests: t.total,
      failedRequests: t.failed,
      inFlight: 0,
      promptTokens: t.promptTokens,
      completionTokens: t.completionTokens,
      costUsd: t.costUsd,
      elapsedMs: performance.now() - started,
    };
  };
  deps.onEvent?.({ type: 'start', progress: progress(), resumed, indexSize: index.size });
  const guard = yieldGuardFor(options);
  // From the run's latest generation replies; not for conversations built turn by turn, whose openings
  // become drafts, not tasks, so the store cannot tell what an earlier reply brought.
  const turnByTurn = options.mode === 'dialogue' && options.answer !== undefined;
  if (!turnByTurn)
    for (const earlier of recentReplyOutcomes(store, { runId, templateId }, DEFAULT_GUARD_WINDOW)) guard.record(earlier, true);

  // Made twice per step (results, then the next batches), each time from the store as it is then.
  let composed: ReturnType<typeof composeStages> | undefined;
  const makeStages = (): Stage<any, any, any>[] => {
    composed = composeStages(options, {
      store,
      index,
      runId,
      templateId,
      random,
      instructionShare: instructionShare(store, runId, templateId, options),
      judgeTriedBefore: options.judge === undefined ? undefined : judgeLineTries(store, runId),
      judgeJsonMode: !jsonModeRefused(store, runId),
    });
    return composed.stages;
  };

  let step: Awaited<ReturnType<typeof runBatchStep>> | undefined;
  let fatal: Error | undefined;
  try {
    step = await runBatchStep(
      makeStages,
      {
        runId,
        label: 'batch',
        kind: 'generate',
        target: options.target,
        goalAcceptedAtStart: acceptedAtStart,
        maxLines: options.maxBatchRequests,
        maxBytes: options.maxBatchBytes,
        maxFailedBatches: options.maxFailedBatches ?? 3,
        cancelAtGoal: true,
        defaultStage: (batch) => legacyStage(store, batch),
        restoreUnit: (stage, line) => legacyUnit(store, stage, line, options),
      },
      {
        store,
        api: deps.api,
        // Made when the next batches are built, so the replies stored in this step count.
        budget: () => Budget.forRun(options, store.runTotals(runId).requests),
        guard,
        ...(deps.log && { log: deps.log }),
        ...(deps.signal && { signal: deps.signal }),
      },
    );
    fatal = step.fatal;
    // Conversations still under way once the target is reached are never carried on: closed, not left as work.
    const book = composed?.turns?.book;
    if (book !== undefined && step.goalAccepted >= options.target && step.open.length === 0) store.transaction(() => book.closeAll());
    if (fatal !== undefined && guard.stop !== undefined)
      deps.onEvent?.({ type: 'stopping', progress: progress(), reason: guard.stop.message });
  } catch (err) {
    fatal = err instanceof Error ? err : new Error(String(err));
  }
  if (fatal !== undefined) fatal = asStorageError(fatal, store.path) ?? fatal;
  const run = { runId, resumed, started, acceptedAtStart, accepted: goalCount(), yieldGuard: guard.state() };
  return finishStep(store, options, run, step, fatal, deps.signal);
}

/**
 * Accepted items per asked item the instruction stage starts a step from: this run's replies, else
 * earlier runs' replies to the same prompt at the same size (those accepted plus those only the target
 * turned away: the over-ask of a run's last batch is not a poor yield), else a prior.
 */
function instructionShare(store: Store, runId: number, templateId: number, options: BatchOptions): number {
  const perAsked = (perRequest: number): number => perRequest / options.tasksPerRequest;
  const run = new BatchStore(store).yieldOfRun(runId, templateId);
  if (run.okRequests >= MIN_YIELD_REPLIES) return perAsked(Math.max(0.5, run.accepted / run.okRequests));
  const earlier = recentReplyOutcomes(store, { templateId, tasksPerRequest: options.tasksPerRequest }, PRIOR_REPLIES);
  if (earlier.length >= MIN_YIELD_REPLIES) {
    const good = earlier.reduce((n, o) => n + o.accepted + (o.rejected.target_reached ?? 0), 0);
    return perAsked(Math.max(0.5, good / earlier.length));
  }
  return options.answer === undefined ? FIRST_YIELD_SHARE : PRIOR_INSTRUCTION_SHARE;
}

/** The stage of a batch written before batches named theirs: by its first line. */
function legacyStage(store: Store, batch: BatchRow): string {
  const batches = new BatchStore(store);
  if (batches.firstLineHasJudgeSubjects(batch.id)) return JUDGE;
  const lines = batches.lines(batch.id);
  const first = lines.next();
  lines.return?.(); // closes the statement: the connection takes no other query while it is open
  return !first.done && first.value.answerTaskId !== null ? ANSWERS : INSTRUCTIONS;
}

/** The unit of a line written before lines kept theirs, rebuilt from what the line did keep. */
function legacyUnit(store: Store, stage: Stage<any, any, any>, line: BatchRequestRow, options: BatchOptions): LineUnit | undefined {
  if (stage.name === JUDGE && options.judge !== undefined) {
    const subjects = batchLineTasks(store, line.id);
    return {
      unit: { tasks: subjects.map((x) => ({ ...x, instruction: '', input: '', output: '' })) },
      stored: { judge: { ...storedSubjects(subjects), rubricSha256: options.judge.rubric.sha256 } },
    };
  }
  if (stage.name === ANSWERS) {
    const task = line.answerTaskId === null ? undefined : new AnswerStore(store).task(line.answerTaskId);
    return task === undefined ? undefined : { unit: task };
  }
  return { unit: { requested: options.tasksPerRequest } };
}

/** How a step ended: a step that stopped with a batch still out is waiting for it, a budget stop with none out is interrupted. */
function stepStatus(e: {
  diskFull: boolean;
  fatal: Error | undefined;
  done: boolean;
  aborted: boolean;
  out: boolean;
  budgetStop: BudgetStop | undefined;
}): BatchSummary['status'] {
  if (e.diskFull) return 'interrupted';
  if (e.fatal !== undefined) return 'failed';
  if (e.done) return 'completed';
  if (e.aborted) return 'interrupted';
  return !e.out && e.budgetStop !== undefined ? 'interrupted' : 'waiting';
}

/** Marks the run as the step left it and builds the summary; throws GenerationFailed (with it) on a fatal error. */
function finishStep(
  store: Store,
  options: BatchOptions,
  run: { runId: number; resumed: boolean; started: number; acceptedAtStart: number; accepted: number; yieldGuard: YieldGuardState },
  step: Awaited<ReturnType<typeof runBatchStep>> | undefined,
  fatal: Error | undefined,
  signal: AbortSignal | undefined,
): BatchSummary {
  const { runId } = run;
  const open = new BatchStore(store).openBatches(runId);
  const aborted = signal?.aborted ?? false;
  const budgetStop = step?.budgetStop;
  // A full or read-only disk stops the step cleanly: what is stored stays, the next invocation goes on.
  const diskFull = fatal instanceof StorageError;
  const status = stepStatus({ diskFull, fatal, done: step?.done ?? false, aborted, out: open.length > 0, budgetStop });
  try {
    store.finishRun(
      runId,
      status === 'waiting' ? 'interrupted' : status,
      fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined),
    );
  } catch (err) {
    if (!diskFull) throw err;
  }
  const base: RunSummary = {
    ...summaryBase(store, { ...run, target: options.target }, status, run.accepted - run.acceptedAtStart),
    yieldGuard: run.yieldGuard,
  };
  const summary: BatchSummary =
    options.answer === undefined || options.mode === 'dialogue'
      ? base
      : stagesReport(
          store,
          {
            runId,
            model: options.answer.model,
            retries: options.answer.retries ?? ANSWER_DEFAULTS.retries,
            selectionSource: 'generated',
          },
          base,
          run.accepted,
          run.acceptedAtStart,
        );
  if (status === 'interrupted') summary.stopReason = diskFull ? 'storage' : aborted ? 'signal' : (budgetStop?.reason ?? 'signal');
  if (budgetStop !== undefined) summary.stopMessage = budgetStop.message;
  const current = open.at(-1);
  if (current !== undefined) {
    summary.openBatch = {
      id: current.id,
      providerBatchId: current.providerBatchId,
      status: current.providerStatus ?? current.status,
      requests: current.requestCount,
    };
  }
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new GenerationFailed(fatal.message, summary);
  }
  return summary;
}
