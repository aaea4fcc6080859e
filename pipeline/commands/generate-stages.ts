/**
 * A generation run online: the stages a `generate` asks for, composed on the one online runner
 * (runtime/online.ts) — instructions (whole tasks or conversations), or instructions then answers
 * (`answer`), each optionally judged as it is accepted (`judge`) — until `target` items are accepted.
 */
import { EmbedStage, type EmbedFollowerOptions } from '../stages/embed.ts';
import { ANSWER_DEFAULTS, PRIOR_INSTRUCTION_SHARE } from '../answer/defaults.ts';
import { finishStages } from './answer-summary.ts';
import { Budget } from '../budget.ts';
import type { NearDupIndex } from '../dedup/index.ts';
import type { BenchmarkGate } from '../decontaminate/gate.ts';
import { DialogueIngestor } from '../dialogue/ingest.ts';
import { DEFAULT_TURN_BOUNDS, type TurnBounds } from '../dialogue/types.ts';
import { Ingestor } from '../ingest.ts';
import { MachineExamples, type ExampleFilter } from '../judge/examples.ts';
import { JudgeStage, type InlineJudgeOptions } from '../stages/judge.ts';
import type { ChatParams, LlmClient } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { GenerationMode, Random } from '../prompt.ts';
import type { Template } from '../templates.ts';
import type { RuleOptions } from '../rules/index.ts';
import { runStages, type RunnerResult } from '../runtime/online.ts';
import { EndpointsUnavailable, GenerationFailed, summaryBase, type GenerateEvent, type RunSummary } from '../runtime/progress.ts';
import { prepareRun, yieldGuardFor } from '../runtime/run-setup.ts';
import type { Stage } from '../stages/stage.ts';
import { AnswerStage, type AnswerStageOptions } from '../stages/answers.ts';
import { DialogueAnswerStage } from '../stages/dialogue-answers.ts';
import { DialogueFollowUpStage } from '../stages/dialogue-follow-ups.ts';
import { DraftBook } from '../dialogue/drafts.ts';
import { loadFollowUpTemplate } from '../dialogue/follow-up.ts';
import { goalDemand, InstructionStage } from '../stages/instructions.ts';

import { AnswerStore } from '../store/answers.ts';
import { StorageError } from '../store/storage-errors.ts';
import type { Store } from '../store/store.ts';
import type { SeedTask } from '../types.ts';

export type { GenerateEvent, Progress, RunSummary } from '../runtime/progress.ts';
export { GenerationFailed, YieldGuardError } from '../runtime/progress.ts';

export interface OnlineOptions {
  /** Accepted items the run must reach (a resumed run counts what it already has). */
  target: number;
  mode: GenerationMode;
  template: Template;
  seeds: readonly SeedTask[];
  /** Topic and task-type lists (topics mode). */
  topics: readonly string[];
  taskTypes: readonly string[];
  params: ChatParams;
  /** Requests in flight at once. Default 8. */
  concurrency: number;
  /** Tasks asked for per request. Default 20. */
  tasksPerRequest: number;
  /** Output length bound stated in the prompt, in characters. Default 300. */
  maxOutputChars: number;
  similarity: number;
  filters: RuleOptions;
  /** Give up after this many requests in a row fail. Default 20. */
  maxConsecutiveFailures: number;
  /** Continue the latest unfinished run instead of starting a new one. Default true. */
  resume: boolean;
  /** After a stop signal, how long in-flight requests may still finish. Default 10 000 ms. */
  drainTimeoutMs: number;
  /** Stored with the run so it can be repeated; must hold no secrets. */
  runOptions: Record<string, unknown>;
  /** The model's price; undefined: cost is not recorded (and --max-cost cannot be used). */
  price?: Price | undefined;
  /** Stop cleanly before the run's spending (every stage's) could pass this many USD. */
  maxCostUsd?: number | undefined;
  /** Stop cleanly once the run has sent this many requests. */
  maxRequests?: number | undefined;
  /** Replies in a row with no usable task that fail the run; 0: off. Default 20. */
  maxEmptyReplies?: number | undefined;
  /** Accepted tasks per reply over the last 50 replies under which the run fails; 0: off. Default 0.1. */
  minAcceptedPerReply?: number | undefined;
  /** Dialogue mode: exchanges per conversation, asked for and checked. Default 2–4. */
  turns?: TurnBounds | undefined;
  /** Machine examples only from tasks judged at least this well, once there are judged ones. */
  machineExamples?: ExampleFilter | undefined;
  /**
   * Two-stage: instructions first, then each answered by this model; the target counts answers. In the
   * dialogue mode: openings first, then this model writes every reply, the target counting conversations.
   */
  answer?: AnswerStageOptions | undefined;
  /** Dialogue mode with `answer`: the prompt for the user's follow-ups. Default templates/dialogue_follow_up.txt. */
  followUpTemplate?: Template | undefined;
  /** Judge what the run accepts as it is accepted (a task's own output, or its answer). */
  judge?: InlineJudgeOptions | undefined;
  /** Embed what the run accepts as it is accepted (issue 24). */
  embed?: EmbedFollowerOptions | undefined;
  /** Reject tasks that copy a benchmark item (`benchmark_overlap`). */
  benchmarks?: BenchmarkGate | undefined;
}

export interface OnlineDeps {
  store: Store;
  llm: LlmClient;
  random?: Random;
  /** Replaces the default index (tests, benchmarks). */
  index?: NearDupIndex;
  onEvent?: (event: GenerateEvent) => void;
  /** Aborting stops new requests; in-flight ones get `drainTimeoutMs`, then are cancelled. */
  signal?: AbortSignal;
}

/** Machine examples shown in prompts come from this many recently accepted tasks. */
export const MACHINE_POOL = 500;

export async function runOnline(options: OnlineOptions, deps: OnlineDeps): Promise<RunSummary> {
  const { store } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();
  const { index, templateId, runId, resumed } = prepareRun(options, store, deps.index);
  const { stages, answers, turns } = composeStages(options, { store, index, runId, templateId, random });
  const acceptedAtStart = answers === undefined ? store.countAccepted(runId) : new AnswerStore(store).countAccepted(runId);
  // The near-duplicate index's size, or (two-stage) the tasks waiting for an answer, or the conversations under way.
  const indexSize = turns !== undefined ? turns.book.openDrafts : answers === undefined ? index.size : answers.waiting;
  const budget = Budget.forRun(options, store.runTotals(runId).requests);
  const result = await runStages(
    stages,
    {
      runId,
      target: options.target,
      acceptedAtStart,
      concurrency: options.concurrency,
      maxConsecutiveFailures: options.maxConsecutiveFailures,
      drainTimeoutMs: options.drainTimeoutMs,
      indexSize,
      resumed: answers === undefined ? resumed : acceptedAtStart > 0,
    },
    { store, llm: deps.llm, budget, guard: yieldGuardFor(options), ...optionalDeps(deps) },
  );
  // Conversations still under way once the target is reached are never carried on: closed, not left as work.
  if (turns !== undefined && result.goalAccepted >= options.target) store.transaction(() => turns.book.closeAll());
  if (answers !== undefined) {
    return finishStages(
      store,
      {
        runId,
        target: options.target,
        resumed,
        started,
        model: options.answer!.model,
        retries: options.answer!.retries ?? ANSWER_DEFAULTS.retries,
        selectionSource: 'generated',
      },
      { answered: result.goalAccepted, answeredAtStart: acceptedAtStart, exhausted: false, ...fatalOf(result) },
    );
  }
  return finishRun(store, { runId, target: options.target, resumed, started }, result);
}

/** What a generate's stages are made from, online or in batches. */
export type StageOptions = Omit<OnlineOptions, 'concurrency' | 'drainTimeoutMs' | 'maxConsecutiveFailures'>;

export interface StageContext {
  store: Store;
  index: NearDupIndex;
  runId: number;
  templateId: number;
  random: Random;
  /** Accepted items per asked item the instruction stage starts from. Default: 0.5, or (instructions only) 0.7. */
  instructionShare?: number | undefined;
  /** The judge's requests per subject in earlier invocations of the run (batch steps). */
  judgeTriedBefore?: ReadonlyMap<string, number> | undefined;
  /** Ask the judge for JSON mode. Default true. */
  judgeJsonMode?: boolean | undefined;
}

/**
 * The stages a generate asks for, in the order the runners ask them for work: the judge and the embedder
 * (followers of what the run accepts), the answers or the turns of conversations (the goal of a
 * two-stage run), and the instructions (the goal, or their feeder).
 */
export function composeStages(options: StageOptions, ctx: StageContext) {
  const { store, index, runId, random } = ctx;
  const twoStage = options.answer !== undefined;
  // Dialogues with an answer model: openings, then turn by turn the answer model's replies and the generation model's follow-ups.
  const turnByTurn = twoStage && options.mode === 'dialogue';
  const examples = new MachineExamples(store, MACHINE_POOL, random, twoStage ? undefined : options.machineExamples);
  const tasks = new Ingestor(store, index, {
    similarity: options.similarity,
    filters: options.filters,
    skipFilters: false,
    ...(twoStage && { instructionOnly: true }),
    benchmarks: options.benchmarks,
  });
  const dialogues =
    options.mode === 'dialogue' && !turnByTurn
      ? new DialogueIngestor(store, index, {
          similarity: options.similarity,
          filters: options.filters,
          turns: options.turns ?? DEFAULT_TURN_BOUNDS,
        })
      : undefined;

  const stages: Stage<any, any, any>[] = [];
  if (options.judge !== undefined) {
    const j = options.judge;
    stages.push(
      new JudgeStage(store, {
        model: j.model,
        rubric: j.rubric,
        price: j.price,
        tasksPerRequest: j.tasksPerRequest ?? 10,
        maxTries: j.maxTries ?? 2,
        jsonMode: ctx.judgeJsonMode ?? true,
        work: { kind: 'run', runId },
        ...(ctx.judgeTriedBefore !== undefined && { triedBefore: ctx.judgeTriedBefore }),
        goodScore: j.minScore ?? 7,
        onGood: (good) => examples.offerJudged(good),
      }),
    );
  }
  if (options.embed !== undefined) {
    const e = options.embed;
    stages.push(
      new EmbedStage(store, {
        model: e.model,
        price: e.price,
        perRequest: e.perRequest ?? 64,
        semanticThreshold: e.semanticThreshold,
        work: { kind: 'run', runId },
      }),
    );
  }
  const answers =
    options.answer === undefined || turnByTurn
      ? undefined
      : new AnswerStage(store, options.answer, { runId, source: 'generated', awaitingOnly: true });
  if (answers !== undefined) stages.push(answers);
  const turns = turnByTurn ? dialogueTurnStages(options, store, index, runId, random) : undefined;
  if (turns !== undefined) stages.push(...turns.stages);
  const feeder = answers ?? turns?.goal;
  const instructions = new InstructionStage(
    {
      ...options,
      price: options.price,
      templateId: ctx.templateId,
      runId,
      ...(twoStage && { instructionOnly: true }),
      role: feeder === undefined ? 'goal' : 'feeder',
      demand: feeder === undefined ? goalDemand : feeder.feederDemand(),
    },
    { tasks: turns?.book ?? tasks, dialogues },
    examples,
    random,
    ctx.instructionShare ?? (twoStage ? PRIOR_INSTRUCTION_SHARE : 0.5),
  );
  stages.push(instructions);
  return { stages, answers, turns, instructions };
}

/**
 * The stages of conversations built turn by turn: the answer model's replies (the goal: each last reply
 * finishes a conversation) and the generation model's follow-ups; the openings come from the instruction
 * stage, stored as drafts by the book.
 */
function dialogueTurnStages(options: StageOptions, store: Store, index: NearDupIndex, runId: number, random: Random) {
  const answer = options.answer!;
  const bounds = options.turns ?? DEFAULT_TURN_BOUNDS;
  const book = new DraftBook(
    store,
    index,
    {
      runId,
      turns: bounds,
      filters: options.filters,
      similarity: options.similarity,
      maxAttempts: (answer.retries ?? ANSWER_DEFAULTS.retries) + 1,
    },
    random,
  );
  const goal = new DialogueAnswerStage(store, book, { ...answer, turns: bounds, filters: options.filters }, runId);
  const followUps = new DialogueFollowUpStage(
    store,
    book,
    goal,
    { template: options.followUpTemplate ?? loadFollowUpTemplate(), params: options.params, price: options.price },
    runId,
  );
  return { book, goal, stages: [goal, followUps] };
}

function fatalOf(result: RunnerResult) {
  return {
    ...(result.fatal !== undefined && { fatal: result.fatal }),
    ...(result.budgetStop !== undefined && { budgetStop: result.budgetStop }),
  };
}

function optionalDeps(deps: OnlineDeps) {
  return { ...(deps.onEvent && { onEvent: deps.onEvent }), ...(deps.signal && { signal: deps.signal }) };
}

/** Marks a one-stage run finished and builds its summary; throws GenerationFailed (with the summary) on a fatal error. */
function finishRun(
  store: Store,
  run: { runId: number; target: number; resumed: boolean; started: number },
  result: RunnerResult,
): RunSummary {
  const { fatal, budgetStop } = result;
  const diskFull = fatal instanceof StorageError;
  const status = diskFull
    ? 'interrupted'
    : fatal !== undefined
      ? 'failed'
      : result.goalAccepted >= run.target
        ? 'completed'
        : 'interrupted';
  try {
    store.finishRun(run.runId, status, fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined));
  } catch (err) {
    // The disk that stopped the run may not take this row either; the run stays resumable all the same.
    if (!diskFull) throw err;
  }
  const summary: RunSummary = {
    ...summaryBase(store, run, status, result.goalAccepted - result.goalAcceptedAtStart),
    ...(result.yieldGuard !== undefined && { yieldGuard: result.yieldGuard }),
  };
  if (diskFull) summary.stopReason = 'storage';
  else if (status === 'interrupted') {
    summary.stopReason = budgetStop?.reason ?? 'signal';
    if (budgetStop !== undefined) summary.stopMessage = budgetStop.message;
  }
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new GenerationFailed(fatal.message, summary, { category: fatal instanceof EndpointsUnavailable ? 'unavailable' : 'failed' });
  }
  return summary;
}
