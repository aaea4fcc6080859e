/**
 * Exit codes, documented in the README, and the one place that maps an error or a run's ending to one.
 * Library errors name options (`maxCost: …`); here they are worded as the flags the user typed.
 */
import { categoryOf, PipelineError, type ErrorCategory } from '../index.ts';
import { EXIT } from './exit-codes.ts';

export { EXIT };

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
export function exitCodeForSummary(
  summary: { status: string; stopReason?: string | undefined },
  signal: NodeJS.Signals | undefined,
): number {
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
