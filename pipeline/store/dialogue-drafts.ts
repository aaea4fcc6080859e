/**
 * The SQL of dialogue drafts: conversations of a dialogue run with an answer model while they are built
 * turn by turn (migration 14). Callers hold the reply's transaction; a draft never leaves this table but
 * as a finished (or given-up) conversation written by DialogueStore in the same transaction.
 */
import { z } from 'zod';
import type { Turn } from '../types.ts';
import type { Store } from './store.ts';

/** A stored turn and the request that wrote it. */
export interface DraftTurn extends Turn {
  requestId: number | null;
}

export interface Draft {
  id: number;
  runId: number;
  /** Exchanges the conversation is to have. */
  planned: number;
  /** Rejected replies for the turn now due. */
  rejected: number;
  lastReason: string | null;
  lastDetail: string | null;
  turns: DraftTurn[];
}

/** What a draft waits for: the reply to its last user turn, or the next user turn. */
export type DraftStep = 'answer' | 'follow-up';

const DRAFT_ROW = z.object({
  id: z.number().int(),
  run_id: z.number().int(),
  planned: z.number().int().min(1),
  rejected: z.number().int().min(0),
  last_reason: z.string().nullable(),
  last_detail: z.string().nullable(),
});
const TURN_ROW = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  request_id: z.number().int().nullable(),
});

export class DraftStore {
  constructor(private readonly store: Store) {}

  /** A new draft of one user turn (the opening). */
  open(runId: number, requestId: number | null, planned: number, opening: string): number {
    return this.store.transaction(() => {
      const info = this.store
        .sql('INSERT INTO dialogue_drafts (run_id, request_id, planned, created_at) VALUES (?, ?, ?, ?)')
        .run(runId, requestId, planned, new Date().toISOString());
      const id = Number(info.lastInsertRowid);
      this.store
        .sql('INSERT INTO dialogue_draft_turns (draft_id, turn, role, content, request_id) VALUES (?, 0, ?, ?, ?)')
        .run(id, 'user', opening, requestId);
      return id;
    });
  }

  /** Appends the next turn; the step now due starts with no rejected reply. */
  addTurn(draftId: number, turn: number, t: DraftTurn): void {
    this.store.transaction(() => {
      this.store
        .sql('INSERT INTO dialogue_draft_turns (draft_id, turn, role, content, request_id) VALUES (?, ?, ?, ?, ?)')
        .run(draftId, turn, t.role, t.content, t.requestId);
      this.store.sql('UPDATE dialogue_drafts SET rejected = 0, last_reason = NULL, last_detail = NULL WHERE id = ?').run(draftId);
    });
  }

  /** Counts a rejected reply for the step now due; returns how many it has had. */
  reject(draftId: number, reason: string, detail: string | null): number {
    this.store
      .sql('UPDATE dialogue_drafts SET rejected = rejected + 1, last_reason = ?, last_detail = ? WHERE id = ?')
      .run(reason, detail, draftId);
    const row = this.store.sql('SELECT rejected FROM dialogue_drafts WHERE id = ?').get(draftId) as { rejected: number } | undefined;
    return row?.rejected ?? 0;
  }

  remove(draftId: number): void {
    this.store.sql('DELETE FROM dialogue_drafts WHERE id = ?').run(draftId);
  }

  countOpen(runId: number): number {
    return (this.store.sql('SELECT count(*) AS n FROM dialogue_drafts WHERE run_id = ?').get(runId) as { n: number }).n;
  }

  /**
   * Up to `limit` drafts of the run due for `step`, oldest first, skipping `exclude` (in flight). A draft
   * whose last turn is the user's wants an answer; one whose last turn is a reply, with fewer exchanges
   * than planned, wants a follow-up. (A complete draft is never left stored: it is finished at once.)
   */
  due(runId: number, step: DraftStep, limit: number, exclude: ReadonlySet<number>): Draft[] {
    const rows = this.store
      .sql(
        `SELECT d.id, d.run_id, d.planned, d.rejected, d.last_reason, d.last_detail
         FROM dialogue_drafts d
         JOIN dialogue_draft_turns t ON t.draft_id = d.id
           AND t.turn = (SELECT max(turn) FROM dialogue_draft_turns WHERE draft_id = d.id)
         WHERE d.run_id = ? AND t.role = ? AND (t.role = 'user' OR t.turn + 1 < 2 * d.planned)
         ORDER BY d.id LIMIT ?`,
      )
      .all(runId, step === 'answer' ? 'user' : 'assistant', limit + exclude.size);
    const drafts: Draft[] = [];
    for (const raw of rows) {
      const r = DRAFT_ROW.parse(raw);
      if (exclude.has(r.id)) continue;
      drafts.push({
        id: r.id,
        runId: r.run_id,
        planned: r.planned,
        rejected: r.rejected,
        lastReason: r.last_reason,
        lastDetail: r.last_detail,
        turns: this.turns(r.id),
      });
      if (drafts.length >= limit) break;
    }
    return drafts;
  }

  private turns(draftId: number): DraftTurn[] {
    return this.store
      .sql('SELECT role, content, request_id FROM dialogue_draft_turns WHERE draft_id = ? ORDER BY turn')
      .all(draftId)
      .map((raw) => {
        const t = TURN_ROW.parse(raw);
        return { role: t.role, content: t.content, requestId: t.request_id };
      });
  }
}
