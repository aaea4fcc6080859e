/** `generate`: flags → library options, then `generate()` and a summary. */
import { Command } from 'commander';
import { DatasetError } from '../datasets.ts';
import { DEFAULT_FILTER_OPTIONS } from '../filters.ts';
import { generate, GenerationFailed, type RunSummary } from '../generate.ts';
import { createLlmClient, redact } from '../llm.ts';
import {
  DEFAULT_TASK_TYPE_LIST, DEFAULT_TEMPLATE_FILES, DEFAULT_TOPIC_LIST, GENERATION_MODES, loadList, loadTemplate,
  TemplateError, type GenerationMode,
} from '../prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../seeds.ts';
import { Store, StoreError } from '../store/store.ts';
import { numberIn, oneOf, positiveInt } from './args.ts';
import { CliError, EXIT } from './exit.ts';

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
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('generate new Chinese instruction tasks with a chat model into the SQLite store')
    .argument('[count]', 'same as --n (npm run generate --n 50000 passes a bare 50000)', positiveInt)
    .option('--n <count>', 'new accepted tasks to add in this run', positiveInt)
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
    .action(async (count: number | undefined, flags: GenerateFlags) => {
      const summary = await runGenerate({ ...flags, n: resolveCount(count, flags.n) }, process.env);
      printSummary(summary, flags.db);
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

/** Everything `generate` does after flag parsing; `demo` calls it too. */
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

  // Everything that can be wrong with the input is checked before the first request.
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
  let store: Store;
  try {
    store = Store.open(flags.db);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }

  const llm = createLlmClient({ apiKey, baseURL, timeoutMs: flags.timeout * 1000, maxRetries: flags.retries });
  const params = { model: flags.model, temperature: flags.temperature, top_p: flags.topP, max_tokens: flags.maxTokens };
  try {
    return await generate(
      {
        target: flags.n, mode: flags.mode, template, seeds, topics, taskTypes, params,
        concurrency: flags.concurrency, tasksPerRequest: flags.tasksPerRequest, maxOutputChars: flags.maxOutputChars,
        similarity: flags.similarity, filters: DEFAULT_FILTER_OPTIONS, maxConsecutiveFailures: 20,
        // The flags, never the environment: the key must not reach the DB.
        runOptions: { ...flags, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
      },
      { store, llm },
    );
  } catch (err) {
    if (err instanceof GenerationFailed) {
      printSummary(err.summary, flags.db);
      throw new CliError(`generate: run ${err.summary.runId} failed: ${redact(err.message, apiKey)}`, EXIT.failure);
    }
    throw err;
  } finally {
    store.close();
  }
}

export function printSummary(s: RunSummary, db: string): void {
  const rejected = Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
  const reasons = Object.entries(s.rejected)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const lines = [
    `run ${s.runId} ${s.status}: accepted ${s.accepted}/${s.target}, rejected ${rejected}${reasons ? ` (${reasons})` : ''}`,
    `requests ${s.requests} (${s.failedRequests} failed), tokens ${s.promptTokens} prompt + ${s.completionTokens} completion, ${s.seconds.toFixed(1)} s`,
    `database ${db}`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
