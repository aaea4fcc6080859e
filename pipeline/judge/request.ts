/**
 * One judge request: K subjects (a task's own output, or one of its answers) under ids 1..K → the rubric prompt → the model (through the shared
 * client: limiter, retries) → parse → one transaction with the request, its attempts and its
 * judgments. The budget is the caller's, so an inline judge spends from the generate run's --max-cost.
 */
import { insertReply } from '../online.ts';
import type { Budget, BudgetStop } from '../budget.ts';
import { LlmError, type ChatMessage, type ChatParams, type ChatReply, type LlmClient } from '../llm.ts';
import { costUsd, type Price } from '../llm/cost.ts';
import { AttemptStore } from '../store/attempts.ts';
import { JudgmentStore, type JudgeKey, type JudgeSubject, type TaskToJudge } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import { parseJudgeReply, type JudgeParse } from './parse.ts';
import { buildJudgeMessages, type Rubric } from './rubric.ts';

export { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST } from './defaults.ts';

export interface JudgeRequestSetup {
  model: string;
  rubric: Rubric;
  /** The run the requests are stored under (a judge run, or the generate run judging inline). */
  runId: number;
  price?: Price | undefined;
  /** Default 0: a judge should be repeatable. */
  temperature?: number;
  /** max_tokens = this × K + 200: room for K items with a short reason each. Default 120. */
  maxTokensPerTask?: number;
}

export type JudgeOutcome =
  | {
      kind: 'judged';
      requestId: number;
      parse: JudgeParse;
      added: number;
      /** Subjects the reply did not answer for. */
      missing: JudgeSubject[];
      costUsd: number;
      promptTokens: number;
      completionTokens: number;
    }
  | { kind: 'failed'; requestId: number; error: LlmError }
  | { kind: 'refused'; stop: BudgetStop };

/** A 400 that says the server does not do `response_format` (older vLLM, some proxies). */
export function isJsonModeUnsupported(error: LlmError): boolean {
  return error.kind === 'bad_request' && /response_format|json_object|json[ _]mode/i.test(error.message);
}

/** The parameters of a judge request for `count` tasks (online and batch alike). */
export function judgeParams(
  setup: Pick<JudgeRequestSetup, 'model' | 'temperature' | 'maxTokensPerTask'>,
  count: number,
  jsonMode: boolean,
): ChatParams {
  return {
    model: setup.model,
    temperature: setup.temperature ?? 0,
    top_p: 1,
    max_tokens: count * (setup.maxTokensPerTask ?? 120) + 200,
    ...(jsonMode ? { response_format: { type: 'json_object' } as const } : {}),
  };
}

/** The prompt for these tasks, under ids 1..K in order. */
export function judgeMessages(rubric: Rubric, tasks: readonly TaskToJudge[]): ChatMessage[] {
  return buildJudgeMessages(
    rubric,
    tasks.map((t, i) => ({ id: i + 1, instruction: t.instruction, input: t.input, output: t.output })),
  );
}

export class JudgeRequester {
  readonly key: JudgeKey;
  private readonly judgments: JudgmentStore;
  private readonly attempts: AttemptStore;
  private readonly templateId: number;
  /** Cleared for good once the server says it does not support response_format. */
  jsonMode: boolean;

  constructor(
    private readonly setup: JudgeRequestSetup,
    private readonly deps: { store: Store; llm: LlmClient; budget: Budget },
    jsonMode = true,
  ) {
    this.key = { model: setup.model, rubricSha256: setup.rubric.sha256 };
    this.judgments = new JudgmentStore(deps.store);
    this.attempts = new AttemptStore(deps.store);
    this.templateId = deps.store.templateId(setup.rubric.name, setup.rubric.sha256, setup.rubric.content);
    this.jsonMode = jsonMode;
  }

  params(count: number): ChatParams {
    return judgeParams(this.setup, count, this.jsonMode);
  }

  messages(tasks: readonly TaskToJudge[]): ChatMessage[] {
    return judgeMessages(this.setup.rubric, tasks);
  }

  /** Worst-case USD of a request (prompt estimate + all of max_tokens). */
  worstCase(messages: readonly ChatMessage[], params: ChatParams): number {
    if (this.setup.price === undefined) return 0;
    const prompt = this.deps.llm.estimatePromptTokens?.(messages, params.model) ?? messages[0]!.content.length;
    return costUsd({ promptTokens: prompt, completionTokens: params.max_tokens }, this.setup.price);
  }

  /** Judges `tasks` in one request; a 400 refusing JSON mode is stored and the request sent again without it. */
  async judge(tasks: readonly TaskToJudge[], signal: AbortSignal): Promise<JudgeOutcome> {
    for (;;) {
      const outcome = await this.once(tasks, signal);
      if (outcome.kind === 'failed' && this.jsonMode && isJsonModeUnsupported(outcome.error)) {
        this.jsonMode = false;
        continue;
      }
      return outcome;
    }
  }

  private async once(tasks: readonly TaskToJudge[], signal: AbortSignal): Promise<JudgeOutcome> {
    const { store, llm, budget } = this.deps;
    const messages = this.messages(tasks);
    const params = this.params(tasks.length);
    const worst = this.worstCase(messages, params);
    const stop = budget.check(worst);
    if (stop !== undefined) return { kind: 'refused', stop };
    const settle = budget.start(worst);
    // Which stored task (and answer; null: its own output) each prompt id stands for: kept with the request,
    // so a reply can be re-read later.
    const stored = { ...params, judge: { ...storedSubjects(tasks), rubricSha256: this.key.rubricSha256 } };
    const base = { runId: this.setup.runId, templateId: this.templateId, model: params.model, messages, params: stored };
    let reply: ChatReply;
    try {
      reply = await llm.complete(messages, params, signal);
    } catch (err) {
      settle(0);
      const error = err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
      const requestId = store.transaction(() => {
        const id = store.insertRequest({ ...base, status: 'error', error: `${error.kind}: ${error.message}`, attempts: error.attempts });
        this.judgments.markJudgeRequest(id);
        this.attempts.insertAttempts(id, error.attemptLog);
        return id;
      });
      return { kind: 'failed', requestId, error };
    }
    const cost = this.setup.price === undefined ? 0 : reply.usage === null ? worst : costUsd(reply.usage, this.setup.price);
    settle(cost);
    const ids = tasks.map((_, i) => i + 1);
    const parse = parseJudgeReply(reply.content, ids);
    const entries = [...parse.judged].map(([id, judgment]) => ({ ...subjectOf(tasks[id - 1]!), judgment }));
    const { requestId, added } = store.transaction(() => {
      const id = insertReply(
        store,
        this.attempts,
        base,
        { ...reply, costUsd: this.setup.price === undefined ? null : cost },
        { replyShape: `judge:${parse.shape}`, parseProblems: parse.problems },
      );
      this.judgments.markJudgeRequest(id);
      return { requestId: id, added: this.judgments.insertJudgments(id, this.key, entries) };
    });
    return {
      kind: 'judged',
      requestId,
      parse,
      added,
      missing: parse.missing.map((id) => subjectOf(tasks[id - 1]!)),
      costUsd: cost,
      promptTokens: reply.usage?.promptTokens ?? 0,
      completionTokens: reply.usage?.completionTokens ?? 0,
    };
  }
}

export function subjectOf(t: JudgeSubject): JudgeSubject {
  return { taskId: t.taskId, answerId: t.answerId };
}

/** A judge request's subjects as its stored params keep them: task ids, and answer ids (null: the task's own output). */
export function storedSubjects(subjects: readonly JudgeSubject[]): { taskIds: number[]; answerIds: (number | null)[] } {
  return { taskIds: subjects.map((s) => s.taskId), answerIds: subjects.map((s) => s.answerId) };
}
