/**
 * The Batch API through the official `openai` client: upload a JSONL input file (purpose `batch`),
 * create, poll and cancel batches, and stream result files line by line. Transient failures are retried
 * by the same policy as chat requests; creating a batch first looks for one already made from the same
 * input file, so a retry after a lost answer (or a crash) never starts the same work twice.
 */
import OpenAI, { toFile } from 'openai';
import { sleep } from './client.ts';
import { toLlmError } from './errors.ts';
import { Redactor } from './secrets.ts';
import { decideRetry, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';

export type ProviderBatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

/** The fields of a batch object we use. */
export interface ProviderBatch {
  id: string;
  status: ProviderBatchStatus;
  input_file_id: string;
  output_file_id?: string | null | undefined;
  error_file_id?: string | null | undefined;
  errors?:
    | { data?: { code?: string | undefined; message?: string | undefined; line?: number | null | undefined }[] | undefined }
    | null
    | undefined;
  request_counts?: { total: number; completed: number; failed: number } | undefined;
  metadata?: Record<string, string> | null | undefined;
}

export const TERMINAL_BATCH_STATUSES: readonly ProviderBatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

/** Limits of one batch input file. */
export const BATCH_MAX_REQUESTS = 50_000;
export const BATCH_MAX_BYTES = 200 * 1024 * 1024;

export interface BatchApi {
  uploadFile(content: Buffer, filename: string): Promise<{ id: string; bytes: number }>;
  /** Creates the batch, unless one from this input file exists already: then that one. */
  /** `endpoint`: the route every line of the file goes to (default the chat completions route). */
  createBatch(inputFileId: string, metadata: Record<string, string>, endpoint?: string): Promise<ProviderBatch>;
  retrieveBatch(id: string): Promise<ProviderBatch>;
  cancelBatch(id: string): Promise<ProviderBatch>;
  /** A result file's lines as they arrive (no trailing newline, empty lines skipped). */
  fileLines(fileId: string): AsyncIterable<string>;
}

export interface BatchApiOptions {
  apiKey: string;
  baseURL?: string | undefined;
  /** Per HTTP call. Default 600 000 ms (uploads and downloads can be large). */
  timeoutMs?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  random?: () => number;
}

/** How many recent batches to look through for one made from a given input file. */
const SEARCH_LIMIT = 1000;

export function createBatchApi(options: BatchApiOptions): BatchApi {
  const { apiKey } = options;
  // Result lines hold the replies: the key is cut out of them before anyone parses or stores them.
  const redactor = Redactor.forEndpoint(apiKey, options.baseURL);
  const client = new OpenAI({ apiKey, baseURL: options.baseURL, timeout: options.timeoutMs ?? 600_000, maxRetries: 0 });
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    baseDelayMs: options.retryBaseMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
  };
  const random = options.random ?? Math.random;

  async function withRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const error = toLlmError(err, attempt, redactor);
        const decision = decideRetry(error, attempt, { maxTokens: 0, reservedTokens: 0, policy, random });
        if (decision.action !== 'retry') {
          error.message = `${what}: ${error.message}`;
          throw error;
        }
        await sleep(decision.delayMs);
      }
    }
  }

  /** The batch made from this input file, if there is one (searches the most recent batches). */
  const find = async (inputFileId: string): Promise<ProviderBatch | undefined> => {
    let seen = 0;
    for await (const batch of client.batches.list({ limit: 100 })) {
      if (batch.input_file_id === inputFileId) return batch as ProviderBatch;
      if (++seen >= SEARCH_LIMIT) break;
    }
    return undefined;
  };

  return {
    uploadFile: (content, filename) =>
      withRetries('uploading the batch input file', async () => {
        const file = await client.files.create({ file: await toFile(content, filename, { type: 'application/jsonl' }), purpose: 'batch' });
        return { id: file.id, bytes: file.bytes };
      }),

    createBatch: (inputFileId, metadata, endpoint = '/v1/chat/completions') =>
      withRetries('creating the batch', async () => {
        // A create whose answer was lost (timeout, crash) may have worked: never make a second one.
        const existing = await find(inputFileId);
        if (existing !== undefined) return existing;
        return (await client.batches.create({
          input_file_id: inputFileId,
          endpoint: endpoint as '/v1/chat/completions',
          completion_window: '24h',
          metadata,
        })) as ProviderBatch;
      }),

    retrieveBatch: (id) => withRetries(`polling batch ${id}`, async () => (await client.batches.retrieve(id)) as ProviderBatch),

    cancelBatch: (id) => withRetries(`cancelling batch ${id}`, async () => (await client.batches.cancel(id)) as ProviderBatch),

    async *fileLines(fileId) {
      const response = await withRetries(`downloading file ${fileId}`, () => client.files.content(fileId));
      if (response.body === null) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      // The text of the line not finished yet, in pieces: linear however long a line is.
      let pending: string[] = [];
      try {
        for (;;) {
          const { done, value } = await reader.read();
          const chunk = done ? decoder.decode() : decoder.decode(value, { stream: true });
          let from = 0;
          let nl: number;
          while ((nl = chunk.indexOf('\n', from)) >= 0) {
            pending.push(chunk.slice(from, nl));
            const line = pending.join('').trim();
            pending = [];
            from = nl + 1;
            if (line !== '') yield redactor.text(line);
          }
          if (from < chunk.length) pending.push(chunk.slice(from));
          if (done) break;
        }
        const last = pending.join('').trim();
        if (last !== '') yield redactor.text(last);
      } finally {
        // Stops the download when the reader quits early (a stop signal between lines).
        await reader.cancel().catch(() => undefined);
      }
    },
  };
}
