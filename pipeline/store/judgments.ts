/**
 * SQL for the judge: which outputs a judge (model + rubric sha256) has not scored yet, the judgments,
 * judge runs and requests, and the score summaries `stats` and `export` show.
 *
 * A judge's subject is one output: a task's own (answer_id NULL; one-stage tasks, imports with outputs)
 * or one accepted answer of a task (two-stage tasks, `answer`; answer_id set). A task awaiting its
 * answer has no output and is no subject.
 */
import { chosenAnswer } from './exports.ts';
import type { Store } from './store.ts';

/** A judgment as stored: the judge's score, sub-scores and flags by name, and its reason. */
export interface JudgmentRow {
  score: number;
  subScores: Partial<Record<string, number>>;
  flags: readonly string[];
  reason: string;
}

export interface JudgeKey {
  model: string;
  rubricSha256: string;
}

/** Which tasks to judge: `since` all, the last generation run, or one run; optionally some sources. */
export interface JudgeSelection {
  since: 'all' | 'last' | number;
  sources?: readonly string[] | undefined;
}

/** What is judged: a task's own output (answerId null) or one of its accepted answers. */
export interface JudgeSubject {
  taskId: number;
  answerId: number | null;
}

/** A subject's text: the task's instruction and input, and the output judged (its own, or the answer's). */
export interface TaskToJudge extends JudgeSubject {
  instruction: string;
  input: string;
  output: string;
}

export interface ScoreSummary {
  /** The judge the figures are for (the one that wrote the newest judgment, unless asked). */
  judge: JudgeKey | null;
  /**
   * Accepted non-seed tasks whose exported output this judge has scored: the chosen answer (latest
   * accepted one) when a task has answers, else its own output. Tasks awaiting an answer count in neither.
   */
  judged: number;
  /** Accepted non-seed tasks with an output (own or answer) whose exported one it has not scored. */
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

  /**
   * Subjects of accepted, non-seed tasks of the selection with no judgment by this judge, oldest task
   * first, a task's own output before its answers.
   */
  pendingSubjects(judge: JudgeKey, selection: JudgeSelection): JudgeSubject[] {
    const params: Record<string, unknown> = { model: judge.model, sha: judge.rubricSha256 };
    const where = [`t.status = 'accepted'`, `t.source <> 'seed'`];
    if (selection.since === 'last') {
      where.push(`t.run_id = (SELECT id FROM runs WHERE mode NOT IN ('judge', 'embed') ORDER BY id DESC LIMIT 1)`);
    } else if (typeof selection.since === 'number') {
      where.push('t.run_id = @run');
      params['run'] = selection.since;
    }
    if (selection.sources !== undefined && selection.sources.length > 0) {
      where.push(`t.source IN (SELECT value FROM json_each(@sources))`);
      params['sources'] = JSON.stringify(selection.sources);
    }
    const tasks = where.join(' AND ');
    const judged = 'j.judge_model = @model AND j.rubric_sha256 = @sha';
    return this.sql(
      `SELECT t.id AS taskId, NULL AS answerId FROM tasks t
         WHERE ${tasks} AND t.output <> ''
           AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.answer_id IS NULL AND ${judged})
       UNION ALL
       SELECT t.id AS taskId, a.id AS answerId FROM tasks t JOIN answers a ON a.task_id = t.id AND a.status = 'accepted'
         WHERE ${tasks}
           AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.answer_id = a.id AND ${judged})
       ORDER BY taskId, answerId -- NULL (the own output) sorts first
      `,
    ).all(params) as JudgeSubject[];
  }

  /** The text of these subjects, in the order given (ones no longer there are left out). */
  tasks(subjects: readonly JudgeSubject[]): TaskToJudge[] {
    const own = this.sql('SELECT id AS taskId, NULL AS answerId, instruction, input, output FROM tasks WHERE id = ?');
    const answer = this.sql(
      `SELECT t.id AS taskId, a.id AS answerId, t.instruction, t.input, a.output FROM answers a JOIN tasks t ON t.id = a.task_id
       WHERE a.id = ? AND a.task_id = ?`,
    );
    return subjects
      .map((s) => (s.answerId === null ? own.get(s.taskId) : answer.get(s.answerId, s.taskId)) as TaskToJudge | undefined)
      .filter((t): t is TaskToJudge => t !== undefined);
  }

  /** Marks a stored request as a judge request; call in the transaction that stores it. */
  markJudgeRequest(requestId: number): void {
    this.sql(`UPDATE requests SET kind = 'judge' WHERE id = ?`).run(requestId);
  }

  /** Stores judgments of one reply; an existing (subject, judge) row wins. Returns how many were new. */
  insertJudgments(
    requestId: number | null,
    judge: JudgeKey,
    entries: readonly { taskId: number; answerId?: number | null; judgment: JudgmentRow }[],
  ): number {
    const insert = this.sql(
      `INSERT INTO judgments (task_id, answer_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, request_id,
         created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    let added = 0;
    const at = now();
    for (const { taskId, answerId, judgment: j } of entries) {
      added += insert.run(
        taskId,
        answerId ?? null,
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

  /**
   * What judge requests that came back took, for `judge --dry-run`: their number, mean prompt tokens
   * per request, completion tokens per judgment made and mean latency.
   */
  judgeHistory(): { requests: number; promptTokens: number; completionTokensPerJudgment: number; latencyMs: number } {
    const row = this.sql(
      `SELECT count(*) AS requests, coalesce(avg(prompt_tokens), 0) AS promptTokens, coalesce(sum(completion_tokens), 0) AS completion,
         coalesce(avg(latency_ms), 0) AS latencyMs, (SELECT count(*) FROM judgments) AS judgments
       FROM requests WHERE kind = 'judge' AND status = 'ok'`,
    ).get() as { requests: number; promptTokens: number; completion: number; latencyMs: number; judgments: number };
    return {
      requests: row.requests,
      promptTokens: row.promptTokens,
      completionTokensPerJudgment: row.judgments === 0 ? 0 : row.completion / row.judgments,
      latencyMs: row.latencyMs,
    };
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

  /**
   * Judged count, mean, histogram and flags over accepted non-seed tasks, for one judge: each task counts
   * once, by the judgment of the output `export` writes for it (the chosen answer, else its own output).
   */
  scoreSummary(judge: JudgeKey | null = this.latestJudge()): ScoreSummary {
    const histogram: Record<string, number> = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i + 1), 0]));
    // Tasks with an output to export (no answer model: any model's latest accepted answer is the chosen one).
    const chosen = chosenAnswer('t', false);
    const exported = `t.status = 'accepted' AND t.source <> 'seed' AND (t.output <> '' OR ${chosen} IS NOT NULL)`;
    const total = this.sql(`SELECT count(*) FROM tasks t WHERE ${exported}`).pluck().get() as number;
    if (judge === null) return { judge, judged: 0, unjudged: total, meanScore: null, histogram, flags: {} };
    // `IS` matches NULL with NULL: a task without a chosen answer is scored by the judgment of its own output.
    const scope = (join = '') => `FROM tasks t JOIN judgments j ON j.task_id = t.id AND j.answer_id IS ${chosen} ${join}
      WHERE j.judge_model = @model AND j.rubric_sha256 = @sha AND ${exported}`;
    const params = { model: judge.model, sha: judge.rubricSha256 };
    const agg = this.sql(`SELECT count(*) AS n, avg(j.score) AS mean ${scope()}`).get(params) as { n: number; mean: number | null };
    for (const row of this.sql(`SELECT min(10, CAST(j.score AS INTEGER)) AS b, count(*) AS n ${scope()} GROUP BY b`).all(params) as {
      b: number;
      n: number;
    }[]) {
      histogram[String(row.b)] = row.n;
    }
    const flags = Object.fromEntries(
      (
        this.sql(`SELECT f.value AS flag, count(*) AS n ${scope('JOIN json_each(j.flags_json) f')} GROUP BY f.value ORDER BY n DESC`).all(
          params,
        ) as { flag: string; n: number }[]
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

/**
 * Machine examples for the self-instruct prompt: accepted generated tasks whose own output's latest
 * judgment by `model` is ≥ `minScore`. An example shows the task's own output, so an answer's score
 * (two-stage) does not count here, and tasks awaiting an answer have no output to show.
 */
export function sampleJudgedAtLeast(
  store: Store,
  model: string,
  minScore: number,
  limit: number,
): { id: number; instruction: string; input: string; output: string; category: string | null }[] {
  return store
    .sql(
      `SELECT t.id, t.instruction, t.input, t.output, t.category FROM tasks t
     JOIN judgments j ON j.id = (SELECT max(id) FROM judgments WHERE task_id = t.id AND answer_id IS NULL AND judge_model = ?)
     WHERE t.source = 'generated' AND t.status = 'accepted' AND t.output <> '' AND j.score >= ?
     ORDER BY random() LIMIT ?`,
    )
    .all(model, minScore, limit) as { id: number; instruction: string; input: string; output: string; category: string | null }[];
}

/** Ids of the accepted tasks one request brought. */
export function acceptedTaskIdsOfRequest(store: Store, requestId: number): number[] {
  return store.sql(`SELECT id FROM tasks WHERE request_id = ? AND status = 'accepted' ORDER BY id`).pluck().all(requestId) as number[];
}

/** A judge batch line's subjects (prompt id k → subjects[k - 1]); set in the transaction that creates the batch. */
export function setBatchLineTasks(store: Store, batchRequestId: number, subjects: readonly JudgeSubject[]): void {
  const json = JSON.stringify(subjects.map((s) => ({ t: s.taskId, a: s.answerId })));
  store.sql('UPDATE batch_requests SET judge_task_ids = ? WHERE id = ?').run(json, batchRequestId);
}

/** A judge batch line's subjects: `[{t, a}]`, or a plain array of task ids (lines written before answers were judged). */
export function batchLineTasks(store: Store, batchRequestId: number): JudgeSubject[] {
  const json = store.sql('SELECT judge_task_ids FROM batch_requests WHERE id = ?').pluck().get(batchRequestId) as string | null | undefined;
  if (json === null || json === undefined) return [];
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  return Array.isArray(v) ? v.map(toSubject).filter((s): s is JudgeSubject => s !== undefined) : [];
}

function toSubject(x: unknown): JudgeSubject | undefined {
  if (Number.isSafeInteger(x)) return { taskId: x as number, answerId: null };
  if (typeof x !== 'object' || x === null) return undefined;
  const { t, a } = x as { t?: unknown; a?: unknown };
  if (!Number.isSafeInteger(t)) return undefined;
  if (a === null || a === undefined) return { taskId: t as number, answerId: null };
  return Number.isSafeInteger(a) ? { taskId: t as number, answerId: a as number } : undefined;
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

/**
 * How many judge batch lines of a run each subject (`task:answer`) was sent in: lines of the judge
 * stage's batches (their unit lists the subjects), and lines written before lines kept their unit.
 */
export function judgeLineTries(store: Store, runId: number): Map<string, number> {
  const tries = new Map<string, number>();
  const count = (subjects: readonly JudgeSubject[]): void => {
    for (const s of subjects) {
      const key = `${s.taskId}:${s.answerId ?? ''}`;
      tries.set(key, (tries.get(key) ?? 0) + 1);
    }
  };
  const rows = store
    .sql(
      `SELECT br.id, br.unit_json AS unitJson, br.judge_task_ids IS NOT NULL AS legacy FROM batch_requests br JOIN batches b ON b.id = br.batch_id
       WHERE b.run_id = ? AND (br.judge_task_ids IS NOT NULL OR b.stage = 'judge')`,
    )
    .all(runId) as { id: number; unitJson: string | null; legacy: number }[];
  for (const row of rows) {
    if (row.legacy) count(batchLineTasks(store, row.id));
    else count(unitSubjects(row.unitJson));
  }
  return tries;
}

/** The subjects of a judge line's stored unit (`{unit: {tasks: [{taskId, answerId}]}}`); none when unreadable. */
function unitSubjects(json: string | null): JudgeSubject[] {
  try {
    const tasks = (JSON.parse(json ?? 'null') as { unit?: { tasks?: unknown } } | null)?.unit?.tasks;
    return Array.isArray(tasks) ? tasks.map((t) => toSubject({ t: t?.taskId, a: t?.answerId ?? null })).filter((s) => s !== undefined) : [];
  } catch {
    return [];
  }
}
