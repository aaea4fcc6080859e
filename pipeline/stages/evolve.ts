/**
 * The evolve stage (Evol-Instruct): one request per parent and round asks the model to rewrite the
 * parent's instruction by one operation (ops.ts); the reply is read (evolve/read.ts) and the evolved task
 * stored as a task of source `evolved` — rejected with an `evolve_*` reason, or through the `Ingestor`
 * (rules, near-duplicate index) like any task — and its lineage as an `evolutions` row, all in the reply's
 * transaction. Evolved tasks are stored instruction-only: the answer stage answers them.
 *
 * Pending work is the store's pool (store/evolutions.ts): a kill loses only requests in flight, and the
 * unique (parent, round) index forbids a second evolution of a task in a round.
 */
import type { Ingestor } from '../ingest.ts';
import type { ChatParams, ChatReply } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import { evolveMessages, maxAdded, opFor, type EvolveOp, type EvolveTemplates } from '../evolve/ops.ts';
import { readEvolution, type EvolveReading } from '../evolve/read.ts';
import { dedupKey } from '../dedup/similarity.ts';
import type { RunView, Stage, StageOutcome, StageRequest } from './stage.ts';
import { EvolutionStore, type EvolveSelection } from '../store/evolutions.ts';
import type { Store } from '../store/store.ts';
import { charLength } from '../text.ts';
import type { Demand } from './instructions.ts';

export const EVOLVE = 'evolve';
export const EVOLVED_SOURCE = 'evolved';
const REFILL = 64;

/** One evolution to ask for: plain JSON (a batch runner stores it with the batch line). */
export interface EvolveUnit {
  taskId: number;
  rootId: number;
  round: number;
  op: EvolveOp;
  instruction: string;
  input: string;
  answer: string;
  maxAdded: number;
}

export interface EvolveStageOptions {
  runId: number;
  ops: readonly EvolveOp[];
  templates: EvolveTemplates;
  templateId: number;
  selection: EvolveSelection;
  params: ChatParams;
  price?: Price | undefined;
  /** The least characters an evolution may add to an instruction (it may add as many as the parent has). */
  minAdded: number;
  /** Feeder of the answer stage (the run's goal), or the goal itself (evolved tasks counted). */
  role: 'goal' | 'feeder';
  demand: Demand;
}

export class EvolveStage implements Stage<EvolveUnit, EvolveReading> {
  readonly name = EVOLVE;
  readonly role: 'goal' | 'feeder';
  readonly templateId: number;
  readonly price: Price | undefined;
  private readonly evolutions: EvolutionStore;
  private readonly queue: EvolveUnit[] = [];
  /** Parents in flight (no parent is asked twice at once). */
  private readonly taken = new Set<number>();
  /** Where the pool scan goes on from, and whether the pool may have grown behind it. */
  private after = 0;
  private stale = false;
  /** Accepted evolved tasks per request, as seen so far (prior: a little over half survive). */
  private expected = 0.6;
  /** This invocation's accepted children by round and failures by reason. */
  readonly acceptedByRound: Record<string, number> = {};

  constructor(
    private readonly db: Store,
    private readonly o: EvolveStageOptions,
    private readonly ingestor: Ingestor,
  ) {
    this.evolutions = new EvolutionStore(db);
    this.role = o.role;
    this.templateId = o.templateId;
    this.price = o.price;
  }

  get expectedPerRequest(): number {
    return this.expected;
  }

  next(view: RunView): StageRequest<EvolveUnit> | undefined {
    if (!this.o.demand.ask(view, this.expected)) return undefined;
    const unit = this.take();
    if (unit === undefined) return undefined;
    this.taken.add(unit.taskId);
    const template = this.o.templates.byOp[unit.op]!;
    return {
      unit,
      messages: evolveMessages(template, unit, unit.maxAdded),
      params: this.o.params,
      stored: { evolve: { taskId: unit.taskId, round: unit.round, op: unit.op } },
    };
  }

  private take(): EvolveUnit | undefined {
    if (this.queue.length === 0) this.refill();
    if (this.queue.length === 0 && this.stale) {
      // New parents (answered children, failed evolutions) sort anywhere: scan the pool again from the start.
      this.stale = false;
      this.after = 0;
      this.refill();
    }
    return this.queue.shift();
  }

  private refill(): void {
    const rows = this.evolutions.nextParents(this.o.selection, this.after, REFILL, this.taken);
    for (const r of rows) {
      this.after = Math.max(this.after, r.taskId);
      this.queue.push({
        taskId: r.taskId,
        rootId: r.rootId,
        round: r.round,
        op: opFor(r.taskId, r.round, this.o.ops),
        instruction: r.instruction,
        input: r.input,
        answer: r.answer,
        maxAdded: maxAdded(charLength(r.instruction), this.o.minAdded),
      });
    }
  }

  read(unit: EvolveUnit, reply: ChatReply) {
    const reading = readEvolution(reply.content, unit, unit.op, { maxAdded: unit.maxAdded });
    const cut = reply.finishReason === 'length';
    return {
      shape: reading.ok ? `evolve:${unit.op}` : `evolve:${reading.reason}`,
      problems: [...(reading.ok ? [] : [`${reading.reason}: ${reading.detail}`]), ...(cut ? ['reply cut by the token limit'] : [])],
      value: reading,
    };
  }

  store(unit: EvolveUnit, requestId: number, reading: EvolveReading): StageOutcome {
    const child = { instruction: reading.instruction, input: reading.input, output: '' };
    let childId: number;
    let status: 'accepted' | 'rejected';
    let reason: string | null;
    if (!reading.ok) {
      childId = this.db.insertTask({
        ...child,
        source: EVOLVED_SOURCE,
        runId: this.o.runId,
        requestId,
        dedupKey: dedupKey(child),
        status: 'rejected',
        reason: reading.reason,
        detail: reading.detail,
      });
      status = 'rejected';
      reason = reading.reason;
    } else {
      this.ingestor.ingest({ source: EVOLVED_SOURCE, runId: this.o.runId, requestId, tasks: [child] });
      const row = this.evolutions.childOf(requestId)!;
      childId = row.id;
      status = row.status;
      reason = row.reason;
    }
    this.evolutions.insert({
      parentTaskId: unit.taskId,
      rootTaskId: unit.rootId,
      round: unit.round,
      operation: unit.op,
      childTaskId: childId,
      status,
      reason,
      runId: this.o.runId,
      requestId,
    });
    return status === 'accepted' ? { accepted: 1, rejected: {} } : { accepted: 0, rejected: { [reason ?? 'rejected']: 1 } };
  }

  afterStore(unit: EvolveUnit, outcome: StageOutcome): void {
    this.taken.delete(unit.taskId);
    this.expected = 0.9 * this.expected + 0.1 * outcome.accepted;
    if (outcome.accepted > 0) this.acceptedByRound[unit.round] = (this.acceptedByRound[unit.round] ?? 0) + 1;
    // A failed evolution puts the parent in the next round's pool.
    else this.stale = true;
  }

  /** The answer stage accepted answers: answered children are parents of the next round. */
  notice(): void {
    this.stale = true;
  }

  release(unit: EvolveUnit): undefined {
    this.taken.delete(unit.taskId);
    // Not evolved (request failed or not sent): asked again in the same round, first.
    this.queue.unshift(unit);
    return undefined;
  }
}
