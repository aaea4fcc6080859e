/**
 * Batch mode: one step of a run per invocation (a cron tick). Each step takes the run's open batches as
 * far as they go (upload the input file, create the batch, poll it, and once it is done stream its
 * output and error files through the same parser, filters and dedup as online replies), and then, if
 * the run's target is not reached and nothing is out, builds and submits the next batch.
 *
 * Crash safety: the batch and its lines are stored before anything is uploaded; the input file id and
 * the batch id are stored as soon as they are known; creating a batch first looks for one already made
 * from the same file; each result line is stored, with its tasks, in one transaction that also marks
 * its input line answered (custom_id → batch_requests.id). A kill anywhere repeats at most one HTTP
 * call, never a batch, and never ingests a line twice.
 *
 * Two-stage (`answer`): the step also submits answer batches (one line per accepted instruction, to the
 * answer model; see answer/batch-stage.ts) and stage 1 stores instructions only; `target` then counts
 * tasks with an accepted answer.
 */
import { z } from 'zod';
import { AnswerBatchStage } from './answer/batch-stage.ts';
import { PRIOR_INSTRUCTION_SHARE } from './answer/defaults.ts';
import type { AnswerStageOptions } from './stages/answers.ts';
import { stagesReport, type TwoStageSummary } from './answer/two-stage.ts';
import { Budget, type BudgetStop } from './budget.ts';
import { Ingestor } from './ingest.ts';
import type { NearDupIndex } from './dedup/index.ts';
import { MACHINE_POOL, type OnlineOptions } from './generate-stages.ts';
import { DialogueIngestor } from './dialogue/ingest.ts';
import { DEFAULT_TURN_BOUNDS } from './dialogue/types.ts';
import { MachineExamples } from './judge/examples.ts';
import { GenerationFailed, YieldGuardError, type GenerateEvent, type Progress, type RunSummary } from './runtime/progress.ts';
import { insertFailure, insertReply } from './runtime/requests.ts';
import { prepareRun, yieldGuardFor } from './runtime/run-setup.ts';
import { InstructionStage, promptMessages } from './stages/instructions.ts';
import type { ChatMessage, ChatParams } from './llm.ts';
import { BATCH_MAX_BYTES, BATCH_MAX_REQUESTS, TERMINAL_BATCH_STATUSES, type BatchApi, type ProviderBatch } from './llm/batch-api.ts';
import { costUsd } from './llm/cost.ts';
import { kindForStatus, type LlmErrorKind } from './llm/errors.ts';
import { tokenCounterFor } from './llm/tokens.ts';
import type { Random } from './prompt.ts';
import { AttemptStore } from './store/attempts.ts';
import { BatchStore, customIdFor, parseCustomId, type BatchRow, type NewBatchRequest } from './store/batches.ts';
import { recentReplyOutcomes } from './store/reply-outcomes.ts';
import { asStorageError, StorageError } from './store/storage-errors.ts';
import type { Store } from './store/store.ts';
import { DEFAULT_GUARD_WINDOW } from './yield-guard.ts';
import type { Task } from './types.ts';

export type BatchOptions = Omit<OnlineOptions, 'concurrency' | 'drainTimeoutMs' | 'maxConsecutiveFailures'> & {
  /** Most requests in one batch. Default (and the API's limit) 50 000. */
  maxBatchRequests?: number;
  /** Most bytes in one input file. Default (and the API's limit) 200 MB. */
  maxBatchBytes?: number;
  /** The run fails when this many batches in a row bring back no usable reply. Default 3. */
  maxFailedBatches?: number;
  /** Two-stage: instructions only in stage 1, each answered by this model in answer batches. */
  answer?: AnswerStageOptions | undefined;
};

export interface BatchDeps {
  store: Store;
  api: BatchApi;
  random?: Random;
  index?: NearDupIndex;
  onEvent?: (event: GenerateEvent) => void;
  /** One line per step taken (uploaded, created, polled, ingested, submitted), with its figures. */
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** Aborting stops between steps and between result lines; the next invocation continues. */
  signal?: AbortSignal;
}

/** A two-stage step's summary is a TwoStageSummary. */
export type BatchSummary = RunSummary | TwoStageSummary;

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
          usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() }).nullish(),
          error: z.object({ message: z.string().optional(), code: z.string().nullish() }).nullish(),
        })
        .optional(),
    })
    .nullish(),
  error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).nullish(),
});
type OutputLine = z.infer<typeof OutputLine>;

/** A result line, or undefined when it is not JSON; never throws (JSON.parse is iterative in V8, zod walks only the schema). */
function readOutputLine(text: string): { line: OutputLine } | { customId: unknown; problem: string } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const checked = OutputLine.safeParse(json);
  if (checked.success) return { line: checked.data };
  const customId = json !== null && typeof json === 'object' && 'custom_id' in json ? json.custom_id : undefined;
  const issue = checked.error.issues[0];
  return { customId, problem: `malformed result line: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}

/** Stored replies the yield guard of a step starts from (the window of its acceptance floor). */
const GUARD_HISTORY = DEFAULT_GUARD_WINDOW;

/** Accepted tasks per request assumed before the run has its own figure (instruction-only: PRIOR_INSTRUCTION_SHARE). */
const FIRST_YIELD_SHARE = 0.5;
/** Extra requests asked for, against near-duplicates and failures eating into the yield. */
const SIZE_MARGIN = 1.15;
/** Replies a yield figure needs: this run's, else the store's latest to the same prompt (up to PRIOR_REPLIES). */
const MIN_YIELD_REPLIES = 10;
const PRIOR_REPLIES = 200;

export async function runBatchStep(options: BatchOptions, deps: BatchDeps): Promise<BatchSummary> {
  const { store, api } = deps;
  const random = deps.random ?? Math.random;
  const started = performance.now();
  const maxRequests = Math.min(options.maxBatchRequests ?? BATCH_MAX_REQUESTS, BATCH_MAX_REQUESTS);
  const maxBytes = Math.min(options.maxBatchBytes ?? BATCH_MAX_BYTES, BATCH_MAX_BYTES);
  const aborted = (): boolean => deps.signal?.aborted ?? false;
  const log = (message: string, fields: Record<string, unknown> = {}): void => deps.log?.(message, fields);

  const { templateId, runId, resumed, index } = prepareRun(options, store, deps.index);
  const batches = new BatchStore(store);
  const attempts = new AttemptStore(store);
  const twoStage = options.answer === undefined ? undefined : new AnswerBatchStage(store, runId, options.answer);
  // The same instruction stage as online: it reads a reply and stores its tasks (or conversations); stage 1 of a
  // two-stage run stores instructions only (empty outputs, no output rules).
  const instructions = new InstructionStage(
    {
      ...options,
      templateId,
      runId,
      ...(twoStage !== undefined && { instructionOnly: true }),
      role: twoStage === undefined ? 'goal' : 'feeder',
      demand: { ask: () => true, maxAccept: () => twoStage?.instructionsWanted(options.target) ?? options.target - accepted },
    },
    {
      tasks: new Ingestor(store, index, {
        similarity: options.similarity,
        filters: options.filters,
        skipFilters: false,
        ...(twoStage !== undefined && { instructionOnly: true }),
        benchmarks: options.benchmarks,
      }),
      dialogues:
        options.mode === 'dialogue'
          ? new DialogueIngestor(store, index, {
              similarity: options.similarity,
              filters: options.filters,
              turns: options.turns ?? DEFAULT_TURN_BOUNDS,
            })
          : undefined,
    },
    new MachineExamples(store, 0, random),
    random,
    0,
  );
  // What `target` counts: accepted tasks, or (two-stage) accepted answers.
  let accepted = twoStage?.answered ?? store.countAccepted(runId);
  /** Two-stage: good answers that came in after the target was reached (not kept; see answer/batch-stage.ts). */
  let surplus = 0;
  const acceptedAtStart = accepted;
  const progress = (): Progress => {
    const t = store.runTotals(runId).requests;
    return {
      runId,
      target: options.target,
      accepted,
      acceptedAtStart,
      rejected: 0,
      requests: t.total,
      failedRequests: t.failed,
      inFlight: 0,
      promptTokens: t.promptTokens,
      completionTokens: t.completionTokens,
      costUsd: t.costUsd,
      elapsedMs: performance.now() - started,
    };
  };
  deps.onEvent?.({ type: 'start', progress: progress(), resumed, indexSize: index.size });
  // The yield guard sees each finished batch's replies in line order, as the online loop sees replies,
  // starting from the run's latest stored replies: a batch may hold fewer lines than the guard counts.
  const guard = yieldGuardFor(options);
  for (const earlier of recentReplyOutcomes(store, { runId }, GUARD_HISTORY)) guard.record(earlier, true);

  // -- one result line -----------------------------------------------------------------------------

  const ingestLine = (batch: BatchRow, text: string): 'ok' | 'error' | 'skipped' => {
    const read = readOutputLine(text);
    if (read === undefined) {
      log(`batch ${batch.id}: a result line is not JSON; skipped`, { batchId: batch.id, line: text.slice(0, 200) });
      return 'skipped';
    }
    const out: OutputLine =
      'line' in read ? read.line : { custom_id: read.customId, error: { code: 'malformed_line', message: read.problem } };
    const lineId = parseCustomId(out.custom_id);
    const line = lineId === undefined ? undefined : batches.line(lineId);
    if (line === undefined || line.batchId !== batch.id) {
      log(`batch ${batch.id}: result for unknown custom_id ${JSON.stringify(out.custom_id)}; skipped`, { batchId: batch.id });
      return 'skipped';
    }
    if (line.requestId !== null) return 'skipped'; // stored by an earlier, interrupted ingest
    const params = JSON.parse(line.paramsJson) as ChatParams;
    const base = {
      runId,
      templateId: line.templateId,
      model: params.model,
      messages: JSON.parse(line.messagesJson) as unknown,
      params,
      batchId: batch.id,
    };
    const attempt = (status: number | null, errorKind: LlmErrorKind | null) => ({
      attempt: 1,
      startedAt: batch.submittedAt ?? batch.createdAt,
      status,
      latencyMs: null,
      errorKind,
      waitMs: 0,
      maxTokens: params.max_tokens,
    });
    const status = out.response?.status_code;
    const body = out.response?.body;
    if (status === 200 && body !== undefined && Array.isArray(body.choices)) {
      const choice = body.choices[0];
      const content = choice?.message?.content ?? '';
      const finishReason = choice?.finish_reason ?? null;
      const u = body.usage ?? null;
      const usage =
        u === null ? null : { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens };
      if (line.answerTaskId !== null && twoStage !== undefined) {
        const taskId = line.answerTaskId;
        const reply = { content, finishReason, usage, attempts: 1, attemptLog: [attempt(200, null)], costUsd: twoStage.costOf({ usage }) };
        const stored = store.transaction(() => {
          const r = twoStage.storeReply(attempts, base, taskId, reply, options.target);
          batches.linkResult(line.id, r.requestId);
          return r;
        });
        if (stored.accepted) accepted++;
        if (stored.surplus) surplus++;
        return 'ok';
      }
      const cost = options.price === undefined || usage === null ? null : costUsd(usage, options.price, true);
      const reply = { content, finishReason, usage, latencyMs: 0, attempts: 1, attemptLog: [attempt(200, null)] };
      const unit = { requested: options.tasksPerRequest };
      const reading = instructions.read(unit, reply);
      const view = { target: options.target, goalAccepted: accepted, inFlight: () => 0, idle: false };
      // One transaction (they nest): the reply, its tasks, and its input line marked answered.
      const outcome = store.transaction(() => {
        const requestId = insertReply(
          store,
          attempts,
          base,
          { ...reply, latencyMs: null, costUsd: cost },
          {
            replyShape: reading.shape,
            parseProblems: reading.problems,
          },
        );
        batches.linkResult(line.id, requestId);
        return instructions.store(unit, requestId, reading.value, reply, view);
      });
      if (twoStage === undefined) accepted += outcome.accepted;
      else twoStage.addAwaiting(outcome.accepted);
      guard.record({ content, accepted: outcome.accepted, rejected: outcome.rejected, parseProblems: reading.problems }); // yield guard
      return 'ok';
    }
    // `error` set: the request never ran (batch_expired, …); else the response carries the failure.
    const kind = out.error ? 'other' : kindForStatus(status, body?.error?.code ?? undefined);
    const error = out.error
      ? `${out.error.code ?? 'error'}: ${out.error.message ?? 'no message'}`
      : `${kind}: ${body?.error?.message ?? `no usable response (status ${status ?? 'none'})`}`;
    store.transaction(() => {
      const requestId = insertFailure(store, attempts, base, { error, attempts: 1, attemptLog: [attempt(status ?? null, kind)] });
      if (line.answerTaskId !== null) twoStage?.markFailed(requestId, line.answerTaskId);
      batches.linkResult(line.id, requestId);
    });
    return 'error';
  };

  // -- the steps of one batch -----------------------------------------------------------------------

  const upload = async (batch: BatchRow): Promise<BatchRow> => {
    const content = Buffer.from([...batches.lines(batch.id)].map((l) => inputLine(l.id, l.paramsJson, l.messagesJson)).join(''));
    const file = await api.uploadFile(content, `zhsi-run${runId}-batch${batch.id}.jsonl`);
    batches.setUploaded(batch.id, file.id, content.length);
    log(`batch ${batch.id}: uploaded ${batch.requestCount} requests (${formatBytes(content.length)}) as ${file.id}`, {
      batchId: batch.id,
      inputFileId: file.id,
      bytes: content.length,
    });
    return batches.get(batch.id)!;
  };

  const create = async (batch: BatchRow): Promise<BatchRow> => {
    const made = await api.createBatch(batch.inputFileId!, { zhsi_run: String(runId), zhsi_batch: String(batch.id) });
    batches.setSubmitted(batch.id, made.id, made.status);
    log(`batch ${batch.id}: submitted as ${made.id} (${made.status})`, {
      batchId: batch.id,
      providerBatchId: made.id,
      status: made.status,
    });
    return batches.get(batch.id)!;
  };

  const ingestBatch = async (batch: BatchRow, provider: ProviderBatch): Promise<void> => {
    const counts = { ok: 0, error: 0, skipped: 0 };
    const before = accepted;
    for (const fileId of [provider.output_file_id, provider.error_file_id]) {
      if (fileId === null || fileId === undefined || fileId === '') continue;
      for await (const text of api.fileLines(fileId)) {
        if (aborted()) return; // not marked ingested: the next invocation picks up from the next unanswered line
        counts[ingestLine(batch, text)]++;
      }
    }
    if (aborted()) return;
    const reason = provider.errors?.data?.[0]?.message;
    const missing = store.transaction(() => {
      const unanswered = batches.unanswered(batch.id);
      for (const line of unanswered) {
        const params = JSON.parse(line.paramsJson) as ChatParams;
        const requestId = store.insertRequest({
          runId,
          templateId: line.templateId,
          model: params.model,
          messages: JSON.parse(line.messagesJson) as unknown,
          params,
          batchId: batch.id,
          status: 'error',
          attempts: 1,
          error: `batch: no result (batch ${provider.status}${reason ? `: ${reason}` : ''})`,
        });
        if (line.answerTaskId !== null) twoStage?.markFailed(requestId, line.answerTaskId);
        batches.linkResult(line.id, requestId);
      }
      batches.markIngested(batch.id);
      return unanswered.length;
    });
    const over = surplus > 0 ? `; ${surplus} good answers over the target not kept (their tasks stay awaiting)` : '';
    log(
      `batch ${batch.id}: ${provider.status}; stored ${counts.ok} replies and ${counts.error + missing} failed requests, ${accepted - before} ${twoStage === undefined ? 'tasks' : 'answers'} accepted (${accepted}/${options.target})${over}`,
      {
        batchId: batch.id,
        providerStatus: provider.status,
        replies: counts.ok,
        failed: counts.error + missing,
        skippedLines: counts.skipped,
        acceptedNow: accepted - before,
        accepted,
        target: options.target,
        ...(twoStage && { surplusAnswers: surplus }),
      },
    );
  };

  const poll = async (batch: BatchRow): Promise<void> => {
    const provider = await api.retrieveBatch(batch.providerBatchId!);
    const finished = TERMINAL_BATCH_STATUSES.includes(provider.status);
    batches.updateProvider(batch.id, {
      providerStatus: provider.status,
      outputFileId: provider.output_file_id ?? null,
      errorFileId: provider.error_file_id ?? null,
      finished,
      error: provider.errors?.data?.[0]?.message ?? null,
    });
    const c = provider.request_counts;
    log(`batch ${batch.id}: ${provider.status}${c ? ` (${c.completed + c.failed}/${c.total} done, ${c.failed} failed)` : ''}`, {
      batchId: batch.id,
      providerBatchId: provider.id,
      status: provider.status,
      ...(c ? { counts: c } : {}),
    });
    if (finished) await ingestBatch(batch, provider);
  };

  const advance = async (batch: BatchRow): Promise<void> => {
    let row = batch;
    if (row.status === 'preparing' && !aborted()) row = await upload(row);
    if (row.status === 'uploaded' && !aborted()) row = await create(row);
    if (row.status === 'submitted' && !aborted()) await poll(row);
  };

  // -- the next batch -------------------------------------------------------------------------------

  /** Takes lines from `next` while the budget and the input file's size allow; also the budget's refusal, if any. */
  const fill = (
    budget: Budget,
    limit: number,
    next: () => NewBatchRequest | undefined,
    worstUsd: (messages: ChatMessage[]) => number,
  ): { requests: NewBatchRequest[]; stop: BudgetStop | undefined } => {
    const requests: NewBatchRequest[] = [];
    let bytes = 0;
    let stop: BudgetStop | undefined;
    while (requests.length < limit) {
      const r = next();
      if (r === undefined) break;
      const worst = worstUsd(r.messages as ChatMessage[]);
      stop = budget.check(worst);
      if (stop !== undefined) break;
      const size = Buffer.byteLength(inputLine(0, JSON.stringify(r.params), JSON.stringify(r.messages))) + 12; // room for a longer id
      if (bytes + size > maxBytes) break;
      bytes += size;
      budget.start(worst);
      requests.push(r);
    }
    return { requests, stop };
  };

  /**
   * A run's first batches are sized by what earlier runs' replies to the same prompt at the same size
   * gave: good tasks per reply, those accepted plus those only the target turned away (the over-ask of
   * a run's last batch is not a poor yield). Undefined when there are too few.
   */
  const priorYield = (): number | undefined => {
    const earlier = recentReplyOutcomes(store, { templateId, tasksPerRequest: options.tasksPerRequest }, PRIOR_REPLIES);
    if (earlier.length < MIN_YIELD_REPLIES) return undefined;
    const good = earlier.reduce((n, o) => n + o.accepted + (o.rejected.target_reached ?? 0), 0);
    return Math.max(0.5, good / earlier.length);
  };

  /** Generation lines for `missing` more accepted tasks (instructions, two-stage). */
  const submitInstructions = async (budget: Budget, missing: number): Promise<BudgetStop | undefined> => {
    const { okRequests, accepted: runAccepted } = batches.yieldOfRun(runId);
    const perRequest =
      okRequests >= MIN_YIELD_REPLIES
        ? Math.max(0.5, runAccepted / okRequests)
        : (priorYield() ?? options.tasksPerRequest * (twoStage === undefined ? FIRST_YIELD_SHARE : PRIOR_INSTRUCTION_SHARE));
    const wanted = Math.min(maxRequests, Math.ceil((missing / perRequest) * SIZE_MARGIN) + 1);
    const machinePool: Task[] = store.sampleAccepted('generated', MACHINE_POOL);
    const counter = options.price !== undefined && options.maxCostUsd !== undefined ? tokenCounterFor(options.params.model) : undefined;
    const price = options.price;
    const { requests, stop } = fill(
      budget,
      wanted,
      () => ({ templateId, messages: promptMessages(options, machinePool, random, twoStage !== undefined), params: options.params }),
      (messages) =>
        counter === undefined || price === undefined
          ? 0
          : costUsd({ promptTokens: counter.countChat(messages), completionTokens: options.params.max_tokens }, price, true),
    );
    if (requests.length === 0) return stop;
    const batchId = batches.createBatch(runId, requests);
    const what = twoStage === undefined ? 'tasks' : 'instructions';
    log(
      `batch ${batchId}: built ${requests.length} requests for the ${Math.ceil(missing)} ${what} still missing (≈${perRequest.toFixed(1)} accepted per request)`,
      { batchId, requests: requests.length, missing: Math.ceil(missing), yieldPerRequest: perRequest },
    );
    await advance(batches.get(batchId)!);
    // The budget cut this batch short: say so, but the batch itself is out and will be collected.
    return stop;
  };

  /** Two-stage: one answer line per awaiting task, as many as the run needs at the answer yield seen. */
  const submitAnswers = async (s: AnswerBatchStage, budget: Budget): Promise<BudgetStop | undefined> => {
    const tasks = s.nextTasks(Math.min(maxRequests, s.linesWanted(options.target)));
    const counter = s.options.price !== undefined && options.maxCostUsd !== undefined ? tokenCounterFor(s.params.model) : undefined;
    let i = 0;
    const { requests, stop } = fill(
      budget,
      tasks.length,
      () => (i < tasks.length ? s.line(tasks[i++]!) : undefined),
      (messages) => (counter === undefined ? 0 : s.worstUsd(counter.countChat(messages))),
    );
    if (requests.length === 0) return stop;
    const batchId = batches.createBatch(runId, requests);
    log(`batch ${batchId}: built ${requests.length} answer requests for ${s.params.model} (${s.answered}/${options.target} answered)`, {
      batchId,
      requests: requests.length,
      answerModel: s.params.model,
      answered: s.answered,
    });
    await advance(batches.get(batchId)!);
    return stop;
  };

  const submit = async (): Promise<BudgetStop | undefined> => {
    const budget = Budget.forRun(options, store.runTotals(runId).requests);
    if (twoStage === undefined) return submitInstructions(budget, options.target - accepted);
    const stop = await submitAnswers(twoStage, budget);
    if (stop !== undefined || aborted()) return stop;
    // Instructions only for what the awaiting ones (just sent) will not cover at the answer yield seen.
    const short = twoStage.instructionsWanted(options.target);
    return short > 0 ? submitInstructions(budget, short) : undefined;
  };

  // -- the step -------------------------------------------------------------------------------------

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  try {
    for (const batch of batches.openBatches(runId)) {
      if (aborted()) break;
      await advance(batch);
    }
    const open = batches.openBatches(runId);
    if (guard.stop !== undefined) {
      // Yield guard: a finished batch whose replies brought nothing fails the run before the next is sent.
      fatal = new YieldGuardError(guard.stop);
      deps.onEvent?.({ type: 'stopping', progress: progress(), reason: guard.stop.message });
    } else if (!aborted() && accepted >= options.target) {
      // Target reached (say, --n was lowered) with work still out: stop paying for it.
      for (const b of open) {
        if (
          b.status === 'submitted' &&
          !TERMINAL_BATCH_STATUSES.includes(b.providerStatus as ProviderBatch['status']) &&
          b.providerStatus !== 'cancelling'
        ) {
          const cancelled = await api.cancelBatch(b.providerBatchId!);
          log(`batch ${b.id}: cancelled (${cancelled.status}); the run has its ${options.target} tasks`, {
            batchId: b.id,
            status: cancelled.status,
          });
        }
      }
    } else if (!aborted() && open.length === 0) {
      const recent = batches.recentOkCounts(runId, options.maxFailedBatches ?? 3);
      if (recent.length >= (options.maxFailedBatches ?? 3) && recent.every((ok) => ok === 0)) {
        const last = batches.batchesOfRun(runId).at(-1);
        fatal = new Error(
          `${recent.length} batches in a row brought back no usable reply; last: ${last?.providerStatus ?? '?'}${last?.error ? ` (${last.error})` : ''}`,
        );
      } else {
        budgetStop = await submit();
      }
    }
  } catch (err) {
    fatal = asStorageError(err, store.path) ?? (err instanceof Error ? err : new Error(String(err)));
  }

  const open = batches.openBatches(runId);
  const done = accepted >= options.target && open.length === 0;
  // A full or read-only disk stops the step cleanly: what is stored stays, the next invocation goes on.
  const diskFull = fatal instanceof StorageError;
  const status: BatchSummary['status'] = diskFull
    ? 'interrupted'
    : fatal !== undefined
      ? 'failed'
      : done
        ? 'completed'
        : aborted()
          ? 'interrupted'
          : open.length > 0
            ? 'waiting'
            : budgetStop !== undefined
              ? 'interrupted'
              : 'waiting';
  try {
    store.finishRun(
      runId,
      status === 'waiting' ? 'interrupted' : status,
      fatal?.message ?? (status === 'interrupted' ? budgetStop?.message : undefined),
    );
  } catch (err) {
    if (!diskFull) throw err;
  }
  const base: RunSummary = {
    ...store.runTotals(runId),
    runId,
    status,
    target: options.target,
    resumed,
    acceptedNow: accepted - acceptedAtStart,
    seconds: (performance.now() - started) / 1000,
    yieldGuard: guard.state(),
  };
  const summary: BatchSummary =
    twoStage === undefined
      ? base
      : stagesReport(
          store,
          { runId, model: twoStage.options.model, retries: twoStage.options.retries, selectionSource: 'generated' },
          base,
          accepted,
          acceptedAtStart,
        );
  if (status === 'interrupted') summary.stopReason = diskFull ? 'storage' : aborted() ? 'signal' : (budgetStop?.reason ?? 'signal');
  if (budgetStop !== undefined) summary.stopMessage = budgetStop.message;
  const current = open.at(-1);
  if (current !== undefined) {
    summary.openBatch = {
      id: current.id,
      providerBatchId: current.providerBatchId,
      status: current.providerStatus ?? current.status,
      requests: current.requestCount,
    };
  }
  if (fatal !== undefined) {
    summary.error = fatal.message;
    throw new GenerationFailed(fatal.message, summary);
  }
  return summary;
}

/** One line of a batch input file. */
export function inputLine(batchRequestId: number, paramsJson: string, messagesJson: string): string {
  // Spliced rather than re-serialized: the stored JSON is exactly what was priced and sized.
  const params = paramsJson.slice(1, -1);
  return `{"custom_id":${JSON.stringify(customIdFor(batchRequestId))},"method":"POST","url":"/v1/chat/completions","body":{${params}${params === '' ? '' : ','}"messages":${messagesJson}}}\n`;
}

function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
