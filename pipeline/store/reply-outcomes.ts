/**
 * What the latest stored generation replies gave (accepted tasks, rejections by reason), oldest first:
 * a run's, for the yield guard of a batch step (one batch may hold fewer lines than it counts), or the
 * store's replies to one prompt template at one size, any run, for sizing a run's first batch.
 */
import type { Store } from './store.ts';

/** What one stored reply gave. */
export interface ReplyOutcome {
  /** The reply's text (only its start is kept, for the message). */
  content: string;
  accepted: number;
  /** Rejected tasks by reason (`near_duplicate`, `target_reached`, the filters' reasons). */
  rejected: Partial<Record<string, number>>;
  /** The parser's complaints, for a reply with no task in it. */
  parseProblems?: readonly string[];
}

/**
 * Whose replies: one run's (to one template: a run's other requests, e.g. a conversation's turns, are not
 * generation replies), or every run's that asked the same template for as many tasks per request.
 */
export type ReplyScope = { runId: number; templateId: number } | { templateId: number; tasksPerRequest: number };

export function recentReplyOutcomes(store: Store, scope: ReplyScope, limit: number): ReplyOutcome[] {
  const where =
    'runId' in scope
      ? 'run_id = @runId AND template_id = @templateId'
      : `template_id = @templateId
         AND run_id IN (SELECT id FROM runs WHERE json_extract(options_json, '$.tasksPerRequest') = @tasksPerRequest)`;
  const rows = store
    .sql(
      `SELECT id, substr(coalesce(raw_reply, ''), 1, 200) AS head FROM requests
     WHERE ${where} AND status = 'ok' AND kind = 'generate' AND answer_task_id IS NULL ORDER BY id DESC LIMIT @limit`,
    )
    .all({ ...scope, limit }) as { id: number; head: string }[];
  if (rows.length === 0) return [];
  const byRequest = new Map<number, ReplyOutcome>(rows.map((r) => [r.id, { content: r.head, accepted: 0, rejected: {} }]));
  const oldest = rows.at(-1)!.id;
  // A reply's tasks are inserted right after it, in its transaction: walking tasks back from the newest
  // (a rowid range, no index needed) reaches every task of these replies before any older reply's.
  const tasks = store.sql(`SELECT request_id AS requestId, status, reason FROM tasks ORDER BY id DESC`).iterate() as IterableIterator<{
    requestId: number | null;
    status: string;
    reason: string | null;
  }>;
  for (const t of tasks) {
    if (t.requestId === null) continue;
    if (t.requestId < oldest) break;
    const o = byRequest.get(t.requestId);
    if (o === undefined) continue;
    if (t.status === 'accepted') o.accepted++;
    else o.rejected[t.reason ?? 'unknown'] = (o.rejected[t.reason ?? 'unknown'] ?? 0) + 1;
  }
  return rows.reverse().map((r) => byRequest.get(r.id)!);
}
