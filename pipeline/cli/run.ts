/**
 * A library run on the terminal: progress and logs from its hooks, Ctrl-C / SIGTERM as its abort
 * signal (a second one leaves at once), the summary at the end, and the exit code it ends with.
 */
import { GenerationFailed, type GenerateHooks, type RunSummary } from '../index.ts';
import { asFlags, EXIT, exitCodeForSummary } from './exit.ts';
import { createReporter, type LogFormat } from './progress.ts';

export interface OutputFlags {
  logFormat?: LogFormat | undefined;
  logFile?: string | undefined;
  quiet?: boolean | undefined;
}

export type RunHooks = Required<Pick<GenerateHooks, 'signal' | 'onEvent' | 'onLog' | 'onWarning'>>;

/** Runs `run` with the hooks wired to the terminal; resolves with the exit code. `command` names it in errors. */
export async function runWithProgress(
  command: string,
  db: string,
  output: OutputFlags,
  run: (hooks: RunHooks) => Promise<RunSummary>,
): Promise<number> {
  const reporter = createReporter({ format: output.logFormat ?? 'auto', quiet: output.quiet ?? false, logFile: output.logFile });
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      // Second signal: leave now. SQLite transactions are atomic, so nothing half-written stays behind.
      reporter.close();
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    }
    stoppedBy = signal;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await run({
      signal: stop.signal,
      onEvent: (e) => reporter.event(e),
      onLog: (message, fields) => reporter.info(message, fields),
      onWarning: (m) => reporter.warn(m),
    });
    reporter.summary(summary, db);
    if (summary.stopMessage !== undefined) reporter.warn(`run ${summary.runId} stopped: ${asFlags(summary.stopMessage)}`);
    return exitCodeForSummary(summary, stoppedBy);
  } catch (err) {
    if (err instanceof GenerationFailed) {
      reporter.summary(err.summary, db);
      const ended = err.summary.stopReason === 'storage' ? 'stopped' : 'failed';
      throw new GenerationFailed(`${command}: run ${err.summary.runId} ${ended}: ${err.message}`, err.summary, { cause: err });
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reporter.close();
  }
}
