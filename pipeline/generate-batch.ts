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
import { insertFailure } from './runtime/requests.ts';
import { BatchJobs, fillBatch, readResultLine, storeLine } from './runtime/batch.ts';
import type { RunView } from './runtime/stage.ts';
import { prepareRun, yieldGuardFor } from './runtime/run-setup.ts';
import { InstructionStage, promptMessages } from './stages/instructions.ts';
import { JudgeStage, type InlineJudgeOptions } from './stages/judge.ts';
import { judgeMessages, judgeParams, storedSubjects, subjectOf } from './judge/request.ts';
import { batchLineTasks, judgeLineTries, jsonModeRefused, JudgmentStore, setBatchLineTasks, type JudgeSubject } from './store/judgments.ts';
import type { ChatMessage, ChatParams, ChatReply } from './llm.ts';
import { BATCH_MAX_BYTES, BATCH_MAX_REQUESTS, type BatchApi } from './llm/batch-api.ts';
import { costUsd } from './llm/cost.ts';
import { tokenCounterFor } from './llm/tokens.ts';
import type { Random } from './prompt.ts';
import { AttemptStore } from './store/attempts.ts';
import { BatchStore, type BatchRequestRow, type BatchRow, type NewBatchRequest } from './store/batches.ts';
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

/** Stored replies the yield guard of a step starts from (the window of its acceptance floor). */
const GUARD_HISTORY = DEFAULT_GUARD_WINDOW;

/** Accepted tasks per request assumed before the run has its own figure (instruction-only: PRIOR_INSTRUCTION_SHARE). */
const FIRST_YIELD_SHARE = 0.5;
/** Extra requests asked for, against near-duplicates and failures eating into the yield. */
const SIZE_MARGIN = 1.15;
/** Replies a yield figure needs: this run's, else the store's latest to the same prompt (up to PRIOR_REPLIES). */
const MIN_YIELD_REPLIES = 10;
const PRIOR_REPLIES = 200;

export async function generateBatch(options: BatchOptions, deps: BatchDeps): Promise<BatchSummary> {
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
  // `judge`: the same judge stage as online, following the run in batches of its own (one model per batch).
  const judge = options.judge === undefined ? undefined : batchJudge(store, runId, options.judge);
  /** A line's judge subjects (none: a generation or answer line). */
  const judgeSubjects = (lineId: number): JudgeSubject[] => (judge === undefined ? [] : batchLineTasks(store, lineId));
  const isJudgeBatch = (b: BatchRow): boolean => judge !== undefined && batches.firstLineHasJudgeSubjects(b.id);
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

  // -- one result line: read by the stage that wrote it ---------------------------------------------

  const view = (): RunView => ({ target: options.target, goalAccepted: accepted, inFlight: () => 0, idle: false });

  const ingestLine = (batch: BatchRow, text: string): 'ok' | 'error' | 'skipped' => {
    const read = readResultLine(text, batch.submittedAt ?? batch.createdAt, (id) => {
      const l = id === undefined ? undefined : batches.line(id);
      return { maxTokens: l === undefined ? 0 : (JSON.parse(l.paramsJson) as ChatParams).max_tokens };
    });
    if (read === undefined) {
      log(`batch ${batch.id}: a result line is not JSON; skipped`, { batchId: batch.id, line: text.slice(0, 200) });
      return 'skipped';
    }
    const line = read.lineId === undefined ? undefined : batches.line(read.lineId);
    if (line === undefined || line.batchId !== batch.id) {
      log(`batch ${batch.id}: result for unknown custom_id ${JSON.stringify(read.customId)}; skipped`, { batchId: batch.id });
      return 'skipped';
    }
    if (line.requestId !== null) return 'skipped'; // stored by an earlier, interrupted ingest
    const base = baseOf(batch, line);
    const { result } = read;
    const subjects = judgeSubjects(line.id);
    if (judge !== undefined && subjects.length > 0) {
      const unit = { tasks: subjects.map((x) => ({ ...x, instruction: '', input: '', output: '' })) };
      const judgeBase = {
        ...base,
        params: { ...base.params, judge: { ...storedSubjects(subjects), rubricSha256: judge.stage.key.rubricSha256 } },
      };
      const u = result.kind === 'reply' ? result.reply.usage : null;
      const cost = judge.price === undefined || u === null ? null : costUsd(u, judge.price, true);
      storeLine(store, attempts, judge.stage, unit, judgeBase, result, cost, view(), line);
      return result.kind === 'reply' ? 'ok' : 'error';
    }
    if (line.answerTaskId !== null && twoStage !== undefined) {
      const taskId = line.answerTaskId;
      if (result.kind === 'failed') {
        store.transaction(() => {
          const requestId = insertFailure(store, attempts, base, { error: result.error, attempts: 1, attemptLog: result.attemptLog });
          twoStage.markFailed(requestId, taskId);
          batches.linkResult(line.id, requestId);
        });
        return 'error';
      }
      // Generate's batches hold chat lines only.
      const chat = result.reply as ChatReply;
      const reply = { ...chat, latencyMs: null, costUsd: twoStage.costOf(chat) };
      const stored = store.transaction(() => {
        const r = twoStage.storeReply(attempts, base, taskId, reply, options.target);
        batches.linkResult(line.id, r.requestId);
        return r;
      });
      if (stored.accepted) accepted++;
      if (stored.surplus) surplus++;
      return 'ok';
    }
    const usage = result.kind === 'reply' ? result.reply.usage : null;
    const cost = options.price === undefined || usage === null ? null : costUsd(usage, options.price, true);
    const outcome = storeLine(
      store,
      attempts,
      instructions,
      { requested: options.tasksPerRequest },
      base,
      result,
      cost,
      view(),
      line,
    )?.outcome;
    if (outcome === undefined || result.kind === 'failed') return 'error';
    if (twoStage === undefined) accepted += outcome.accepted;
    else twoStage.addAwaiting(outcome.accepted);
    // yield guard
    guard.record({
      content: (result.reply as ChatReply).content,
      accepted: outcome.accepted,
      rejected: outcome.rejected,
      parseProblems: outcome.parseProblems ?? [],
    });
    return 'ok';
  };

  /** The stored request's fixed fields for a line of `batch`. */
  const baseOf = (batch: BatchRow, line: BatchRequestRow) => {
    const params = JSON.parse(line.paramsJson) as ChatParams;
    return {
      runId,
      templateId: line.templateId,
      model: params.model,
      messages: JSON.parse(line.messagesJson) as unknown,
      params,
      batchId: batch.id,
    };
  };

  // -- the steps of one batch: the runtime's -------------------------------------------------------

  /** What `target` counted when the batch being ingested was opened. */
  let ingestedBefore = accepted;
  const jobs = new BatchJobs(store, api, {
    runId,
    label: 'batch',
    metadata: {},
    fileName: (id) => `zhsi-run${runId}-batch${id}.jsonl`,
    log,
    aborted,
    starting: () => {
      ingestedBefore = accepted;
    },
    ingest: ingestLine,
    missing: (batch, line, error) => {
      const requestId = store.insertRequest({ ...baseOf(batch, line), status: 'error', attempts: 1, error });
      if (line.answerTaskId !== null) twoStage?.markFailed(requestId, line.answerTaskId);
      if (judgeSubjects(line.id).length > 0) new JudgmentStore(store).markJudgeRequest(requestId);
      batches.linkResult(line.id, requestId);
    },
    ingested: (batch, provider, c) => {
      const over = surplus > 0 ? `; ${surplus} good answers over the target not kept (their tasks stay awaiting)` : '';
      log(
        `batch ${batch.id}: ${provider.status}; stored ${c.ok} replies and ${c.error + c.missing} failed requests, ${accepted - ingestedBefore} ${twoStage === undefined ? 'tasks' : 'answers'} accepted (${accepted}/${options.target})${over}`,
        {
          batchId: batch.id,
          providerStatus: provider.status,
          replies: c.ok,
          failed: c.error + c.missing,
          skippedLines: c.skipped,
          acceptedNow: accepted - ingestedBefore,
          accepted,
          target: options.target,
          ...(twoStage && { surplusAnswers: surplus }),
        },
      );
    },
  });
  const advance = (batch: BatchRow): Promise<void> => jobs.advance(batch);

  // -- the next batch -------------------------------------------------------------------------------

  const fill = (budget: Budget, limit: number, next: () => NewBatchRequest | undefined, worstUsd: (messages: ChatMessage[]) => number) =>
    fillBatch(budget, limit, maxBytes, next, (r) => worstUsd(r.messages as ChatMessage[]));

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
    const batchId = jobs.create(requests).id;
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
    const batchId = jobs.create(requests).id;
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

  /** `judge`: one batch of judge lines for what the run accepted and has not had judged (nor tried twice). */
  const submitJudge = async (): Promise<BudgetStop | undefined> => {
    if (judge === undefined) return undefined;
    const pending = judge.pending();
    if (pending.length === 0) return undefined;
    const budget = Budget.forRun(options, store.runTotals(runId).requests);
    const lines: { request: NewBatchRequest; subjects: JudgeSubject[] }[] = [];
    let stop: BudgetStop | undefined;
    for (let i = 0; i < pending.length && lines.length < maxRequests; i += judge.k) {
      const line = judge.line(pending.slice(i, i + judge.k));
      stop = budget.check(line.worstUsd);
      if (stop !== undefined) break;
      budget.start(line.worstUsd);
      lines.push(line);
    }
    if (lines.length === 0) return stop;
    const batch = jobs.create(
      lines.map((l) => l.request),
      (rows) => rows.forEach((row, i) => setBatchLineTasks(store, row.id, lines[i]!.subjects)),
    );
    log(`batch ${batch.id}: built ${lines.length} judge requests for ${pending.length} outputs (${judge.stage.key.model})`, {
      batchId: batch.id,
      requests: lines.length,
      judgeModel: judge.stage.key.model,
    });
    await advance(batch);
    return stop;
  };

  // -- the step -------------------------------------------------------------------------------------

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  try {
    for (const batch of batches.openBatches(runId)) {
      if (aborted()) break;
      await advance(batch);
    }
    const open = batches.openBatches(runId).filter((b) => !isJudgeBatch(b));
    if (guard.stop !== undefined) {
      // Yield guard: a finished batch whose replies brought nothing fails the run before the next is sent.
      fatal = new YieldGuardError(guard.stop);
      deps.onEvent?.({ type: 'stopping', progress: progress(), reason: guard.stop.message });
    } else if (!aborted() && accepted >= options.target) {
      // Target reached (say, --n was lowered) with work still out: stop paying for it.
      for (const b of open) await jobs.cancel(b, `the run has its ${options.target} tasks`);
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
    // The judge follows in batches of its own, whenever none of its batches is out.
    if (fatal === undefined && budgetStop === undefined && !aborted() && judge !== undefined) {
      if (!batches.openBatches(runId).some(isJudgeBatch)) budgetStop = await submitJudge();
    }
  } catch (err) {
    fatal = asStorageError(err, store.path) ?? (err instanceof Error ? err : new Error(String(err)));
  }

  const open = batches.openBatches(runId);
  // Done when the target is met, nothing is out, and (with a judge) nothing is left to judge.
  const done = accepted >= options.target && open.length === 0 && (judge === undefined || judge.pending().length === 0);
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

/** The judge of a batch run: its stage, its lines, and the outputs still to send (each at most twice). */
function batchJudge(store: Store, runId: number, o: InlineJudgeOptions) {
  const stage = new JudgeStage(store, {
    model: o.model,
    rubric: o.rubric,
    price: o.price,
    tasksPerRequest: o.tasksPerRequest ?? 10,
    maxTries: 2,
    jsonMode: !jsonModeRefused(store, runId),
    work: { kind: 'run', runId },
  });
  const judgments = new JudgmentStore(store);
  const counter = o.price === undefined ? undefined : tokenCounterFor(o.model);
  const k = o.tasksPerRequest ?? 10;
  return {
    stage,
    price: o.price,
    k,
    /** Subjects of the run without a judgment by this judge, sent in fewer than two judge lines so far. */
    pending(): JudgeSubject[] {
      const tries = judgeLineTries(store, runId);
      return judgments.pendingSubjects(stage.key, { since: runId }).filter((s) => (tries.get(`${s.taskId}:${s.answerId ?? ''}`) ?? 0) < 2);
    },
    line(subjects: JudgeSubject[]): { request: NewBatchRequest; subjects: JudgeSubject[]; worstUsd: number } {
      const tasks = judgments.tasks(subjects);
      const messages = judgeMessages(o.rubric, tasks);
      const params = judgeParams({ model: o.model }, tasks.length, stage.jsonModeOn);
      const worstUsd =
        counter === undefined || o.price === undefined
          ? 0
          : costUsd({ promptTokens: counter.countChat(messages), completionTokens: params.max_tokens }, o.price, true);
      return { request: { templateId: stage.templateId, messages, params }, subjects: tasks.map(subjectOf), worstUsd };
    },
  };
}
