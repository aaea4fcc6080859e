/**
 * Embeddings in the store: one float32 blob per task and model (a vector extension was not needed: the
 * index is built in memory from the blobs, see embed/index.ts), keyed also by the hash of the embedded
 * text so the same text is never sent twice for one model.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Store } from './store.ts';

/** A task waiting for an embedding: its id and the text to embed. */
export interface TaskToEmbed {
  taskId: number;
  text: string;
  textSha256: string;
}

/** Which tasks: `since` all, the last generation run, or one run. */
export type EmbedSince = 'all' | 'last' | number;

export interface StoredEmbedding {
  taskId: number;
  vector: Float32Array;
}

const now = (): string => new Date().toISOString();
const LITTLE_ENDIAN = os.endianness() === 'LE';

export function textSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** float32 little-endian bytes of a vector (a copy, so the blob owns its memory). */
export function vectorBlob(v: Float32Array): Buffer {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b;
}

/** The blob's float32 values; on a little-endian machine its bytes are copied as they are (no per-value read). */
export function blobVector(b: Buffer): Float32Array {
  const v = new Float32Array(b.length >> 2);
  if (LITTLE_ENDIAN) new Uint8Array(v.buffer).set(b.subarray(0, v.length * 4));
  else for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return v;
}

export class EmbeddingStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  /**
   * Accepted tasks of the selection with no embedding by `model`, oldest first, with their key text:
   * instruction + newline + input, or a dialogue's first two user turns joined by a newline.
   */
  pending(model: string, since: EmbedSince = 'all'): TaskToEmbed[] {
    const params: Record<string, unknown> = { model };
    let run = '';
    if (since === 'last') run = `AND t.run_id = (SELECT id FROM runs WHERE mode NOT IN ('judge', 'embed') ORDER BY id DESC LIMIT 1)`;
    else if (typeof since === 'number') {
      run = 'AND t.run_id = @run';
      params['run'] = since;
    }
    const rows = this.sql(
      `SELECT t.id AS taskId, t.instruction, t.input,
              (SELECT json_group_array(content) FROM (SELECT content FROM dialogue_turns d
                 WHERE d.task_id = t.id AND d.role = 'user' ORDER BY d.turn LIMIT 2)) AS users
       FROM tasks t
       WHERE t.status = 'accepted' ${run}
         AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.task_id = t.id AND e.model = @model)
       ORDER BY t.id`,
    ).all(params) as { taskId: number; instruction: string; input: string; users: string }[];
    return rows.map((r) => {
      const users = JSON.parse(r.users) as string[];
      const text = users.length > 0 ? users.join('\n') : `${r.instruction}\n${r.input}`;
      return { taskId: r.taskId, text, textSha256: textSha256(text) };
    });
  }

  /** The vector stored for this text and model by any task, if one is. */
  byText(model: string, sha: string): Float32Array | undefined {
    const row = this.sql('SELECT vector FROM embeddings WHERE model = ? AND text_sha256 = ? LIMIT 1').get(model, sha) as
      | { vector: Buffer }
      | undefined;
    return row === undefined ? undefined : blobVector(row.vector);
  }

  /** The dimension stored for the model (undefined: none stored yet). */
  dimensions(model: string): number | undefined {
    const row = this.sql('SELECT dimensions FROM embeddings WHERE model = ? LIMIT 1').get(model) as { dimensions: number } | undefined;
    return row?.dimensions;
  }

  /** Inside the caller's transaction. A task that has one already keeps it (a reply that came twice). */
  insert(taskId: number, model: string, sha: string, vector: Float32Array, requestId: number | null): boolean {
    return (
      this.sql(
        `INSERT OR IGNORE INTO embeddings (task_id, model, text_sha256, dimensions, vector, request_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(taskId, model, sha, vector.length, vectorBlob(vector), requestId, now()).changes > 0
    );
  }

  /**
   * An accepted task found to mean the same as an earlier one once its embedding came: rejected as
   * `semantic_duplicate` with that task and the cosine. Inside the caller's transaction.
   */
  rejectSemanticDuplicate(taskId: number, nearestTaskId: number, cosine: number): boolean {
    return (
      this.sql(
        `UPDATE tasks SET status = 'rejected', reason = 'semantic_duplicate', nearest_task_id = ?, similarity = ?
         WHERE id = ? AND status = 'accepted'`,
      ).run(nearestTaskId, cosine, taskId).changes > 0
    );
  }

  /** Models with embeddings, the newest first. */
  models(): { model: string; count: number; dimensions: number }[] {
    return this.sql(
      `SELECT model, count(*) AS count, max(dimensions) AS dimensions, max(created_at) AS latest
       FROM embeddings GROUP BY model ORDER BY latest DESC, model`,
    ).all() as { model: string; count: number; dimensions: number }[];
  }

  /** Every accepted task's vector by `model`, by task id (seeds included unless `withSeeds` is false). */
  vectors(model: string, options: { taskIds?: readonly number[]; withSeeds?: boolean } = {}): StoredEmbedding[] {
    const seeds = options.withSeeds === false ? `AND t.source <> 'seed'` : '';
    const ids = options.taskIds === undefined ? '' : 'AND t.id IN (SELECT value FROM json_each(@ids))';
    const rows = this.sql(
      `SELECT e.task_id AS taskId, e.vector FROM embeddings e JOIN tasks t ON t.id = e.task_id
       WHERE e.model = @model AND t.status = 'accepted' ${seeds} ${ids} ORDER BY e.task_id`,
    ).all({ model, ...(options.taskIds !== undefined && { ids: JSON.stringify(options.taskIds) }) }) as {
      taskId: number;
      vector: Buffer;
    }[];
    return rows.map((r) => ({ taskId: r.taskId, vector: blobVector(r.vector) }));
  }

  /** How many vectors the model has. */
  count(model: string): number {
    return (this.sql('SELECT count(*) AS n FROM embeddings WHERE model = ?').get(model) as { n: number }).n;
  }
}
