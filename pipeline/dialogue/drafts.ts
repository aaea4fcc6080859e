/**
 * Conversations built turn by turn (a dialogue run with an answer model): an opening becomes a draft;
 * each user turn (by the generation model) and each reply (by the answer model) is checked as it comes
 * and stored with its request; the last reply finishes the conversation — the checks of a whole
 * conversation, the near-duplicate index, the target — into a tasks row of kind 'dialogue'. A turn
 * rejected `maxAttempts` times gives the draft up (stored as a rejected conversation, never exported).
 *
 * Every write here runs inside the transaction of the reply that caused it (the stages call it from
 * `store`), so after a kill the next invocation finds each draft at the turn it had reached.
 */
import type { NearDupIndex, NearestMatch } from '../dedup/index.ts';
import type { IngestBatch, IngestResult } from '../ingest.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import { checkInstruction, type RuleOptions } from '../rules/index.ts';
import { DraftStore, type Draft, type DraftTurn } from '../store/dialogue-drafts.ts';
import { DialogueStore } from '../store/dialogues.ts';
import type { Store } from '../store/store.ts';
import { cleanTask } from '../text.ts';
import { checkDialogue, type DialogueVerdict } from './checks.ts';
import { DIALOGUE_SOURCE } from './ingest.ts';
import { dialogueKey } from './key.ts';
import type { Turn, TurnBounds } from './types.ts';

export type { Draft, DraftTurn };

export interface DraftBookOptions {
  runId: number;
  /** Exchanges a finished conversation may have; each draft plans a number in these bounds. */
  turns: TurnBounds;
  filters: RuleOptions;
  /** Near-duplicate threshold, as for tasks. */
  similarity: number;
  /** Replies tried per turn before the draft is given up. */
  maxAttempts: number;
}

/** What storing a checked turn did to its draft. */
export type Advance = { kind: 'open' } | { kind: 'accepted'; turns: Turn[] } | { kind: 'given-up'; reason: string };

// Tokens are counted with cl100k whatever the model, as for conversations written in one reply.
const counter = tokenCounterFor('gpt-3.5-turbo');

/**
 * The checks of a reply written after `turns` (the conversation so far, ending on a user turn): those of a
 * whole conversation on the conversation up to this reply, with the run's bounds once it is the last one
 * the draft plans. Pure, linear in the conversation.
 */
export function checkReply(
  turns: readonly Turn[],
  reply: string,
  finishReason: string | null,
  planned: number,
  bounds: TurnBounds,
  filters: RuleOptions,
): DialogueVerdict {
  if (finishReason === 'length')
    return { ok: false, reason: 'truncated', detail: `turn ${turns.length + 1} (assistant) was cut off by the token limit` };
  const all = [...turns, { role: 'assistant' as const, content: reply }];
  const last = all.length >= 2 * planned;
  return checkDialogue(all, { turns: last ? bounds : { min: 1, max: planned }, filters });
}

export class DraftBook {
  readonly drafts: DraftStore;
  private readonly dialogues: DialogueStore;
  /**
   * Drafts under way, and conversations finished or given up by this invocation: estimates for how many
   * openings the run still needs (counted as stored; `recount` reads the store again).
   */
  openDrafts: number;
  finished = 0;
  givenUp = 0;

  constructor(
    store: Store,
    private readonly index: NearDupIndex,
    private readonly o: DraftBookOptions,
    private readonly random: () => number,
  ) {
    this.drafts = new DraftStore(store);
    this.dialogues = new DialogueStore(store);
    this.openDrafts = this.drafts.countOpen(o.runId);
  }

  recount(): void {
    this.openDrafts = this.drafts.countOpen(this.o.runId);
  }

  /**
   * The openings of a reply (instruction-only items: the instruction, then any material on the lines
   * after it): each one that passes the instruction rules opens a draft, up to `maxAccept`; the others
   * are stored as rejected one-turn conversations, so `stats` shows why.
   */
  ingest(batch: IngestBatch): IngestResult {
    const result: IngestResult = { accepted: [], rejected: {} };
    let room = batch.maxAccept ?? Infinity;
    const requestId = batch.requestId ?? null;
    for (const raw of batch.tasks) {
      const task = { ...cleanTask(raw), output: '' };
      const opening = task.input === '' ? task.instruction : `${task.instruction}\n${task.input}`;
      const verdict = checkInstruction(task, this.o.filters);
      const reason = !verdict.ok ? verdict.reason : room <= 0 ? 'target_reached' : undefined;
      if (reason !== undefined) {
        const detail = !verdict.ok ? verdict.detail : 'the run had enough conversations under way';
        this.store([{ role: 'user', content: opening }], [requestId], 'rejected', reason, detail);
        result.rejected[reason] = (result.rejected[reason] ?? 0) + 1;
        continue;
      }
      const { min, max } = this.o.turns;
      const planned = min + Math.floor(this.random() * (max - min + 1));
      const id = this.drafts.open(this.o.runId, requestId, planned, opening);
      this.openDrafts++;
      // A one-exchange conversation's key is its opening: known now, so a near-duplicate is not built on.
      if (planned === 1) {
        const nearest = this.index.findNearDuplicate(dialogueKey([{ role: 'user', content: opening }]), this.o.similarity);
        if (nearest !== undefined) {
          this.giveUp(this.draftOf(id, planned, [{ role: 'user', content: opening, requestId }]), 'near_duplicate', null, nearest);
          result.rejected.near_duplicate = (result.rejected.near_duplicate ?? 0) + 1;
          continue;
        }
      }
      result.accepted.push(task);
      room--;
    }
    return result;
  }

  /**
   * Stores a turn that passed its checks. A user turn that completes the conversation's near-duplicate key
   * (its second, or the opening of a one-exchange plan) is checked against the index first; the last reply
   * finishes the conversation: accepted while `room` > 0, else rejected `target_reached`.
   */
  advance(draft: Draft, turn: DraftTurn, room: number): Advance {
    const turns = [...draft.turns, turn];
    const plain = turns.map((t) => ({ role: t.role, content: t.content }));
    if (turn.role === 'user' && turns.filter((t) => t.role === 'user').length === 2) {
      const nearest = this.index.findNearDuplicate(dialogueKey(plain), this.o.similarity);
      if (nearest !== undefined) return this.giveUp({ ...draft, turns }, 'near_duplicate', null, nearest);
    }
    if (turn.role === 'user' || turns.length < 2 * draft.planned) {
      this.drafts.addTurn(draft.id, draft.turns.length, turn);
      return { kind: 'open' };
    }
    // The last reply: the conversation is whole.
    const key = dialogueKey(plain);
    const nearest = this.index.findNearDuplicate(key, this.o.similarity);
    if (nearest !== undefined) return this.giveUp({ ...draft, turns }, 'near_duplicate', null, nearest);
    if (room <= 0) return this.giveUp({ ...draft, turns }, 'target_reached', 'the run had already reached its target');
    const id = this.store(
      plain,
      turns.map((t) => t.requestId),
      'accepted',
    );
    this.index.add(key, id);
    this.drafts.remove(draft.id);
    this.openDrafts--;
    this.finished++;
    return { kind: 'accepted', turns: plain };
  }

  /** A rejected reply for the draft's next turn; the draft is given up once it has had `maxAttempts`. */
  reject(draft: Draft, reason: string, detail: string): Advance {
    const rejected = this.drafts.reject(draft.id, reason, detail);
    return rejected >= this.o.maxAttempts
      ? this.giveUp(draft, reason, `${rejected} replies rejected; the last: ${detail}`)
      : { kind: 'open' };
  }

  /**
   * The run reached its target: drafts still under way will never be carried on (a completed run is not
   * resumed), so each is stored as a rejected conversation (`target_reached`) with the turns it had.
   */
  closeAll(): number {
    let closed = 0;
    for (;;) {
      const drafts = [
        ...this.drafts.due(this.o.runId, 'answer', 256, new Set()),
        ...this.drafts.due(this.o.runId, 'follow-up', 256, new Set()),
      ];
      if (drafts.length === 0) return closed;
      for (const d of drafts) this.giveUp(d, 'target_reached', 'the run reached its target before this conversation was finished');
      closed += drafts.length;
    }
  }

  /** The draft leaves the work: stored as a rejected conversation of the turns it had. */
  private giveUp(draft: Draft, reason: string, detail: string | null, nearest?: NearestMatch): Advance {
    const turns = draft.turns.map((t) => ({ role: t.role, content: t.content }));
    this.store(
      turns,
      draft.turns.map((t) => t.requestId),
      'rejected',
      reason,
      detail,
      nearest,
    );
    this.drafts.remove(draft.id);
    this.openDrafts--;
    this.givenUp++;
    return { kind: 'given-up', reason };
  }

  private store(
    turns: readonly Turn[],
    requestIds: readonly (number | null)[],
    status: 'accepted' | 'rejected',
    reason?: string,
    detail?: string | null,
    nearest?: NearestMatch,
  ): number {
    return this.dialogues.insert({
      source: DIALOGUE_SOURCE,
      runId: this.o.runId,
      requestId: requestIds[requestIds.length - 1] ?? null,
      turns,
      tokens: turns.map((t) => counter.count(t.content)),
      turnRequestIds: requestIds,
      dedupKey: dialogueKey(turns),
      status,
      reason: reason ?? null,
      detail: detail ?? null,
      nearestTaskId: nearest?.id ?? null,
      similarity: nearest?.similarity ?? null,
    });
  }

  private draftOf(id: number, planned: number, turns: DraftTurn[]): Draft {
    return { id, runId: this.o.runId, planned, rejected: 0, lastReason: null, lastDetail: null, turns };
  }
}
