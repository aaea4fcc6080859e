/** `generate`: flags → library options, then `generate()` with a lock, signals, progress and a summary. */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { runBatchStep } from '../batch.ts';
import { DatasetError } from '../datasets.ts';
import { DEFAULT_FILTER_OPTIONS } from '../filters.ts';
import { runOnline, GenerationFailed, type RunSummary } from '../online.ts';
import { createLlmClient, redact } from '../llm.ts';
import { createBatchApi } from '../llm/batch-api.ts';
import { DEFAULT_PRICES, loadPriceFile, parsePriceFlag, PriceError, priceFor, type Price } from '../llm/cost.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import {
  DEFAULT_TASK_TYPE_LIST, DEFAULT_TEMPLATE_FILES, DEFAULT_TOPIC_LIST, GENERATION_MODES, loadList, loadTemplate,
  TemplateError, type GenerationMode,
} from '../prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../seeds.ts';
import { BatchStore } from '../store/batches.ts';
import { Store, StoreError } from '../store/store.ts';
import { nonNegativeNumber, numberIn, oneOf, positiveInt, positiveNumber } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { DEFAULT_MIN_SCORE } from '../judge/examples.ts';
import { createInlineJudge, type InlineJudgeOptions } from '../judge/inline.ts';
import { DEFAULT_JUDGE_TASKS_PER_REQUEST } from '../judge/request.ts';
import { JudgeError, loadRubric } from '../judge/rubric.ts';
import { resolveModelPrice } from './price.ts';
import { createReporter, type LogFormat, type Reporter } from './progress.ts';

export const DEFAULT_DB = 'data/pipeline.db';

export interface GenerateFlags {
  n?: number;
  db: string;
  mode: GenerationMode;
  model: string;
  concurrency: number;
  similarity: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  tasksPerRequest: number;
  maxOutputChars: number;
  seeds: string;
  template?: string;
  topics: string;
  taskTypes: string;
  timeout: number;
  retries: number;
  newRun: boolean;
  drainTimeout: number;
  probe: boolean;
  logFormat: LogFormat;
  logFile?: string;
  quiet: boolean;
  /** Client-side limits; unset: learned from the server's x-ratelimit-* headers, if it sends them. */
  rpm?: number;
  tpm?: number;
  /** Stop the run cleanly before it could spend more (USD, whole run). */
  maxCost?: number;
  /** Stop the run cleanly after this many requests (whole run). */
  maxRequests?: number;
  /** A JSON price table merged over the built-in one. */
  prices?: string;
  /** This model's price, INPUT,OUTPUT USD per 1M tokens; wins over the tables. */
  price?: Price;
  /** Batch API: one step per invocation (submit, or collect and submit the next). */
  batch?: boolean;
  // -- judge (issue 12) --
  /** Judge each reply's accepted tasks with this model as they come (same --max-cost). */
  judgeModel?: string;
  judgeTasksPerRequest?: number;
  /** Machine examples only from tasks judged at least this (once there are judged tasks). */
  examplesMinScore?: number;
}

/** The defaults of generate's flags (all but --n): commander's, and what `demo` starts from. */
export const DEFAULT_GENERATE_FLAGS: Readonly<Omit<GenerateFlags, 'n'>> = {
  db: DEFAULT_DB, mode: 'self-instruct', model: 'gpt-3.5-turbo', concurrency: 8, similarity: 0.7, temperature: 1, topP: 1,
  maxTokens: 4096, tasksPerRequest: 20, maxOutputChars: 300, seeds: DEFAULT_SEED_FILE, topics: DEFAULT_TOPIC_LIST,
  taskTypes: DEFAULT_TASK_TYPE_LIST, timeout: 120, retries: 3, newRun: false, drainTimeout: 10, probe: true,
  logFormat: 'auto', quiet: false, batch: false,
};

export function generateCommand(): Command {
  const D = DEFAULT_GENERATE_FLAGS;
  return new Command('generate')
    .description('generate new Chinese instruction tasks with a chat model into the SQLite store')
    .argument('[count]', 'same as --n (npm run generate --n 50000 passes a bare 50000)', positiveInt)
    .option('--n <count>', 'accepted tasks this run must add', positiveInt)
    .option('--db <path>', 'SQLite database file', D.db)
    .option('--mode <mode>', `prompt style: ${GENERATION_MODES.join(' | ')}; batch = --batch with self-instruct prompts`, oneOf([...GENERATION_MODES, 'batch'] as const), D.mode)
    .option('--model <name>', 'chat model name', D.model)
    .option('--concurrency <k>', 'requests in flight at once', positiveInt, D.concurrency)
    .option('--similarity <t>', 'reject a task at least this similar to a kept one (0.5–1)', numberIn(0.5, 1), D.similarity)
    .option('--temperature <t>', 'sampling temperature', numberIn(0, 2), D.temperature)
    .option('--top-p <p>', 'nucleus sampling', numberIn(0, 1), D.topP)
    .option('--max-tokens <n>', 'completion token limit per request', positiveInt, D.maxTokens)
    .option('--tasks-per-request <n>', 'tasks asked for in each prompt', positiveInt, D.tasksPerRequest)
    .option('--max-output-chars <n>', 'output length bound stated in the prompt', positiveInt, D.maxOutputChars)
    .option('--seeds <file>', 'seed tasks (self-instruct, Alpaca or {instruction,input,output} JSON/JSONL)', D.seeds)
    .option('--template <file>', 'prompt template (default: the one for --mode in templates/)')
    .option('--topics <file>', 'topic list for --mode topics', D.topics)
    .option('--task-types <file>', 'task-type list for --mode topics', D.taskTypes)
    .option('--timeout <seconds>', 'per-request timeout', positiveInt, D.timeout)
    .option('--retries <n>', 'retries of a failed request on 429, 5xx, timeouts', numberIn(0, 20), D.retries)
    .option('--new-run', 'start a new run even if the last one is unfinished (default: resume it)', D.newRun)
    .option('--drain-timeout <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight requests may finish', nonNegativeNumber, D.drainTimeout)
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option('--log-format <format>', 'auto (bar on a terminal, JSON lines otherwise) | text | json', oneOf(['auto', 'text', 'json'] as const), D.logFormat)
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'no progress output; warnings, errors and the summary only', D.quiet)
    .option('--rpm <n>', 'requests per minute allowed (default: learned from the server\'s rate-limit headers)', positiveInt)
    .option('--tpm <n>', 'tokens per minute allowed (default: learned from the server\'s rate-limit headers)', positiveInt)
    .option('--max-cost <usd>', 'stop cleanly before the run could spend more than this (USD, whole run)', positiveNumber)
    .option('--max-requests <n>', 'stop cleanly after the run has sent this many requests', positiveInt)
    .option('--prices <file>', 'JSON price table {"model": {"input": USD/1M, "output": USD/1M}} over the built-in one')
    .option('--price <in,out>', 'this model\'s price in USD per 1M prompt and completion tokens, e.g. 0.15,0.60', priceFlag)
    .option('--batch', 'Batch API (half price, done within 24 h): each invocation collects finished batches and submits the next', D.batch)
    .option('--judge-model <name>', 'judge each reply\'s accepted tasks with this model as they come (spending counts against --max-cost)')
    .option('--judge-tasks-per-request <k>', 'tasks per judge request', numberIn(1, 50), DEFAULT_JUDGE_TASKS_PER_REQUEST)
    .option('--examples-min-score <s>', 'once tasks are judged, show as examples only tasks judged at least this', numberIn(1, 10), DEFAULT_MIN_SCORE)
    .action(async (count: number | undefined, given: Omit<GenerateFlags, 'mode'> & { mode: GenerationMode | 'batch' }) => {
      // `--mode batch` is another spelling of --batch; the prompts stay self-instruct.
      const flags: GenerateFlags = given.mode === 'batch' ? { ...given, mode: 'self-instruct', batch: true } : { ...given, mode: given.mode };
      const summary = await runGenerate({ ...flags, n: resolveCount(count, flags.n) }, process.env);
      if (summary.status === 'interrupted') {
        process.exitCode = summary.stopReason === 'max-cost' || summary.stopReason === 'max-requests' ? EXIT.budget
          : interruptedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
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

/** The model's price from --price, else --prices over the built-in table; undefined when none knows it. */
function resolvePrice(flags: GenerateFlags): Price | undefined {
  if (flags.price !== undefined) return flags.price;
  let table = DEFAULT_PRICES;
  if (flags.prices !== undefined) {
    try {
      table = { ...DEFAULT_PRICES, ...loadPriceFile(flags.prices) };
    } catch (err) {
      if (err instanceof PriceError) throw new CliError(err.message);
      throw err;
    }
  }
  return priceFor(flags.model, table);
}

function resolveCount(positional: number | undefined, flag: number | undefined): number {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new CliError(`generate: count given twice (${positional} and --n ${flag})`);
  }
  const n = positional ?? flag;
  if (n === undefined) throw new CliError('generate: say how many tasks to add, e.g. --n 50000');
  return n;
}

const OPENAI_HOST = /^https?:\/\/api\.openai\.com(\/|$)/;
let interruptedBy: NodeJS.Signals | undefined;

/**
 * Everything `generate` does after flag parsing; `demo` calls it too. Input is checked in full before
 * anything is written or sent: seeds, template, lists, the DB path, the lock, the base URL.
 */
export async function runGenerate(flags: GenerateFlags & { n: number }, env: NodeJS.ProcessEnv): Promise<RunSummary> {
  const baseURL = env.OPENAI_BASE_URL || undefined;
  let apiKey = env.OPENAI_API_KEY ?? '';
  if (apiKey === '') {
    if (baseURL === undefined || OPENAI_HOST.test(baseURL)) {
      throw new CliError(
        'OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or set OPENAI_BASE_URL for another provider), or try the offline demo: npm run demo',
      );
    }
    apiKey = 'not-needed'; // local servers (vLLM, Ollama) ignore it, but the client requires one
  }

  let seeds, template, topics: string[] = [], taskTypes: string[] = [];
  try {
    seeds = loadSeeds(flags.seeds);
    template = loadTemplate(flags.template ?? DEFAULT_TEMPLATE_FILES[flags.mode], flags.mode);
    if (flags.mode === 'topics') {
      topics = loadList(flags.topics);
      taskTypes = loadList(flags.taskTypes);
    }
  } catch (err) {
    if (err instanceof DatasetError || err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
  checkDbDirectory(flags.db);
  const price = resolvePrice(flags);
  if (flags.maxCost !== undefined && price === undefined) {
    throw new CliError(`--max-cost needs the price of ${flags.model}, which is not in the built-in table: give --price INPUT,OUTPUT (USD per 1M tokens) or --prices FILE`);
  }
  const judgeSetup = inlineJudgeSetup(flags);

  const reporter = createReporter({ format: flags.logFormat, quiet: flags.quiet, logFile: flags.logFile });
  let lock: Lock | undefined;
  let store: Store | undefined;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      // Second signal: leave now. SQLite transactions are atomic, so nothing half-written stays behind.
      reporter.close();
      lock?.release();
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    }
    interruptedBy = signal;
    stop.abort();
  };
  try {
    try {
      lock = acquireLock(flags.db, `generate --n ${flags.n}`);
    } catch (err) {
      if (err instanceof LockedError) throw new CliError(err.message, EXIT.locked);
      throw new CliError(`${flags.db}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is the directory writable?`);
    }
    if (lock.tookOverFrom !== undefined) {
      reporter.warn(`took over a stale lock from pid ${lock.tookOverFrom.pid} (started ${lock.tookOverFrom.startedAt}), which is no longer running`);
    }

    const llm = createLlmClient({
      apiKey, baseURL, timeoutMs: flags.timeout * 1000, maxRetries: flags.retries, rateLimit: { rpm: flags.rpm, tpm: flags.tpm },
    });
    if (flags.probe) {
      try {
        await llm.probe();
      } catch (err) {
        const where = baseURL ?? 'https://api.openai.com/v1';
        // probe() throws LlmErrors from toLlmError, whose messages are redacted already.
        const message = (err as Error).message;
        if ((err as { kind?: string }).kind === 'auth') throw new CliError(`the model API at ${where} refused the key: ${message}`);
        throw new CliError(`the model API at ${where} does not answer (${message}); check OPENAI_BASE_URL and the network`, EXIT.unavailable);
      }
    }

    try {
      store = Store.open(flags.db);
    } catch (err) {
      if (err instanceof StoreError) throw new CliError(err.message);
      throw err;
    }

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const params = { model: flags.model, temperature: flags.temperature, top_p: flags.topP, max_tokens: flags.maxTokens };
    const { logFormat: _f, logFile: _l, quiet: _q, probe: _p, ...runFlags } = flags;
    const common = {
      target: flags.n, mode: flags.mode, template, seeds, topics, taskTypes, params,
      tasksPerRequest: flags.tasksPerRequest, maxOutputChars: flags.maxOutputChars,
      similarity: flags.similarity, filters: DEFAULT_FILTER_OPTIONS, resume: !flags.newRun,
      // The flags, never the environment: the key must not reach the DB.
      runOptions: { ...runFlags, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
      price, maxCostUsd: flags.maxCost, maxRequests: flags.maxRequests,
    };
    if (!flags.batch && !flags.newRun) refuseOpenBatches(store);
    try {
      const summary = flags.batch
        ? await runBatchStep(common, {
          store, signal: stop.signal, onEvent: (e) => reporter.event(e), log: (message, fields) => reporter.info(message, fields),
          api: createBatchApi({ apiKey, baseURL, maxRetries: flags.retries }),
        })
        : await runOnline(
          {
            ...common, concurrency: flags.concurrency, maxConsecutiveFailures: 20, drainTimeoutMs: flags.drainTimeout * 1000,
            machineExamples: { judgeModel: flags.judgeModel ?? null, minScore: flags.examplesMinScore ?? DEFAULT_MIN_SCORE },
          },
          {
            store, llm, signal: stop.signal, onEvent: (e) => reporter.event(e),
            ...(judgeSetup === undefined ? {} : { judgeReply: createInlineJudge(judgeSetup, { store, llm }).judgeReply }),
          },
        );
      reporter.summary(summary, flags.db);
      if (summary.stopMessage !== undefined) reporter.warn(`run ${summary.runId} stopped: ${summary.stopMessage}`);
      return summary;
    } catch (err) {
      if (err instanceof GenerationFailed) {
        reporter.summary(err.summary, flags.db);
        throw new CliError(`generate: run ${err.summary.runId} failed: ${redact(err.message, apiKey)}`, EXIT.failure);
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

/** An online run must not take over a run whose batch is still out: its results would be lost. */
function refuseOpenBatches(store: Store): void {
  const latest = store.latestRun();
  if (latest === undefined || latest.status === 'completed') return;
  const open = new BatchStore(store).openBatches(latest.id)[0];
  if (open === undefined) return;
  throw new CliError(
    `run ${latest.id} has batch ${open.providerBatchId ?? open.id} out (${open.providerStatus ?? open.status}): continue it with --batch, or start a new run with --new-run`,
  );
}

/** The DB's directory must exist and be writable; said before anything else is touched. */
function checkDbDirectory(db: string): void {
  const dir = path.dirname(path.resolve(db));
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new CliError(`--db ${db}: directory ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new CliError(`--db ${db}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new CliError(`--db ${db}: directory ${dir} is not writable`);
  }
}

/** generate --judge-model: the judge's rubric and price, checked before anything runs (issue 12). */
function inlineJudgeSetup(flags: GenerateFlags): InlineJudgeOptions | undefined {
  if (flags.judgeModel === undefined) return undefined;
  if (flags.batch) throw new CliError('--judge-model judges online replies; with --batch, run judge --batch after the batch is collected');
  let rubric;
  try {
    rubric = loadRubric();
  } catch (err) {
    if (err instanceof JudgeError) throw new CliError(err.message);
    throw err;
  }
  const price = resolveModelPrice(flags.judgeModel, { prices: flags.prices });
  if (flags.maxCost !== undefined && price === undefined) {
    throw new CliError(`--max-cost needs the price of the judge ${flags.judgeModel}, which is not in the built-in table: give --prices FILE`);
  }
  return { model: flags.judgeModel, rubric, price, tasksPerRequest: flags.judgeTasksPerRequest, minScore: flags.examplesMinScore };
}
