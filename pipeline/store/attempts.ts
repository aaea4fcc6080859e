/**
 * SQL for request attempts and spending: each HTTP attempt of a request (status, latency, error class,
 * wait applied), and the summaries `stats` shows of where the time and money went.
 */
import type { Store } from './store.ts';

export interface NewAttempt {
  attempt: number;
  startedAt: string;
  status: number | null;
  latencyMs: number | null;
  errorKind: string | null;
  waitMs: number;
  maxTokens: number | null;
}

export interface SpendingStats {
  costUsd: number;
  /** Cost by how the requests were sent: online or batch. */
  costByChannel: { online: number; batch: number };
  /** Requests whose model had no price (their cost is unknown, not zero). */
  unpricedRequests: number;
  attempts: number;
  /** Attempts by outcome: 'ok' or the error kind. */
  attemptsByOutcome: Record<string, number>;
  /** Attempts by HTTP status ('none' for timeouts and connection errors). */
  attemptsByStatus: Record<string, number>;
  /** Time spent waiting (limiter + back-off) and in attempts, in seconds. */
  waitSeconds: number;
  attemptSeconds: number;
  /** Latency of successful attempts, ms. */
  latencyMs: { p50: number | null; p95: number | null };
}

export class AttemptStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  /** Stores a request's attempts; call inside the transaction that stores the request. */
  insertAttempts(requestId: number, attempts: readonly NewAttempt[]): void {
    const insert = this.sql(
      `INSERT INTO request_attempts (request_id, attempt, started_at, http_status, latency_ms, error_kind, wait_ms, max_tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const a of attempts) {
      insert.run(requestId, a.attempt, a.startedAt, a.status, a.latencyMs, a.errorKind, Math.round(a.waitMs), a.maxTokens);
    }
  }

  /** Where the time and money went, for one run or (no runId) the whole database. */
  spending(runId?: number): SpendingStats {
    const where = runId === undefined ? '' : 'WHERE r.run_id = ?';
    const args = runId === undefined ? [] : [runId];
    const money = this.sql(
      `SELECT coalesce(sum(cost_usd), 0) AS costUsd,
         coalesce(sum(CASE WHEN batch_id IS NULL THEN cost_usd END), 0) AS online,
         coalesce(sum(CASE WHEN batch_id IS NOT NULL THEN cost_usd END), 0) AS batch,
         coalesce(sum(cost_usd IS NULL AND status = 'ok'), 0) AS unpriced
       FROM requests r ${where}`,
    ).get(...args) as { costUsd: number; online: number; batch: number; unpriced: number };
    const byOutcome = this.sql(
      `SELECT coalesce(a.error_kind, 'ok') AS k, count(*) AS n, coalesce(sum(a.wait_ms), 0) AS wait, coalesce(sum(a.latency_ms), 0) AS busy
       FROM request_attempts a JOIN requests r ON r.id = a.request_id ${where} GROUP BY k ORDER BY n DESC`,
    ).all(...args) as { k: string; n: number; wait: number; busy: number }[];
    const byStatus = this.sql(
      `SELECT coalesce(CAST(a.http_status AS TEXT), 'none') AS s, count(*) AS n
       FROM request_attempts a JOIN requests r ON r.id = a.request_id ${where} GROUP BY s ORDER BY n DESC`,
    ).all(...args) as { s: string; n: number }[];
    const okWhere =
      runId === undefined
        ? 'WHERE a.error_kind IS NULL AND a.latency_ms IS NOT NULL'
        : `${where} AND a.error_kind IS NULL AND a.latency_ms IS NOT NULL`;
    const okCount = this.sql(`SELECT count(*) FROM request_attempts a JOIN requests r ON r.id = a.request_id ${okWhere}`)
      .pluck()
      .get(...args) as number;
    const nth = this.sql(
      `SELECT a.latency_ms FROM request_attempts a JOIN requests r ON r.id = a.request_id ${okWhere}
       ORDER BY a.latency_ms LIMIT 1 OFFSET ?`,
    ).pluck();
    const percentile = (q: number): number | null =>
      okCount === 0 ? null : (nth.get(...args, Math.min(okCount - 1, Math.floor(q * okCount))) as number);
    return {
      costUsd: money.costUsd,
      costByChannel: { online: money.online, batch: money.batch },
      unpricedRequests: money.unpriced,
      attempts: byOutcome.reduce((s, r) => s + r.n, 0),
      attemptsByOutcome: Object.fromEntries(byOutcome.map((r) => [r.k, r.n])),
      attemptsByStatus: Object.fromEntries(byStatus.map((r) => [r.s, r.n])),
      waitSeconds: byOutcome.reduce((s, r) => s + r.wait, 0) / 1000,
      attemptSeconds: byOutcome.reduce((s, r) => s + r.busy, 0) / 1000,
      latencyMs: { p50: percentile(0.5), p95: percentile(0.95) },
    };
  }
}
