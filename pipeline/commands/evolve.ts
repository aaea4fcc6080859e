/**
 * `evolve()`: accepted tasks rewritten by the Evol-Instruct operations over rounds 1..R, each evolved
 * instruction answered by the answer model — end to end: checks the options and templates, builds the
 * client, probes the server, takes the database's lock and runs the evolve and answer stages together on
 * the one online runner (runtime/online.ts) under one budget.
 *
 * The answer stage is the run's goal and the evolve stage its feeder (as in a two-stage generate): `n`
 * counts answered evolved tasks — training pairs, what an export can hold — and instructions are evolved
 * only while the answered ones plus those expected are short of it, so `n` is exact and little is evolved
 * for nothing. Without `n` the whole pool is evolved and answered.
 */
import { loadAnswerTemplate } from '../answer/prompt.ts';
import { ANSWER_DEFAULTS } from '../answer/defaults.ts';
import { Budget } from '../budget.ts';
import { buildIndex } from '../dedup/qgram-index.ts';
import { UsageError } from '../errors.ts';
import { probe, resolvePrice, type GenerateHooks } from '../startup.ts';
import { Ingestor } from '../ingest.ts';
import { redact } from '../llm.ts';
import { connect } from '../llm/connect.ts';
import { costUsd, type Price } from '../llm/cost.ts';
import { simulatorMark } from '../llm/server-info.ts';
import { takeLock } from '../lock.ts';
import { evolveSettingsSchema, resolveOptions, type EvolveSettings } from '../options.ts';
import { TEMPLATE_DIR } from '../templates.ts';
import { DEFAULT_RULE_OPTIONS } from '../rules/index.ts';
import { createBatchApi } from '../llm/batch-api.ts';
import { runBatchStep } from '../runtime/batch-step.ts';
import { runStages, type StageTally } from '../runtime/online.ts';
import type { BatchRow } from '../store/batches.ts';
import { StorageError } from '../store/storage-errors.ts';
import { ANSWERS, AnswerStage } from '../stages/answers.ts';
import { EVOLVE, EVOLVED_SOURCE, EvolveStage } from '../stages/evolve.ts';
import { EVOLVE_CHECK, EvolveCheckStage } from '../stages/evolve-check.ts';
import type { Stage } from '../stages/stage.ts';
import { loadCheckTemplate } from '../evolve/check.ts';
import { AnswerStore } from '../store/answers.ts';
import { EvolutionStore, type EvolveSelection } from '../store/evolutions.ts';
import { Store } from '../store/store.ts';
import { loadEvolveTemplates, type EvolveOp } from '../evolve/ops.ts';
import { EvolveFailed, type EvolveStageFigures, type EvolveSummary } from '../evolve/summary.ts';

export { EvolveFailed, type EvolveStageFigures, type EvolveSummary } from '../evolve/summary.ts';

export type EvolveOptions = EvolveSettings & Omit<GenerateHooks, 'random'>;

export async function evolve(options: EvolveOptions): Promise<EvolveSummary> {
  const { apiKey: givenKey, env = process.env, onEvent, onWarning, signal, onLog, ...rest } = options;
  const s = resolveOptions(evolveSettingsSchema, rest);
  const ops = [...new Set(s.ops)] as EvolveOp[];
  const templates = loadEvolveTemplates(ops, s.templates ?? TEMPLATE_DIR);
  const answerTemplate = loadAnswerTemplate();
  const answerModel = s.answerModel ?? s.model;
  const price = resolvePrice(s);
  const answerPrice = s.answerPrice ?? resolvePrice({ model: answerModel, prices: s.prices, price: undefined });
  const checkTemplate = s.checkModel === undefined ? undefined : loadCheckTemplate(s.templates ?? TEMPLATE_DIR);
  const checkPrice =
    s.checkModel === undefined ? undefined : (s.checkPrice ?? resolvePrice({ model: s.checkModel, prices: s.prices, price: undefined }));
  if (
    s.maxCost !== undefined &&
    (price === undefined || answerPrice === undefined || (s.checkModel !== undefined && checkPrice === undefined))
  ) {
    const missing = price === undefined ? s.model : answerPrice === undefined ? answerModel : s.checkModel;
    throw new UsageError(`needs the price of ${missing}: give \`price\`/\`answerPrice\`/\`checkPrice\` or \`prices\``, {
      option: 'maxCost',
    });
  }
  const connection = connect(s, givenKey, env);
  const { llm, baseURL, apiKey } = connection;
  // Everything that can be checked without writing is checked before the lock file is made.
  const server = s.probe && !s.dryRun && !s.batch ? await probe(llm, baseURL) : undefined;
  Store.check(s.db);
  const lock = takeLock(s.db, `evolve --model ${s.model}`, onWarning);
  let store: Store | undefined;
  const started = performance.now();
  try {
    store = Store.open(s.db);
    const selection: EvolveSelection = { since: s.since, minScore: s.minScore, rounds: s.rounds };
    const evolutions = new EvolutionStore(store);
    const answers = new AnswerStore(store);
    const answerRetries = s.answerRetries ?? ANSWER_DEFAULTS.retries;
    // An evolved task needs one answer: one by an earlier run's answer model counts.
    const answerSelection = {
      source: EVOLVED_SOURCE,
      awaitingOnly: true,
      model: answerModel,
      maxAttempts: answerRetries + 1,
      anyModel: true,
    };
    const dueAtStart = evolutions.countDue(selection);
    const awaitingAtStart = answers.countToAnswer(answerSelection);
    const reach = Object.entries(dueAtStart).reduce((n, [round, k]) => n + k * (s.rounds - Number(round) + 1), 0);
    const base = {
      resumed: false,
      rounds: s.rounds,
      ops,
      model: s.model,
      answerModel,
      dueAtStart,
      awaitingAtStart,
    };
    const empty = zeroSummary(base, s.n ?? 0, started);
    if (s.dryRun) {
      const evolveWorst = price === undefined ? null : costUsd({ promptTokens: 1500, completionTokens: s.maxTokens }, price);
      const answerWorst =
        answerPrice === undefined
          ? null
          : costUsd({ promptTokens: 1000, completionTokens: s.answerMaxTokens ?? ANSWER_DEFAULTS.maxTokens }, answerPrice);
      return {
        ...empty,
        target: s.n ?? reach + awaitingAtStart,
        status: 'dry-run',
        worstCaseUsdPerRequest: { evolve: evolveWorst, answer: answerWorst },
      };
    }
    if (reach === 0 && awaitingAtStart === 0) return { ...empty, status: 'nothing' };

    const latest = store.latestRun();
    const resumed = !s.newRun && latest !== undefined && latest.status !== 'completed' && latest.mode === 'evolve';
    const runOptions = {
      command: 'evolve',
      ...s,
      baseURL: baseURL === undefined ? null : redact(baseURL, apiKey),
      ...simulatorMark(server),
    };
    let runId: number;
    let answeredAtStart = 0;
    if (resumed) {
      runId = latest.id;
      answeredAtStart = answers.countAccepted(runId);
    }
    const target = s.n ?? answeredAtStart + awaitingAtStart + reach;
    const run = { target, mode: 'evolve', model: s.model, options: runOptions };
    if (resumed) store.resumeRun(latest!.id, run);
    runId = resumed ? latest!.id : store.createRun(run);

    const index = buildIndex(store.acceptedKeys());
    const ingestor = new Ingestor(store, index, {
      similarity: s.similarity,
      filters: DEFAULT_RULE_OPTIONS,
      skipFilters: false,
      instructionOnly: true,
    });
    // The stages, made once online and once per phase of a batch step (each reads its pending work then).
    const made: EvolveStage[] = [];
    const makeStages = (): Stage<any, any, any>[] => {
      const answerStage = new AnswerStage(
        store!,
        { model: answerModel, template: answerTemplate, maxTokens: s.answerMaxTokens, retries: s.answerRetries, price: answerPrice },
        {
          runId,
          source: EVOLVED_SOURCE,
          awaitingOnly: true,
          feeder: EVOLVE,
          anyModel: true,
          ...(checkTemplate !== undefined && { checkedOnly: true }),
        },
      );
      // Checked before new evolutions are asked for: a child found adding nothing puts its parent back.
      const check =
        s.checkModel === undefined || checkTemplate === undefined
          ? []
          : [new EvolveCheckStage(store!, { model: s.checkModel, template: checkTemplate, price: checkPrice })];
      const evolveStage = new EvolveStage(
        store!,
        {
          runId,
          ops,
          templates,
          templateId: store!.templateId(templates.combined.name, templates.combined.sha256, templates.combined.content),
          selection,
          params: { model: s.model, temperature: s.temperature, top_p: 1, max_tokens: s.maxTokens },
          price,
          minAdded: s.minAdded,
          role: 'feeder',
          demand: answerStage.feederDemand(),
        },
        ingestor,
      );
      made.push(evolveStage);
      return [answerStage, ...check, evolveStage];
    };
    const budget = Budget.forRun({ maxCostUsd: s.maxCost, maxRequests: s.maxRequests }, store.runTotals(runId).requests);
    const costAtStart = budget.spentUsd;
    const deps = { store, budget, ...(signal && { signal }) };
    const result = s.batch
      ? await runBatchStep(
          makeStages,
          { runId, label: 'evolve batch', kind: 'evolve', target, goalAcceptedAtStart: answeredAtStart },
          {
            ...deps,
            api: createBatchApi({ apiKey, baseURL, maxRetries: s.retries }),
            ...(onLog && { log: onLog }),
          },
        )
      : {
          ...(await runStages(
            makeStages(),
            {
              runId,
              target,
              acceptedAtStart: answeredAtStart,
              concurrency: s.concurrency,
              maxConsecutiveFailures: s.maxConsecutiveFailures,
              drainTimeoutMs: s.drainTimeout * 1000,
              indexSize: reach,
              resumed,
            },
            { ...deps, llm, ...(onEvent && { onEvent }) },
          )),
          open: [],
        };
    const { fatal, budgetStop } = result;
    const evolveTally = result.stages[EVOLVE]!;
    const answerTally = result.stages[ANSWERS]!;
    const checkTally = result.stages[EVOLVE_CHECK];
    const diskFull = fatal instanceof StorageError;
    const goalMet = result.goalAccepted >= target;
    const status: EvolveSummary['status'] =
      fatal !== undefined && !diskFull
        ? 'failed'
        : diskFull || budgetStop !== undefined || (signal?.aborted ?? false)
          ? 'interrupted'
          : result.open.length > 0
            ? 'waiting'
            : goalMet || result.exhausted
              ? 'completed'
              : 'interrupted';
    try {
      store.finishRun(
        runId,
        // A batch out leaves the run open: the next invocation collects it.
        status === 'failed' ? 'failed' : status === 'completed' ? 'completed' : 'interrupted',
        fatal?.message ?? budgetStop?.message,
      );
    } catch (err) {
      if (!diskFull) throw err;
    }
    const tallies = [evolveTally, answerTally, ...(checkTally === undefined ? [] : [checkTally])];
    const sum = (f: (t: StageTally) => number): number => tallies.reduce((n, t) => n + f(t), 0);
    const evolvedByRound: Record<string, number> = {};
    for (const stage of made)
      for (const [round, n] of Object.entries(stage.acceptedByRound)) evolvedByRound[round] = (evolvedByRound[round] ?? 0) + n;
    const summary: EvolveSummary = {
      ...base,
      runId,
      status,
      resumed,
      target,
      evolvedNow: evolveTally.accepted,
      evolvedByRound,
      eliminatedNow: evolveTally.rejected,
      answeredNow: result.goalAccepted - answeredAtStart,
      rejectedAnswers: answerTally.rejected,
      poolExhausted: result.exhausted && s.n !== undefined && !goalMet,
      stages: {
        evolve: figures(evolveTally, price),
        answers: figures(answerTally, answerPrice),
        ...(checkTally !== undefined && { check: figures(checkTally, checkPrice) }),
      },
      requests: sum((t) => t.requests),
      failedRequests: sum((t) => t.failedRequests),
      promptTokens: sum((t) => t.promptTokens),
      completionTokens: sum((t) => t.completionTokens),
      ...(result.open.length > 0 && { openBatch: openBatchOf(result.open[0]!) }),
      costUsd: budget.spentUsd - costAtStart,
      seconds: (performance.now() - started) / 1000,
    };
    if (diskFull) summary.stopReason = 'storage';
    else if (status === 'interrupted') {
      summary.stopReason = budgetStop?.reason ?? 'signal';
      if (budgetStop !== undefined) summary.stopMessage = budgetStop.message;
    }
    if (fatal !== undefined && !diskFull) {
      summary.error = redact(fatal.message, apiKey);
      throw new EvolveFailed(summary.error, summary);
    }
    return summary;
  } finally {
    store?.close();
    lock.release();
  }
}

function openBatchOf(b: BatchRow): NonNullable<EvolveSummary['openBatch']> {
  return { id: b.id, providerBatchId: b.providerBatchId, status: b.providerStatus ?? b.status };
}

function figures(t: StageTally, price: Price | undefined): EvolveStageFigures {
  return {
    requests: t.requests,
    failedRequests: t.failedRequests,
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    costUsd: price === undefined ? null : costUsd(t, price),
  };
}

function zeroSummary(
  base: Pick<EvolveSummary, 'resumed' | 'rounds' | 'ops' | 'model' | 'answerModel' | 'dueAtStart' | 'awaitingAtStart'>,
  target: number,
  started: number,
): EvolveSummary {
  const none: EvolveStageFigures = { requests: 0, failedRequests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  return {
    ...base,
    runId: null,
    status: 'nothing',
    target,
    evolvedNow: 0,
    evolvedByRound: {},
    eliminatedNow: {},
    answeredNow: 0,
    rejectedAnswers: {},
    poolExhausted: false,
    stages: { evolve: none, answers: { ...none } },
    requests: 0,
    failedRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
    seconds: (performance.now() - started) / 1000,
  };
}
