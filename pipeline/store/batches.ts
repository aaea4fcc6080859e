/**
 * SQL for Batch API jobs: the batch row moves preparing → uploaded → submitted → ingested, and each
 * input line is a `batch_requests` row whose `request_id` is filled in the same transaction that stores
 * its result. Every step is one statement or one transaction, so a kill between any two leaves a state
 * the next invocation can continue from without sending or ingesting anything twice.
 */
import type Database from 'better-sqlite3';
import type { Store } from './store.ts';

export type BatchStatus = 'preparing' | 'uploaded' | 'submitted' | 'ingested';

export interface BatchRow {
  id: number;
  runId: number;
  status: BatchStatus;
  providerStatus: string | null;
  requestCount: number;
  inputBytes: number | null;
  inputFileId: string | null;
  providerBatchId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  createdAt: string;
  submittedAt: string | null;
  finishedAt: string | null;
  ingestedAt: string | null;
  error: string | null;
  /** The stage whose lines it holds (null: written by generate's own batch step or before migration 13). */
  stage: string | null;
  /** The API route of its lines. */
  endpoint: string;
}

export interface NewBatchRequest {
  templateId: number | null;
  messages: unknown;
  params: unknown;
  /** Two-stage: the task an answer line is for; absent for a generation line. */
  answerTaskId?: number | null | undefined;
  /** The stage's unit of work (plain JSON), kept with the line until its result is stored. */
  unit?: unknown;
}

export interface BatchRequestRow {
  id: number;
  batchId: number;
  templateId: number | null;
  messagesJson: string;
  paramsJson: string;
  requestId: number | null;
  answerTaskId: number | null;
  unitJson: string | null;
}

const BATCH_COLUMNS = `id, run_id AS runId, status, provider_status AS providerStatus, request_count AS requestCount,
  input_bytes AS inputBytes, input_file_id AS inputFileId, provider_batch_id AS providerBatchId,
  output_file_id AS outputFileId, error_file_id AS errorFileId, created_at AS createdAt, submitted_at AS submittedAt,
  finished_at AS finishedAt, ingested_at AS ingestedAt, error, stage, endpoint`;
const REQUEST_COLUMNS = `id, batch_id AS batchId, template_id AS templateId, messages_json AS messagesJson,
  params_json AS paramsJson, request_id AS requestId, answer_task_id AS answerTaskId, unit_json AS unitJson`;

/** The line's `custom_id`; parseCustomId is its inverse. */
export const customIdFor = (batchRequestId: number): string => `zhsi-${batchRequestId}`;
export function parseCustomId(customId: unknown): number | undefined {
  const m = typeof customId === 'string' ? /^zhsi-(\d+)$/.exec(customId) : null;
  return m ? Number(m[1]) : undefined;
}

const now = (): string => new Date().toISOString();

/** The API routes a batch may hold lines of. */
export const CHAT_ENDPOINT = '/v1/chat/completions';
export const EMBEDDINGS_ENDPOINT = '/v1/embeddings';

export class BatchStore {
  constructor(private readonly store: Store) {}

  private sql(text: string): Database.Statement {
    return this.store.sql(text);
  }

  /** The batch and all its lines, in one transaction (status 'preparing'). */
  createBatch(
    runId: number,
    requests: readonly NewBatchRequest[],
    route: { stage?: string | undefined; endpoint?: string | undefined } = {},
  ): number {
    return this.store.transaction(() => {
      const batchId = Number(
        this.sql(
          `INSERT INTO batches (run_id, status, request_count, created_at, stage, endpoint) VALUES (?, 'preparing', ?, ?, ?, ?)`,
        ).run(runId, requests.length, now(), route.stage ?? null, route.endpoint ?? CHAT_ENDPOINT).lastInsertRowid,
      );
      const insert = this.sql(
        `INSERT INTO batch_requests (batch_id, template_id, messages_json, params_json, answer_task_id, unit_json) VALUES (?, ?, ?, ?, ?, ?)`,
      );
      for (const r of requests) {
        const unit = r.unit === undefined ? null : JSON.stringify(r.unit);
        insert.run(batchId, r.templateId, JSON.stringify(r.messages), JSON.stringify(r.params), r.answerTaskId ?? null, unit);
      }
      return batchId;
    });
  }

  get(batchId: number): BatchRow | undefined {
    return this.sql(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = ?`).get(batchId) as BatchRow | undefined;
  }

  /** Whether a batch holds judge lines (its lines carry the subjects they judge). */
  firstLineHasJudgeSubjects(batchId: number): boolean {
    return (
      this.sql('SELECT judge_task_ids IS NOT NULL FROM batch_requests WHERE batch_id = ? ORDER BY id LIMIT 1').pluck().get(batchId) === 1
    );
  }

  /** Batches of a run not yet ingested, oldest first. */
  openBatches(runId: number): BatchRow[] {
    return this.sql(`SELECT ${BATCH_COLUMNS} FROM batches WHERE run_id = ? AND status <> 'ingested' ORDER BY id`).all(runId) as BatchRow[];
  }

  /** Every batch of a run, oldest first. */
  batchesOfRun(runId: number): BatchRow[] {
    return this.sql(`SELECT ${BATCH_COLUMNS} FROM batches WHERE run_id = ? ORDER BY id`).all(runId) as BatchRow[];
  }

  /** A batch's input lines in id order (the order of its input file). */
  lines(batchId: number): IterableIterator<BatchRequestRow> {
    return this.sql(`SELECT ${REQUEST_COLUMNS} FROM batch_requests WHERE batch_id = ? ORDER BY id`).iterate(
      batchId,
    ) as IterableIterator<BatchRequestRow>;
  }

  line(batchRequestId: number): BatchRequestRow | undefined {
    return this.sql(`SELECT ${REQUEST_COLUMNS} FROM batch_requests WHERE id = ?`).get(batchRequestId) as BatchRequestRow | undefined;
  }

  /** Lines of a batch with no stored result yet. */
  unanswered(batchId: number): BatchRequestRow[] {
    return this.sql(`SELECT ${REQUEST_COLUMNS} FROM batch_requests WHERE batch_id = ? AND request_id IS NULL ORDER BY id`).all(
      batchId,
    ) as BatchRequestRow[];
  }

  /** Ties a line to its stored result; call in the transaction that stores the result. */
  linkResult(batchRequestId: number, requestId: number): void {
    this.sql('UPDATE batch_requests SET request_id = ? WHERE id = ? AND request_id IS NULL').run(requestId, batchRequestId);
  }

  setUploaded(batchId: number, inputFileId: string, bytes: number): void {
    this.sql(`UPDATE batches SET status = 'uploaded', input_file_id = ?, input_bytes = ? WHERE id = ? AND status = 'preparing'`).run(
      inputFileId,
      bytes,
      batchId,
    );
  }

  setSubmitted(batchId: number, providerBatchId: string, providerStatus: string): void {
    this.sql(`UPDATE batches SET status = 'submitted', provider_batch_id = ?, provider_status = ?, submitted_at = ? WHERE id = ?`).run(
      providerBatchId,
      providerStatus,
      now(),
      batchId,
    );
  }

  updateProvider(
    batchId: number,
    u: { providerStatus: string; outputFileId: string | null; errorFileId: string | null; finished: boolean; error: string | null },
  ): void {
    this.sql(
      `UPDATE batches SET provider_status = ?, output_file_id = ?, error_file_id = ?, error = ?,
         finished_at = CASE WHEN ? THEN coalesce(finished_at, ?) ELSE finished_at END
       WHERE id = ?`,
    ).run(u.providerStatus, u.outputFileId, u.errorFileId, u.error, u.finished ? 1 : 0, now(), batchId);
  }

  markIngested(batchId: number): void {
    this.sql(`UPDATE batches SET status = 'ingested', ingested_at = ? WHERE id = ?`).run(now(), batchId);
  }

  /** For the last `n` ingested batches of a run, how many of their lines came back ok (newest first). */
  recentOkCounts(runId: number, n: number): number[] {
    return this.sql(
      `SELECT (SELECT count(*) FROM batch_requests br JOIN requests q ON q.id = br.request_id
               WHERE br.batch_id = b.id AND q.status = 'ok') AS ok
       FROM batches b WHERE b.run_id = ? AND b.status = 'ingested' ORDER BY b.id DESC LIMIT ?`,
    )
      .pluck()
      .all(runId, n) as number[];
  }

  /** Generation requests of a run that came back ok and the tasks they brought, for sizing the next batch. */
  yieldOfRun(runId: number, templateId: number): { okRequests: number; accepted: number } {
    return this.sql(
      `SELECT (SELECT count(*) FROM requests WHERE run_id = ? AND template_id = ? AND status = 'ok' AND kind = 'generate' AND answer_task_id IS NULL) AS okRequests,
              (SELECT count(*) FROM tasks WHERE run_id = ? AND status = 'accepted') AS accepted`,
    ).get(runId, templateId, runId) as { okRequests: number; accepted: number };
  }
}
