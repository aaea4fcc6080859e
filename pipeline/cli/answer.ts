/**
 * `answer`: answers for instructions you already have. `--in FILE` stores a file's instructions as a
 * source and answers them; `--source NAME` (re)answers a stored source with another model.
 */
import { Command } from 'commander';
import { answer, DEFAULT_DB, type AnswerSettings } from '../index.ts';
import { numberIn, positiveInt, positiveNumber, priceFlag } from './args.ts';
import { givenFlags, collectEndpoint, ENDPOINT_HELP } from './given.ts';
import { runOutputOptions } from './given.ts';
import { runWithProgress, type OutputFlags } from './run.ts';

export function answerCommand(): Command {
  const command = new Command('answer');
  return runOutputOptions(
    command
      .description('answer instructions you already have (a file, or a source in the store) with a model, one request per task')
      .option('--in <file>', 'instructions as JSON/JSONL: instruction and optional input (an output is ignored unless --keep-existing)')
      .option('--dry-run', 'print the plan, a rendered prompt and an estimate of requests, tokens, cost and time; send nothing')
      .option('--source <name>', 'with --in: the source to store them as (default: the file name); alone: answer this stored source again')
      .option('--model <name>', 'the answer model (default gpt-4o)')
      .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
      .option('--filter', 'apply the instruction quality rules to --in records')
      .option('--no-dedup', 'keep near-duplicates of --in records (exact repeats are still skipped)')
      .option('--keep-existing', 'keep the output a --in record has (it is then not answered)')
      .option('--similarity <t>', 'near-duplicate threshold for --in records, 0.5–1 (default 0.7)', numberIn(0.5, 1))
      .option('--concurrency <k>', 'requests in flight at once (default 8)', positiveInt)
      .option('--max-tokens <n>', 'completion limit of one answer (default 2048)', positiveInt)
      .option(
        '--answer-template <file>',
        'answer prompt user-message template with {{instruction}} and {{input}} (default templates/answer_user.txt)',
      )
      .addOption(command.createOption('--template <file>', 'old name of --answer-template').hideHelp())
      .option('--system <text>', 'system message (default templates/answer_system.txt)')
      .option(
        '--answer-retries <n>',
        'rejected answers retried this many times, then the task is unanswerable (default 2)',
        numberIn(0, 10),
      )
      .option('--timeout <seconds>', 'per-request timeout (default 120)', positiveInt)
      .option('--retries <n>', 'retries of a failed request on 429, 5xx, timeouts (default 3)', numberIn(0, 20))
      .option('--endpoint <url>', ENDPOINT_HELP, collectEndpoint)
      .option('--rpm <n>', 'requests per minute allowed', positiveInt)
      .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
      .option('--max-cost <usd>', 'stop cleanly before the run could spend more than this (USD)', positiveNumber)
      .option('--max-requests <n>', 'stop cleanly after this many requests', positiveInt)
      .option('--prices <file>', 'JSON price table over the built-in one')
      .option('--price <in,out>', "the model's price in USD per 1M prompt and completion tokens", priceFlag),
  ).action(async function (this: Command) {
    const { logFormat, logFile, quiet, dryRun, ...settings } = givenFlags(this) as AnswerSettings & OutputFlags & { dryRun?: boolean };
    if (dryRun === true) {
      const { planAnswer, formatStagePlan } = await import('../index.ts');
      process.stdout.write(formatStagePlan(await planAnswer(settings)));
      return;
    }
    const db = settings.db ?? DEFAULT_DB;
    process.exitCode = await runWithProgress('answer', db, { logFormat, logFile, quiet }, (hooks) => answer({ ...settings, ...hooks }));
  });
}
