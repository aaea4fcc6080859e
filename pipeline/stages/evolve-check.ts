/**
 * The evolve check stage (`evolve --check-model M`): one request per evolved task asks a cheap model
 * whether the rewrite adds anything to its parent (evolve/check.ts). Its verdict is stored with the
 * reply; "nothing" rejects the evolved task and its evolution as `evolve_no_gain`, so the parent is due
 * again next round. Until checked, an evolved task is not answered (the answer stage's `checkedOnly`).
 *
 * Pending work is the store's unchecked evolved tasks: a kill loses only requests in flight.
 */
import { checkMessages, readCheck, type CheckVerdict } from '../evolve/check.ts';
import type { ChatParams, ChatReply } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { Template } from '../templates.ts';
import type { Stage, StageOutcome, StageRequest } from './stage.ts';
import { EvolutionStore, type UncheckedChild } from '../store/evolutions.ts';
import type { Store } from '../store/store.ts';

export const EVOLVE_CHECK = 'evolve-check';
const REFILL = 64;
/** A verdict is one character and a sentence. */
const CHECK_MAX_TOKENS = 60;

export interface EvolveCheckOptions {
  model: string;
  template: Template;
  price?: Price | undefined;
}

export class EvolveCheckStage implements Stage<UncheckedChild, CheckVerdict> {
  readonly name = EVOLVE_CHECK;
  /** Checks feed the answer stage: asked only while the run's goal is short. */
  readonly role = 'feeder' as const;
  readonly templateId: number;
  readonly price: Price | undefined;
  private readonly evolutions: EvolutionStore;
  private readonly params: ChatParams;
  private readonly queue: UncheckedChild[] = [];
  private readonly taken = new Set<number>();
  private after = 0;
  private stale = false;

  constructor(
    store: Store,
    private readonly o: EvolveCheckOptions,
  ) {
    this.evolutions = new EvolutionStore(store);
    this.templateId = store.templateId(o.template.name, o.template.sha256, o.template.content);
    this.price = o.price;
    this.params = { model: o.model, temperature: 0, top_p: 1, max_tokens: CHECK_MAX_TOKENS };
  }

  next(): StageRequest<UncheckedChild> | undefined {
    if (this.queue.length === 0) this.refill();
    if (this.queue.length === 0 && this.stale) {
      this.stale = false;
      this.after = 0;
      this.refill();
    }
    const child = this.queue.shift();
    if (child === undefined) return undefined;
    this.taken.add(child.taskId);
    return { unit: child, messages: checkMessages(this.o.template, child), params: this.params, stored: { evolveCheck: child.taskId } };
  }

  private refill(): void {
    for (const c of this.evolutions.uncheckedChildren(this.after, REFILL, this.taken)) {
      this.after = Math.max(this.after, c.taskId);
      this.queue.push(c);
    }
  }

  read(_child: UncheckedChild, reply: ChatReply) {
    const verdict = readCheck(reply.content);
    return {
      shape: verdict.read ? `check:${verdict.adds ? 'adds' : 'no-gain'}` : 'check:unread',
      problems: verdict.read ? [] : [verdict.reason],
      value: verdict,
    };
  }

  store(child: UncheckedChild, requestId: number, verdict: CheckVerdict): StageOutcome {
    this.evolutions.insertCheck(child.taskId, this.o.model, verdict.adds, requestId, `check model ${this.o.model}: ${verdict.reason}`);
    return verdict.adds ? { accepted: 1, rejected: {} } : { accepted: 0, rejected: { evolve_no_gain: 1 } };
  }

  afterStore(child: UncheckedChild): void {
    this.taken.delete(child.taskId);
  }

  /** The evolve stage accepted children: new work. */
  notice(): void {
    this.stale = true;
  }

  release(child: UncheckedChild): undefined {
    this.taken.delete(child.taskId);
    this.queue.unshift(child);
    return undefined;
  }
}
