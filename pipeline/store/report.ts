/**
 * The SQL behind `report`: counts, length distributions, samples and per-run figures over a scope of
 * tasks (one run, tasks since a date, or everything; seeds never count as the run's data). The figures
 * that need every row come from one scan (`scan`: lengths computed by SQLite, text only for a sample),
 * the rest from index counts, so a million tasks cost about one plain SELECT.
 * The judge, answers and dialogue sections read migrations 4–7's tables; each section is left out
 * when its table has no rows for the scope. A task's output is the one `export` writes: its latest
 * accepted answer when it has one (two-stage, `answer`), else its own; judge figures are of that output.
 */
import { chosenAnswer } from './exports.ts';
import type { Store } from './store.ts';

/** Which tasks a report covers. */
export type ReportScope = { kind: 'all' } | { kind: 'run'; runId: number } | { kind: 'since'; since: string };

export interface ScopeRun {
  id: number;
  status: string;
  startedAt: string;
  endedAt: string | null;
  mode: string;
  model: string;
  target: number;
  optionsJson: string;
}

export interface StatusCount {
  status: 'accepted' | 'rejected';
  reason: string | null;
  n: number;
}

export interface RequestTotals {
  total: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** Successful requests of models with no price: their cost is unknown, not zero. */
  unpriced: number;
  first: string | null;
  last: string | null;
  models: Record<string, number>;
}

export interface SampleRow {
  id: number;
  source: string;
  runId: number | null;
  instruction: string;
  input: string;
  output: string;
  category: string | null;
  status: 'accepted' | 'rejected';
  reason: string | null;
  detail: string | null;
  similarity: number | null;
  nearestTaskId: number | null;
}

export interface ScanRow {
  id: number;
  runId: number | null;
  status: 'accepted' | 'rejected';
  reason: string | null;
  category: string | null;
  similarity: number | null;
  inScope: 0 | 1;
  instructionChars: number;
  inputChars: number;
  outputChars: number;
  /** Only on sampled rows (accepted, in scope, id a multiple of the stride); else null. */
  instruction: string | null;
  input: string | null;
  output: string | null;
}

export class ReportStore {
  /** The output `export` writes, as SQL over `tasks` (plain `output` while no task has an answer: no cost). */
  private readonly output: string;

  constructor(private readonly store: Store) {
    const anyAnswer = store.sql(`SELECT 1 FROM answers WHERE status = 'accepted' LIMIT 1`).get() !== undefined;
    this.output = anyAnswer
      ? `coalesce((SELECT a.output FROM answers a WHERE a.id = ${chosenAnswer('tasks', false)}), tasks.output)`
      : 'output';
  }

  private where(scope: ReportScope, alias = ''): { sql: string; args: (string | number)[] } {
    const a = alias === '' ? '' : `${alias}.`;
    const base = `${a}source <> 'seed'`;
    if (scope.kind === 'run') return { sql: `${base} AND ${a}run_id = ?`, args: [scope.runId] };
    if (scope.kind === 'since') return { sql: `${base} AND ${a}created_at >= ?`, args: [scope.since] };
    return { sql: base, args: [] };
  }

  private requestWhere(scope: ReportScope): { sql: string; args: (string | number)[] } {
    if (scope.kind === 'run') return { sql: 'WHERE run_id = ?', args: [scope.runId] };
    if (scope.kind === 'since') return { sql: 'WHERE created_at >= ?', args: [scope.since] };
    return { sql: '', args: [] };
  }

  runExists(runId: number): boolean {
    return this.store.sql('SELECT 1 FROM runs WHERE id = ?').get(runId) !== undefined;
  }

  /** Runs with tasks or requests in the scope, oldest first. */
  runs(scope: ReportScope): ScopeRun[] {
    const cols = `id, status, started_at AS startedAt, ended_at AS endedAt, mode, model, target, options_json AS optionsJson`;
    if (scope.kind === 'run') return this.store.sql(`SELECT ${cols} FROM runs WHERE id = ?`).all(scope.runId) as ScopeRun[];
    if (scope.kind === 'since') {
      return this.store.sql(`SELECT ${cols} FROM runs WHERE coalesce(ended_at, '9999') >= ? ORDER BY id`).all(scope.since) as ScopeRun[];
    }
    return this.store.sql(`SELECT ${cols} FROM runs ORDER BY id`).all() as ScopeRun[];
  }

  statusCounts(scope: ReportScope): StatusCount[] {
    const w = this.where(scope);
    return this.store
      .sql(`SELECT status, reason, count(*) AS n FROM tasks WHERE ${w.sql} GROUP BY status, reason ORDER BY n DESC`)
      .all(...w.args) as StatusCount[];
  }

  /** Accepted tasks of the scope by source. */
  acceptedBySource(scope: ReportScope): Record<string, number> {
    const w = this.where(scope);
    const rows = this.store
      .sql(`SELECT source, count(*) AS n FROM tasks WHERE ${w.sql} AND status = 'accepted' GROUP BY source ORDER BY n DESC`)
      .all(...w.args) as { source: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.source, r.n]));
  }

  requestTotals(scope: ReportScope): RequestTotals {
    const w = this.requestWhere(scope);
    const row = this.store
      .sql(
        `SELECT count(*) AS total, coalesce(sum(status = 'error'), 0) AS failed,
         coalesce(sum(prompt_tokens), 0) AS promptTokens, coalesce(sum(completion_tokens), 0) AS completionTokens,
         coalesce(sum(cost_usd), 0) AS costUsd, coalesce(sum(cost_usd IS NULL AND status = 'ok'), 0) AS unpriced,
         min(created_at) AS first, max(created_at) AS last
       FROM requests ${w.sql}`,
      )
      .get(...w.args) as Omit<RequestTotals, 'models'>;
    const models = this.store.sql(`SELECT model, count(*) AS n FROM requests ${w.sql} GROUP BY model ORDER BY n DESC`).all(...w.args) as {
      model: string;
      n: number;
    }[];
    return { ...row, models: Object.fromEntries(models.map((m) => [m.model, m.n])) };
  }

  seedCategories(): { category: string; n: number }[] {
    return this.store
      .sql(`SELECT coalesce(category, '') AS category, count(*) AS n FROM tasks WHERE source = 'seed' GROUP BY category ORDER BY n DESC`)
      .all() as { category: string; n: number }[];
  }

  countAccepted(scope: ReportScope): number {
    const w = this.where(scope);
    return this.store
      .sql(`SELECT count(*) FROM tasks WHERE ${w.sql} AND status = 'accepted'`)
      .pluck()
      .get(...w.args) as number;
  }

  /** The `limit` accepted tasks (any source, seeds included) up to and including `throughId`, oldest first. */
  acceptedKeysBefore(throughId: number, limit: number): { id: number; key: string }[] {
    const rows = this.store
      .sql(`SELECT id, dedup_key AS key FROM tasks WHERE status = 'accepted' AND id <= ? ORDER BY id DESC LIMIT ?`)
      .all(throughId, limit) as { id: number; key: string }[];
    return rows.reverse();
  }

  tasksByIds(ids: readonly number[]): Map<number, { instruction: string; input: string; source: string }> {
    const stmt = this.store.sql('SELECT instruction, input, source FROM tasks WHERE id = ?');
    const out = new Map<number, { instruction: string; input: string; source: string }>();
    for (const id of ids) {
      const row = stmt.get(id) as { instruction: string; input: string; source: string } | undefined;
      if (row) out.set(id, row);
    }
    return out;
  }

  private get sampleColumns(): string {
    return `id, source, run_id AS runId, instruction, input, ${this.output} AS output, category, status, reason, detail,
    similarity, nearest_task_id AS nearestTaskId`;
  }

  /**
   * Every non-seed task once, in id order, as a light row: lengths computed by SQLite, text only for the
   * accepted in-scope rows whose id is a multiple of `stride` (an even sample for the text analysis). One
   * scan feeds the counts, the length histograms, the categories, the runs over time and the samples.
   */
  *scan(scope: ReportScope, stride: number): IterableIterator<ScanRow> {
    const inScope = scope.kind === 'run' ? 'run_id = ?' : scope.kind === 'since' ? 'created_at >= ?' : '1';
    const arg = scope.kind === 'run' ? [scope.runId] : scope.kind === 'since' ? [scope.since] : [];
    const sampled = `(${inScope}) AND status = 'accepted' AND id % ${Math.max(1, Math.floor(stride))} = 0`;
    yield* this.store
      .sql(
        `SELECT id, run_id AS runId, status, reason, category, similarity, (${inScope}) AS inScope,
           length(instruction) AS instructionChars, length(input) AS inputChars, length(${this.output}) AS outputChars,
           CASE WHEN ${sampled} THEN instruction END AS instruction,
           CASE WHEN ${sampled} THEN input END AS input,
           CASE WHEN ${sampled} THEN ${this.output} END AS output
         FROM tasks WHERE source <> 'seed' ORDER BY id`,
      )
      .iterate(...arg, ...arg, ...arg, ...arg) as IterableIterator<ScanRow>;
  }

  /** Each run's start, status, model, requests and cost, oldest first. */
  runMeta(): { runId: number; startedAt: string; status: string; model: string; requests: number; costUsd: number }[] {
    return this.store
      .sql(
        `SELECT r.id AS runId, r.started_at AS startedAt, r.status, r.model, count(q.id) AS requests, coalesce(sum(q.cost_usd), 0) AS costUsd
         FROM runs r LEFT JOIN requests q ON q.run_id = r.id GROUP BY r.id ORDER BY r.id`,
      )
      .all() as { runId: number; startedAt: string; status: string; model: string; requests: number; costUsd: number }[];
  }

  /** Tasks by id, with the sample browser's columns. */
  samplesByIds(ids: readonly number[]): SampleRow[] {
    const stmt = this.store.sql(`SELECT ${this.sampleColumns} FROM tasks WHERE id = ?`);
    return ids.flatMap((id) => (stmt.get(id) as SampleRow | undefined) ?? []);
  }

  /** The judge of the newest judgment (the one `stats` and curated exports default to), if any. */
  latestJudge(): string | undefined {
    return this.store.sql('SELECT judge_model FROM judgments ORDER BY id DESC LIMIT 1').pluck().get() as string | undefined;
  }

  /** Each scope task's latest score by `judge` (of its exported output), rounded to 0.1, counted. */
  judgeScores(scope: ReportScope, judge: string): { score: number; n: number }[] {
    const w = this.where(scope, 't');
    return this.store
      .sql(
        `SELECT round(j.score, 1) AS score, count(*) AS n FROM tasks t
         JOIN judgments j ON j.id = (SELECT max(id) FROM judgments WHERE task_id = t.id AND answer_id IS ${chosenAnswer('t', false)} AND judge_model = ?)
         WHERE ${w.sql} GROUP BY 1 ORDER BY 1`,
      )
      .all(judge, ...w.args) as { score: number; n: number }[];
  }

  /** The flags of each scope task's latest judgment by `judge` (of its exported output; flags_json: a JSON array), by count. */
  judgeFlags(scope: ReportScope, judge: string): { flag: string; n: number }[] {
    const w = this.where(scope, 't');
    return this.store
      .sql(
        `SELECT f.value AS flag, count(*) AS n FROM tasks t
         JOIN judgments j ON j.id = (SELECT max(id) FROM judgments WHERE task_id = t.id AND answer_id IS ${chosenAnswer('t', false)} AND judge_model = ?),
         json_each(CASE WHEN json_valid(j.flags_json) AND json_type(j.flags_json) = 'array' THEN j.flags_json ELSE '[]' END) f
         WHERE ${w.sql} GROUP BY 1 ORDER BY 2 DESC LIMIT 30`,
      )
      .all(judge, ...w.args) as { flag: string; n: number }[];
  }

  /** Accepted answers of the scope's tasks by model (two-stage generation, `answer`). */
  answersByModel(scope: ReportScope): { model: string; n: number }[] {
    const w = this.where(scope, 't');
    return this.store
      .sql(
        `SELECT a.model AS model, count(*) AS n FROM answers a JOIN tasks t ON t.id = a.task_id
         WHERE a.status = 'accepted' AND ${w.sql} GROUP BY 1 ORDER BY 2 DESC`,
      )
      .all(...w.args) as { model: string; n: number }[];
  }

  /** Accepted conversations of the scope by exchanges (user turns). */
  dialogueTurns(scope: ReportScope): { turns: number; n: number }[] {
    const w = this.where(scope, 't');
    return this.store
      .sql(
        `SELECT turns, count(*) AS n FROM (
           SELECT count(*) AS turns FROM tasks t JOIN dialogue_turns d ON d.task_id = t.id
           WHERE t.kind = 'dialogue' AND d.role = 'user' AND ${w.sql} GROUP BY t.id)
         GROUP BY turns ORDER BY turns`,
      )
      .all(...w.args) as { turns: number; n: number }[];
  }

  /** Accepted tasks of the scope with an embedding by `model`: how many, and the last `limit` ids, oldest first. */
  embedded(scope: ReportScope, model: string, limit: number): { count: number; lastIds: number[] } {
    const w = this.where(scope, 't');
    const from = `FROM tasks t JOIN embeddings e ON e.task_id = t.id AND e.model = ? WHERE t.status = 'accepted' AND ${w.sql}`;
    const count = this.store
      .sql(`SELECT count(*) ${from}`)
      .pluck()
      .get(model, ...w.args) as number;
    const lastIds = this.store
      .sql(`SELECT t.id ${from} ORDER BY t.id DESC LIMIT ?`)
      .pluck()
      .all(model, ...w.args, limit) as number[];
    return { count, lastIds: lastIds.reverse() };
  }

  /** Of `ids`, those with an embedding by `model`, in the order given. */
  embeddedAmong(model: string, ids: readonly number[]): number[] {
    const have = new Set(
      this.store
        .sql('SELECT task_id FROM embeddings WHERE model = ? AND task_id IN (SELECT value FROM json_each(?))')
        .pluck()
        .all(model, JSON.stringify(ids)) as number[],
    );
    return ids.filter((id) => have.has(id));
  }
}
