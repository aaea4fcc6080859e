/**
 * The pending drafts of one step (answer or follow-up) of conversations built turn by turn, refilled from
 * the store: each draft waits for exactly one step at a time, so the two stages never share a draft, and
 * `taken` keeps a draft in flight from being sent twice.
 */
import type { Draft, DraftStep, DraftStore } from '../store/dialogue-drafts.ts';

const REFILL = 64;

export class DraftQueue {
  private readonly queue: Draft[] = [];
  private readonly taken = new Set<number>();

  constructor(
    private readonly drafts: DraftStore,
    private readonly runId: number,
    private readonly step: DraftStep,
  ) {}

  take(): Draft | undefined {
    if (this.queue.length === 0) this.queue.push(...this.drafts.due(this.runId, this.step, REFILL, this.taken));
    const draft = this.queue.shift();
    if (draft !== undefined) this.taken.add(draft.id);
    return draft;
  }

  /** The draft moved on (to the other step, finished or given up): the store has it for whoever wants it next. */
  done(draft: Draft): void {
    this.taken.delete(draft.id);
  }

  /** Not moved on (the reply was rejected, or the request failed): it goes first next time. */
  putBack(draft: Draft): void {
    this.taken.delete(draft.id);
    this.queue.unshift(draft);
  }
}
