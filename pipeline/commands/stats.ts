/**
 * `stats()`: what a database holds — tasks by source and reason, requests, tokens and cost (by channel and
 * by endpoint), judgments, answers, dialogues; per run and per day on request. Read-only: it works while a
 * run is writing.
 */
import { ANSWER_DEFAULTS } from '../answer/defaults.ts';
import { DEFAULT_DB } from '../paths.ts';
import { AnswerStore } from '../store/answers.ts';
import { AttemptStore } from '../store/attempts.ts';
import { ContaminationStore } from '../store/contamination.ts';
import { DialogueStore } from '../store/dialogues.ts';
import { EvolutionStore } from '../store/evolutions.ts';
import { JudgmentStore } from '../store/judgments.ts';
import { Store } from '../store/store.ts';

export interface StatsOptions {
  /** Default `data/pipeline.db`. */
  db?: string;
  /** One row per run (newest first). Default false. */
  runs?: boolean;
  /** One row per UTC day (newest first). Default false. */
  days?: boolean;
}

export function stats(options: StatsOptions = {}) {
  const store = Store.open(options.db ?? DEFAULT_DB, { readonly: true });
  try {
    const judgments = new JudgmentStore(store);
    const scores = judgments.scoreSummary();
    const contamination = new ContaminationStore(store);
    return {
      ...store.stats(),
      ...new AnswerStore(store).stats(ANSWER_DEFAULTS.retries + 1),
      spending: new AttemptStore(store).spending(),
      /** Requests, failures and tokens by endpoint, for runs spread over several. */
      endpoints: store.endpointTotals() ?? {},
      dialogues: new DialogueStore(store).stats(),
      /** Evol-Instruct (issue 23): accepted evolved tasks by round and operation, failed evolutions by reason. */
      evolved: new EvolutionStore(store).stats(),
      /** Accepted tasks flagged by `decontaminate` (left out of exports), and each benchmark's figures. */
      contaminated: contamination.contaminatedAccepted(),
      benchmarks: contamination.tally().map(({ id: _id, ...b }) => b),
      judged: scores.judged,
      meanScore: scores.meanScore,
      scoreHistogram: scores.histogram,
      judge: scores.judge,
      judgeFlags: scores.flags,
      judgeSpending: judgments.spending('judge'),
      /** Internal to the text form: what is not judged yet by the newest judge. */
      unjudged: scores.unjudged,
      ...(options.runs ? { runsView: store.runsView() } : {}),
      ...(options.days ? { daysView: store.daysView() } : {}),
    };
  } finally {
    store.close();
  }
}

export type Stats = ReturnType<typeof stats>;
