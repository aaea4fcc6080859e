/**
 * The online runner: sends the stages' requests with bounded concurrency through one client (its rate
 * limiter and retries), under one budget, until the goal stage reaches the target (and the followers have
 * finished the run's own work), a stop signal, a budget cap, a run of failures or the yield guard ends it.
 *
 * Crash safety: each reply and all it brought are one transaction (stored by the stage inside it), and each
 * stage finds its pending work from the store, so a kill at any moment loses only the requests in flight.
 */
import { setMaxListeners } from 'node:events';
import type { Budget, BudgetStop } from '../budget.ts';
import { LlmError, type ChatReply, type EmbeddingReply, type LlmClient } from '../llm.ts';
import { costUsd } from '../llm/cost.ts';
import { AttemptStore } from '../store/attempts.ts';
import { asStorageError } from '../store/storage-errors.ts';
import type { Store } from '../store/store.ts';
import type { YieldGuard, YieldGuardState } from '../yield-guard.ts';
import { EndpointsUnavailable, YieldGuardError, type GenerateEvent, type Progress } from './progress.ts';
import { AllEndpointsDown } from '../llm/endpoints.ts';
import { insertFailure, insertReply, type RequestBase } from './requests.ts';
import type { RunView, Stage, StageRequest } from '../stages/stage.ts';

/** A request out this many times the typical reply time (and at least OVERDUE_MIN_MS) is taken for hung. */
const OVERDUE_FACTOR = 4;
const OVERDUE_MIN_MS = 2000;

export interface RunnerOptions {
  runId: number;
  /** Goal items the run must have (earlier invocations count). */
  target: number;
  /** Goal items the run had when this invocation started. */
  acceptedAtStart: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Requests of goal and feeder stages failing in a row that fail the run. */
  maxConsecutiveFailures: number;
  /** After a stop signal, how long in-flight requests may still finish (ms). */
  drainTimeoutMs: number;
  /** Shown in the start event (the near-duplicate index's size, or the work pending). */
  indexSize?: number;
  resumed?: boolean;
}

export interface RunnerDeps {
  store: Store;
  llm: LlmClient;
  budget: Budget;
  guard?: YieldGuard;
  onEvent?: (event: GenerateEvent) => void;
  signal?: AbortSignal;
}

/** One stage's figures for this invocation. */
export interface StageTally {
  requests: number;
  failedRequests: number;
  accepted: number;
  rejected: Record<string, number>;
  promptTokens: number;
  completionTokens: number;
}

export interface RunnerResult {
  goalAccepted: number;
  goalAcceptedAtStart: number;
  /** No stage had work left although the goal was short (e.g. `answer`/`judge` ran out of tasks). */
  exhausted: boolean;
  fatal?: Error;
  budgetStop?: BudgetStop;
  yieldGuard?: YieldGuardState;
  progress: Progress;
  stages: Record<string, StageTally>;
}

export async function runStages(stages: readonly Stage<any, any, any>[], o: RunnerOptions, deps: RunnerDeps): Promise<RunnerResult> {
  const { store, llm, budget } = deps;
  const attempts = new AttemptStore(store);
  const started = performance.now();
  const tallies: Record<string, StageTally> = {};
  const inFlightBy = new Map<string, number>();
  for (const s of stages) {
    tallies[s.name] = { requests: 0, failedRequests: 0, accepted: 0, rejected: {}, promptTokens: 0, completionTokens: 0 };
    inFlightBy.set(s.name, 0);
  }
  const p: Progress = {
    runId: o.runId,
    target: o.target,
    accepted: o.acceptedAtStart,
    acceptedAtStart: o.acceptedAtStart,
    rejected: 0,
    requests: 0,
    failedRequests: 0,
    inFlight: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: budget.spentUsd,
    elapsedMs: 0,
  };
  const snapshot = (): Progress => ({ ...p, elapsedMs: performance.now() - started });
  deps.onEvent?.({ type: 'start', progress: snapshot(), resumed: o.resumed ?? false, indexSize: o.indexSize ?? 0 });

  // Cancels in-flight requests once the drain deadline after a stop signal has passed. Every request in
  // flight (and each one queued at the rate limiter) listens on it: no leak, just many.
  const cancel = new AbortController();
  setMaxListeners(o.concurrency * 4 + 10, cancel.signal);
  let drainTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: 'stop signal' });
    drainTimer = setTimeout(() => cancel.abort(), o.drainTimeoutMs);
  };
  if (deps.signal?.aborted) onStop();
  else deps.signal?.addEventListener('abort', onStop, { once: true });

  let fatal: Error | undefined;
  let budgetStop: BudgetStop | undefined;
  // A request the budget refused while others were in flight: wait for them before trying again.
  let budgetBlocked = false;
  let exhausted = false;
  let consecutiveFailures = 0;
  /** Requests of goal and feeder stages in flight, cancelled once the goal is met. */
  const needless = new Set<{ stage: Stage<any, any>; controller: AbortController }>();
  /**
   * Every request in flight, and the typical reply time. A request out far longer than replies take (a
   * hung connection) no longer counts as coming work when a stage decides whether to ask again: the run
   * goes on around it instead of waiting for its timeout, and cancels it once the goal is met.
   */
  const out = new Set<{ stage: Stage<any, any>; startedAt: number }>();
  let latencyMs: number | undefined;
  const overdueAfter = (): number => (latencyMs === undefined ? Infinity : Math.max(OVERDUE_MIN_MS, OVERDUE_FACTOR * latencyMs));
  const overdue = (name: string): number => {
    const limit = overdueAfter();
    if (limit === Infinity) return 0;
    const now = performance.now();
    let n = 0;
    for (const e of out) if (e.stage.name === name && now - e.startedAt > limit) n++;
    return n;
  };
  let repump: NodeJS.Timeout | undefined;
  /** Looks again when the oldest request in flight becomes overdue. */
  const wakeAtNextOverdue = (): void => {
    const limit = overdueAfter();
    if (repump !== undefined || limit === Infinity) return;
    const now = performance.now();
    let next = Infinity;
    for (const e of out) if (now - e.startedAt <= limit) next = Math.min(next, e.startedAt + limit - now);
    if (next === Infinity) return;
    repump = setTimeout(() => {
      repump = undefined;
      pump();
    }, next + 5);
  };
  const cancelledForGoal = new WeakSet<AbortController>();
  // Followers whose failures in a row reached the limit: left for a later command, never fatal.
  const stopped = new Set<string>();
  const followerFailures = new Map<string, number>();

  const view = (idle: boolean): RunView => ({
    target: o.target,
    goalAccepted: p.accepted,
    inFlight: (name) => inFlightBy.get(name)! - overdue(name),
    idle,
  });
  const goalMet = (): boolean => p.accepted >= o.target;
  const halted = (): boolean => fatal !== undefined || budgetStop !== undefined || (deps.signal?.aborted ?? false);

  const send = async <U, P>(stage: Stage<U, P, any>, request: StageRequest<U>, worstUsd: number, settle: (usd: number) => void) => {
    const tally = tallies[stage.name]!;
    const ask = request.embedding;
    // An embedding request is stored with its model and texts as params (no messages); its vectors are the stage's to store.
    const asked = ask === undefined ? request.params! : { model: ask.model, input: ask.input };
    const params = request.stored === undefined ? asked : { ...asked, ...request.stored };
    const base: RequestBase = {
      runId: o.runId,
      templateId: stage.templateId,
      model: asked.model,
      messages: request.messages ?? [],
      params,
    };
    p.requests++;
    tally.requests++;
    // Its own signal: cancelled with the rest at the drain deadline, or alone once the goal no longer needs it.
    const own = new AbortController();
    const onCancel = (): void => own.abort();
    cancel.signal.addEventListener('abort', onCancel, { once: true });
    const entry = { stage, controller: own, startedAt: performance.now() };
    out.add(entry);
    if (stage.role !== 'follower') needless.add(entry);
    let reply: ChatReply | EmbeddingReply;
    try {
      if (ask === undefined) reply = await llm.complete(request.messages!, request.params!, own.signal);
      else if (llm.embed === undefined) throw new LlmError('this client cannot ask for embeddings', 'other', undefined, 1);
      else reply = await llm.embed(ask.input, ask.model, own.signal, { dimensions: ask.dimensions });
    } catch (err) {
      settle(0);
      budgetBlocked = false;
      const error = err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
      const message = cancelledForGoal.has(own)
        ? `cancelled: the run reached its target of ${o.target}`
        : `${error.kind}: ${error.message}`;
      const requestId = store.transaction(() => {
        const id = insertFailure(store, attempts, base, {
          error: message,
          attempts: error.attempts,
          attemptLog: error.attemptLog,
          endpoint: error.endpoint,
        });
        stage.mark?.(request.unit, id);
        return id;
      });
      p.failedRequests++;
      tally.failedRequests++;
      const { retryFree } = stage.release(request.unit, error) ?? {};
      deps.onEvent?.({ type: 'request-failed', progress: snapshot(), requestId, error: message });
      if (error.kind !== 'aborted' && !retryFree) countFailure(stage, error);
      return;
    } finally {
      cancel.signal.removeEventListener('abort', onCancel);
      needless.delete(entry);
      out.delete(entry);
    }
    const took = performance.now() - entry.startedAt;
    latencyMs = latencyMs === undefined ? took : 0.8 * latencyMs + 0.2 * took;
    if (stage.role !== 'follower') consecutiveFailures = 0;
    else followerFailures.set(stage.name, 0);
    p.promptTokens += reply.usage?.promptTokens ?? 0;
    p.completionTokens += reply.usage?.completionTokens ?? 0;
    tally.promptTokens += reply.usage?.promptTokens ?? 0;
    tally.completionTokens += reply.usage?.completionTokens ?? 0;
    // No usage reported: count the worst case, so a budget is never overrun by a silent server.
    const cost = stage.price === undefined ? null : reply.usage === null ? worstUsd : costUsd(reply.usage, stage.price);
    settle(cost ?? 0);
    budgetBlocked = false;
    p.costUsd = budget.spentUsd;
    const reading = stage.read(request.unit, reply);
    // The request row keeps a chat reply's text; an embedding reply's vectors are the stage's to store.
    const stored = 'content' in reply ? reply : { ...reply, content: `${reply.vectors.length} embeddings`, finishReason: null };
    const { requestId, outcome } = store.transaction(() => {
      const id = insertReply(
        store,
        attempts,
        base,
        { ...stored, costUsd: cost },
        { replyShape: reading.shape, parseProblems: reading.problems },
      );
      stage.mark?.(request.unit, id);
      return { requestId: id, outcome: stage.store(request.unit, id, reading.value, reply, view(false)) };
    });
    tally.accepted += outcome.accepted;
    for (const [reason, n] of Object.entries(outcome.rejected)) {
      tally.rejected[reason] = (tally.rejected[reason] ?? 0) + n;
      p.rejected += n;
    }
    const goal = stage.role === 'goal' ? outcome.accepted : 0;
    p.accepted += goal - (outcome.revoked ?? 0);
    // The goal is met: requests of goal and feeder stages still out can bring nothing that is kept.
    if (goal > 0 && goalMet()) {
      for (const e of needless) {
        cancelledForGoal.add(e.controller);
        e.controller.abort();
      }
    }
    stage.afterStore?.(request.unit, outcome, reading.value);
    if (outcome.accepted > 0) for (const other of stages) if (other !== stage) other.notice?.(stage.name, outcome);
    if (stage.guarded && deps.guard !== undefined) {
      const guardStop = deps.guard.record({
        content: stored.content,
        accepted: outcome.accepted,
        rejected: outcome.rejected,
        parseProblems: outcome.parseProblems ?? reading.problems,
      });
      if (guardStop !== undefined && fatal === undefined) {
        fatal = new YieldGuardError(guardStop);
        deps.onEvent?.({ type: 'stopping', progress: snapshot(), reason: guardStop.message });
      }
    }
    deps.onEvent?.({ type: 'reply', progress: snapshot(), requestId, newlyAccepted: goal });
  };

  const countFailure = (stage: Stage<any, any>, error: LlmError): void => {
    if (stage.role === 'follower') {
      const n = (followerFailures.get(stage.name) ?? 0) + 1;
      followerFailures.set(stage.name, n);
      if (n >= o.maxConsecutiveFailures || error.kind === 'auth' || error.kind === 'quota') stopped.add(stage.name);
      return;
    }
    consecutiveFailures++;
    if (error instanceof AllEndpointsDown) fatal ??= new EndpointsUnavailable(error.message);
    else if (error.kind === 'auth') fatal ??= new Error(`the model API refused the key: ${error.message}`);
    else if (error.kind === 'quota') fatal ??= new Error(`the model API says the account is out of quota: ${error.message}`);
    else if (consecutiveFailures >= o.maxConsecutiveFailures) {
      fatal ??= new Error(`${consecutiveFailures} requests in a row failed; last error: ${error.kind}: ${error.message}`);
    }
  };

  /** Reserves the budget for a request: its settle function and worst case, or undefined when refused. */
  const reserve = (
    stage: Stage<any, any>,
    request: StageRequest<unknown>,
  ): { settle: (usd: number) => void; worstUsd: number } | undefined => {
    // An embedding request is priced as a prompt of its texts with no completion.
    const messages = request.messages ?? request.embedding.input.map((content) => ({ role: 'user' as const, content }));
    const model = request.params?.model ?? request.embedding!.model;
    const estimate = llm.estimatePromptTokens?.(messages, model) ?? messages.reduce((n, m) => n + m.content.length, 0);
    const completionTokens = request.params?.max_tokens ?? 0;
    const worstUsd = stage.price === undefined ? 0 : costUsd({ promptTokens: estimate, completionTokens }, stage.price);
    const refused = budget.check(worstUsd);
    if (refused === undefined) return { settle: budget.start(worstUsd), worstUsd };
    // Requests still out may cost less than their worst case and make room; if none is out, this is the end.
    if (budget.inFlight > 0) budgetBlocked = true;
    else if (budgetStop === undefined) {
      budgetStop = refused;
      deps.onEvent?.({ type: 'stopping', progress: { ...snapshot(), inFlight: 0 }, reason: refused.message });
    }
    return undefined;
  };

  /** Starts one request if a stage has one due; false when nothing can start now. */
  const startOne = (idle: boolean): boolean => {
    const v = view(idle);
    for (const stage of stages) {
      if (stopped.has(stage.name)) continue;
      if (stage.role !== 'follower' && goalMet()) continue;
      const request = stage.next(v);
      if (request === undefined) continue;
      const reserved = reserve(stage, request);
      if (reserved === undefined) {
        stage.release(request.unit, undefined);
        return false;
      }
      p.inFlight++;
      inFlightBy.set(stage.name, inFlightBy.get(stage.name)! + 1);
      void send(stage, request, reserved.worstUsd, reserved.settle)
        .catch((err: unknown) => {
          // A full or read-only disk is a clean stop (storage-errors.ts), anything else a failure.
          fatal ??= asStorageError(err, store.path) ?? (err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => {
          p.inFlight--;
          inFlightBy.set(stage.name, inFlightBy.get(stage.name)! - 1);
          pump();
        });
      return true;
    }
    return false;
  };

  let resolveDone: () => void = () => {};
  const pump = (): void => {
    while (!halted() && !budgetBlocked && p.inFlight < o.concurrency && startOne(false));
    if (!halted() && !budgetBlocked && p.inFlight === 0) {
      // Idle: the estimates of what is coming were too hopeful, or there is no work left at all.
      if (goalMet() || !startOne(true)) exhausted = !goalMet();
    }
    if (p.inFlight === 0) {
      clearTimeout(repump);
      resolveDone();
    } else if (!halted()) wakeAtNextOverdue();
  };
  await new Promise<void>((resolve) => {
    resolveDone = resolve;
    pump();
  });
  clearTimeout(drainTimer);
  deps.signal?.removeEventListener('abort', onStop);

  const result: RunnerResult = {
    goalAccepted: p.accepted,
    goalAcceptedAtStart: o.acceptedAtStart,
    exhausted,
    progress: snapshot(),
    stages: tallies,
  };
  if (fatal !== undefined) result.fatal = fatal;
  if (budgetStop !== undefined) result.budgetStop = budgetStop;
  if (deps.guard !== undefined) result.yieldGuard = deps.guard.state();
  return result;
}
