/**
 * The engine of two-stage generation: one pool of `concurrency` request slots, one budget and one rate
 * limiter shared by stage 1 (instruction-only prompts, many items per request) and stage 2 (one answer
 * request per accepted instruction). Answers come first: a slot goes to stage 1 only when no task is
 * waiting for an answer and the tasks accepted or in flight are not expected to cover the target.
 *
 * Everything is decided from the store, so a kill at any moment loses only requests in flight: an answer
 * and its request are one transaction, the unique index on accepted (task, model) answers forbids a
 * second one, and the next invocation finds the unanswered tasks by querying for them.
 */
import { ANSWER_DEFAULTS, PRIOR_ANSWER_YIELD, PRIOR_INSTRUCTION_SHARE } from './defaults.ts';
import { setMaxListeners } from 'node:events';
import { Budget, type BudgetStop } from '../budget.ts';
import type { Ingestor } from '../ingest.ts';
import type { ChatMessage, ChatParams, ChatReply, LlmClient } from '../llm.ts';
import { costUsd, type Price } from '../llm/cost.ts';
import {
  insertReply,
  promptMessages,
  storeFailure,
  storeReply,
  type GenerateEvent,
  type Progress,
  type RequestBase,
  type RequestSink,
} from '../online.ts';
import type { GenerationMode, Random, Template } from '../prompt.ts';
import { AnswerStore, type AnswerSelection, type TaskToAnswer } from '../store/answers.ts';
import { AttemptStore } from '../store/attempts.ts';
import type { Store } from '../store/store.ts';
import type { SeedTask, Task } from '../types.ts';
import { answerMessages, type AnswerTemplate } from './prompt.ts';
import { checkAnswer } from './rules.ts';
import { asLlmError, fatalFrom, type FailureState } from './failures.ts';

const MACHINE_POOL = 500;
const REFILL = 64;

export interface AnswerStageOptions {
  model: string;
  template: AnswerTemplate;
  /** Completion limit of an answer; an answer cut off by it is rejected as `truncated`. Default 2048. */
  maxTokens?: number | undefined;
  /** Default 0.7. */
  temperature?: number | undefined;
  /** Rejected answers retried this many times per task and model, then the task is unanswerable. Default 2. */
  retries?: number | undefined;
  price?: Price | undefined;
}

export interface InstructionStageOptions {
  mode: GenerationMode;
  template: Template;
  seeds: readonly SeedTask[];
  topics: readonly string[];
  taskTypes: readonly string[];
  params: ChatParams;
  tasksPerRequest: number;
  price?: Price | undefined;
  /** Stores stage-1 tasks; must be built with `instructionOnly`. */
  ingestor: Ingestor;
  templateId: number;
}

export interface StagesOptions {
  runId: number;
  /** Accepted answers the run must have (earlier invocations count). */
  target: number;
  /** Absent: answer what the selection holds and stop (the `answer` command). */
  instructions?: InstructionStageOptions | undefined;
  answer: AnswerStageOptions;
  answerTemplateId: number;
  /** Which tasks stage 2 answers; `model` and `maxAttempts` are filled in from `answer`. */
  selection: Pick<AnswerSelection, 'source' | 'awaitingOnly'>;
  /** Default 8. */
  concurrency?: number | undefined;
  /** Default 20. */
  maxConsecutiveFailures?: number | undefined;
  /** Default 10 000. */
  drainTimeoutMs?: number | undefined;
  maxCostUsd?: number | undefined;
  maxRequests?: number | undefined;
}

export interface StagesDeps {
  store: Store;
  llm: LlmClient;
  random?: Random;
  onEvent?: (event: GenerateEvent) => void;
  signal?: AbortSignal;
}

export interface StagesResult {
  /** Accepted answers of the run, earlier invocations included. */
  answered: number;
  answeredAtStart: number;
  /** The selection ran out of tasks to answer (answer-only mode). */
  exhausted: boolean;
  fatal?: Error;
  budgetStop?: BudgetStop;
}

export async function runStages(o: StagesOptions, deps: StagesDeps): Promise<StagesResult> {
  const { store, llm } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();
  const concurrency = o.concurrency ?? 8;
  const maxFailures = o.maxConsecutiveFailures ?? 20;
  const answers = new AnswerStore(store);
  const attempts = new AttemptStore(store);
  const retries = o.answer.retries ?? ANSWER_DEFAULTS.retries;
  const selection: AnswerSelection = { ...o.selection, model: o.answer.model, maxAttempts: retries + 1 };
  const answerParams: ChatParams = {
    model: o.answer.model,
    temperature: o.answer.temperature ?? ANSWER_DEFAULTS.temperature,
    top_p: ANSWER_DEFAULTS.topP,
    max_tokens: o.answer.maxTokens ?? ANSWER_DEFAULTS.maxTokens,
  };
  const stage1 = o.instructions;
  const machinePool: Task[] = stage1 ? store.sampleAccepted('generated', MACHINE_POOL) : [];

  const answeredAtStart = answers.countAccepted(o.runId);
  let answered = answeredAtStart;
  let awaiting = answers.countToAnswer(selection);
  let answeredNow = 0;
  let givenUpNow = 0;
  // Instruction-only items lose fewer to the filters than whole tasks (no output rules): start at 70%.
  let instructionYield = stage1 ? stage1.tasksPerRequest * PRIOR_INSTRUCTION_SHARE : 0;
  const answerYield = (): number => (answeredNow + PRIOR_ANSWER_YIELD * 2) / (answeredNow + givenUpNow + 2);

  const budget = Budget.forRun({ maxCostUsd: o.maxCostUsd, maxRequests: o.maxRequests }, store.runTotals(o.runId).requests);
  const p: Progress = {
    runId: o.runId,
    target: o.target,
    accepted: answered,
    acceptedAtStart: answeredAtStart,
    rejected: 0,
    requests: 0,
    failedRequests: 0,
    inFlight: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: budget.spentUsd,
    elapsedMs: 0,
  };
  const snapshot = (): Progress => ({ ...p, accepted: answered, elapsedMs: performance.now() - started });
  deps.onEvent?.({ type: 'start', progress: snapshot(), resumed: answeredAtStart > 0, indexSize: awaiting });

  const cancel = new AbortController();
  setMaxListeners(concurrency * 4 + 10, cancel.signal);
  let drainTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: 'stop signal' });
    drainTimer = setTimeout(() => cancel.abort(), o.drainTimeoutMs ?? 10_000);
  };
  if (deps.signal?.aborted) onStop();
  else deps.signal?.addEventListener('abort', onStop, { once: true });

  const failures: FailureState = { consecutive: 0 };
  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  let budgetBlocked = false;
  let exhausted = false;
  let answersInFlight = 0;
  let stage1InFlight = 0;
  const queue: TaskToAnswer[] = [];
  const taken = new Set<number>();

  const nextTask = (): TaskToAnswer | undefined => {
    if (queue.length === 0) queue.push(...answers.nextTasks(selection, REFILL, taken));
    return queue.shift();
  };
  /** Answers expected from what is accepted or asked for already. */
  const coverage = (): number => answered + awaiting * answerYield() + stage1InFlight * instructionYield * answerYield();
  const finished = (): boolean =>
    answered >= o.target || fatal !== undefined || budgetStop !== undefined || (deps.signal?.aborted ?? false);

  /** Reserves the budget for a request, or records why it cannot start; undefined when refused. */
  const reserve = (
    messages: ChatMessage[],
    params: ChatParams,
    price: Price | undefined,
  ): { settle: (usd: number) => void; worstUsd: number } | undefined => {
    const estimate = llm.estimatePromptTokens?.(messages, params.model) ?? messages.reduce((n, m) => n + m.content.length, 0);
    const worstUsd = price === undefined ? 0 : costUsd({ promptTokens: estimate, completionTokens: params.max_tokens }, price);
    const refused = budget.check(worstUsd);
    if (refused === undefined) return { settle: budget.start(worstUsd), worstUsd };
    if (budget.inFlight > 0) budgetBlocked = true;
    else if (budgetStop === undefined) {
      budgetStop = refused;
      deps.onEvent?.({ type: 'stopping', progress: { ...snapshot(), inFlight: 0 }, reason: refused.message });
    }
    return undefined;
  };

  const countReply = (reply: ChatReply, price: Price | undefined, worstUsd: number, settle: (usd: number) => void): number | null => {
    failures.consecutive = 0;
    p.promptTokens += reply.usage?.promptTokens ?? 0;
    p.completionTokens += reply.usage?.completionTokens ?? 0;
    const cost = price === undefined ? null : reply.usage === null ? worstUsd : costUsd(reply.usage, price);
    settle(cost ?? 0);
    budgetBlocked = false;
    p.costUsd = budget.spentUsd;
    return cost;
  };

  const failed = (
    err: unknown,
    settle: (usd: number) => void,
    storeIt: (error: string, e: ReturnType<typeof asLlmError>) => number,
  ): boolean => {
    const error = asLlmError(err);
    settle(0);
    budgetBlocked = false;
    const message = `${error.kind}: ${error.message}`;
    const requestId = storeIt(message, error);
    p.failedRequests++;
    deps.onEvent?.({ type: 'request-failed', progress: snapshot(), requestId, error: message });
    fatal ??= fatalFrom(error, failures, maxFailures);
    return error.kind === 'aborted';
  };

  const answerOne = async (
    task: TaskToAnswer,
    messages: ChatMessage[],
    r: { settle: (usd: number) => void; worstUsd: number },
  ): Promise<void> => {
    const base: RequestBase = { runId: o.runId, templateId: o.answerTemplateId, model: o.answer.model, messages, params: answerParams };
    p.requests++;
    let reply: ChatReply;
    try {
      reply = await llm.complete(messages, answerParams, cancel.signal);
    } catch (err) {
      failed(err, r.settle, (error, e) =>
        store.transaction(() => {
          const id = store.insertRequest({ ...base, status: 'error', error, attempts: e.attempts });
          attempts.insertAttempts(id, e.attemptLog);
          answers.markAnswerRequest(id, task.id);
          return id;
        }),
      );
      queue.unshift(task); // not answered: it goes first next time
      return;
    }
    const cost = countReply(reply, o.answer.price, r.worstUsd, r.settle);
    const verdict = checkAnswer({
      output: reply.content,
      finishReason: reply.finishReason,
      instruction: task.instruction,
      input: task.input,
    });
    const { requestId, givenUp } = store.transaction(() => {
      const requestId = insertReply(store, attempts, base, { ...reply, costUsd: cost }, { replyShape: 'answer' });
      answers.markAnswerRequest(requestId, task.id);
      answers.insertChecked(
        {
          taskId: task.id,
          runId: o.runId,
          requestId,
          model: o.answer.model,
          templateId: o.answerTemplateId,
          finishReason: reply.finishReason,
        },
        verdict,
      );
      return { requestId, givenUp: !verdict.ok && answers.rejectedCount(task.id, o.answer.model) >= selection.maxAttempts };
    });
    if (verdict.ok) {
      answered++;
      answeredNow++;
      awaiting--;
    } else {
      p.rejected++;
      if (givenUp) {
        givenUpNow++;
        awaiting--;
      } else queue.unshift(task);
    }
    deps.onEvent?.({ type: 'reply', progress: snapshot(), requestId, newlyAccepted: verdict.ok ? 1 : 0 });
  };

  const askInstructions = async (
    s1: InstructionStageOptions,
    messages: ChatMessage[],
    r: { settle: (usd: number) => void; worstUsd: number },
  ): Promise<void> => {
    const sink: RequestSink = { store, attempts, ingestor: s1.ingestor, runId: o.runId };
    const base: RequestBase = { runId: o.runId, templateId: s1.templateId, model: s1.params.model, messages, params: s1.params };
    p.requests++;
    let reply: ChatReply;
    try {
      reply = await llm.complete(messages, s1.params, cancel.signal);
    } catch (err) {
      failed(err, r.settle, (error, e) => storeFailure(sink, base, { error, attempts: e.attempts, attemptLog: e.attemptLog }));
      return;
    }
    const cost = countReply(reply, s1.price, r.worstUsd, r.settle);
    // Accept no more instructions than the target still needs at the answer yield seen so far.
    const need = o.target - answered - awaiting * answerYield();
    const maxAccept = Math.max(0, Math.ceil(need / answerYield()));
    const { requestId, result } = storeReply(sink, base, { ...reply, costUsd: cost }, maxAccept);
    awaiting += result.accepted.length;
    for (const n of Object.values(result.rejected)) p.rejected += n ?? 0;
    for (const t of result.accepted) {
      if (machinePool.length < MACHINE_POOL) machinePool.push(t);
      else machinePool[Math.floor(random() * MACHINE_POOL)] = t;
    }
    instructionYield = 0.8 * instructionYield + 0.2 * result.accepted.length;
    deps.onEvent?.({ type: 'reply', progress: snapshot(), requestId, newlyAccepted: 0 });
  };

  const instructionMessages = (s1: InstructionStageOptions): ChatMessage[] =>
    promptMessages({ ...s1, maxOutputChars: 0 }, machinePool, random, true);

  await new Promise<void>((resolve) => {
    const launch = (job: Promise<void>, stage: 'answer' | 'instructions'): void => {
      p.inFlight++;
      if (stage === 'answer') answersInFlight++;
      else stage1InFlight++;
      void job
        .catch((err: unknown) => {
          fatal ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => {
          p.inFlight--;
          if (stage === 'answer') answersInFlight--;
          else stage1InFlight--;
          pump();
        });
    };
    /** Starts one request if one is due; false when nothing can start now. */
    const startOne = (forceInstructions: boolean): boolean => {
      if (answered + answersInFlight < o.target) {
        const task = nextTask();
        if (task !== undefined) {
          const messages = answerMessages(o.answer.template, task);
          const r = reserve(messages, answerParams, o.answer.price);
          if (r === undefined) {
            queue.unshift(task);
            return false;
          }
          taken.add(task.id);
          launch(
            answerOne(task, messages, r).finally(() => taken.delete(task.id)),
            'answer',
          );
          return true;
        }
      }
      if (stage1 !== undefined && (forceInstructions || coverage() < o.target)) {
        const messages = instructionMessages(stage1);
        const r = reserve(messages, stage1.params, stage1.price);
        if (r === undefined) return false;
        launch(askInstructions(stage1, messages, r), 'instructions');
        return true;
      }
      return false;
    };
    const pump = (): void => {
      while (!finished() && !budgetBlocked && p.inFlight < concurrency && startOne(false));
      if (!finished() && !budgetBlocked && p.inFlight === 0) {
        // Idle yet short of the target: the expected coverage was too hopeful; ask for instructions anyway.
        awaiting = answers.countToAnswer(selection);
        if (stage1 !== undefined) startOne(true);
        else exhausted = true;
      }
      if (p.inFlight === 0) resolve();
    };
    pump();
  });
  clearTimeout(drainTimer);
  deps.signal?.removeEventListener('abort', onStop);
  const result: StagesResult = { answered, answeredAtStart, exhausted };
  if (fatal !== undefined) result.fatal = fatal;
  if (budgetStop !== undefined) result.budgetStop = budgetStop;
  return result;
}

export { ANSWER_DEFAULTS };
