/**
 * The answer stage: one request per task still without an accepted answer by the answer model; the
 * whole completion is the answer, checked by the answer rules and stored accepted or rejected. A task
 * rejected `retries + 1` times is given up. Pending work is a query on the store, so a resumed run answers
 * exactly what is left, and the unique index on accepted (task, model) answers forbids a second one.
 */
import { ANSWER_DEFAULTS, PRIOR_ANSWER_YIELD } from '../answer/defaults.ts';
import { answerMessages, type AnswerTemplate } from '../answer/prompt.ts';
import { checkAnswer, type AnswerVerdict } from '../answer/rules.ts';
import type { ChatParams, ChatReply } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { RunView, Stage, StageOutcome, StageRequest } from './stage.ts';
import { AnswerStore, type AnswerSelection, type TaskToAnswer } from '../store/answers.ts';
import type { Store } from '../store/store.ts';
import { INSTRUCTIONS, requestsFor, type Demand } from './instructions.ts';

export const ANSWERS = 'answers';
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

export class AnswerStage implements Stage<TaskToAnswer, AnswerVerdict> {
  readonly name = ANSWERS;
  readonly role = 'goal' as const;
  readonly templateId: number;
  readonly price: Price | undefined;
  readonly params: ChatParams;
  readonly selection: AnswerSelection;
  private readonly answers: AnswerStore;
  private readonly queue: TaskToAnswer[] = [];
  private readonly taken = new Set<number>();
  /** Tasks of the selection still to answer (in flight included), as last counted. */
  private awaiting: number;
  private answeredNow = 0;
  private givenUpNow = 0;
  /** The run's accepted and rejected answers as stored when first asked (sizing over-asked lines). */
  private runAnswers: { accepted: number; rejected: number } | undefined;

  constructor(
    store: Store,
    private readonly o: AnswerStageOptions,
    private readonly run: {
      runId: number;
      source: string;
      awaitingOnly: boolean;
      feeder?: string;
      anyModel?: boolean;
      /** Only tasks a check model passed (evolve --check-model). */
      checkedOnly?: boolean;
    },
  ) {
    this.answers = new AnswerStore(store);
    this.templateId = store.templateId(o.template.name, o.template.sha256, o.template.content);
    this.price = o.price;
    this.params = {
      model: o.model,
      temperature: o.temperature ?? ANSWER_DEFAULTS.temperature,
      top_p: ANSWER_DEFAULTS.topP,
      max_tokens: o.maxTokens ?? ANSWER_DEFAULTS.maxTokens,
    };
    this.selection = {
      source: run.source,
      awaitingOnly: run.awaitingOnly,
      model: o.model,
      maxAttempts: (o.retries ?? ANSWER_DEFAULTS.retries) + 1,
      ...(run.anyModel && { anyModel: true }),
      ...(run.checkedOnly && { checkedOnly: true }),
    };
    this.awaiting = this.answers.countToAnswer(this.selection);
  }

  /** The stage that makes this one's work (instructions; evolve in an `evolve` run). */
  private get feeder(): string {
    return this.run.feeder ?? INSTRUCTIONS;
  }

  /** Share of answers accepted, with the prior weighing as two answers. */
  get answerYield(): number {
    return (this.answeredNow + PRIOR_ANSWER_YIELD * 2) / (this.answeredNow + this.givenUpNow + 2);
  }

  /** Tasks waiting for an answer (in flight included). */
  get waiting(): number {
    return this.awaiting;
  }

  /**
   * The share of answer requests whose answer is accepted, from the run's stored answers (a prior of 90%
   * to start). Per request, not per task: over-asked, a rejected answer costs a request and, if it is the
   * last one missing, a whole round trip, whereas online the task is simply asked again at once.
   */
  private get lineYield(): number {
    this.runAnswers ??= {
      accepted: this.answers.countAccepted(this.run.runId),
      rejected: Object.values(this.answers.rejectedByReason(this.run.runId)).reduce((n, k) => n + k, 0),
    };
    const { accepted, rejected } = this.runAnswers;
    return (accepted + PRIOR_ANSWER_YIELD * 2) / (accepted + rejected + 2);
  }

  /**
   * Over-asking: answer requests that reach the target in one round trip but for bad luck, the need at the
   * yield seen plus two standard deviations of the accepted count (binomial), so a tail round is rare.
   */
  linesWanted(view: RunView): number {
    const need = view.target - view.goalAccepted;
    if (need <= 0) return 0;
    const y = this.lineYield;
    return Math.ceil(need / y + (2 * Math.sqrt(need * (1 - y))) / y);
  }

  /** Stage 1 of a two-stage run: instructions wanted to cover the target at the answer yield seen so far. */
  feederDemand(): Demand {
    return {
      ask: (view, expectedPerRequest) => {
        if (view.idle) {
          // Idle yet short of the target: the expected coverage was too hopeful; count again and ask anyway.
          this.awaiting = this.answers.countToAnswer(this.selection);
          return true;
        }
        if (view.overAsk) {
          // Instructions for what the tasks awaiting an answer will not cover.
          const short = this.linesWanted(view) - this.awaiting;
          return short > 0 && view.inFlight(this.feeder) < requestsFor(view, short, expectedPerRequest);
        }
        const y = this.answerYield;
        const coverage = view.goalAccepted + this.awaiting * y + view.inFlight(this.feeder) * expectedPerRequest * y;
        return coverage < view.target;
      },
      maxAccept: (view) => {
        if (view.overAsk) return this.linesWanted(view) - this.awaiting;
        const y = this.answerYield;
        return Math.ceil((view.target - view.goalAccepted - this.awaiting * y) / y);
      },
    };
  }

  /** The feeder accepted instructions: more tasks for this stage to answer. */
  notice(from: string, outcome: StageOutcome): void {
    if (from === this.feeder) this.awaiting += outcome.accepted;
  }

  next(view: RunView): StageRequest<TaskToAnswer> | undefined {
    const wanted = view.overAsk ? this.linesWanted(view) : view.target - view.goalAccepted;
    if (view.inFlight(ANSWERS) >= wanted) return undefined;
    if (this.queue.length === 0) this.queue.push(...this.answers.nextTasks(this.selection, REFILL, this.taken));
    const task = this.queue.shift();
    if (task === undefined) return undefined;
    this.taken.add(task.id);
    return { unit: task, messages: answerMessages(this.o.template, task), params: this.params };
  }

  read(task: TaskToAnswer, reply: ChatReply) {
    const verdict = checkAnswer({
      output: reply.content,
      finishReason: reply.finishReason,
      instruction: task.instruction,
      input: task.input,
    });
    return { shape: 'answer', problems: [], value: verdict };
  }

  mark(task: TaskToAnswer, requestId: number): void {
    this.answers.markAnswerRequest(requestId, task.id);
  }

  store(
    task: TaskToAnswer,
    requestId: number,
    verdict: AnswerVerdict,
    reply: ChatReply,
    view: RunView,
  ): StageOutcome & { givenUp: boolean } {
    // A good answer once the run has its target (over-asked) is not kept: its reply is, and the task
    // waits for a later run. So is a second answer to a task (never sent twice; the unique index would refuse it).
    if (verdict.ok && (view.goalAccepted >= view.target || this.answers.hasAccepted(task.id, this.o.model)))
      return { accepted: 0, rejected: { target_reached: 1 }, givenUp: false };
    this.answers.insertChecked(
      {
        taskId: task.id,
        runId: this.run.runId,
        requestId,
        model: this.o.model,
        templateId: this.templateId,
        finishReason: reply.finishReason,
      },
      verdict,
    );
    const givenUp = !verdict.ok && this.answers.rejectedCount(task.id, this.o.model) >= this.selection.maxAttempts;
    return verdict.ok ? { accepted: 1, rejected: {}, givenUp } : { accepted: 0, rejected: { [verdict.reason]: 1 }, givenUp };
  }

  afterStore(task: TaskToAnswer, outcome: StageOutcome & { givenUp?: boolean }): void {
    this.taken.delete(task.id);
    if (outcome.accepted > 0) {
      this.answeredNow++;
      this.awaiting--;
    } else if (outcome.givenUp) {
      this.givenUpNow++;
      this.awaiting--;
    } else this.queue.unshift(task);
  }

  release(task: TaskToAnswer): undefined {
    this.taken.delete(task.id);
    // Not answered: it goes first next time.
    this.queue.unshift(task);
    return undefined;
  }
}
