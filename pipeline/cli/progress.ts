/**
 * How a run shows itself: a live progress bar on a terminal; one JSON object per line on stderr when
 * not on a terminal (cron) or with --log-format json; optionally the same JSON lines into --log-file.
 */
import fs from 'node:fs';
import cliProgress from 'cli-progress';
import type { GenerateEvent, Progress, RunSummary, YieldGuardState, TwoStageSummary } from '../index.ts';
import { asFlags } from './exit.ts';

const isTwoStage = (s: RunSummary): s is TwoStageSummary => 'answers' in s && 'instructions' in s;

export type LogFormat = 'auto' | 'text' | 'json';

export interface ReporterOptions {
  format: LogFormat;
  quiet: boolean;
  logFile?: string | undefined;
  /** Default: whether stderr is a terminal. */
  isTTY?: boolean;
  /** JSON progress lines at most this often. Default 10 000 ms. */
  progressEveryMs?: number;
}

export interface Reporter {
  event(e: GenerateEvent): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  summary(s: RunSummary, db: string): void;
  close(): void;
}

export function createReporter(options: ReporterOptions): Reporter {
  const tty = options.isTTY ?? process.stderr.isTTY === true;
  const json = options.format === 'json' || (options.format === 'auto' && !tty);
  let logFd = options.logFile === undefined ? undefined : fs.openSync(options.logFile, 'a');
  const every = options.progressEveryMs ?? 10_000;
  let lastJsonProgress = 0;
  let bar: cliProgress.SingleBar | undefined;

  const line = (record: Record<string, unknown>): string => JSON.stringify({ ts: new Date().toISOString(), ...record }) + '\n';
  const emit = (record: Record<string, unknown>, always = false): void => {
    const text = line(record);
    if (logFd !== undefined) fs.writeSync(logFd, text);
    if (json && (!options.quiet || always)) process.stderr.write(text);
  };
  const say = (text: string): void => {
    if (bar !== undefined) bar.stop();
    process.stderr.write(text + '\n');
    bar = undefined;
  };

  const progressFields = (p: Progress): Record<string, unknown> => {
    const seconds = p.elapsedMs / 1000;
    const gained = p.accepted - p.acceptedAtStart;
    const decided = gained + p.rejected;
    return {
      runId: p.runId,
      accepted: p.accepted,
      target: p.target,
      rejected: p.rejected,
      acceptanceRate: decided === 0 ? null : round(gained / decided, 3),
      requests: p.requests,
      failedRequests: p.failedRequests,
      inFlight: p.inFlight,
      requestsPerSecond: seconds > 0 ? round(p.requests / seconds, 2) : null,
      promptTokens: p.promptTokens,
      completionTokens: p.completionTokens,
      costUsd: round(p.costUsd, 4),
      etaSeconds: gained > 0 ? Math.round(((p.target - p.accepted) * seconds) / gained) : null,
      elapsedSeconds: Math.round(seconds),
    };
  };

  const updateBar = (p: Progress): void => {
    if (json || options.quiet) return;
    const f = progressFields(p);
    const payload = {
      rate: f.acceptanceRate === null ? '  -' : `${Math.round((f.acceptanceRate as number) * 100)}%`,
      inFlight: p.inFlight,
      rps: f.requestsPerSecond ?? 0,
      tokens: p.promptTokens + p.completionTokens,
      cost: p.costUsd.toFixed(2),
      etaText: f.etaSeconds === null ? '-' : formatDuration(f.etaSeconds as number),
    };
    if (bar === undefined) {
      bar = new cliProgress.SingleBar(
        {
          format:
            // biome-ignore lint/suspicious/noTemplateCurlyInString: cli-progress fills {cost}; the $ before it is a dollar sign
            '{bar} {value}/{total} accepted | {rate} kept | {inFlight} in flight | {rps} req/s | {tokens} tokens | ${cost} | ETA {etaText}',
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.target, p.accepted, payload);
    } else {
      bar.update(p.accepted, payload);
    }
  };

  return {
    event(e) {
      switch (e.type) {
        case 'start':
          emit({ level: 'info', event: 'start', resumed: e.resumed, indexSize: e.indexSize, ...progressFields(e.progress) });
          if (!json && !options.quiet) {
            say(
              `${e.resumed ? 'resuming' : 'starting'} run ${e.progress.runId}: ${e.progress.accepted}/${e.progress.target} accepted so far, ${e.indexSize} tasks in the near-duplicate index`,
            );
          }
          updateBar(e.progress);
          break;
        case 'reply': {
          const now = Date.now();
          if (now - lastJsonProgress >= every) {
            lastJsonProgress = now;
            emit({ level: 'info', event: 'progress', ...progressFields(e.progress) });
          }
          updateBar(e.progress);
          break;
        }
        case 'request-failed':
          emit({ level: 'warn', event: 'request-failed', requestId: e.requestId, error: e.error });
          updateBar(e.progress);
          break;
        case 'stopping':
          emit({ level: 'warn', event: 'stopping', reason: asFlags(e.reason), inFlight: e.progress.inFlight }, true);
          if (!json) {
            say(
              e.progress.inFlight === 0
                ? `stopping: ${asFlags(e.reason)}`
                : `stopping (${asFlags(e.reason)}): waiting for ${e.progress.inFlight} request(s) in flight; press Ctrl-C again to quit at once`,
            );
          }
          break;
      }
    },
    info(message, fields = {}) {
      emit({ level: 'info', event: 'info', message, ...fields });
      if (!json && !options.quiet) say(message);
    },
    warn(message, fields = {}) {
      emit({ level: 'warn', event: 'warning', message, ...fields }, true);
      if (!json) say(`warning: ${message}`);
    },
    summary(s, db) {
      emit({ level: s.status === 'failed' ? 'error' : 'info', event: 'summary', ...summaryFields(s), database: db }, true);
      if (!json) say(formatSummary(s, db));
    },
    close() {
      bar?.stop();
      bar = undefined;
      // Closed once: a command closes its reporter before printing its summary and again on the way out.
      if (logFd !== undefined) fs.closeSync(logFd);
      logFd = undefined;
    },
  };
}

function summaryFields(s: RunSummary): Record<string, unknown> {
  return {
    runId: s.runId,
    status: s.status,
    target: s.target,
    resumed: s.resumed,
    accepted: s.accepted,
    acceptedNow: s.acceptedNow,
    rejected: Object.values(s.rejected).reduce((a, b) => a + b, 0),
    rejectedByReason: s.rejected,
    requests: s.requests.total,
    failedRequests: s.requests.failed,
    promptTokens: s.requests.promptTokens,
    completionTokens: s.requests.completionTokens,
    costUsd: round(s.requests.costUsd, 4),
    seconds: round(s.seconds, 1),
    ...(s.error ? { error: s.error } : {}),
    ...(s.stopReason ? { stopReason: s.stopReason } : {}),
    ...(s.stopMessage ? { stopMessage: asFlags(s.stopMessage) } : {}),
    ...(s.openBatch ? { openBatch: s.openBatch } : {}),
    ...(s.yieldGuard ? { yieldGuard: guardFields(s.yieldGuard) } : {}),
    // Two-stage runs (issue 13): stage 1's instruction counts and stage 2's answers.
    ...(isTwoStage(s) ? { instructions: s.instructions, answers: s.answers } : {}),
  };
}

export function formatSummary(s: RunSummary, db: string): string {
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(s.rejected)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    `run ${s.runId} ${s.status}: accepted ${s.accepted}/${s.target} (${s.acceptedNow} in this invocation), rejected ${rejected}${reasons ? ` (${reasons})` : ''}`,
    `requests ${s.requests.total} (${s.requests.failed} failed), tokens ${s.requests.promptTokens} prompt + ${s.requests.completionTokens} completion, $${s.requests.costUsd.toFixed(4)}, ${s.seconds.toFixed(1)} s`,
    ...(isTwoStage(s) ? [`answers by ${s.answers.model}: ${s.answers.awaiting} awaiting, ${s.answers.unanswerable} unanswerable`] : []),
    ...(s.stopMessage ? [`stopped: ${asFlags(s.stopMessage)}`] : []),
    ...(s.yieldGuard ? [formatGuard(s.yieldGuard)] : []),
    ...(s.openBatch
      ? [
          `batch ${s.openBatch.providerBatchId ?? s.openBatch.id} (${s.openBatch.requests} requests) is ${s.openBatch.status}: run the same command again later to collect it`,
        ]
      : []),
    `database ${db}`,
  ].join('\n');
}

/** The guard's state as logged; its stop message worded with flags. */
function guardFields(g: YieldGuardState): YieldGuardState {
  return g.stop === undefined ? g : { ...g, stop: { ...g.stop, message: asFlags(g.stop.message) } };
}

function formatGuard(g: YieldGuardState): string {
  const w = g.window;
  return (
    `yield guard: ${g.emptyStreak} empty repl${g.emptyStreak === 1 ? 'y' : 'ies'} in a row (limit ${g.maxEmptyReplies || 'off'}), ` +
    `${w.accepted} accepted in the last ${w.replies} replies (floor ${g.minAcceptedPerReply || 'off'} per reply)` +
    `${g.stop ? `; stopped by ${g.stop.guard}` : ''}`
  );
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
