/**
 * SQL of the `answers` table (migration 5): answers written for tasks in their own requests, which tasks
 * still await one, and per-stage totals. A task awaits an answer when it is accepted with an empty output
 * (every one-stage path rejects empty outputs, so only instruction-only tasks have one).
 */
import type { Store } from './store.ts';

/** An answer as the answer rules left it: accepted, or rejected with a reason (the rules' verdict, as stored). */
export type CheckedAnswer = { ok: true; output: string } | { ok: false; output: string; reason: string; detail: string };

export interface NewAnswer {
  taskId: number;
  runId: number | null;
  requestId: number | null;
  model: string;
  templateId: number | null;
  output: string;
  finishReason: string | null;
  status: 'accepted' | 'rejected';
  reason?: string | null;
  detail?: string | null;
}

/** Which tasks an answer worker takes. */
export interface AnswerSelection {
  /** Tasks of this source only (`generated`, an import name). */
  source: string;
  /** Only tasks stored without an output (default); false: every accepted task of the source (re-answering). */
  awaitingOnly: boolean;
  model: string;
  /** A task is given up for this model after this many rejected answers (answer retries + 1). */
  maxAttempts: number;
  /** Tasks with an accepted answer by any model count as answered (evolved tasks: one answer each). Default false. */
  anyModel?: boolean;
  /** Only tasks a check model found adding something (evolve --check-model). Default false. */
  checkedOnly?: boolean;
}

export interface TaskToAnswer {
  id: number;
  instruction: string;
  input: string;
}

export interface StageTotals {
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface AnswerStats {
  /** Tasks with at least one accepted answer. */
  answered: number;
  /** Instruction-only tasks with no accepted answer that some model could still try. */
  awaitingAnswer: number;
  /** Instruction-only tasks with no accepted answer, given up by a model after its retries. */
  unanswerable: number;
  answersByModel: Record<string, { accepted: number; rejected: number }>;
  rejectedAnswersByReason: Record<string, number>;
  byStage: { instructions: StageTotals; answers: StageTotals };
}

const now = (): string => new Date().toISOString();

export class AnswerStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  insertAnswer(a: NewAnswer): number {
    const info = this.sql(
      `INSERT INTO answers (task_id, run_id, request_id, model, template_id, output, finish_reason, status, reason, detail, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      a.taskId,
      a.runId,
      a.requestId,
      a.model,
      a.templateId,
      a.output,
      a.finishReason,
      a.status,
      a.reason ?? null,
      a.detail ?? null,
      now(),
    );
    return Number(info.lastInsertRowid);
  }

  /** Stores a checked answer: accepted, or rejected with the rule's reason and detail. */
  insertChecked(a: Omit<NewAnswer, 'output' | 'status' | 'reason' | 'detail'>, verdict: CheckedAnswer): number {
    return this.insertAnswer({
      ...a,
      output: verdict.output,
      status: verdict.ok ? 'accepted' : 'rejected',
      reason: verdict.ok ? null : verdict.reason,
      detail: verdict.ok ? null : verdict.detail,
    });
  }

  /** Marks a stored request as the answer request of a task (failed ones included). */
  markAnswerRequest(requestId: number, taskId: number): void {
    this.sql('UPDATE requests SET answer_task_id = ? WHERE id = ?').run(taskId, requestId);
  }

  /** Up to `limit` tasks the selection still has to answer, oldest first, skipping `exclude` (in flight). */
  nextTasks(sel: AnswerSelection, limit: number, exclude: ReadonlySet<number>): TaskToAnswer[] {
    const rows = this.sql(
      `SELECT t.id, t.instruction, t.input FROM tasks t
       WHERE t.status = 'accepted' AND t.source = @source AND (@awaitingOnly = 0 OR t.output = '')
         AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND (@anyModel = 1 OR a.model = @model) AND a.status = 'accepted')
         AND (SELECT count(*) FROM answers a WHERE a.task_id = t.id AND a.model = @model AND a.status = 'rejected') < @maxAttempts
         AND (@checkedOnly = 0 OR EXISTS (SELECT 1 FROM evolve_checks k WHERE k.task_id = t.id AND k.adds = 1))
       ORDER BY t.id LIMIT @limit`,
    ).all({
      source: sel.source,
      awaitingOnly: sel.awaitingOnly ? 1 : 0,
      model: sel.model,
      maxAttempts: sel.maxAttempts,
      anyModel: sel.anyModel ? 1 : 0,
      checkedOnly: sel.checkedOnly ? 1 : 0,
      limit: limit + exclude.size,
    }) as TaskToAnswer[];
    return rows.filter((r) => !exclude.has(r.id)).slice(0, limit);
  }

  /** How many tasks the selection still has to answer (in flight included). */
  countToAnswer(sel: AnswerSelection): number {
    return this.sql(
      `SELECT count(*) FROM tasks t
       WHERE t.status = 'accepted' AND t.source = @source AND (@awaitingOnly = 0 OR t.output = '')
         AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND (@anyModel = 1 OR a.model = @model) AND a.status = 'accepted')
         AND (SELECT count(*) FROM answers a WHERE a.task_id = t.id AND a.model = @model AND a.status = 'rejected') < @maxAttempts
         AND (@checkedOnly = 0 OR EXISTS (SELECT 1 FROM evolve_checks k WHERE k.task_id = t.id AND k.adds = 1))`,
    )
      .pluck()
      .get({
        source: sel.source,
        awaitingOnly: sel.awaitingOnly ? 1 : 0,
        model: sel.model,
        maxAttempts: sel.maxAttempts,
        anyModel: sel.anyModel ? 1 : 0,
        checkedOnly: sel.checkedOnly ? 1 : 0,
      }) as number;
  }

  /** A task's instruction and input, for checking an answer to it. */
  task(taskId: number): TaskToAnswer | undefined {
    return this.sql('SELECT id, instruction, input FROM tasks WHERE id = ?').get(taskId) as TaskToAnswer | undefined;
  }

  /** Whether the model already has an accepted answer for the task. */
  hasAccepted(taskId: number, model: string): boolean {
    return this.sql(`SELECT 1 FROM answers WHERE task_id = ? AND model = ? AND status = 'accepted'`).get(taskId, model) !== undefined;
  }

  /** Rejected answers this model has given for the task. */
  rejectedCount(taskId: number, model: string): number {
    return this.sql(`SELECT count(*) FROM answers WHERE task_id = ? AND model = ? AND status = 'rejected'`)
      .pluck()
      .get(taskId, model) as number;
  }

  /** Accepted answers stored by a run: what a two-stage run's --n counts. */
  countAccepted(runId: number): number {
    return this.sql(`SELECT count(*) FROM answers WHERE run_id = ? AND status = 'accepted'`).pluck().get(runId) as number;
  }

  /** Tasks a run's answer model gave up on (in this run). */
  countUnanswerable(runId: number, model: string, maxAttempts: number): number {
    return this.sql(
      `SELECT count(*) FROM (SELECT task_id FROM answers WHERE run_id = ? AND model = ? GROUP BY task_id
         HAVING sum(status = 'accepted') = 0 AND sum(status = 'rejected') >= ?)`,
    )
      .pluck()
      .get(runId, model, maxAttempts) as number;
  }

  /** Rejected answers of a run by reason. */
  rejectedByReason(runId: number): Record<string, number> {
    const rows = this.sql(`SELECT reason, count(*) AS n FROM answers WHERE run_id = ? AND status = 'rejected' GROUP BY reason`).all(
      runId,
    ) as { reason: string | null; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.reason ?? 'unknown', r.n]));
  }

  /** What answer requests that came back took (per request) and the share of answers accepted: for `--dry-run`. */
  answerHistory(): { requests: number; promptTokens: number; completionTokens: number; latencyMs: number; acceptedShare: number | null } {
    return this.sql(
      `SELECT count(*) AS requests, coalesce(avg(prompt_tokens), 0) AS promptTokens, coalesce(avg(completion_tokens), 0) AS completionTokens,
         coalesce(avg(latency_ms), 0) AS latencyMs,
         (SELECT avg(status = 'accepted') FROM answers) AS acceptedShare
       FROM requests WHERE status = 'ok' AND answer_task_id IS NOT NULL`,
    ).get() as { requests: number; promptTokens: number; completionTokens: number; latencyMs: number; acceptedShare: number | null };
  }

  /** Whole-store answer counts; `maxAttempts` decides when a model has given a task up. */
  stats(maxAttempts: number): AnswerStats {
    const answered = this.sql(`SELECT count(DISTINCT task_id) FROM answers WHERE status = 'accepted'`).pluck().get() as number;
    // Instruction-only tasks without an accepted answer: unanswerable once some model used up its attempts.
    const open = this.sql(
      `SELECT coalesce(sum(given_up), 0) AS unanswerable, count(*) - coalesce(sum(given_up), 0) AS awaiting FROM (
         SELECT t.id, EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'rejected'
           GROUP BY a.model HAVING count(*) >= @maxAttempts) AS given_up
         FROM tasks t WHERE t.status = 'accepted' AND t.output = ''
           AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted'))`,
    ).get({ maxAttempts }) as { unanswerable: number; awaiting: number };
    const models = this.sql(
      `SELECT model, sum(status = 'accepted') AS accepted, sum(status = 'rejected') AS rejected FROM answers GROUP BY model`,
    ).all() as { model: string; accepted: number; rejected: number }[];
    const reasons = this.sql(
      `SELECT reason, count(*) AS n FROM answers WHERE status = 'rejected' GROUP BY reason ORDER BY n DESC`,
    ).all() as { reason: string | null; n: number }[];
    const stages = this.sql(
      `SELECT answer_task_id IS NOT NULL AS answers, count(*) AS requests, coalesce(sum(status = 'error'), 0) AS failed,
         coalesce(sum(prompt_tokens), 0) AS promptTokens, coalesce(sum(completion_tokens), 0) AS completionTokens,
         coalesce(sum(cost_usd), 0) AS costUsd
       FROM requests WHERE kind = 'generate' GROUP BY answer_task_id IS NOT NULL`,
    ).all() as (StageTotals & { answers: number })[];
    const empty: StageTotals = { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
    const stage = (answers: number): StageTotals => {
      const row = stages.find((s) => s.answers === answers);
      if (row === undefined) return { ...empty };
      const { answers: _a, ...totals } = row;
      return totals;
    };
    return {
      answered,
      awaitingAnswer: open.awaiting,
      unanswerable: open.unanswerable,
      answersByModel: Object.fromEntries(models.map((m) => [m.model, { accepted: m.accepted, rejected: m.rejected }])),
      rejectedAnswersByReason: Object.fromEntries(reasons.map((r) => [r.reason ?? 'unknown', r.n])),
      byStage: { instructions: stage(0), answers: stage(1) },
    };
  }
}
