/**
 * SQL for the judge: which accepted tasks a judge (model + rubric sha256) has not scored yet, the
 * judgments, judge runs and requests, and the score summaries `stats` and `export` show.
 */
import type { Judgment } from '../judge/parse.ts';
import type { Store } from './store.ts';

export interface JudgeKey {
  model: string;
  rubricSha256: string;
}

/** Which tasks to judge: `since` all, the last generation run, or one run; optionally some sources. */
export interface JudgeSelection {
  since: 'all' | 'last' | number;
  sources?: readonly string[] | undefined;
}

export interface TaskToJudge {
  id: number;
  instruction: string;
  input: string;
  output: string;
}

export interface ScoreSummary {
  /** The judge the figures are for (the one that wrote the newest judgment, unless asked). */
  judge: JudgeKey | null;
  /** Accepted non-seed tasks this judge has scored. */
  judged: number;
  /** Accepted non-seed tasks it has not. */
  unjudged: number;
  meanScore: number | null;
  /** Tasks by score, bucket k holding scores in [k, k+1) (10 holds 10). */
  histogram: Record<string, number>;
  /** Judged tasks by flag. */
  flags: Record<string, number>;
}

export interface JudgeSpending {
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

const now = (): string => new Date().toISOString();

export class JudgmentStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  /** Ids of accepted, non-seed tasks of the selection with no judgment by this judge, oldest first. */
  pendingTaskIds(judge: JudgeKey, selection: JudgeSelection): number[] {
    const params: Record<string, unknown> = { model: judge.model, sha: judge.rubricSha256 };
    const where = [`t.status = 'accepted'`, `t.source <> 'seed'`];
    if (selection.since === 'last') {
      where.push(`t.run_id = (SELECT id FROM runs WHERE mode <> 'judge' ORDER BY id DESC LIMIT 1)`);
    } else if (typeof selection.since === 'number') {
      where.push('t.run_id = @run');
      params['run'] = selection.since;
    }
    if (selection.sources !== undefined && selection.sources.length > 0) {
      where.push(`t.source IN (SELECT value FROM json_each(@sources))`);
      params['sources'] = JSON.stringify(selection.sources);
    }
    return this.sql(
      `SELECT t.id FROM tasks t WHERE ${where.join(' AND ')}
         AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.judge_model = @model AND j.rubric_sha256 = @sha)
       ORDER BY t.id`,
    )
      .pluck()
      .all(params) as number[];
  }

  /** The text of these tasks, in the order given. */
  tasks(ids: readonly number[]): TaskToJudge[] {
    const stmt = this.sql('SELECT id, instruction, input, output FROM tasks WHERE id = ?');
    return ids.map((id) => stmt.get(id) as TaskToJudge | undefined).filter((t): t is TaskToJudge => t !== undefined);
  }

  /** Marks a stored request as a judge request; call in the transaction that stores it. */
  markJudgeRequest(requestId: number): void {
    this.sql(`UPDATE requests SET kind = 'judge' WHERE id = ?`).run(requestId);
  }

  /** Stores judgments of one reply; an existing (task, judge) row wins. Returns how many were new. */
  insertJudgments(requestId: number | null, judge: JudgeKey, entries: readonly { taskId: number; judgment: Judgment }[]): number {
    const insert = this.sql(
      `INSERT INTO judgments (task_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, request_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    let added = 0;
    const at = now();
    for (const { taskId, judgment: j } of entries) {
      added += insert.run(
        taskId,
        judge.model,
        judge.rubricSha256,
        j.score,
        JSON.stringify(j.subScores),
        JSON.stringify(j.flags),
        j.reason,
        requestId,
        at,
      ).changes;
    }
    return added;
  }

  countJudgments(judge: JudgeKey): number {
    return this.sql('SELECT count(*) FROM judgments WHERE judge_model = ? AND rubric_sha256 = ?')
      .pluck()
      .get(judge.model, judge.rubricSha256) as number;
  }

  /** The latest judge run, if any: a judge invocation resumes an unfinished one (its budget spans them). */
  latestJudgeRun(): { id: number; status: string } | undefined {
    return this.sql(`SELECT id, status FROM runs WHERE mode = 'judge' ORDER BY id DESC LIMIT 1`).get() as
      | { id: number; status: string }
      | undefined;
  }

  /** The judge of the newest judgment (optionally of one model). */
  latestJudge(model?: string): JudgeKey | null {
    const row = (
      model === undefined
        ? this.sql('SELECT judge_model AS model, rubric_sha256 AS rubricSha256 FROM judgments ORDER BY id DESC LIMIT 1').get()
        : this.sql(
            'SELECT judge_model AS model, rubric_sha256 AS rubricSha256 FROM judgments WHERE judge_model = ? ORDER BY id DESC LIMIT 1',
          ).get(model)
    ) as JudgeKey | undefined;
    return row ?? null;
  }

  /** Judged count, mean, histogram and flags over accepted non-seed tasks, for one judge. */
  scoreSummary(judge: JudgeKey | null = this.latestJudge()): ScoreSummary {
    const histogram: Record<string, number> = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i + 1), 0]));
    const total = this.sql(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source <> 'seed'`).pluck().get() as number;
    if (judge === null) return { judge, judged: 0, unjudged: total, meanScore: null, histogram, flags: {} };
    const scope = `FROM judgments j JOIN tasks t ON t.id = j.task_id
      WHERE j.judge_model = @model AND j.rubric_sha256 = @sha AND t.status = 'accepted' AND t.source <> 'seed'`;
    const params = { model: judge.model, sha: judge.rubricSha256 };
    const agg = this.sql(`SELECT count(*) AS n, avg(j.score) AS mean ${scope}`).get(params) as { n: number; mean: number | null };
    for (const row of this.sql(`SELECT min(10, CAST(j.score AS INTEGER)) AS b, count(*) AS n ${scope} GROUP BY b`).all(params) as {
      b: number;
      n: number;
    }[]) {
      histogram[String(row.b)] = row.n;
    }
    const flags = Object.fromEntries(
      (
        this.sql(
          `SELECT f.value AS flag, count(*) AS n ${scope.replace('WHERE', ', json_each(j.flags_json) f WHERE')}
           GROUP BY f.value ORDER BY n DESC`,
        ).all(params) as { flag: string; n: number }[]
      ).map((r) => [r.flag, r.n]),
    );
    return {
      judge,
      judged: agg.n,
      unjudged: total - agg.n,
      meanScore: agg.mean === null ? null : Math.round(agg.mean * 100) / 100,
      histogram,
      flags,
    };
  }

  /** What judge requests (or, with 'generate', generation requests) cost, in one run or overall. */
  spending(kind: 'judge' | 'generate', runId?: number): JudgeSpending {
    return this.sql(
      `SELECT count(*) AS requests, coalesce(sum(status = 'error'), 0) AS failed, coalesce(sum(prompt_tokens), 0) AS promptTokens,
         coalesce(sum(completion_tokens), 0) AS completionTokens, coalesce(sum(cost_usd), 0) AS costUsd
       FROM requests WHERE kind = ? ${runId === undefined ? '' : 'AND run_id = ?'}`,
    ).get(...(runId === undefined ? [kind] : [kind, runId])) as JudgeSpending;
  }
}

/** Machine examples for the self-instruct prompt: accepted generated tasks whose latest judgment by `model` is ≥ `minScore`. */
export function sampleJudgedAtLeast(
  store: Store,
  model: string,
  minScore: number,
  limit: number,
): { id: number; instruction: string; input: string; output: string; category: string | null }[] {
  return store
    .sql(
      `SELECT t.id, t.instruction, t.input, t.output, t.category FROM tasks t
     JOIN judgments j ON j.id = (SELECT max(id) FROM judgments WHERE task_id = t.id AND judge_model = ?)
     WHERE t.source = 'generated' AND t.status = 'accepted' AND j.score >= ?
     ORDER BY random() LIMIT ?`,
    )
    .all(model, minScore, limit) as { id: number; instruction: string; input: string; output: string; category: string | null }[];
}

/** Ids of the accepted tasks one request brought. */
export function acceptedTaskIdsOfRequest(store: Store, requestId: number): number[] {
  return store.sql(`SELECT id FROM tasks WHERE request_id = ? AND status = 'accepted' ORDER BY id`).pluck().all(requestId) as number[];
}

/** A judge batch line's task ids (prompt id k → ids[k - 1]); set in the transaction that creates the batch. */
export function setBatchLineTasks(store: Store, batchRequestId: number, taskIds: readonly number[]): void {
  store.sql('UPDATE batch_requests SET judge_task_ids = ? WHERE id = ?').run(JSON.stringify(taskIds), batchRequestId);
}

export function batchLineTasks(store: Store, batchRequestId: number): number[] {
  const json = store.sql('SELECT judge_task_ids FROM batch_requests WHERE id = ?').pluck().get(batchRequestId) as string | null | undefined;
  if (json === null || json === undefined) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is number => Number.isSafeInteger(x)) : [];
  } catch {
    return [];
  }
}

/** Whether a judge request of this run was refused for asking for response_format (the next batch goes without). */
export function jsonModeRefused(store: Store, runId: number): boolean {
  return (
    store
      .sql(
        `SELECT 1 FROM requests WHERE run_id = ? AND kind = 'judge' AND status = 'error'
           AND (error LIKE '%response_format%' OR error LIKE '%json_object%') LIMIT 1`,
      )
      .get(runId) !== undefined
  );
}
