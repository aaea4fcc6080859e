/**
 * The only module that speaks SQL. A real SQLite file (better-sqlite3), WAL mode, schema moved forward
 * by the numbered migrations in migrations.ts. The API key never reaches this module.
 */
import { UsageError } from '../errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import type { Task } from '../types.ts';
import { MAX_PARSE_CHARS } from '../parse.ts';

export class StoreError extends UsageError {
  override name = 'StoreError';
}

export interface GenerationHistory {
  requests: number;
  accepted: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
}

export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed';

export interface NewRun {
  target: number;
  mode: string;
  model: string;
  /** Everything needed to repeat the run; must not contain secrets. */
  options: Record<string, unknown>;
}

export interface NewRequest {
  runId: number;
  templateId: number | null;
  model: string;
  messages: unknown;
  params: unknown;
  status: 'ok' | 'error';
  rawReply?: string | null | undefined;
  finishReason?: string | null | undefined;
  promptTokens?: number | null | undefined;
  completionTokens?: number | null | undefined;
  totalTokens?: number | null | undefined;
  latencyMs?: number | null | undefined;
  attempts?: number | undefined;
  error?: string | null | undefined;
  replyShape?: string | null | undefined;
  parseProblems?: string[] | undefined;
  /** USD at the model's price; null when the model has no price. */
  costUsd?: number | null | undefined;
  /** The batch a Batch API result came from. */
  batchId?: number | null | undefined;
  /** The endpoint it went to, when a run has several. */
  endpoint?: string | null | undefined;
}

export interface NewTask extends Task {
  source: string;
  runId?: number | null;
  requestId?: number | null;
  dedupKey: string;
  status: 'accepted' | 'rejected';
  reason?: string | null;
  detail?: string | null;
  nearestTaskId?: number | null;
  similarity?: number | null;
}

export interface RunRow {
  id: number;
  status: RunStatus;
  target: number;
  mode: string;
  model: string;
  startedAt: string;
  /** Two-stage runs: the answer model their options named; null for one-stage runs. */
  answerModel: string | null;
}

export interface RunTotals {
  accepted: number;
  rejected: Record<string, number>;
  requests: { total: number; failed: number; promptTokens: number; completionTokens: number; costUsd: number };
  /** Requests by endpoint, when the run spread them over several. */
  endpoints?: Record<string, EndpointTotals>;
}

export interface EndpointTotals {
  total: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface StoredTask extends Task {
  id: number;
  source: string;
}

export interface OpenOptions {
  readonly?: boolean;
}

const now = (): string => new Date().toISOString();

/**
 * Characters of a reply that are stored: what the parser reads (a reply of 50 MB is not 50 MB of
 * database). The rest is replaced by a marker; `raw_reply_chars` keeps the true length.
 */
export const MAX_STORED_REPLY_CHARS = MAX_PARSE_CHARS;

/** `reply` cut to MAX_STORED_REPLY_CHARS with a marker saying so; never splits a surrogate pair. */
export function capReply(reply: string): string {
  if (reply.length <= MAX_STORED_REPLY_CHARS) return reply;
  let end = MAX_STORED_REPLY_CHARS;
  const last = reply.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${reply.slice(0, end)}\n[reply cut: ${end} of ${reply.length} characters stored]`;
}

/** The select list that sums a set of `requests` rows: total, failed, promptTokens, completionTokens. */
const REQUEST_TOTALS = `count(*) AS total, coalesce(sum(status = 'error'), 0) AS failed,
  coalesce(sum(prompt_tokens), 0) AS promptTokens, coalesce(sum(completion_tokens), 0) AS completionTokens`;

export class Store {
  /**
   * The connection, for the table modules of store/ and for tests. Left out of the published .d.ts
   * (stripInternal), so a consumer's type-check needs no better-sqlite3 types and SQL stays in store/.
   * @internal
   */
  readonly db: Database.Database;
  readonly path: string;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.path = file;
  }

  /**
   * Checks, writing nothing, that an existing file is a database this version can open and migrate
   * (a writer calls this before it takes the lock); a missing file is fine, it will be created.
   */
  static check(file: string): void {
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new StoreError(`${file}: directory ${dir} does not exist`);
    if (!fs.existsSync(file)) return;
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new StoreError(`${file}: cannot open database: ${(err as Error).message}`);
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new StoreError(
          `${file}: database schema version ${version} is newer than this tool's (${SCHEMA_VERSION}); upgrade zh-self-instruct`,
        );
      }
      // A file cut short fails above; one damaged in the middle only when a page there is read, which
      // may be an hour into the run. quick_check reads every page once (linear, no index cross-check),
      // so both are the same usage error, before the lock is taken and anything is sent.
      const first = db.pragma('quick_check(1)', { simple: true }) as string;
      if (first !== 'ok') throw new StoreError(`${file}: database disk image is malformed (${first.replace(/\s+/g, ' ').trim()})`);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (/not a database|file is (encrypted|not a database)/i.test((err as Error).message))
        throw new StoreError(`${file}: not a SQLite database`);
      throw new StoreError(`${file}: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  }

  /** Opens (creating if needed) and migrates the DB; every failure is a StoreError naming the file. */
  static open(file: string, options: OpenOptions = {}): Store {
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new StoreError(`${file}: directory ${dir} does not exist`);
    if (options.readonly && !fs.existsSync(file)) throw new StoreError(`${file}: no such database`);
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (err) {
      throw new StoreError(`${file}: cannot open database: ${(err as Error).message}`);
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new StoreError(
          `${file}: database schema version ${version} is newer than this tool's (${SCHEMA_VERSION}); upgrade zh-self-instruct`,
        );
      }
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        db.pragma('busy_timeout = 5000');
        migrate(db, version);
      } else if (version < SCHEMA_VERSION) {
        throw new StoreError(
          `${file}: database schema version ${version} is older than ${SCHEMA_VERSION}; run generate once to migrate it`,
        );
      }
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const message = (err as Error).message;
      if (/not a database|file is (encrypted|not a database)/i.test(message)) {
        throw new StoreError(`${file}: not a SQLite database`);
      }
      if (/readonly|read-only/i.test(message)) throw new StoreError(`${file}: database is read-only`);
      throw new StoreError(`${file}: ${message}`);
    }
    return new Store(db, file);
  }

  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Prepared once per SQL text: preparing costs more than running these small statements. Shared with
   * the other table modules of store/ (batches), so there is one statement cache per connection.
   * @internal
   */
  sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (stmt === undefined) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // -- runs ------------------------------------------------------------------------------------------

  createRun(run: NewRun): number {
    const info = this.sql(
      `INSERT INTO runs (started_at, status, target, mode, model, options_json, pid)
         VALUES (?, 'running', ?, ?, ?, ?, ?)`,
    ).run(now(), run.target, run.mode, run.model, JSON.stringify(run.options), process.pid);
    return Number(info.lastInsertRowid);
  }

  /** The most recent generation run, if any (judge and embed runs are those commands' own). */
  latestRun(): RunRow | undefined {
    return this.sql(
      `SELECT id, status, target, mode, model, started_at AS startedAt, json_extract(options_json, '$.answerModel') AS answerModel
       FROM runs WHERE mode NOT IN ('judge', 'embed') ORDER BY id DESC LIMIT 1`,
    ).get() as RunRow | undefined;
  }

  /** Takes an unfinished run up again, possibly with a new target and options. */
  resumeRun(runId: number, run: NewRun): void {
    this.sql(
      `UPDATE runs SET status = 'running', ended_at = NULL, error = NULL, target = ?, mode = ?, model = ?, options_json = ?, pid = ? WHERE id = ?`,
    ).run(run.target, run.mode, run.model, JSON.stringify(run.options), process.pid, runId);
  }

  /** What a run has produced so far, across every invocation that worked on it. */
  runTotals(runId: number): RunTotals {
    const tasks = this.sql(`SELECT status, reason, count(*) AS n FROM tasks WHERE run_id = ? GROUP BY status, reason`).all(runId) as {
      status: string;
      reason: string | null;
      n: number;
    }[];
    const requests = this.sql(`SELECT ${REQUEST_TOTALS}, coalesce(sum(cost_usd), 0) AS costUsd FROM requests WHERE run_id = ?`).get(
      runId,
    ) as RunTotals['requests'];
    const rejected: Record<string, number> = {};
    let accepted = 0;
    for (const row of tasks) {
      if (row.status === 'accepted') accepted += row.n;
      else rejected[row.reason ?? 'unknown'] = (rejected[row.reason ?? 'unknown'] ?? 0) + row.n;
    }
    const endpoints = this.endpointTotals(runId);
    return { accepted, rejected, requests, ...(endpoints !== undefined && { endpoints }) };
  }

  /** Requests by endpoint (of one run, or all); undefined when no request went through named endpoints. */
  endpointTotals(runId?: number): Record<string, EndpointTotals> | undefined {
    const rows = this.sql(
      `SELECT endpoint, ${REQUEST_TOTALS} FROM requests WHERE endpoint IS NOT NULL AND (? IS NULL OR run_id = ?) GROUP BY endpoint ORDER BY endpoint`,
    ).all(runId ?? null, runId ?? null) as (EndpointTotals & { endpoint: string })[];
    if (rows.length === 0) return undefined;
    return Object.fromEntries(rows.map(({ endpoint, ...t }) => [endpoint, t]));
  }

  finishRun(runId: number, status: RunStatus, error?: string): void {
    this.sql('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?').run(status, now(), error ?? null, runId);
  }

  // -- templates -------------------------------------------------------------------------------------

  /** The id of this exact template text, stored once by content hash. */
  templateId(name: string, sha256: string, content: string): number {
    this.sql('INSERT INTO templates (name, sha256, content) VALUES (?, ?, ?) ON CONFLICT(sha256) DO NOTHING').run(name, sha256, content);
    const row = this.sql('SELECT id FROM templates WHERE sha256 = ?').get(sha256) as { id: number };
    return row.id;
  }

  // -- requests and tasks ----------------------------------------------------------------------------

  insertRequest(r: NewRequest): number {
    const info = this.sql(
      `INSERT INTO requests (run_id, template_id, created_at, model, messages_json, params_json, status,
           raw_reply, finish_reason, prompt_tokens, completion_tokens, total_tokens, latency_ms, attempts,
           error, reply_shape, parse_problems, cost_usd, batch_id, endpoint, raw_reply_chars)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      r.runId,
      r.templateId,
      now(),
      r.model,
      JSON.stringify(r.messages),
      JSON.stringify(r.params),
      r.status,
      r.rawReply == null ? null : capReply(r.rawReply),
      r.finishReason ?? null,
      r.promptTokens ?? null,
      r.completionTokens ?? null,
      r.totalTokens ?? null,
      r.latencyMs ?? null,
      r.attempts ?? 1,
      r.error ?? null,
      r.replyShape ?? null,
      r.parseProblems && r.parseProblems.length > 0 ? JSON.stringify(r.parseProblems) : null,
      r.costUsd ?? null,
      r.batchId ?? null,
      r.endpoint ?? null,
      r.rawReply == null ? null : r.rawReply.length,
    );
    return Number(info.lastInsertRowid);
  }

  insertTask(t: NewTask): number {
    const info = this.sql(
      `INSERT INTO tasks (source, run_id, request_id, instruction, input, output, category, dedup_key, status,
           reason, detail, nearest_task_id, similarity, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      t.source,
      t.runId ?? null,
      t.requestId ?? null,
      t.instruction,
      t.input,
      t.output,
      t.category ?? null,
      t.dedupKey,
      t.status,
      t.reason ?? null,
      t.detail ?? null,
      t.nearestTaskId ?? null,
      t.similarity ?? null,
      now(),
    );
    return Number(info.lastInsertRowid);
  }

  /** Whether an accepted task already has exactly this key. */
  hasAcceptedKey(dedupKey: string): boolean {
    return this.sql(`SELECT 1 FROM tasks WHERE dedup_key = ? AND status = 'accepted'`).get(dedupKey) !== undefined;
  }

  /** Keys of every task (accepted or rejected) a source has stored: what an import already brought. */
  keysOfSource(source: string): Set<string> {
    return new Set(this.sql('SELECT dedup_key FROM tasks WHERE source = ?').pluck().all(source) as string[]);
  }

  /**
   * Every task a source stored (accepted or rejected), in the order it was decided, streamed: what an
   * import decided for each record it did not skip (the population benchmark reads it back).
   */
  *decisionsOfSource(
    source: string,
  ): IterableIterator<{ key: string; status: 'accepted' | 'rejected'; reason: string | null; detail: string | null }> {
    yield* this.sql('SELECT dedup_key AS key, status, reason, detail FROM tasks WHERE source = ? ORDER BY id').iterate(
      source,
    ) as IterableIterator<{
      key: string;
      status: 'accepted' | 'rejected';
      reason: string | null;
      detail: string | null;
    }>;
  }

  /** Every accepted task's id and key (seeds, generated, imported), oldest first, streamed. */
  *acceptedKeys(): IterableIterator<{ id: number; key: string }> {
    const rows = this.sql(`SELECT id, dedup_key AS key FROM tasks WHERE status = 'accepted' ORDER BY id`).iterate() as IterableIterator<{
      id: number;
      key: string;
    }>;
    yield* rows;
  }

  /** A random sample of accepted tasks of a source, for the prompt's machine-written examples. */
  sampleAccepted(source: string, limit: number): StoredTask[] {
    return this.sql(
      `SELECT id, source, instruction, input, output, category FROM tasks
         WHERE source = ? AND status = 'accepted' ORDER BY random() LIMIT ?`,
    ).all(source, limit) as StoredTask[];
  }

  countAccepted(runId: number): number {
    const row = this.sql(`SELECT count(*) AS n FROM tasks WHERE run_id = ? AND status = 'accepted'`).get(runId) as { n: number };
    return row.n;
  }

  /**
   * What this database's generation requests have yielded so far, for estimates (`generate --dry-run`):
   * requests with a reply, the tasks they had accepted, their mean tokens and latency.
   */
  generationHistory(): GenerationHistory {
    const row = this.sql(
      `SELECT count(*) AS requests, coalesce(avg(prompt_tokens), 0) AS promptTokens,
              coalesce(avg(completion_tokens), 0) AS completionTokens, coalesce(avg(latency_ms), 0) AS latencyMs,
              (SELECT count(*) FROM tasks t WHERE t.status = 'accepted' AND t.request_id IS NOT NULL) AS accepted
       FROM requests WHERE status = 'ok' AND kind = 'generate' AND answer_task_id IS NULL`,
    ).get() as GenerationHistory;
    return row;
  }

  // -- stats -----------------------------------------------------------------------------------------

  /** One row per run, newest first. */
  runsView(limit = 50): RunView[] {
    return this.sql(
      `WITH q AS (
         SELECT run_id, ${REQUEST_TOTALS} FROM requests GROUP BY run_id),
       t AS (
         SELECT run_id, sum(status = 'accepted') AS accepted, sum(status = 'rejected') AS rejected
         FROM tasks WHERE run_id IS NOT NULL GROUP BY run_id)
       SELECT r.id, r.status, r.started_at AS startedAt, r.ended_at AS endedAt, r.mode, r.model, r.target,
         coalesce(t.accepted, 0) AS accepted, coalesce(t.rejected, 0) AS rejected,
         coalesce(q.total, 0) AS requests, coalesce(q.failed, 0) AS failedRequests,
         coalesce(q.promptTokens, 0) AS promptTokens, coalesce(q.completionTokens, 0) AS completionTokens
       FROM runs r LEFT JOIN q ON q.run_id = r.id LEFT JOIN t ON t.run_id = r.id
       ORDER BY r.id DESC LIMIT ?`,
    ).all(limit) as RunView[];
  }

  /** One row per UTC day with activity, newest first. */
  daysView(limit = 60): DayView[] {
    return this.sql(
      `WITH t AS (
         SELECT substr(created_at, 1, 10) AS day, sum(status = 'accepted') AS accepted, sum(status = 'rejected') AS rejected
         FROM tasks WHERE source <> 'seed' GROUP BY day),
       q AS (
         SELECT substr(created_at, 1, 10) AS day, ${REQUEST_TOTALS} FROM requests GROUP BY day),
       days AS (SELECT day FROM t UNION SELECT day FROM q)
       SELECT days.day, coalesce(t.accepted, 0) AS accepted, coalesce(t.rejected, 0) AS rejected,
         coalesce(q.total, 0) AS requests, coalesce(q.promptTokens, 0) AS promptTokens,
         coalesce(q.completionTokens, 0) AS completionTokens
       FROM days LEFT JOIN t USING (day) LEFT JOIN q USING (day)
       ORDER BY days.day DESC LIMIT ?`,
    ).all(limit) as DayView[];
  }

  stats(): StoreStats {
    const one = <T>(sql: string): T => this.sql(sql).get() as T;
    const tasks = one<{ accepted: number; rejected: number }>(
      `SELECT coalesce(sum(status = 'accepted'), 0) AS accepted, coalesce(sum(status = 'rejected'), 0) AS rejected
       FROM tasks WHERE source <> 'seed'`,
    );
    const requests = one<StoreStats['requests']>(`SELECT ${REQUEST_TOTALS} FROM requests`);
    const reasons = this.sql(`SELECT reason, count(*) AS n FROM tasks WHERE status = 'rejected' GROUP BY reason ORDER BY n DESC`).all() as {
      reason: string;
      n: number;
    }[];
    const sources = this.sql(`SELECT source, count(*) AS n FROM tasks WHERE status = 'accepted' GROUP BY source ORDER BY n DESC`).all() as {
      source: string;
      n: number;
    }[];
    const runs = one<{ n: number }>('SELECT count(*) AS n FROM runs').n;
    return {
      accepted: tasks.accepted,
      rejected: tasks.rejected,
      rejectedByReason: Object.fromEntries(reasons.map((r) => [r.reason, r.n])),
      acceptedBySource: Object.fromEntries(sources.map((r) => [r.source, r.n])),
      requests,
      runs,
    };
  }
}

export interface RunView {
  id: number;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  mode: string;
  model: string;
  target: number;
  accepted: number;
  rejected: number;
  requests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
}

export interface DayView {
  day: string;
  accepted: number;
  rejected: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export interface StoreStats {
  /** Accepted tasks that are not seeds (generated and imported). */
  accepted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  acceptedBySource: Record<string, number>;
  requests: { total: number; failed: number; promptTokens: number; completionTokens: number };
  runs: number;
}

function migrate(db: Database.Database, from: number): void {
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
