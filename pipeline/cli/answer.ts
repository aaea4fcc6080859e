/**
 * `answer`: answers for instructions you already have. `--in FILE` stores a file's instructions as a
 * source (rules and near-duplicate check as `import`) and answers them; `--source NAME` (re)answers the
 * tasks a source already has in the store with another model. Flags → library calls, nothing more.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { answerTasks, importInstructions } from '../answer/answer-tasks.ts';
import { loadAnswerTemplate, type AnswerTemplate } from '../answer/prompt.ts';
import { ANSWER_DEFAULTS } from '../answer/stages.ts';
import { DatasetError, readDatasetFile } from '../datasets.ts';
import { GenerationFailed } from '../online.ts';
import { createLlmClient, redact } from '../llm.ts';
import { DEFAULT_PRICES, loadPriceFile, parsePriceFlag, PriceError, priceFor, type Price } from '../llm/cost.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import { TemplateError } from '../prompt.ts';
import type { Task } from '../types.ts';
import { Store, StoreError } from '../store/store.ts';
import { nonNegativeNumber, numberIn, oneOf, positiveInt, positiveNumber } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { DEFAULT_DB } from './generate.ts';
import { createReporter, type LogFormat } from './progress.ts';

interface AnswerFlags {
  in?: string;
  source?: string;
  model: string;
  db: string;
  filter: boolean;
  dedup: boolean;
  keepExisting: boolean;
  similarity: number;
  concurrency: number;
  maxTokens?: number;
  template?: string;
  system?: string;
  answerRetries?: number;
  timeout: number;
  retries: number;
  rpm?: number;
  tpm?: number;
  maxCost?: number;
  maxRequests?: number;
  prices?: string;
  price?: Price;
  probe: boolean;
  drainTimeout: number;
  logFormat: LogFormat;
  logFile?: string;
  quiet: boolean;
}

export function answerCommand(): Command {
  return new Command('answer')
    .description('answer instructions you already have (a file, or a source in the store) with a model, one request per task')
    .option('--in <file>', 'instructions as JSON/JSONL: instruction and optional input (an output is ignored unless --keep-existing)')
    .option('--source <name>', 'with --in: the source to store them as (default: the file name); alone: answer this stored source again')
    .option('--model <name>', 'the answer model', 'gpt-4o')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--filter', 'apply the instruction quality filters to --in records', false)
    .option('--no-dedup', 'keep near-duplicates of --in records (exact repeats are still skipped)')
    .option('--keep-existing', 'keep the output a --in record has (it is then not answered)', false)
    .option('--similarity <t>', 'near-duplicate threshold for --in records (0.5–1)', numberIn(0.5, 1), 0.7)
    .option('--concurrency <k>', 'requests in flight at once', positiveInt, 8)
    .option('--max-tokens <n>', `completion limit of one answer (default ${ANSWER_DEFAULTS.maxTokens})`, positiveInt)
    .option('--template <file>', 'user-message template with {{instruction}} and {{input}} (default templates/answer_user.txt)')
    .option('--system <text>', 'system message (default templates/answer_system.txt)')
    .option('--answer-retries <n>', `rejected answers retried this many times, then the task is unanswerable (default ${ANSWER_DEFAULTS.retries})`, numberIn(0, 10))
    .option('--timeout <seconds>', 'per-request timeout', positiveInt, 120)
    .option('--retries <n>', 'retries of a failed request on 429, 5xx, timeouts', numberIn(0, 20), 3)
    .option('--rpm <n>', 'requests per minute allowed', positiveInt)
    .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
    .option('--max-cost <usd>', 'stop cleanly before the run could spend more than this (USD)', positiveNumber)
    .option('--max-requests <n>', 'stop cleanly after this many requests', positiveInt)
    .option('--prices <file>', 'JSON price table over the built-in one')
    .option('--price <in,out>', 'the model\'s price in USD per 1M prompt and completion tokens', priceFlag)
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option('--drain-timeout <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight requests may finish', nonNegativeNumber, 10)
    .option('--log-format <format>', 'auto | text | json', oneOf(['auto', 'text', 'json'] as const), 'auto')
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'warnings, errors and the summary only', false)
    .action(async (flags: AnswerFlags) => {
      const summary = await runAnswer(flags, process.env);
      if (summary.status === 'interrupted') {
        process.exitCode = summary.stopReason === 'max-cost' || summary.stopReason === 'max-requests' ? EXIT.budget
          : stoppedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
      }
    });
}

function priceFlag(value: string): Price {
  try {
    return parsePriceFlag(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

let stoppedBy: NodeJS.Signals | undefined;

async function runAnswer(flags: AnswerFlags, env: NodeJS.ProcessEnv) {
  if (flags.in === undefined && flags.source === undefined) throw new CliError('answer: give --in FILE (instructions to answer) or --source NAME (a stored source)');
  const source = flags.source ?? path.basename(flags.in ?? '').replace(/\.(jsonl|json)$/i, '');
  if (source.trim() === '' || source === 'seed' || (flags.in !== undefined && source === 'generated')) {
    throw new CliError(`--source ${JSON.stringify(source)}: choose another name (seed and generated are the pipeline's own)`);
  }
  const baseURL = env.OPENAI_BASE_URL || undefined;
  const apiKey = env.OPENAI_API_KEY || (baseURL !== undefined && !/api\.openai\.com/.test(baseURL) ? 'not-needed' : '');
  if (apiKey === '') throw new CliError('OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or set OPENAI_BASE_URL for another provider)');

  let tasks: Task[] | undefined;
  let template: AnswerTemplate;
  try {
    tasks = flags.in === undefined ? undefined : readDatasetFile(flags.in, { allowEmptyInstruction: true, outputOptional: true });
    template = loadAnswerTemplate({ userFile: flags.template, system: flags.system });
  } catch (err) {
    if (err instanceof DatasetError || err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
  let price = flags.price;
  try {
    price ??= priceFor(flags.model, flags.prices === undefined ? DEFAULT_PRICES : { ...DEFAULT_PRICES, ...loadPriceFile(flags.prices) });
  } catch (err) {
    if (err instanceof PriceError) throw new CliError(err.message);
    throw err;
  }
  if (flags.maxCost !== undefined && price === undefined) throw new CliError(`--max-cost needs the price of ${flags.model}: give --price or --prices`);

  const reporter = createReporter({ format: flags.logFormat, quiet: flags.quiet, logFile: flags.logFile });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy = signal;
    stop.abort();
  };
  let lock: Lock | undefined;
  let store: Store | undefined;
  try {
    try {
      lock = acquireLock(flags.db, `answer --model ${flags.model}`);
    } catch (err) {
      if (err instanceof LockedError) throw new CliError(err.message, EXIT.locked);
      throw new CliError(`${flags.db}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const llm = createLlmClient({ apiKey, baseURL, timeoutMs: flags.timeout * 1000, maxRetries: flags.retries, rateLimit: { rpm: flags.rpm, tpm: flags.tpm } });
    if (flags.probe) {
      try {
        await llm.probe();
      } catch (err) {
        throw new CliError(`the model API at ${baseURL ?? 'https://api.openai.com/v1'} does not answer (${(err as Error).message})`, EXIT.unavailable);
      }
    }
    try {
      store = Store.open(flags.db);
    } catch (err) {
      if (err instanceof StoreError) throw new CliError(err.message);
      throw err;
    }
    if (tasks !== undefined) {
      const s = importInstructions(store, tasks, { source, similarity: flags.similarity, dedup: flags.dedup, filter: flags.filter, keepExisting: flags.keepExisting });
      const reasons = Object.entries(s.rejected).map(([r, n]) => `${r} ${n}`).join(', ');
      reporter.info(`answer: ${s.total} records from ${flags.in} as source "${source}": accepted ${s.accepted}, already stored ${s.alreadyImported}` +
        (reasons ? `, rejected (${reasons})` : ''), { source, total: s.total, accepted: s.accepted, alreadyImported: s.alreadyImported, rejected: s.rejected });
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const { logFormat: _f, logFile: _l, quiet: _q, probe: _p, ...runFlags } = flags;
    try {
      const summary = await answerTasks({
        source, awaitingOnly: tasks !== undefined,
        answer: { model: flags.model, template, maxTokens: flags.maxTokens, retries: flags.answerRetries, price },
        concurrency: flags.concurrency, drainTimeoutMs: flags.drainTimeout * 1000, maxCostUsd: flags.maxCost, maxRequests: flags.maxRequests,
        runOptions: { command: 'answer', ...runFlags, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
      }, { store, llm, signal: stop.signal, onEvent: (e) => reporter.event(e) });
      reporter.summary(summary, flags.db);
      if (summary.stopMessage !== undefined) reporter.warn(`run ${summary.runId} stopped: ${summary.stopMessage}`);
      return summary;
    } catch (err) {
      if (err instanceof GenerationFailed) {
        reporter.summary(err.summary, flags.db);
        throw new CliError(`answer: run ${err.summary.runId} failed: ${redact(err.message, apiKey)}`, EXIT.failure);
      }
      throw err;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store?.close();
    lock?.release();
    reporter.close();
  }
}
