/**
 * The follow-up stage of conversations built turn by turn: the generation model, shown the conversation
 * so far, writes the user's next turn after the answer model's reply — so a follow-up can take up what the
 * reply really said. It feeds the reply stage (stages/dialogue-answers.ts).
 */
import { checkFollowUp } from '../dialogue/checks.ts';
import type { Draft, DraftBook } from '../dialogue/drafts.ts';
import { followUpMessages, readFollowUp } from '../dialogue/follow-up.ts';
import type { ChatParams, ChatReply } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { Template } from '../templates.ts';
import type { RunView, Stage, StageRequest } from './stage.ts';
import type { Store } from '../store/store.ts';
import { storeTurn, type CheckedTurn, type DialogueAnswerStage, type TurnOutcome } from './dialogue-answers.ts';
import { DraftQueue } from './draft-queue.ts';

export const DIALOGUE_FOLLOW_UPS = 'dialogue-follow-ups';

/** A user turn is short: a reply of more tokens than this is not one (and would cost for nothing). */
const FOLLOW_UP_MAX_TOKENS = 1024;

export interface DialogueFollowUpOptions {
  template: Template;
  /** The generation model's parameters. */
  params: ChatParams;
  price?: Price | undefined;
}

export class DialogueFollowUpStage implements Stage<Draft, CheckedTurn> {
  readonly name = DIALOGUE_FOLLOW_UPS;
  readonly role = 'feeder' as const;
  readonly templateId: number;
  readonly price: Price | undefined;
  /**
   * The yield guard watches follow-ups: a generation model that never writes a usable user turn would
   * otherwise have its drafts given up and new openings asked for without end.
   */
  readonly guarded = true;
  private readonly params: ChatParams;
  private readonly queue: DraftQueue;

  constructor(
    store: Store,
    private readonly book: DraftBook,
    private readonly answers: DialogueAnswerStage,
    private readonly o: DialogueFollowUpOptions,
    runId: number,
  ) {
    this.templateId = store.templateId(o.template.name, o.template.sha256, o.template.content);
    this.price = o.price;
    this.params = { ...o.params, max_tokens: Math.min(o.params.max_tokens ?? FOLLOW_UP_MAX_TOKENS, FOLLOW_UP_MAX_TOKENS) };
    this.queue = new DraftQueue(book.drafts, runId, 'follow-up');
  }

  next(view: RunView): StageRequest<Draft> | undefined {
    if (this.answers.saturated(view)) return undefined;
    const draft = this.queue.take();
    if (draft === undefined) return undefined;
    return { unit: draft, messages: followUpMessages(this.o.template, draft.turns, draft.planned), params: this.params };
  }

  read(draft: Draft, reply: ChatReply) {
    const r = readFollowUp(reply.content, reply.finishReason);
    const verdict =
      r.text === undefined
        ? {
            ok: false as const,
            reason: reply.finishReason === 'length' ? 'truncated' : 'no_user_turn',
            detail: r.problems[0] ?? 'no user turn',
          }
        : checkFollowUp(draft.turns, r.text);
    return { shape: r.shape, problems: r.problems, value: { content: r.text ?? '', verdict } };
  }

  store(draft: Draft, requestId: number, checked: CheckedTurn, _reply: ChatReply, view: RunView): TurnOutcome {
    const outcome = storeTurn(this.book, draft, { role: 'user', content: checked.content, requestId }, checked.verdict, view);
    // What this stage accepts is a user turn (a feeder's count; the goal counts conversations).
    return { ...outcome, accepted: outcome.advance.kind === 'open' && !outcome.retry ? 1 : 0 };
  }

  afterStore(draft: Draft, outcome: TurnOutcome): void {
    if (outcome.retry) this.queue.putBack(draft);
    else this.queue.done(draft);
  }

  release(draft: Draft): undefined {
    this.queue.putBack(draft);
    return undefined;
  }
}
