/**
 * What a run that counts answers reports (`generate --answer-model M`, `answer`): the run's totals with
 * `accepted` counting tasks with an accepted answer by M, stage 1's counts apart, and the answer figures.
 */
import type { BudgetStop } from '../budget.ts';
import { GenerationFailed, summaryBase, type RunSummary } from '../runtime/progress.ts';
import { AnswerStore } from '../store/answers.ts';
import type { Store } from '../store/store.ts';
import { ANSWER_DEFAULTS } from '../answer/defaults.ts';

/** How a run that counts answers ended. */
export interface StagesResult {
  /** Accepted answers of the run, earlier invocations included. */
  answered: number;
  answeredAtStart: number;
  /** The selection ran out of tasks to answer (answer-only mode). */
  exhausted: boolean;
  fatal?: Error;
  budgetStop?: BudgetStop;
}

export interface AnswerSummary {
  model: string;
  /** Accepted answers of the run (what --n counts). */
  answered: number;
  answeredNow: number;
  /** Tasks of the selection still without an accepted answer by the model, and not given up. */
  awaiting: number;
  /** Tasks the model was rejected on retries + 1 times in this run. */
  unanswerable: number;
  rejected: Record<string, number>;
}

/** A two-stage run's summary: `accepted` counts answered tasks; `instructions` has stage 1's counts. */
export interface TwoStageSummary extends RunSummary {
  instructions: { accepted: number; rejected: Record<string, number> };
  answers: AnswerSummary;
}

/** What a two-stage run's summary adds to the run's totals (`accepted` becomes the answered count). */
export interface StagesRun {
  runId: number;
  model: string;
  retries?: number | undefined;
  selectionSource: string;
  awaitingOnly?: boolean;
}

/** A two-stage summary from a run summary whose `accepted` counted instructions; `answered` is what --n counts. */
export function stagesReport<S extends RunSummary>(
  store: Store,
  run: StagesRun,
  base: S,
  answered: number,
  answeredAtStart: number,
): S & Pick<TwoStageSummary, 'instructions' | 'answers'> {
  const answers = new AnswerStore(store);
  const maxAttempts = (run.retries ?? ANSWER_DEFAULTS.retries) + 1;
  const rejectedAnswers = answers.rejectedByReason(run.runId);
  return {
    ...base,
    accepted: answered,
    rejected: { ...base.rejected, ...Object.fromEntries(Object.entries(rejectedAnswers).map(([k, n]) => [`answer_${k}`, n])) },
    acceptedNow: answered - answeredAtStart,
    instructions: { accepted: base.accepted, rejected: base.rejected },
    answers: {
      model: run.model,
      answered,
      answeredNow: answered - answeredAtStart,
      awaiting: answers.countToAnswer({
        source: run.selectionSource,
        awaitingOnly: run.awaitingOnly ?? true,
        model: run.model,
        maxAttempts,
      }),
      unanswerable: answers.countUnanswerable(run.runId, run.model, maxAttempts),
      rejected: rejectedAnswers,
    },
  };
}

/** Marks the run finished and builds its summary; throws GenerationFailed (with the summary) on a fatal error. */
export function finishStages(
  store: Store,
  run: StagesRun & { target: number; resumed: boolean; started: number },
  result: StagesResult,
): TwoStageSummary {
  const status = result.fatal !== undefined ? 'failed' : result.answered >= run.target || result.exhausted ? 'completed' : 'interrupted';
  store.finishRun(run.runId, status, result.fatal?.message ?? (status === 'interrupted' ? result.budgetStop?.message : undefined));
  const summary: TwoStageSummary = stagesReport(store, run, summaryBase(store, run, status, 0), result.answered, result.answeredAtStart);
  if (status === 'interrupted') {
    summary.stopReason = result.budgetStop?.reason ?? 'signal';
    if (result.budgetStop !== undefined) summary.stopMessage = result.budgetStop.message;
  }
  if (result.fatal !== undefined) {
    summary.error = result.fatal.message;
    throw new GenerationFailed(result.fatal.message, summary);
  }
  return summary;
}
