/**
 * Stage 2 of two-stage generation in batch mode (`generate --answer-model M --batch`): the answer lines
 * a batch step submits and how it stores their results. Stage 1 goes through the batch step as any
 * generation batch, with an instruction-only ingestor; the Batch API takes one model per batch, so
 * answers travel in batches of their own.
 *
 * Sizing: a step sends as many answer lines as the run needs at the share of answers accepted so far,
 * with a margin of two standard deviations, so that one answer batch nearly always finishes the run;
 * rejected and failed answers leave their tasks awaiting and the next step sends them again (up to the
 * retries). Exactness: a task is never in two open lines (lines
 * are built only when no batch of the run is out), and an accepted answer arriving once the run has its
 * target is not kept as an answer (its request and reply are; the task stays awaiting for a later run),
 * so the run ends at exactly `target` and no task is answered twice by the model.
 */
import type { ChatParams } from '../llm.ts';
import { costUsd } from '../llm/cost.ts';
import { insertReply, type ReplyToStore, type RequestBase } from '../runtime/requests.ts';
import { AnswerStore, type AnswerSelection, type TaskToAnswer } from '../store/answers.ts';
import type { AttemptStore } from '../store/attempts.ts';
import type { NewBatchRequest } from '../store/batches.ts';
import type { Store } from '../store/store.ts';
import { ANSWER_DEFAULTS, PRIOR_ANSWER_YIELD } from './defaults.ts';
import { answerMessages } from './prompt.ts';
import { checkAnswer } from './rules.ts';
import type { AnswerStageOptions } from '../stages/answers.ts';

export class AnswerBatchStage {
  readonly params: ChatParams;
  readonly selection: AnswerSelection;
  readonly templateId: number;
  /** Accepted answers of the run (what `target` counts). */
  answered: number;
  /** Tasks of the selection still without an accepted answer by the model, and not given up. */
  awaiting: number;
  /** Rejected answers of the run: with `answered`, the share of answer lines that bring an answer. */
  private rejected: number;
  private readonly answers: AnswerStore;

  constructor(
    private readonly store: Store,
    private readonly runId: number,
    readonly options: AnswerStageOptions,
  ) {
    this.answers = new AnswerStore(store);
    this.params = {
      model: options.model,
      temperature: options.temperature ?? ANSWER_DEFAULTS.temperature,
      top_p: ANSWER_DEFAULTS.topP,
      max_tokens: options.maxTokens ?? ANSWER_DEFAULTS.maxTokens,
    };
    this.selection = {
      source: 'generated',
      awaitingOnly: true,
      model: options.model,
      maxAttempts: (options.retries ?? ANSWER_DEFAULTS.retries) + 1,
    };
    this.templateId = store.templateId(options.template.name, options.template.sha256, options.template.content);
    this.answered = this.answers.countAccepted(runId);
    this.awaiting = this.answers.countToAnswer(this.selection);
    this.rejected = Object.values(this.answers.rejectedByReason(runId)).reduce((n, k) => n + k, 0);
  }

  /**
   * The share of answer lines whose answer is accepted, from the run so far (a prior of 90% to start).
   * Per line, not per task: in batch mode a rejected answer costs a line and, if it is the last one
   * missing, a batch cycle, whereas the online stage retries at once.
   */
  answerYield(): number {
    return (this.answered + PRIOR_ANSWER_YIELD * 2) / (this.answered + this.rejected + 2);
  }

  /**
   * Answer lines that reach `target` in one batch but for bad luck: the need at the yield seen, plus two
   * standard deviations of the accepted count (binomial), so a tail batch is rare and the surplus small.
   */
  linesWanted(target: number): number {
    const need = target - this.answered;
    if (need <= 0) return 0;
    const y = this.answerYield();
    return Math.ceil(need / y + (2 * Math.sqrt(need * (1 - y))) / y);
  }

  /** Instructions still to accept for that many lines (what a stage-1 reply may add, and batch 1 asks for). */
  instructionsWanted(target: number): number {
    return Math.max(0, this.linesWanted(target) - this.awaiting);
  }

  /** Tasks to answer next, oldest first (unanswered accepted instructions of earlier runs included). */
  nextTasks(limit: number): TaskToAnswer[] {
    return limit <= 0 ? [] : this.answers.nextTasks(this.selection, limit, new Set());
  }

  /** The batch line answering one task. */
  line(task: TaskToAnswer): NewBatchRequest & { messages: ReturnType<typeof answerMessages> } {
    return {
      templateId: this.templateId,
      messages: answerMessages(this.options.template, task),
      params: this.params,
      answerTaskId: task.id,
    };
  }

  /** The request's worst-case batch cost, for the budget: the prompt as estimated plus max_tokens. */
  worstUsd(promptTokens: number): number {
    const price = this.options.price;
    return price === undefined ? 0 : costUsd({ promptTokens, completionTokens: this.params.max_tokens }, price, true);
  }

  /** The cost of a reply at batch price; null when the model has no price or the reply no usage. */
  costOf(reply: Pick<ReplyToStore, 'usage'>): number | null {
    const price = this.options.price;
    return price === undefined || reply.usage === null ? null : costUsd(reply.usage, price, true);
  }

  /**
   * Stores an answer line's reply: the request, its attempts and the answer (accepted or rejected with
   * its reason), inside the caller's transaction. Returns the request id and whether it was accepted;
   * `surplus` when it was a good answer the run, at `target` already, does not keep.
   */
  storeReply(
    attempts: AttemptStore,
    base: RequestBase,
    taskId: number,
    reply: ReplyToStore,
    target: number,
  ): { requestId: number; accepted: boolean; surplus: boolean } {
    const task = this.answers.task(taskId);
    const verdict = checkAnswer({
      output: reply.content,
      finishReason: reply.finishReason,
      instruction: task?.instruction ?? '',
      input: task?.input ?? '',
    });
    const requestId = insertReply(this.store, attempts, base, reply, { replyShape: 'answer' });
    this.answers.markAnswerRequest(requestId, taskId);
    // Defensive: the unique index on accepted answers would refuse a second one; the reply stays stored.
    if (task === undefined || this.answers.hasAccepted(taskId, this.options.model)) return { requestId, accepted: false, surplus: false };
    if (verdict.ok && this.answered >= target) return { requestId, accepted: false, surplus: true };
    this.answers.insertChecked(
      { taskId, runId: this.runId, requestId, model: this.options.model, templateId: this.templateId, finishReason: reply.finishReason },
      verdict,
    );
    if (verdict.ok) {
      this.answered++;
      this.awaiting--;
    } else {
      this.rejected++;
      if (this.answers.rejectedCount(taskId, this.options.model) >= this.selection.maxAttempts) this.awaiting--;
    }
    return { requestId, accepted: verdict.ok, surplus: false };
  }

  /** Ties a failed request (no usable reply) to the task it was for. */
  markFailed(requestId: number, taskId: number): void {
    this.answers.markAnswerRequest(requestId, taskId);
  }

  /** Counts a stage-1 reply's accepted instructions as awaiting. */
  addAwaiting(n: number): void {
    this.awaiting += n;
  }
}
