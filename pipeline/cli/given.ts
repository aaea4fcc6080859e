/** Only the flags the user typed: absent ones stay out, so the config file and the library's defaults apply. */
import type { Command } from 'commander';
import { nonNegativeNumber, oneOf } from './args.ts';
import { RENAMED_OPTIONS, renameOptions, UsageError, type RenamingCommand } from '../index.ts';
import { flagFor } from './exit.ts';

/**
 * The flags the user typed, by option name. An old flag spelling (`--template`, `--max-tokens` of
 * export, a date in report's `--since`) becomes its new option here, with one deprecation line.
 */
export function givenFlags(command: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    // --endpoint, given once per endpoint, is the `endpoints` list of the library and the config file.
    if (command.getOptionValueSource(key) === 'cli') given[key === 'endpoint' ? 'endpoints' : key] = value;
  }
  const warn = (from: string, to: string): void => deprecated(`${flagFor(from)} is deprecated; use ${flagFor(to)}`);
  const name = command.name();
  // report's --since was a date; it now takes last | all | RUN like the other commands.
  if (name === 'report' && typeof given['since'] === 'string' && !['last', 'all'].includes(given['since'])) {
    if (given['from'] !== undefined) throw new UsageError('give the date once, with --from');
    deprecated('--since DATE is deprecated; use --from DATE (--since now takes last | all | RUN)');
    given['from'] = given['since'];
    delete given['since'];
  }
  return Object.hasOwn(RENAMED_OPTIONS, name) ? renameOptions(name as RenamingCommand, given, warn) : given;
}

/** One line on stderr per old spelling used. */
function deprecated(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** `--endpoint URL`, repeatable: each one adds a model server to the run. */
export function collectEndpoint(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const ENDPOINT_HELP =
  'a model server for this run (OpenAI-compatible base URL); give it several times to spread the run over several';

/** The options every command that runs a model has alike: the probe, the drain, and how it reports. */
export function runOutputOptions(command: Command): Command {
  return command
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option('--drain-timeout <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight requests may finish (default 10)', nonNegativeNumber)
    .option('--log-format <format>', 'auto | text | json', oneOf(['auto', 'text', 'json'] as const))
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'warnings, errors and the summary only');
}
