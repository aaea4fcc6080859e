/**
 * Exit codes, documented in the README, and the one place that maps an error or a run's ending to one.
 * Library errors name options (`maxCost: …`); here they are worded as the flags the user typed.
 */
import { categoryOf, PipelineError, type ErrorCategory } from '../errors.ts';
import type { RunSummary } from '../runtime/progress.ts';

export const EXIT = {
  ok: 0,
  /** The run failed: too many requests in a row failed, the API refused the key, a DB error. */
  failure: 1,
  /** Bad usage or bad input: unknown flag, bad value, bad seed/template/config/DB file, missing API key. */
  usage: 2,
  /** Stopped cleanly at --max-cost or --max-requests; the run can be resumed with a larger budget. */
  budget: 3,
  /** The model's base URL did not answer the start-up probe (sysexits EX_UNAVAILABLE). */
  unavailable: 69,
  /** Another process holds the database (sysexits EX_TEMPFAIL): try again later. */
  locked: 75,
  /** Stopped by SIGINT (Ctrl-C) / SIGTERM: 128 + signal number, as shells report it. */
  interrupted: 130,
  terminated: 143,
} as const;

const EXIT_FOR: Record<ErrorCategory, number> = {
  usage: EXIT.usage,
  locked: EXIT.locked,
  unavailable: EXIT.unavailable,
  failed: EXIT.failure,
};

export function exitCodeFor(err: unknown): number {
  return EXIT_FOR[categoryOf(err)];
}

/** How a run that ended without an error exits: 0, or the budget / signal code of an interrupted run. */
export function exitCodeForSummary(summary: RunSummary, signal: NodeJS.Signals | undefined): number {
  if (summary.status !== 'interrupted') return EXIT.ok;
  if (summary.stopReason === 'max-cost' || summary.stopReason === 'max-requests') return EXIT.budget;
  return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}

/** `maxCost` → `--max-cost`. */
export function flagFor(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Library text names options in backticks (`` `maxCost` ``): on the command line those are flags. */
export function asFlags(text: string): string {
  return text.replace(/`([a-z][A-Za-z]*)`/g, (_, option: string) => flagFor(option));
}

/** The one line the CLI prints for an error: an option's error names the flag instead. */
export function errorLine(err: unknown): string {
  if (err instanceof PipelineError && err.option !== undefined) {
    return asFlags(err.option === 'apiKey' ? err.detail : `${flagFor(err.option)}: ${err.detail}`);
  }
  return asFlags(err instanceof Error ? err.message : String(err));
}
