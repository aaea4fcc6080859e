/**
 * The reply stage of conversations built turn by turn (`--mode dialogue --answer-model M`): the answer
 * model is sent the conversation so far as chat messages (after the answer system message) and writes the
 * assistant's next turn. Its last reply finishes a conversation, so this is the goal stage: the target
 * counts whole, accepted conversations.
 */
import { ANSWER_DEFAULTS, PRIOR_DIALOGUE_YIELD } from '../answer/defaults.ts';
import type { AnswerTemplate } from '../answer/prompt.ts';
import { checkReply, type Advance, type Draft, type DraftBook } from '../dialogue/drafts.ts';
import type { TurnBounds } from '../dialogue/types.ts';
import type { ChatMessage, ChatParams, ChatReply } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { RuleOptions } from '../rules/index.ts';
import type { RunView, Stage, StageOutcome, StageRequest } from './stage.ts';
import type { Store } from '../store/store.ts';
import { cleanField } from '../text.ts';
import type { DialogueVerdict } from '../dialogue/checks.ts';
import { DraftQueue } from './draft-queue.ts';
import { INSTRUCTIONS, type Demand } from './instructions.ts';

export const DIALOGUE_ANSWERS = 'dialogue-answers';

export interface DialogueAnswerOptions {
  model: string;
  /** Only its system message is used: the user turns are the conversation's own. */
  template: AnswerTemplate;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  price?: Price | undefined;
  turns: TurnBounds;
  filters: RuleOptions;
}

/** A checked reply: the cleaned text and the verdict on the conversation up to it. */
export interface CheckedTurn {
  content: string;
  verdict: DialogueVerdict;
}

export type TurnOutcome = StageOutcome & { advance: Advance; retry: boolean };

export class DialogueAnswerStage implements Stage<Draft, CheckedTurn> {
  readonly name = DIALOGUE_ANSWERS;
  readonly role = 'goal' as const;
  readonly templateId: number;
  readonly price: Price | undefined;
  private readonly params: ChatParams;
  private readonly queue: DraftQueue;
  /** Requests out for the last reply of a conversation: each may finish one. */
  private lastRepliesOut = 0;

  constructor(
    store: Store,
    private readonly book: DraftBook,
    private readonly o: DialogueAnswerOptions,
    runId: number,
  ) {
    this.templateId = store.templateId(o.template.name, o.template.sha256, o.template.content);
    this.price = o.price;
    this.params = {
      model: o.model,
      temperature: o.temperature ?? ANSWER_DEFAULTS.temperature,
      top_p: ANSWER_DEFAULTS.topP,
      max_tokens: o.maxTokens ?? ANSWER_DEFAULTS.maxTokens,
    };
    this.queue = new DraftQueue(book.drafts, runId, 'answer');
  }

  /** Share of finished drafts accepted, with the prior weighing as two. */
  private get draftYield(): number {
    return (this.book.finished + PRIOR_DIALOGUE_YIELD * 2) / (this.book.finished + this.book.givenUp + 2);
  }

  /**
   * Whether the last replies out would reach the target if accepted: then neither stage sends more until
   * one comes back (a rejected one is retried, a failed one sent again).
   */
  saturated(view: RunView): boolean {
    return view.goalAccepted + this.lastRepliesOut >= view.target;
  }

  /** The openings stage: drafts wanted to cover the target at the yield seen so far. */
  feederDemand(): Demand {
    return {
      ask: (view, expectedPerRequest) => {
        if (view.idle) {
          // Idle yet short of the target: the expected coverage was too hopeful; count again and ask anyway.
          this.book.recount();
          return true;
        }
        const y = this.draftYield;
        const coverage = view.goalAccepted + this.book.openDrafts * y + view.inFlight(INSTRUCTIONS) * expectedPerRequest * y;
        return coverage < view.target;
      },
      maxAccept: (view) => {
        const y = this.draftYield;
        return Math.ceil((view.target - view.goalAccepted - this.book.openDrafts * y) / y);
      },
    };
  }

  next(view: RunView): StageRequest<Draft> | undefined {
    if (this.saturated(view)) return undefined;
    const draft = this.queue.take();
    if (draft === undefined) return undefined;
    if (isLast(draft)) this.lastRepliesOut++;
    return { unit: draft, messages: this.messages(draft), params: this.params };
  }

  private messages(draft: Draft): ChatMessage[] {
    const turns = draft.turns.map((t) => ({ role: t.role, content: t.content }));
    return this.o.template.system === '' ? turns : [{ role: 'system', content: this.o.template.system }, ...turns];
  }

  read(draft: Draft, reply: ChatReply) {
    const content = cleanField(reply.content);
    const verdict = checkReply(draft.turns, content, reply.finishReason, draft.planned, this.o.turns, this.o.filters);
    return { shape: 'answer', problems: [], value: { content, verdict } };
  }

  store(draft: Draft, requestId: number, checked: CheckedTurn, _reply: ChatReply, view: RunView): TurnOutcome {
    return storeTurn(this.book, draft, { role: 'assistant', content: checked.content, requestId }, checked.verdict, view);
  }

  afterStore(draft: Draft, outcome: TurnOutcome): void {
    if (isLast(draft)) this.lastRepliesOut--;
    if (outcome.retry) this.queue.putBack(draft);
    else this.queue.done(draft);
  }

  release(draft: Draft): undefined {
    if (isLast(draft)) this.lastRepliesOut--;
    this.queue.putBack(draft);
    return undefined;
  }
}

/** Whether the reply a draft waits for is its last. */
function isLast(draft: Draft): boolean {
  return draft.turns.length + 1 >= 2 * draft.planned;
}

/** Stores a checked turn (a reply or a follow-up) of a draft, or counts it rejected: the stage's outcome. */
export function storeTurn(
  book: DraftBook,
  draft: Draft,
  turn: { role: 'user' | 'assistant'; content: string; requestId: number },
  verdict: DialogueVerdict,
  view: RunView,
): TurnOutcome {
  const advance = verdict.ok
    ? book.advance(draft, turn, view.target - view.goalAccepted)
    : book.reject(draft, verdict.reason, verdict.detail);
  const rejected = !verdict.ok ? { [verdict.reason]: 1 } : advance.kind === 'given-up' ? { [advance.reason]: 1 } : {};
  return { accepted: advance.kind === 'accepted' ? 1 : 0, rejected, advance, retry: !verdict.ok && advance.kind === 'open' };
}
