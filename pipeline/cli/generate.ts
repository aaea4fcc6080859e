/** `generate`: flags → library options, then `generate()` with a lock, signals, progress and a summary. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { DatasetError } from '../datasets.ts';
import { DEFAULT_FILTER_OPTIONS } from '../filters.ts';
import { generate, GenerationFailed, type RunSummary } from '../generate.ts';
import { createLlmClient, redact } from '../llm.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import {
  DEFAULT_TASK_TYPE_LIST, DEFAULT_TEMPLATE_FILES, DEFAULT_TOPIC_LIST, GENERATION_MODES, loadList, loadTemplate,
  TemplateError, type GenerationMode,
} from '../prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../seeds.ts';
import { Store, StoreError } from '../store/store.ts';
import { nonNegativeNumber, numberIn, oneOf, positiveInt } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { createReporter, type LogFormat, type Reporter } from './report.ts';

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
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('generate new Chinese instruction tasks with a chat model into the SQLite store')
    .argument('[count]', 'same as --n (npm run generate --n 50000 passes a bare 50000)', positiveInt)
    .option('--n <count>', 'accepted tasks this run must add', positiveInt)
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--mode <mode>', `prompt style: ${GENERATION_MODES.join(' | ')}`, oneOf(GENERATION_MODES), 'self-instruct')
    .option('--model <name>', 'chat model name', 'gpt-3.5-turbo')
    .option('--concurrency <k>', 'requests in flight at once', positiveInt, 8)
    .option('--similarity <t>', 'reject a task at least this similar to a kept one (0.5–1)', numberIn(0.5, 1), 0.7)
    .option('--temperature <t>', 'sampling temperature', numberIn(0, 2), 1)
    .option('--top-p <p>', 'nucleus sampling', numberIn(0, 1), 1)
    .option('--max-tokens <n>', 'completion token limit per request', positiveInt, 4096)
    .option('--tasks-per-request <n>', 'tasks asked for in each prompt', positiveInt, 20)
    .option('--max-output-chars <n>', 'output length bound stated in the prompt', positiveInt, 300)
    .option('--seeds <file>', 'seed tasks (self-instruct, Alpaca or {instruction,input,output} JSON/JSONL)', DEFAULT_SEED_FILE)
    .option('--template <file>', 'prompt template (default: the one for --mode in templates/)')
    .option('--topics <file>', 'topic list for --mode topics', DEFAULT_TOPIC_LIST)
    .option('--task-types <file>', 'task-type list for --mode topics', DEFAULT_TASK_TYPE_LIST)
    .option('--timeout <seconds>', 'per-request timeout', positiveInt, 120)
    .option('--retries <n>', 'retries of a failed request on 429, 5xx, timeouts', numberIn(0, 20), 3)
    .option('--new-run', 'start a new run even if the last one is unfinished (default: resume it)', false)
    .option('--drain-timeout <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight requests may finish', nonNegativeNumber, 10)
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option('--log-format <format>', 'auto (bar on a terminal, JSON lines otherwise) | text | json', oneOf(['auto', 'text', 'json'] as const), 'auto')
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'no progress output; warnings, errors and the summary only', false)
    .action(async (count: number | undefined, flags: GenerateFlags) => {
      const summary = await runGenerate({ ...flags, n: resolveCount(count, flags.n) }, process.env);
      if (summary.status === 'interrupted') process.exitCode = interruptedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
    });
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

    const llm = createLlmClient({ apiKey, baseURL, timeoutMs: flags.timeout * 1000, maxRetries: flags.retries });
    if (flags.probe) {
      try {
        await llm.probe();
      } catch (err) {
        const where = baseURL ?? 'https://api.openai.com/v1';
        const message = redact((err as Error).message, apiKey);
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
    try {
      const summary = await generate(
        {
          target: flags.n, mode: flags.mode, template, seeds, topics, taskTypes, params,
          concurrency: flags.concurrency, tasksPerRequest: flags.tasksPerRequest, maxOutputChars: flags.maxOutputChars,
          similarity: flags.similarity, filters: DEFAULT_FILTER_OPTIONS, maxConsecutiveFailures: 20,
          resume: !flags.newRun, drainTimeoutMs: flags.drainTimeout * 1000,
          // The flags, never the environment: the key must not reach the DB.
          runOptions: { ...runFlags, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
        },
        { store, llm, signal: stop.signal, onEvent: (e) => reporter.event(e) },
      );
      reporter.summary(summary, flags.db);
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
