/** `judge`: flags → `judge()` (or one batch step), with the DB lock, signals, progress and a summary. */
import { Command, InvalidArgumentError } from 'commander';
import { judge, JudgeFailed, JUDGE_DEFAULTS, type JudgeSummary } from '../judge/run.ts';
import { judgeBatchStep } from '../judge/batch.ts';
import { createBatchApi } from '../llm/batch-api.ts';
import { JudgeError, loadRubric, DEFAULT_RUBRIC_FILE } from '../judge/rubric.ts';
import { createLlmClient, redact } from '../llm.ts';
import { parsePriceFlag, type Price } from '../llm/cost.ts';
import { resolveModelPrice } from './price.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import { Store, StoreError } from '../store/store.ts';
import { nonNegativeNumber, numberIn, oneOf, positiveInt, positiveNumber } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { DEFAULT_DB } from './generate.ts';
import { createReporter, type LogFormat } from './progress.ts';

interface JudgeFlags {
  db: string;
  model: string;
  rubric: string;
  tasksPerRequest: number;
  since: 'all' | 'last' | number;
  source?: string[];
  concurrency: number;
  batch: boolean;
  maxCost?: number;
  maxRequests?: number;
  prices?: string;
  price?: Price;
  rpm?: number;
  tpm?: number;
  timeout: number;
  retries: number;
  jsonMode: boolean;
  probe: boolean;
  drainTimeout: number;
  logFormat: LogFormat;
  logFile?: string;
  quiet: boolean;
}

export function judgeCommand(): Command {
  return new Command('judge')
    .description('score accepted tasks with a judge model (rubric in templates/judge_rubric.txt); each task once per judge')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--model <name>', 'judge model', JUDGE_DEFAULTS.model)
    .option('--rubric <file>', 'rubric template with {{tasks}}', DEFAULT_RUBRIC_FILE)
    .option('--tasks-per-request <k>', 'tasks judged in one request', numberIn(1, 50), JUDGE_DEFAULTS.tasksPerRequest)
    .option('--since <which>', 'all | last (the last generation run) | RUN_ID', sinceFlag, 'all' as const)
    .option('--source <names>', 'only these sources (comma-separated: generated, an import name)', (v: string) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .option('--concurrency <k>', 'requests in flight at once', positiveInt, JUDGE_DEFAULTS.concurrency)
    .option('--batch', 'Batch API (half price): each invocation collects a finished batch and submits the next', false)
    .option('--max-cost <usd>', 'stop cleanly before the judge run could spend more (USD, across invocations)', positiveNumber)
    .option('--max-requests <n>', 'stop cleanly after this many judge requests', positiveInt)
    .option('--prices <file>', 'JSON price table over the built-in one')
    .option('--price <in,out>', "the judge model's price, USD per 1M prompt and completion tokens", priceFlag)
    .option('--rpm <n>', 'requests per minute allowed', positiveInt)
    .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
    .option('--timeout <seconds>', 'per-request timeout', positiveInt, 120)
    .option('--retries <n>', 'retries on 429, 5xx, timeouts', numberIn(0, 20), 3)
    .option('--no-json-mode', 'do not send response_format json_object (it is dropped by itself after a 400 saying unsupported)')
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option('--drain-timeout <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight requests may finish', nonNegativeNumber, 10)
    .option('--log-format <format>', 'auto | text | json', oneOf(['auto', 'text', 'json'] as const), 'auto')
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'warnings, errors and the summary only', false)
    .action(async (flags: JudgeFlags) => {
      const summary = await runJudge(flags, process.env);
      if (summary.status === 'interrupted') {
        if (summary.stopReason === 'max-cost' || summary.stopReason === 'max-requests') process.exitCode = EXIT.budget;
        else if (summary.stopReason === 'signal') process.exitCode = interruptedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
      }
    });
}

function sinceFlag(value: string): 'all' | 'last' | number {
  if (value === 'all' || value === 'last') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(`expected all, last or a run id, got "${value}"`);
}

function priceFlag(value: string): Price {
  try {
    return parsePriceFlag(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const OPENAI_HOST = /^https?:\/\/api\.openai\.com(\/|$)/;
let interruptedBy: NodeJS.Signals | undefined;

async function runJudge(flags: JudgeFlags, env: NodeJS.ProcessEnv): Promise<JudgeSummary> {
  const baseURL = env.OPENAI_BASE_URL || undefined;
  let apiKey = env.OPENAI_API_KEY ?? '';
  if (apiKey === '') {
    if (baseURL === undefined || OPENAI_HOST.test(baseURL))
      throw new CliError('OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or set OPENAI_BASE_URL for another provider)');
    apiKey = 'not-needed';
  }
  let rubric;
  try {
    rubric = loadRubric(flags.rubric);
  } catch (err) {
    if (err instanceof JudgeError) throw new CliError(err.message);
    throw err;
  }
  const price = resolveModelPrice(flags.model, flags);
  if (flags.maxCost !== undefined && price === undefined) {
    throw new CliError(
      `--max-cost needs the price of ${flags.model}, which is not in the built-in table: ` +
        'give --price INPUT,OUTPUT (USD per 1M tokens) or --prices FILE',
    );
  }
  let store: Store;
  try {
    store = Store.open(flags.db);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }
  const reporter = createReporter({ format: flags.logFormat, quiet: flags.quiet, logFile: flags.logFile });
  const json = flags.logFormat === 'json' || (flags.logFormat === 'auto' && process.stderr.isTTY !== true);
  let lock: Lock | undefined;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      reporter.close();
      lock?.release();
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    }
    interruptedBy = signal;
    stop.abort();
  };
  try {
    try {
      lock = acquireLock(flags.db, `judge --model ${flags.model}`);
    } catch (err) {
      if (err instanceof LockedError) throw new CliError(err.message, EXIT.locked);
      throw new CliError(`${flags.db}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const llm = createLlmClient({
      apiKey,
      baseURL,
      timeoutMs: flags.timeout * 1000,
      maxRetries: flags.retries,
      rateLimit: { rpm: flags.rpm, tpm: flags.tpm },
    });
    if (flags.probe) {
      try {
        await llm.probe();
      } catch (err) {
        const where = baseURL ?? 'https://api.openai.com/v1';
        const message = (err as Error).message;
        if ((err as { kind?: string }).kind === 'auth') throw new CliError(`the model API at ${where} refused the key: ${message}`);
        throw new CliError(
          `the model API at ${where} does not answer (${message}); check OPENAI_BASE_URL and the network`,
          EXIT.unavailable,
        );
      }
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const { logFormat: _f, logFile: _l, quiet: _q, probe: _p, ...runFlags } = flags;
    const options = {
      model: flags.model,
      rubric,
      tasksPerRequest: flags.tasksPerRequest,
      concurrency: flags.concurrency,
      since: flags.since,
      sources: flags.source,
      price,
      maxCostUsd: flags.maxCost,
      maxRequests: flags.maxRequests,
      jsonMode: flags.jsonMode,
      drainTimeoutMs: flags.drainTimeout * 1000,
      runOptions: { ...runFlags, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
    };
    try {
      const summary = flags.batch
        ? await judgeBatchStep(options, {
            store,
            api: createBatchApi({ apiKey, baseURL, maxRetries: flags.retries }),
            signal: stop.signal,
            log: (m, f) => reporter.info(m, f),
          })
        : await judge(options, { store, llm, signal: stop.signal, onEvent: (e) => reporter.event(e) });
      reporter.close();
      printSummary(summary, flags.db, json);
      return summary;
    } catch (err) {
      if (err instanceof JudgeFailed) {
        reporter.close();
        printSummary(err.summary, flags.db, json);
        throw new CliError(`judge: run ${err.summary.runId} failed: ${redact(err.message, apiKey)}`, EXIT.failure);
      }
      throw err;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store.close();
    lock?.release();
    reporter.close();
  }
}

function printSummary(s: JudgeSummary, db: string, json: boolean): void {
  if (json) {
    process.stderr.write(
      JSON.stringify({
        ts: new Date().toISOString(),
        level: s.status === 'failed' ? 'error' : 'info',
        event: 'summary',
        ...s,
        database: db,
      }) + '\n',
    );
    return;
  }
  const hist = Object.entries(s.scores.histogram)
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');
  process.stderr.write(
    [
      `judge run ${s.runId} ${s.status}: judged ${s.judgedNow} of ${s.pendingAtStart} pending (${s.left} left), ` +
        `${s.retried} re-sent after unmatched replies`,
      `judge ${s.model}, rubric ${s.rubricSha256.slice(0, 12)}: ${s.scores.judged} judged, ` +
        `mean ${s.scores.meanScore ?? '-'}, histogram ${hist}`,
      `requests ${s.requests} (${s.failedRequests} failed), tokens ${s.promptTokens} prompt + ${s.completionTokens} completion, ` +
        `$${s.costUsd.toFixed(4)} ($${s.runCostUsd.toFixed(4)} this judge run), ${s.seconds.toFixed(1)} s`,
      ...(s.stopMessage ? [`stopped: ${s.stopMessage}`] : []),
      ...(s.openBatch
        ? [
            `batch ${s.openBatch.providerBatchId ?? s.openBatch.id} is ${s.openBatch.status}: ` +
              'run the same command again later to collect it',
          ]
        : []),
      `database ${db}`,
    ].join('\n') + '\n',
  );
}
