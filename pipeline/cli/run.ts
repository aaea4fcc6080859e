/**
 * A library run on the terminal, for every command that runs one: progress and logs from its hooks,
 * Ctrl-C / SIGTERM as its abort signal (a second one leaves at once), the summary at the end, and the
 * exit code it ends with.
 */
import { GenerationFailed, type GenerateHooks, type RunSummary } from '../index.ts';
import { asFlags, EXIT, exitCodeForSummary } from './exit.ts';
import { createReporter, type LogFormat, type Reporter } from './progress.ts';

export interface OutputFlags {
  logFormat?: LogFormat | undefined;
  logFile?: string | undefined;
  quiet?: boolean | undefined;
}

export type RunHooks = Required<Pick<GenerateHooks, 'signal' | 'onEvent' | 'onLog' | 'onWarning'>>;

/** Ctrl-C / SIGTERM while a command runs: the abort signal it stops on, and which signal came first. */
export interface StopSignals {
  readonly signal: AbortSignal;
  readonly stoppedBy: NodeJS.Signals | undefined;
}

/**
 * Runs `body` with SIGINT and SIGTERM turned into its abort signal; a second signal leaves at once (after
 * closing the reporter) with the signal's exit code. The handlers are removed when `body` settles.
 */
export async function withStopSignals<T>(reporter: Pick<Reporter, 'close'>, body: (stop: StopSignals) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      // Second signal: leave now. SQLite transactions are atomic, so nothing half-written stays behind.
      reporter.close();
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    }
    stoppedBy = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body({
      signal: controller.signal,
      get stoppedBy() {
        return stoppedBy;
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reporterFor(output: OutputFlags): Reporter {
  return createReporter({ format: output.logFormat ?? 'auto', quiet: output.quiet ?? false, logFile: output.logFile });
}

function hooksOf(reporter: Reporter, signal: AbortSignal): RunHooks {
  return {
    signal,
    onEvent: (e) => reporter.event(e),
    onLog: (message, fields) => reporter.info(message, fields),
    onWarning: (m) => reporter.warn(m),
  };
}

/** Runs `run` with the hooks wired to the terminal; resolves with the exit code. `command` names it in errors. */
export async function runWithProgress(
  command: string,
  db: string,
  output: OutputFlags,
  run: (hooks: RunHooks) => Promise<RunSummary>,
): Promise<number> {
  const reporter = reporterFor(output);
  try {
    return await withStopSignals(reporter, async (stop) => {
      try {
        const summary = await run(hooksOf(reporter, stop.signal));
        reporter.summary(summary, db);
        if (summary.stopMessage !== undefined) reporter.warn(`run ${summary.runId} stopped: ${asFlags(summary.stopMessage)}`);
        return exitCodeForSummary(summary, stop.stoppedBy);
      } catch (err) {
        if (err instanceof GenerationFailed) {
          reporter.summary(err.summary, db);
          const ended = err.summary.stopReason === 'storage' ? 'stopped' : 'failed';
          throw new GenerationFailed(`${command}: run ${err.summary.runId} ${ended}: ${err.message}`, err.summary, { cause: err });
        }
        throw err;
      }
    });
  } finally {
    reporter.close();
  }
}

/** A summary of a command that prints its own (embed, evolve, judge): how it ended is all the exit code needs. */
interface CommandSummary {
  runId: number | null;
  status: string;
  stopReason?: string | undefined;
  stopMessage?: string | undefined;
  /** --batch: the batch still out. */
  openBatch?: { id: number; providerBatchId: string | null; status: string } | undefined;
}

/**
 * The summary on stderr: one JSON line, or the command's own lines (`describe`) then what every command
 * says alike: why it stopped, the batch still out, the database.
 */
function writeSummary<S extends CommandSummary>(s: S, db: string, json: boolean, describe: (summary: S) => string[]): void {
  if (json) {
    const line = { ts: new Date().toISOString(), level: s.status === 'failed' ? 'error' : 'info', event: 'summary', ...s, database: db };
    process.stderr.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const b = s.openBatch;
  const lines = [
    ...describe(s),
    ...(s.stopMessage ? [`stopped: ${asFlags(s.stopMessage)}`] : []),
    ...(b ? [`batch ${b.providerBatchId ?? b.id} is ${b.status}: run the same command again later to collect it`] : []),
    `database ${db}`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * `runWithProgress` for a command with a summary and a failure class of its own (`EmbedFailed`, …):
 * progress while it runs, then the summary (after the progress display is closed; `describe` gives the
 * command's own lines), also for a failed run, whose error is thrown again as `<command>: run N failed: …`.
 */
export async function runWithSummary<S extends CommandSummary>(
  command: string,
  db: string,
  output: OutputFlags,
  run: (hooks: RunHooks) => Promise<S>,
  describe: (summary: S) => string[],
  Failed: new (message: string, summary: S) => Error & { summary: S },
): Promise<number> {
  const reporter = reporterFor(output);
  const format = output.logFormat ?? 'auto';
  const json = format === 'json' || (format === 'auto' && process.stderr.isTTY !== true);
  try {
    return await withStopSignals(reporter, async (stop) => {
      try {
        const summary = await run(hooksOf(reporter, stop.signal));
        reporter.close();
        writeSummary(summary, db, json, describe);
        return exitCodeForSummary(summary, stop.stoppedBy);
      } catch (err) {
        if (err instanceof Failed) {
          reporter.close();
          writeSummary(err.summary, db, json, describe);
          throw new Failed(`${command}: run ${err.summary.runId} failed: ${err.message}`, err.summary);
        }
        throw err;
      }
    });
  } finally {
    reporter.close();
  }
}
