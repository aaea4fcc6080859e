/**
 * What a run's latest stored replies gave (accepted tasks, rejections by reason), oldest first: the
 * yield guard of a batch step starts from them, since one batch may hold fewer lines than it counts.
 */
import type { ReplyOutcome } from '../yield-guard.ts';
import type { Store } from './store.ts';

export function recentReplyOutcomes(store: Store, runId: number, limit: number): ReplyOutcome[] {
  const rows = store
    .sql(
      `SELECT id, substr(coalesce(raw_reply, ''), 1, 200) AS head FROM requests
     WHERE run_id = ? AND status = 'ok' AND answer_task_id IS NULL ORDER BY id DESC LIMIT ?`,
    )
    .all(runId, limit) as { id: number; head: string }[];
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
