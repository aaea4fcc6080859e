/**
 * The SQL of conversations: a `tasks` row of kind 'dialogue' plus its `dialogue_turns`, written together
 * (callers hold the reply's transaction), and the counts `stats` and the export manifest show.
 */
import { z } from 'zod';
import type { Turn } from '../types.ts';
import type { Store } from './store.ts';

export interface NewDialogue {
  source: string;
  runId: number | null;
  requestId: number | null;
  turns: readonly Turn[];
  /** cl100k tokens per turn, same order as turns. */
  tokens: readonly number[];
  /** The request that wrote each turn, same order as turns (conversations built turn by turn). */
  turnRequestIds?: readonly (number | null)[] | undefined;
  dedupKey: string;
  status: 'accepted' | 'rejected';
  reason?: string | null;
  detail?: string | null;
  nearestTaskId?: number | null;
  similarity?: number | null;
}

export interface DialogueStats {
  accepted: number;
  rejected: number;
  /** Accepted conversations by exchanges (user turn + reply), e.g. {"2": 10, "3": 4}. */
  exchangesHistogram: Record<string, number>;
  /** cl100k tokens per accepted conversation; null when there is none. */
  tokensPerDialogue: { mean: number; p50: number; p95: number; max: number } | null;
}

const TURN_ROWS = z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() }));

export class DialogueStore {
  constructor(private readonly store: Store) {}

  /** Inserts the conversation's row and turns in one transaction (nested in the caller's, if any). */
  insert(d: NewDialogue): number {
    return this.store.transaction(() => {
      const first = d.turns.find((t) => t.role === 'user')?.content ?? '';
      const reply = d.turns.find((t) => t.role === 'assistant')?.content ?? '';
      const info = this.store
        .sql(
          `INSERT INTO tasks (source, run_id, request_id, instruction, input, output, category, dedup_key, status,
             reason, detail, nearest_task_id, similarity, created_at, kind)
           VALUES (?, ?, ?, ?, '', ?, NULL, ?, ?, ?, ?, ?, ?, ?, 'dialogue')`,
        )
        .run(
          d.source,
          d.runId,
          d.requestId,
          first,
          reply,
          d.dedupKey,
          d.status,
          d.reason ?? null,
          d.detail ?? null,
          d.nearestTaskId ?? null,
          d.similarity ?? null,
          new Date().toISOString(),
        );
      const id = Number(info.lastInsertRowid);
      const turn = this.store.sql(
        'INSERT INTO dialogue_turns (task_id, turn, role, content, tokens, request_id) VALUES (?, ?, ?, ?, ?, ?)',
      );
      d.turns.forEach((t, i) => turn.run(id, i, t.role, t.content, d.tokens[i] ?? 0, d.turnRequestIds?.[i] ?? null));
      return id;
    });
  }

  /** A conversation's turns in order (checked: the database is a file anyone may have edited). */
  turns(taskId: number): Turn[] {
    return TURN_ROWS.parse(this.store.sql('SELECT role, content FROM dialogue_turns WHERE task_id = ? ORDER BY turn').all(taskId));
  }

  stats(): DialogueStats {
    const counts = this.store
      .sql(`SELECT coalesce(sum(status = 'accepted'), 0) AS accepted, coalesce(sum(status = 'rejected'), 0) AS rejected
            FROM tasks WHERE kind = 'dialogue'`)
      .get() as { accepted: number; rejected: number };
    const perDialogue = this.store
      .sql(`SELECT count(*) / 2 AS exchanges, sum(d.tokens) AS tokens FROM dialogue_turns d JOIN tasks t ON t.id = d.task_id
            WHERE t.kind = 'dialogue' AND t.status = 'accepted' GROUP BY d.task_id ORDER BY tokens`)
      .all() as { exchanges: number; tokens: number }[];
    const exchangesHistogram: Record<string, number> = {};
    for (const row of perDialogue) exchangesHistogram[row.exchanges] = (exchangesHistogram[row.exchanges] ?? 0) + 1;
    return { ...counts, exchangesHistogram, tokensPerDialogue: summarize(perDialogue.map((r) => r.tokens)) };
  }
}

/** Mean and nearest-rank percentiles of sorted values. */
export function summarize(sorted: readonly number[]): DialogueStats['tokensPerDialogue'] {
  if (sorted.length === 0) return null;
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { mean: Math.round(mean * 10) / 10, p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]! };
}
