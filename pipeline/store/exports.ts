/**
 * The SQL behind `export`: which accepted tasks qualify, streamed with their model and generation
 * template, and the `exports` table that remembers what each output folder has already received.
 */
import { readJsonColumn, runOptionsSchema, selectionSchema } from './json.ts';
import crypto from 'node:crypto';
import type { Store } from './store.ts';

/** Which accepted tasks qualify, before any row range. */
export interface Selection {
  /** Exact `tasks.source` values; null means every source (seeds only when `includeSeeds`). */
  sources: string[] | null;
  /** Exact `tasks.category` values; null means any, uncategorised included. */
  categories: string[] | null;
  includeSeeds: boolean;
  /**
   * Two-stage tasks (issue 13): export only tasks with an accepted answer by this model, with that answer
   * as the output. Absent: a task's output is its latest accepted answer, or its own output if it has none.
   */
  answerModel?: string | null;
}

export interface RowQuery {
  selection: Selection;
  /** Rows with afterTaskId < id <= throughTaskId. */
  afterTaskId: number;
  throughTaskId: number;
  /** Only this run's rows. */
  runId: number | null;
  /** Order by a keyed hash of the row's dedup key instead of by id. */
  shuffleSeed: number | null;
  /** Leave conversations out (formats without turns). Default false. */
  excludeDialogues?: boolean;
  /** Join the latest judgment by this judge model of each row's exported output (curated exports, issue 12). */
  judgeModel?: string | null;
}

export interface ExportRow {
  id: number;
  source: string;
  runId: number | null;
  instruction: string;
  input: string;
  output: string;
  category: string | null;
  /** The near-duplicate key (normalized instruction + input): the row's identity for split and shuffle. */
  key: string;
  /** The model and generation template that wrote the row; null for seeds and imports. */
  model: string | null;
  templateName: string | null;
  templateSha256: string | null;
  /** 'dialogue': a conversation, whose turns are `turnsJson` (JSON array of {turn, role, content}). */
  kind: 'task' | 'dialogue';
  turnsJson: string | null;
  /** Stored cl100k tokens of a conversation's turns; null for tasks. */
  dialogueTokens: number | null;
  /** The answer exported as output, when the task was answered in its own request (two-stage, `answer`). */
  answerModel: string | null;
  answerTemplateName: string | null;
  answerTemplateSha256: string | null;
  /**
   * The latest judgment by `RowQuery.judgeModel` of the output the row exports (its chosen answer, or its
   * own output); null when that output is unjudged or no judge was asked for.
   */
  judgeScore: number | null;
  judgeFlags: string | null;
  judgeRubric: string | null;
  /** The benchmark (id) `decontaminate` found the task overlapping; null when none (issue 25). */
  contaminatedBy: number | null;
  /** An evolved task's round (issue 23); null for any other. */
  evolveRound: number | null;
}

export type ExportSince = 'last' | 'all' | 'run';
export type ExportStatus = 'writing' | 'complete' | 'failed' | 'abandoned';

export interface NewExport {
  outDir: string;
  format: string;
  since: ExportSince;
  runId: number | null;
  selection: Selection;
  options: Record<string, unknown>;
  afterTaskId: number;
  throughTaskId: number;
}

export interface ExportEntry {
  id: number;
  exportId: string;
  outDir: string;
  format: string;
  since: ExportSince;
  runId: number | null;
  selection: Selection;
  afterTaskId: number;
  throughTaskId: number;
  status: ExportStatus;
  records: number | null;
  startedAt: string;
}

export interface ExportedFile {
  path: string;
  records: number;
  bytes: number;
  sha256: string;
}

/** The shuffle order: 48 bits of sha256(seed + "\n" + key), so it is reproducible outside this tool. */
export function shuffleKey(seed: number, key: string): number {
  return crypto.createHash('sha256').update(`${seed}\n${key}`).digest().readUIntBE(0, 6);
}

const SHUFFLE_FN = 'zhsi_shuffle_key';

/** `20250102T030405Z`: export ids sort by time, then by the row id that follows. */
function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

type EntryRow = Omit<ExportEntry, 'selection'> & { selectionJson: string };

const ENTRY_COLUMNS = `id, export_id AS exportId, out_dir AS outDir, format, since, run_id AS runId,
  selection_json AS selectionJson, after_task_id AS afterTaskId, through_task_id AS throughTaskId, status, records,
  started_at AS startedAt`;

function toEntry(row: EntryRow): ExportEntry {
  const { selectionJson, ...rest } = row;
  return { ...rest, selection: readJsonColumn(selectionSchema, selectionJson, `exports ${row.id} selection_json`) };
}

export class ExportStore {
  constructor(private readonly store: Store) {
    // Registered per connection; deterministic so SQLite may reuse results within one statement.
    store.db.function(SHUFFLE_FN, { deterministic: true }, (seed: unknown, key: unknown) => shuffleKey(Number(seed), String(key)));
  }

  private sql(text: string) {
    return this.store.sql(text);
  }

  /** The newest task id: the upper end of this export's range, fixed before reading any row. */
  maxTaskId(): number {
    return this.sql('SELECT coalesce(max(id), 0) FROM tasks').pluck().get() as number;
  }

  runExists(runId: number): boolean {
    return this.sql('SELECT 1 FROM runs WHERE id = ?').get(runId) !== undefined;
  }

  /** Accepted seeds in the store (to explain an export that finds nothing else). */
  countSeeds(): number {
    return this.sql(`SELECT count(*) FROM tasks WHERE source = 'seed' AND status = 'accepted'`).pluck().get() as number;
  }

  countRows(query: RowQuery): number {
    const { where, params } = whereClause(query);
    return this.sql(`SELECT count(*) FROM tasks t WHERE ${where}`).pluck().get(params) as number;
  }

  /** The qualifying rows, streamed (the connection is busy until the iterator ends). */
  rows(query: RowQuery): IterableIterator<ExportRow> {
    const { where, params } = whereClause(query);
    const order = query.shuffleSeed === null ? 't.id' : `${SHUFFLE_FN}(@shuffleSeed, t.dedup_key), t.id`;
    if (query.shuffleSeed !== null) params['shuffleSeed'] = query.shuffleSeed;
    // -- judge (issue 12): the latest judgment by one judge model of the output each row exports --
    const judged = query.judgeModel !== undefined && query.judgeModel !== null;
    if (judged) params['judgeModel'] = query.judgeModel!;
    // `answer_id IS a.id`: the chosen answer's judgment, or (no answer chosen, a.id NULL) the task's own output's.
    const judgeJoin = judged
      ? `LEFT JOIN judgments j ON j.id = (SELECT max(id) FROM judgments
           WHERE task_id = t.id AND answer_id IS a.id AND judge_model = @judgeModel)`
      : '';
    const judgeCols = judged
      ? 'j.score AS judgeScore, j.flags_json AS judgeFlags, j.rubric_sha256 AS judgeRubric'
      : 'NULL AS judgeScore, NULL AS judgeFlags, NULL AS judgeRubric';
    return this.sql(
      `SELECT t.id, t.source, t.run_id AS runId, t.instruction, t.input, coalesce(a.output, t.output) AS output, t.category,
           t.dedup_key AS key, r.model AS model, tp.name AS templateName, tp.sha256 AS templateSha256, t.kind AS kind,
           CASE WHEN t.kind = 'dialogue' THEN (SELECT json_group_array(json_object('turn', d.turn, 'role', d.role, 'content', d.content))
             FROM dialogue_turns d WHERE d.task_id = t.id) END AS turnsJson,
           CASE WHEN t.kind = 'dialogue' THEN (SELECT sum(d.tokens) FROM dialogue_turns d WHERE d.task_id = t.id) END AS dialogueTokens,
           a.model AS answerModel, atp.name AS answerTemplateName, atp.sha256 AS answerTemplateSha256, ${judgeCols},
           (SELECT min(c.benchmark_id) FROM contamination c WHERE c.task_id = t.id) AS contaminatedBy,
           (SELECT e.round FROM evolutions e WHERE e.child_task_id = t.id) AS evolveRound
         FROM tasks t
         LEFT JOIN requests r ON r.id = t.request_id
         LEFT JOIN templates tp ON tp.id = r.template_id
         LEFT JOIN answers a ON a.id = ${CHOSEN_ANSWER}
         LEFT JOIN templates atp ON atp.id = a.template_id
         ${judgeJoin}
         WHERE ${where}
         ORDER BY ${order}`,
    ).iterate(params) as IterableIterator<ExportRow>;
  }

  /** Each run's near-duplicate threshold as its options recorded it (null when they do not say). */
  runSimilarity(runIds: readonly number[]): Map<number, number | null> {
    const stmt = this.sql('SELECT options_json FROM runs WHERE id = ?').pluck();
    const result = new Map<number, number | null>();
    for (const id of runIds) {
      const json = stmt.get(id) as string | undefined;
      let value: number | null = null;
      try {
        if (json !== undefined) value = readJsonColumn(runOptionsSchema, json, `runs ${id} options_json`).similarity ?? null;
      } catch {
        // A run whose options do not say (or are not JSON) has no recorded threshold.
      }
      result.set(id, value);
    }
    return result;
  }

  // -- the exports table -----------------------------------------------------------------------------

  /** The newest complete export into `outDir` that advanced its range (`--since last` or `all`). */
  lastComplete(outDir: string): ExportEntry | undefined {
    const row = this.sql(
      `SELECT ${ENTRY_COLUMNS} FROM exports
         WHERE out_dir = ? AND status = 'complete' AND since IN ('last', 'all') ORDER BY id DESC LIMIT 1`,
    ).get(outDir) as EntryRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  /** Exports into `outDir` that started and never finished (their process died). */
  unfinished(outDir: string): ExportEntry[] {
    const rows = this.sql(`SELECT ${ENTRY_COLUMNS} FROM exports WHERE out_dir = ? AND status = 'writing' ORDER BY id`).all(
      outDir,
    ) as EntryRow[];
    return rows.map(toEntry);
  }

  get(exportId: string): ExportEntry | undefined {
    const row = this.sql(`SELECT ${ENTRY_COLUMNS} FROM exports WHERE export_id = ?`).get(exportId) as EntryRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  /** Records an export as started and names it; it marks nothing exported until `complete`. */
  begin(e: NewExport, now = new Date()): { id: number; exportId: string } {
    return this.store.transaction(() => {
      const placeholder = `pending-${process.pid}-${crypto.randomUUID()}`;
      const info = this.sql(
        `INSERT INTO exports (export_id, out_dir, format, since, run_id, selection_json, options_json, after_task_id,
             through_task_id, status, pid, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'writing', ?, ?)`,
      ).run(
        placeholder,
        e.outDir,
        e.format,
        e.since,
        e.runId,
        JSON.stringify(e.selection),
        JSON.stringify(e.options),
        e.afterTaskId,
        e.throughTaskId,
        process.pid,
        now.toISOString(),
      );
      const id = Number(info.lastInsertRowid);
      const exportId = `${stamp(now)}-${id}`;
      this.sql('UPDATE exports SET export_id = ? WHERE id = ?').run(exportId, id);
      return { id, exportId };
    });
  }

  complete(id: number, result: { records: number; dropped: number; files: readonly ExportedFile[] }): void {
    this.sql(`UPDATE exports SET status = 'complete', records = ?, dropped = ?, files_json = ?, finished_at = ? WHERE id = ?`).run(
      result.records,
      result.dropped,
      JSON.stringify(result.files),
      new Date().toISOString(),
      id,
    );
  }

  /** Closes an export that will never complete; `complete` is also how a crashed one is recovered. */
  close(id: number, status: Exclude<ExportStatus, 'writing'>, error?: string): void {
    this.sql('UPDATE exports SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(
      status,
      error ?? null,
      new Date().toISOString(),
      id,
    );
  }
}

/**
 * The id of the answer task `task` (an SQL alias) exports: its latest accepted one, by @answerModel when
 * `byModel` and the selection names one. Also what `stats` and `report` score and show a task by
 * (judgments.ts, report.ts; `byModel` false: any model).
 */
export const chosenAnswer = (task = 't', byModel = true): string =>
  `(SELECT max(x.id) FROM answers x WHERE x.task_id = ${task}.id AND x.status = 'accepted'` +
  `${byModel ? ' AND (@answerModel IS NULL OR x.model = @answerModel)' : ''})`;
const CHOSEN_ANSWER = chosenAnswer();

function whereClause(query: RowQuery): { where: string; params: Record<string, string | number | null> } {
  const answerModel = query.selection.answerModel ?? null;
  const params: Record<string, string | number | null> = { after: query.afterTaskId, through: query.throughTaskId, answerModel };
  const parts = [`t.status = 'accepted'`, 't.id > @after', 't.id <= @through'];
  if (query.excludeDialogues === true) parts.push(`t.kind = 'task'`);
  // An instruction still awaiting its answer has no output to export; with an answer model, only its answers count.
  parts.push(answerModel === null ? `(t.output <> '' OR ${CHOSEN_ANSWER} IS NOT NULL)` : `${CHOSEN_ANSWER} IS NOT NULL`);
  if (query.runId !== null) {
    parts.push('t.run_id = @run');
    params['run'] = query.runId;
  }
  const { sources, categories, includeSeeds } = query.selection;
  if (sources !== null) {
    parts.push(`t.source IN (${sources.map((s, i) => ((params[`src${i}`] = s), `@src${i}`)).join(', ')})`);
  } else if (!includeSeeds) {
    parts.push(`t.source <> 'seed'`);
  }
  if (categories !== null) {
    parts.push(`t.category IN (${categories.map((c, i) => ((params[`cat${i}`] = c), `@cat${i}`)).join(', ')})`);
  }
  return { where: parts.join(' AND '), params };
}
