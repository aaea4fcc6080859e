/** `generate`: flags (over `--config`) → `generate()`, with signals, progress and a summary. */
import { Command } from 'commander';
import {
  loadConfig,
  UsageError,
  generate,
  generateSettingsSchema,
  planGenerate,
  formatPlan,
  type GenerateOptions,
  type GenerateSettings,
} from '../index.ts';
import { nonNegativeInt, nonNegativeNumber, numberIn, oneOf, positiveInt, positiveNumber, priceFlag } from './args.ts';
import { turnBounds } from './dialogue-flags.ts';
import { givenFlags, collectEndpoint, ENDPOINT_HELP } from './given.ts';
import type { LogFormat } from './progress.ts';
import { runWithProgress, type OutputFlags } from './run.ts';

/** The library's defaults, shown in --help. */
const D = generateSettingsSchema.parse({});

export function generateCommand(): Command {
  const command = new Command('generate');
  return command
    .description('generate new Chinese instruction tasks with a chat model into the SQLite store')
    .argument('[count]', 'same as --n (npm run generate --n 50000 passes a bare 50000)', positiveInt)
    .option('--n <count>', 'accepted tasks this run must add', positiveInt)
    .option('--config <file>', 'JSON config file (see zh-self-instruct.schema.json); flags override it')
    .option('--dry-run', 'print a rendered prompt, the plan and an estimate of requests, tokens, cost and time; send nothing')
    .option('--db <path>', `SQLite database file (default ${D.db})`)
    .option(
      '--mode <mode>',
      'prompt style: self-instruct | topics | dialogue (multi-turn); batch = --batch with self-instruct prompts',
      oneOf(['self-instruct', 'topics', 'dialogue', 'batch'] as const),
    )
    .option('--turns <min-max>', 'dialogue mode: exchanges (user turn + reply) per conversation, e.g. 2-4 (default)', turnBounds)
    .option('--model <name>', `chat model name (default ${D.model})`)
    .option('--concurrency <k>', `requests in flight at once (default ${D.concurrency})`, positiveInt)
    .option('--similarity <t>', `reject a task at least this similar to a kept one, 0.5–1 (default ${D.similarity})`, numberIn(0.5, 1))
    .option('--temperature <t>', `sampling temperature (default ${D.temperature})`, numberIn(0, 2))
    .option('--top-p <p>', `nucleus sampling (default ${D.topP})`, numberIn(0, 1))
    .option('--max-tokens <n>', `completion token limit per request (default ${D.maxTokens})`, positiveInt)
    .option('--tasks-per-request <n>', 'tasks asked for in each prompt (default 20; conversations in dialogue mode: 5)', positiveInt)
    .option('--max-output-chars <n>', `output length bound stated in the prompt (default ${D.maxOutputChars})`, positiveInt)
    .option(
      '--seeds <file>',
      'seed tasks (self-instruct, Alpaca or {instruction,input,output} JSON/JSONL; default seeds/zh_seed_tasks.jsonl)',
    )
    .option('--prompt-template <file>', 'prompt template (default: the one for --mode in templates/)')
    .addOption(command.createOption('--template <file>', 'old name of --prompt-template').hideHelp())
    .option('--topics <file>', 'topic list for --mode topics (default templates/topic_list.txt)')
    .option('--task-types <file>', 'task-type list for --mode topics (default templates/task_type_list.txt)')
    .option('--timeout <seconds>', `per-request timeout (default ${D.timeout})`, positiveInt)
    .option('--retries <n>', `retries of a failed request on 429, 5xx, timeouts (default ${D.retries})`, numberIn(0, 20))
    .option('--new-run', 'start a new run even if the last one is unfinished (default: resume it)')
    .option(
      '--drain-timeout <seconds>',
      `after Ctrl-C/SIGTERM, how long in-flight requests may finish (default ${D.drainTimeout})`,
      nonNegativeNumber,
    )
    .option('--no-probe', 'skip the start-up check that the base URL answers')
    .option(
      '--log-format <format>',
      'auto (bar on a terminal, JSON lines otherwise) | text | json',
      oneOf(['auto', 'text', 'json'] as const),
    )
    .option('--log-file <path>', 'also append JSON log lines to this file')
    .option('--quiet', 'no progress output; warnings, errors and the summary only')
    .option('--endpoint <url>', ENDPOINT_HELP, collectEndpoint)
    .option('--rpm <n>', "requests per minute allowed (default: learned from the server's rate-limit headers)", positiveInt)
    .option('--tpm <n>', "tokens per minute allowed (default: learned from the server's rate-limit headers)", positiveInt)
    .option('--max-cost <usd>', 'stop cleanly before the run could spend more than this (USD, whole run)', positiveNumber)
    .option('--max-requests <n>', 'stop cleanly after the run has sent this many requests', positiveInt)
    .option(
      '--max-consecutive-failures <n>',
      `fail the run after this many requests in a row fail (default ${D.maxConsecutiveFailures})`,
      positiveInt,
    )
    .option('--prices <file>', 'JSON price table {"model": {"input": USD/1M, "output": USD/1M}} over the built-in one')
    .option('--price <in,out>', "this model's price in USD per 1M prompt and completion tokens, e.g. 0.15,0.60", priceFlag)
    .option(
      '--max-empty-replies <n>',
      `fail the run after this many replies in a row with no usable task, 0: never (default ${D.maxEmptyReplies})`,
      nonNegativeInt,
    )
    .option(
      '--min-accept-rate <tasks>',
      `fail the run when the last 50 replies brought fewer accepted tasks per reply, 0: never (default ${D.minAcceptRate})`,
      nonNegativeNumber,
    )
    .option(
      '--answer-model <name>',
      'two-stage: instructions first, then each answered in its own request by this model; --n counts answered tasks (--mode dialogue: it writes every assistant turn, --n counts conversations)',
    )
    .option('--answer-max-tokens <n>', 'completion limit of one answer (default 2048)', positiveInt)
    .option(
      '--answer-template <file>',
      'answer prompt user-message template with {{instruction}} and {{input}} (default templates/answer_user.txt)',
    )
    .option('--answer-system <text>', 'answer prompt system message (default: templates/answer_system.txt)')
    .option('--answer-retries <n>', 'rejected answers retried this many times, then the task is unanswerable (default 2)', numberIn(0, 10))
    .option(
      '--evolve-rounds <k>',
      'after the run, evolve its accepted tasks this many rounds (Evol-Instruct; answered by --answer-model or --model) within what is left of --max-cost',
      numberIn(1, 10),
    )
    .option('--embedding-model <name>', 'embed accepted tasks with this model as they come, for export --select')
    .option('--semantic-threshold <t>', 'with --embedding-model: reject a task at this cosine or above to an accepted one', numberIn(0, 1))
    .option('--judge-model <name>', "judge each reply's accepted tasks with this model as they come (spending counts against --max-cost)")
    .option('--judge-tasks-per-request <k>', `tasks per judge request (default ${D.judgeTasksPerRequest})`, numberIn(1, 50))
    .option(
      '--examples-min-score <s>',
      `once tasks are judged, show as examples only tasks judged at least this (default ${D.examplesMinScore})`,
      numberIn(1, 10),
    )
    .option(
      '--benchmark <path>',
      'reject tasks that copy a question of this benchmark (file or folder: C-Eval/CMMLU CSV, GAOKAO-Bench JSON, JSONL); repeatable',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--benchmark-threshold <t>',
      `share of an item's character 6-grams that makes a task overlap it (default ${D.benchmarkThreshold})`,
      numberIn(0.05, 1),
    )
    .option(
      '--benchmark-field <name>',
      'the question field or column of the benchmark files, when it is not question/instruction/prompt/input',
    )
    .option('--batch', 'Batch API (half price, done within 24 h): each invocation collects finished batches and submits the next')
    .action(async function (this: Command, count: number | undefined) {
      const { config: configFile, dryRun, mode, logFormat, logFile, quiet, ...flags } = givenFlags(this);
      const fromFile = typeof configFile === 'string' ? (loadConfig(configFile).generate ?? {}) : {};
      const { logFormat: fileFormat, logFile: fileLog, quiet: fileQuiet, ...fileSettings } = fromFile;
      // `--mode batch` is another spelling of --batch; the prompts stay self-instruct.
      const modeFlags = mode === undefined ? {} : mode === 'batch' ? { mode: 'self-instruct', batch: true } : { mode };
      const settings = { ...fileSettings, ...flags, ...modeFlags } as GenerateSettings;
      settings.n = resolveCount(count, flags.n as number | undefined, fileSettings.n);
      const output: OutputFlags = {
        logFormat: (logFormat ?? fileFormat) as LogFormat,
        logFile: (logFile ?? fileLog) as string,
        quiet: (quiet ?? fileQuiet) as boolean,
      };
      if (dryRun === true) {
        process.stdout.write(formatPlan(await planGenerate(settings)));
        return;
      }
      try {
        process.exitCode = await runGenerate(settings, output);
      } catch (err) {
        if (err instanceof UsageError && err.option === 'apiKey')
          throw new UsageError(`${err.detail}, or try the offline demo: npx zh-self-instruct demo`);
        throw err;
      }
    });
}

/** A run with the terminal's progress and Ctrl-C / SIGTERM wired in; resolves with the exit code. */
export function runGenerate(settings: GenerateSettings & Pick<GenerateOptions, 'apiKey'>, output: OutputFlags): Promise<number> {
  const db = settings.db ?? generateSettingsSchema.shape.db.parse(undefined);
  return runWithProgress('generate', db, output, (hooks) => generate({ ...settings, ...hooks }));
}

function resolveCount(positional: number | undefined, flag: number | undefined, fromFile: number | undefined): number | undefined {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`count given twice (${positional} and --n ${flag})`);
  }
  return positional ?? flag ?? fromFile;
}
