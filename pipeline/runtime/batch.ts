/**
 * The Batch API side of the runtime: what every batch step does whatever its stages. A batch and its
 * lines are stored before anything is uploaded; the input file id and the provider's batch id are stored
 * as soon as they are known; once the provider says the batch is done, each result line is read by the
 * stage that wrote it and stored with what it brought, in one transaction that also marks the line
 * answered. A kill anywhere repeats at most one HTTP call, never a batch, and never ingests a line twice.
 *
 * The steps' policies (what to submit, how many lines, when the run is done) belong to the commands
 * (commands/generate-batch.ts, commands/judge-batch.ts through batch-step.ts); the mechanics are here, once.
 */
import { z } from 'zod';
import type { Budget, BudgetStop } from '../budget.ts';
import type { ChatReply, EmbeddingReply } from '../llm.ts';
import { checkEmbeddings } from '../llm/client.ts';
import { BATCH_MAX_BYTES, TERMINAL_BATCH_STATUSES, type BatchApi, type ProviderBatch } from '../llm/batch-api.ts';
import { kindForStatus, type LlmErrorKind } from '../llm/errors.ts';
import type { AttemptStore, NewAttempt } from '../store/attempts.ts';
import {
  BatchStore,
  CHAT_ENDPOINT,
  customIdFor,
  EMBEDDINGS_ENDPOINT,
  parseCustomId,
  type BatchRequestRow,
  type BatchRow,
  type NewBatchRequest,
} from '../store/batches.ts';
import type { Store } from '../store/store.ts';
import { insertFailure, insertReply, type RequestBase } from './requests.ts';
import type { RunView, Stage, StageOutcome } from '../stages/stage.ts';

/**
 * One result line of a batch output or error file: provider output, so checked, never cast. Unknown
 * fields pass; a field of the wrong type makes the line unusable (stored as a failed request).
 */
const OutputLine = z.object({
  custom_id: z.unknown(),
  response: z
    .object({
      status_code: z.number().optional(),
      body: z
        .object({
          choices: z
            .array(
              z.object({
                message: z.object({ content: z.string().nullish() }).nullish(),
                finish_reason: z.string().nullish(),
              }),
            )
            .optional(),
          // Embedding results: the vectors are checked value by value (checkEmbeddings), so unknown here.
          data: z.unknown().optional(),
          usage: z
            .object({ prompt_tokens: z.number(), completion_tokens: z.number().optional(), total_tokens: z.number().optional() })
            .nullish(),
          error: z.object({ message: z.string().optional(), code: z.string().nullish() }).nullish(),
        })
        .optional(),
    })
    .nullish(),
  error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).nullish(),
});
type OutputLine = z.infer<typeof OutputLine>;

/** What a result line says: a completion (or embeddings), or why there is none. */
export type LineResult =
  | { kind: 'reply'; reply: ChatReply | EmbeddingReply }
  | { kind: 'failed'; status: number | null; errorKind: LlmErrorKind; error: string; attemptLog: NewAttempt[] };

/** What the input line asked for: its completion token limit, or (embeddings) how many vectors of what size. */
export interface LineAsked {
  maxTokens: number;
  embeddings?: { count: number; dimensions?: number | undefined } | undefined;
}

/**
 * A result line: its input line's id and what it brought; undefined when it is not JSON. Never throws
 * (JSON.parse is iterative in V8, zod walks only the schema, checkEmbeddings one pass over the values).
 */
export function readResultLine(
  text: string,
  startedAt: string,
  asked: (lineId: number | undefined) => LineAsked,
): { lineId: number | undefined; customId: unknown; result: LineResult } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const checked = OutputLine.safeParse(json);
  let out: OutputLine;
  if (checked.success) out = checked.data;
  else {
    const customId = json !== null && typeof json === 'object' && 'custom_id' in json ? json.custom_id : undefined;
    const issue = checked.error.issues[0];
    out = {
      custom_id: customId,
      error: {
        code: 'malformed_line',
        message: `malformed result line: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      },
    };
  }
  const lineId = parseCustomId(out.custom_id);
  const line = asked(lineId);
  const attempt = (status: number | null, errorKind: LlmErrorKind | null): NewAttempt => ({
    attempt: 1,
    startedAt,
    status,
    latencyMs: null,
    errorKind,
    waitMs: 0,
    maxTokens: line.maxTokens,
  });
  const status = out.response?.status_code;
  const body = out.response?.body;
  if (status === 200 && body !== undefined && line.embeddings !== undefined) {
    const vectors = checkEmbeddings(body, line.embeddings.count, line.embeddings.dimensions);
    if (typeof vectors !== 'string') {
      const u = body.usage ?? null;
      const reply: EmbeddingReply = {
        vectors,
        usage: u === null ? null : { promptTokens: u.prompt_tokens, completionTokens: 0, totalTokens: u.total_tokens ?? u.prompt_tokens },
        latencyMs: 0,
        attempts: 1,
        attemptLog: [attempt(200, null) as EmbeddingReply['attemptLog'][number]],
      };
      return { lineId, customId: out.custom_id, result: { kind: 'reply', reply } };
    }
    const error = `other: HTTP 200 but ${vectors}`;
    return {
      lineId,
      customId: out.custom_id,
      result: { kind: 'failed', status, errorKind: 'other', error, attemptLog: [attempt(200, 'other')] },
    };
  }
  if (status === 200 && body !== undefined && Array.isArray(body.choices)) {
    const choice = body.choices[0];
    const u = body.usage ?? null;
    const reply: ChatReply = {
      content: choice?.message?.content ?? '',
      finishReason: choice?.finish_reason ?? null,
      usage:
        u === null || u.completion_tokens === undefined
          ? null
          : {
              promptTokens: u.prompt_tokens,
              completionTokens: u.completion_tokens,
              totalTokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens,
            },
      latencyMs: 0,
      attempts: 1,
      attemptLog: [attempt(200, null) as ChatReply['attemptLog'][number]],
    };
    return { lineId, customId: out.custom_id, result: { kind: 'reply', reply } };
  }
  // `error` set: the request never ran (batch_expired, …); else the response carries the failure.
  const errorKind: LlmErrorKind = out.error ? 'other' : kindForStatus(status, body?.error?.code ?? undefined);
  const error = out.error
    ? `${out.error.code ?? 'error'}: ${out.error.message ?? 'no message'}`
    : `${errorKind}: ${body?.error?.message ?? `no usable response (status ${status ?? 'none'})`}`;
  return {
    lineId,
    customId: out.custom_id,
    result: { kind: 'failed', status: status ?? null, errorKind, error, attemptLog: [attempt(status ?? null, errorKind)] },
  };
}

/**
 * A batch line's result through its stage, in one transaction: the request (reply or failure), the tie to
 * its unit, what the reply brought, and the input line marked answered. Returns the stage's outcome and
 * how it read the reply (none for a failure).
 */
export function storeLine<U, P>(
  store: Store,
  attempts: AttemptStore,
  stage: Stage<U, P, any>,
  unit: U,
  base: RequestBase,
  result: LineResult,
  costUsd: number | null,
  view: RunView,
  line: { id: number },
): { outcome: StageOutcome; reading: P } | undefined {
  const batches = new BatchStore(store);
  if (result.kind === 'failed') {
    store.transaction(() => {
      const id = insertFailure(store, attempts, base, { error: result.error, attempts: 1, attemptLog: result.attemptLog });
      stage.mark?.(unit, id);
      batches.linkResult(line.id, id);
    });
    return undefined;
  }
  const reply = result.reply;
  const reading = stage.read(unit, reply);
  // The request row keeps a chat reply's text; an embedding reply's vectors are the stage's to store.
  const row = 'content' in reply ? reply : { ...reply, content: `${reply.vectors.length} embeddings`, finishReason: null };
  return store.transaction(() => {
    const id = insertReply(
      store,
      attempts,
      base,
      { ...row, latencyMs: null, costUsd },
      { replyShape: reading.shape, parseProblems: reading.problems },
    );
    stage.mark?.(unit, id);
    batches.linkResult(line.id, id);
    return { outcome: stage.store(unit, id, reading.value, reply, view), reading: reading.value };
  });
}

export interface BatchJobsOptions {
  runId: number;
  /** How the log names this command's batches ("batch", "judge batch"). */
  label: string;
  /** Metadata sent with each batch (the provider shows it). */
  metadata: Record<string, string>;
  /** The input file's name. */
  fileName: (batchId: number) => string;
  log: (message: string, fields: Record<string, unknown>) => void;
  aborted: () => boolean;
  /** One result line of a finished batch. */
  ingest: (batch: BatchRow, text: string) => 'ok' | 'error' | 'skipped';
  /** An input line the finished batch brought no result for: store it as a failed request tied to its unit. */
  missing: (batch: BatchRow, line: BatchRequestRow, error: string) => void;
  /** Before a finished batch's lines are read. */
  starting?: (batch: BatchRow) => void;
  /** After a batch is ingested: the command's own log line. */
  ingested?: (batch: BatchRow, provider: ProviderBatch, counts: { ok: number; error: number; skipped: number; missing: number }) => void;
}

/** Upload, create, poll and ingest for one run's batches. */
export class BatchJobs {
  readonly batches: BatchStore;

  constructor(
    private readonly store: Store,
    private readonly api: BatchApi,
    private readonly o: BatchJobsOptions,
  ) {
    this.batches = new BatchStore(store);
  }

  /** Takes a batch as far as it goes now: upload, create, poll, and ingest once the provider is done. */
  async advance(batch: BatchRow): Promise<void> {
    let row = batch;
    if (row.status === 'preparing' && !this.o.aborted()) row = await this.upload(row);
    if (row.status === 'uploaded' && !this.o.aborted()) row = await this.submit(row);
    if (row.status === 'submitted' && !this.o.aborted()) await this.poll(row);
  }

  /** Stores a new batch with its lines (and whatever `withLines` adds in the same transaction); `advance` sends it. */
  create(
    requests: readonly NewBatchRequest[],
    withLines?: (lines: BatchRequestRow[]) => void,
    route: { stage?: string | undefined; endpoint?: string | undefined } = {},
  ): BatchRow {
    const batchId = this.store.transaction(() => {
      const id = this.batches.createBatch(this.o.runId, requests, route);
      withLines?.([...this.batches.lines(id)]);
      return id;
    });
    return this.batches.get(batchId)!;
  }

  private async upload(batch: BatchRow): Promise<BatchRow> {
    const content = Buffer.from(
      [...this.batches.lines(batch.id)].map((l) => inputLine(l.id, l.paramsJson, l.messagesJson, batch.endpoint)).join(''),
    );
    const file = await this.api.uploadFile(content, this.o.fileName(batch.id));
    this.batches.setUploaded(batch.id, file.id, content.length);
    this.o.log(`${this.o.label} ${batch.id}: uploaded ${batch.requestCount} requests (${formatBytes(content.length)}) as ${file.id}`, {
      batchId: batch.id,
      inputFileId: file.id,
      bytes: content.length,
    });
    return this.batches.get(batch.id)!;
  }

  private async submit(batch: BatchRow): Promise<BatchRow> {
    const made = await this.api.createBatch(
      batch.inputFileId!,
      { ...this.o.metadata, zhsi_run: String(this.o.runId), zhsi_batch: String(batch.id) },
      batch.endpoint,
    );
    this.batches.setSubmitted(batch.id, made.id, made.status);
    this.o.log(`${this.o.label} ${batch.id}: submitted as ${made.id} (${made.status})`, {
      batchId: batch.id,
      providerBatchId: made.id,
      status: made.status,
    });
    return this.batches.get(batch.id)!;
  }

  private async poll(batch: BatchRow): Promise<void> {
    const provider = await this.api.retrieveBatch(batch.providerBatchId!);
    const finished = TERMINAL_BATCH_STATUSES.includes(provider.status);
    this.batches.updateProvider(batch.id, {
      providerStatus: provider.status,
      outputFileId: provider.output_file_id ?? null,
      errorFileId: provider.error_file_id ?? null,
      finished,
      error: provider.errors?.data?.[0]?.message ?? null,
    });
    const c = provider.request_counts;
    this.o.log(
      `${this.o.label} ${batch.id}: ${provider.status}${c ? ` (${c.completed + c.failed}/${c.total} done, ${c.failed} failed)` : ''}`,
      {
        batchId: batch.id,
        providerBatchId: provider.id,
        status: provider.status,
        ...(c ? { counts: c } : {}),
      },
    );
    if (finished) await this.ingest(batch, provider);
  }

  private async ingest(batch: BatchRow, provider: ProviderBatch): Promise<void> {
    const counts = { ok: 0, error: 0, skipped: 0, missing: 0 };
    this.o.starting?.(batch);
    for (const fileId of [provider.output_file_id, provider.error_file_id]) {
      if (fileId === null || fileId === undefined || fileId === '') continue;
      for await (const text of this.api.fileLines(fileId)) {
        if (this.o.aborted()) return; // not marked ingested: the next invocation picks up from the next unanswered line
        counts[this.o.ingest(batch, text)]++;
      }
    }
    if (this.o.aborted()) return;
    const reason = provider.errors?.data?.[0]?.message;
    this.store.transaction(() => {
      const unanswered = this.batches.unanswered(batch.id);
      for (const line of unanswered)
        this.o.missing(batch, line, `batch: no result (batch ${provider.status}${reason ? `: ${reason}` : ''})`);
      this.batches.markIngested(batch.id);
      counts.missing = unanswered.length;
    });
    this.o.ingested?.(batch, provider, counts);
  }

  /** Ends the provider's work on open batches the run no longer needs. */
  async cancel(batch: BatchRow, why: string): Promise<void> {
    if (
      batch.status !== 'submitted' ||
      TERMINAL_BATCH_STATUSES.includes(batch.providerStatus as ProviderBatch['status']) ||
      batch.providerStatus === 'cancelling'
    ) {
      return;
    }
    const cancelled = await this.api.cancelBatch(batch.providerBatchId!);
    this.o.log(`${this.o.label} ${batch.id}: cancelled (${cancelled.status}); ${why}`, { batchId: batch.id, status: cancelled.status });
  }
}

/** Takes lines from `next` while the budget and the input file's size allow; also the budget's refusal, if any. */
export function fillBatch(
  budget: Budget,
  limit: number,
  maxBytes: number,
  next: () => NewBatchRequest | undefined,
  worstUsd: (request: NewBatchRequest) => number,
  /** The route of the lines (known once the first is taken). */
  endpoint: () => string = () => CHAT_ENDPOINT,
): { requests: NewBatchRequest[]; stop: BudgetStop | undefined; last?: NewBatchRequest } {
  const requests: NewBatchRequest[] = [];
  let bytes = 0;
  let stop: BudgetStop | undefined;
  while (requests.length < limit) {
    const r = next();
    if (r === undefined) break;
    const worst = worstUsd(r);
    stop = budget.check(worst);
    // `last`: taken from the stage but not put in the batch; the caller gives it back.
    if (stop !== undefined) return { requests, stop, last: r };
    const size = Buffer.byteLength(inputLine(0, JSON.stringify(r.params), JSON.stringify(r.messages), endpoint())) + 12; // room for a longer id
    if (bytes + size > Math.min(maxBytes, BATCH_MAX_BYTES)) return { requests, stop, last: r };
    bytes += size;
    budget.start(worst);
    requests.push(r);
  }
  return { requests, stop };
}

/** One line of a batch input file: a chat completion, or (the embeddings route) the params alone ({model, input}). */
export function inputLine(batchRequestId: number, paramsJson: string, messagesJson: string, endpoint: string = CHAT_ENDPOINT): string {
  // Spliced rather than re-serialized: the stored JSON is exactly what was priced and sized.
  const params = paramsJson.slice(1, -1);
  const body = endpoint === EMBEDDINGS_ENDPOINT ? `{${params}}` : `{${params}${params === '' ? '' : ','}"messages":${messagesJson}}`;
  return `{"custom_id":${JSON.stringify(customIdFor(batchRequestId))},"method":"POST","url":${JSON.stringify(endpoint)},"body":${body}}\n`;
}

function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
