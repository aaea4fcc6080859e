/**
 * The options of the public calls, as zod schemas: one source for the library's defaults, its
 * validation of a caller's options, the config file and its published JSON schema. A schema's
 * `.parse` applies the documented defaults, so `generate({ n: 1000 })` is a whole run.
 */
import { z } from 'zod';
import { UsageError } from './errors.ts';
import { FORMATS, type Format } from './export/formats.ts';
import { TOKENIZERS } from './export/tokenizer-names.ts';
import { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST, DEFAULT_MIN_SCORE } from './judge/defaults.ts';
import { DEFAULT_DB, DEFAULT_EXPORT_DIR } from './paths.ts';
import { DEFAULT_MAX_EMPTY_REPLIES, DEFAULT_MIN_ACCEPTED_PER_REPLY } from './yield-guard.ts';

const positiveInt = z.number().int().positive();
const price = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  batchInput: z.number().nonnegative().optional(),
  batchOutput: z.number().nonnegative().optional(),
});

/** Options of `generate()` that can also live in a config file (no secrets, no callbacks). */
export const generateSettingsSchema = z.strictObject({
  n: positiveInt.optional().meta({ description: 'Accepted tasks this run must add (a resumed run counts what it has). Required.' }),
  db: z.string().min(1).default(DEFAULT_DB).meta({ description: 'SQLite database file.' }),
  mode: z
    .enum(['self-instruct', 'topics', 'dialogue'])
    .default('self-instruct')
    .meta({ description: 'Prompt style: tasks, or multi-turn conversations.' }),
  turns: z
    .strictObject({ min: z.number().int().min(1).max(20), max: z.number().int().min(1).max(20) })
    .refine((t) => t.min <= t.max, 'min above max')
    .optional()
    .meta({ description: 'Dialogue mode: exchanges (user turn + reply) per conversation. Default 2–4.' }),
  batch: z
    .boolean()
    .default(false)
    .meta({ description: 'Batch API: one step of the run per call (submit, or collect and submit the next).' }),
  model: z.string().min(1).default('gpt-3.5-turbo').meta({ description: 'Chat model name.' }),
  baseURL: z.string().url().optional().meta({ description: 'OpenAI-compatible base URL. Default: OPENAI_BASE_URL, else OpenAI.' }),
  concurrency: positiveInt.default(8).meta({ description: 'Requests in flight at once.' }),
  similarity: z.number().min(0.5).max(1).default(0.7).meta({ description: 'Reject a task at least this similar to a kept one.' }),
  temperature: z.number().min(0).max(2).default(1),
  topP: z.number().min(0).max(1).default(1),
  maxTokens: positiveInt.default(4096).meta({ description: 'Completion token limit per request.' }),
  tasksPerRequest: positiveInt.optional().meta({
    description: 'Tasks (or conversations) asked for in each prompt. Default 20 (5 in dialogue mode, 30 instructions in two-stage runs).',
  }),
  maxOutputChars: positiveInt.default(300).meta({ description: 'Output length bound stated in the prompt, in characters.' }),
  seeds: z.string().min(1).optional().meta({
    description: "Seed task file (self-instruct, Alpaca or {instruction,input,output}). Default: the package's seeds/zh_seed_tasks.jsonl.",
  }),
  template: z.string().min(1).optional().meta({ description: 'Prompt template file. Default: the one for the mode in templates/.' }),
  topics: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Topic list for the topics mode. Default: the package's templates/topic_list.txt." }),
  taskTypes: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Task-type list for the topics mode. Default: the package's templates/task_type_list.txt." }),
  timeout: z.number().positive().default(120).meta({ description: 'Per-attempt timeout, seconds.' }),
  retries: z.number().int().min(0).max(20).default(3).meta({ description: 'Retries of a request on 429, 5xx, timeouts.' }),
  newRun: z.boolean().default(false).meta({ description: 'Start a new run even if the last one is unfinished.' }),
  drainTimeout: z.number().nonnegative().default(10).meta({ description: 'After a stop signal, seconds in-flight requests may finish.' }),
  probe: z.boolean().default(true).meta({ description: 'Check at start-up that the base URL answers.' }),
  rpm: positiveInt.optional().meta({ description: "Requests per minute. Default: learned from the server's headers." }),
  tpm: positiveInt.optional().meta({ description: "Tokens per minute. Default: learned from the server's headers." }),
  maxCost: z.number().positive().optional().meta({ description: 'Stop cleanly before the run could spend more (USD, whole run).' }),
  maxRequests: positiveInt.optional().meta({ description: 'Stop cleanly once the run has sent this many requests.' }),
  prices: z
    .union([z.string().min(1), z.record(z.string().min(1), price)])
    .optional()
    .meta({ description: 'Price table (USD per 1M tokens) over the built-in one: a JSON file or the table itself.' }),
  price: price.optional().meta({ description: "This model's price; wins over the tables." }),
  maxConsecutiveFailures: positiveInt.default(20).meta({ description: 'The run fails after this many requests in a row fail.' }),
  answerModel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Two-stage: instructions first, then each answered in its own request by this model; n counts answered tasks.' }),
  answerMaxTokens: positiveInt.optional().meta({ description: 'Completion limit of one answer. Default 2048.' }),
  answerTemplate: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Answer prompt user-message template with {{instruction}} and {{input}}. Default templates/answer_user.txt.' }),
  answerSystem: z.string().min(1).optional().meta({ description: 'Answer prompt system message. Default: templates/answer_system.txt.' }),
  answerRetries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .meta({ description: 'Rejected answers retried this many times, then the task is unanswerable. Default 2.' }),
  judgeModel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Judge each reply's accepted tasks with this model as they come (spending counts against maxCost)." }),
  judgeTasksPerRequest: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(DEFAULT_JUDGE_TASKS_PER_REQUEST)
    .meta({ description: 'Tasks per judge request.' }),
  examplesMinScore: z
    .number()
    .min(1)
    .max(10)
    .default(DEFAULT_MIN_SCORE)
    .meta({ description: 'Once tasks are judged, show as examples only tasks judged at least this.' }),
  maxEmptyReplies: z
    .number()
    .int()
    .min(0)
    .default(DEFAULT_MAX_EMPTY_REPLIES)
    .meta({ description: 'Yield guard: the run fails after this many replies in a row with no usable task (0: never).' }),
  minAcceptRate: z
    .number()
    .min(0)
    .default(DEFAULT_MIN_ACCEPTED_PER_REPLY)
    .meta({ description: 'Yield guard: the run fails when the last 50 replies brought fewer accepted tasks per reply (0: never).' }),
});

export type GenerateSettings = z.input<typeof generateSettingsSchema>;
export type ResolvedGenerateSettings = z.output<typeof generateSettingsSchema> & { n: number; tasksPerRequest: number };

/** Tasks asked for per request; a conversation is longer than a task, so fewer of those. */
export const DEFAULT_TASKS_PER_REQUEST = 20;
export const DIALOGUES_PER_REQUEST = 5;
/** Stage 1 of a two-stage run asks for instructions only, so more of them fit in one reply. */
export const TWO_STAGE_TASKS_PER_REQUEST = 30;

/**
 * Checks a caller's options and applies the defaults. An invalid option is a UsageError naming it,
 * thrown before anything is opened.
 */
export function resolveOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const option = issue.path.map(String).join('.');
  const detail = issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new UsageError(detail, option === '' ? {} : { option });
}

export function resolveGenerateSettings(options: GenerateSettings): ResolvedGenerateSettings {
  const resolved = resolveOptions(generateSettingsSchema, options);
  if (resolved.n === undefined) throw new UsageError('say how many tasks to add, e.g. 50000', { option: 'n' });
  if (resolved.turns !== undefined && resolved.mode !== 'dialogue') throw new UsageError('is for the dialogue mode', { option: 'turns' });
  if (resolved.mode === 'dialogue' && resolved.batch) {
    throw new UsageError('the dialogue mode does not run through the Batch API yet: drop `batch`', { option: 'mode' });
  }
  // Two-stage answers come in their own requests, which the inline judge does not see: refused, not ignored.
  // (A backticked `judge` would print as a flag, hence "the judge command".)
  if (resolved.judgeModel !== undefined && resolved.answerModel !== undefined) {
    throw new UsageError('judges one-stage replies; for two-stage runs (`answerModel`), run the judge command after the answers', {
      option: 'judgeModel',
    });
  }
  if (resolved.judgeModel !== undefined && resolved.batch) {
    throw new UsageError('judges online replies; in batch mode, run the judge command with `batch` once the batch is collected', {
      option: 'judgeModel',
    });
  }
  if (resolved.answerModel !== undefined && resolved.mode === 'dialogue')
    throw new UsageError('is not built for the dialogue mode yet', { option: 'answerModel' });
  const tasksPerRequest =
    resolved.tasksPerRequest ??
    (resolved.mode === 'dialogue'
      ? DIALOGUES_PER_REQUEST
      : resolved.answerModel !== undefined
        ? TWO_STAGE_TASKS_PER_REQUEST
        : DEFAULT_TASKS_PER_REQUEST);
  return { ...resolved, n: resolved.n, tasksPerRequest };
}

/** Options of `exportDataset()`; all but `format` have defaults. */
export const exportSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB).meta({ description: 'SQLite database file.' }),
  out: z.string().min(1).default(DEFAULT_EXPORT_DIR).meta({ description: 'Folder that receives <export-id>/ and LATEST.' }),
  format: z.enum(FORMATS).optional().meta({ description: 'Record shape. Required.' }),
  since: z
    .union([z.enum(['last', 'all']), positiveInt])
    .default('last')
    .meta({ description: 'last: rows not exported into out before; all; or one run id.' }),
  validRatio: z.number().min(0).lt(1).default(0).meta({ description: 'Share of rows (by key hash) for valid.jsonl.' }),
  source: z.array(z.string().min(1)).optional().meta({ description: 'Only these sources ("seed" includes seeds).' }),
  category: z.array(z.string().min(1)).optional().meta({ description: 'Only these categories.' }),
  includeSeeds: z.boolean().default(false).meta({ description: 'Export seed tasks too.' }),
  shuffle: z.boolean().default(false).meta({ description: 'Order rows by a seeded hash instead of by task id.' }),
  seed: z.number().int().min(0).optional().meta({ description: 'Shuffle seed (default 0); needs shuffle.' }),
  maxTokens: positiveInt.optional().meta({ description: 'Leave out rows whose training text has more tokens than this.' }),
  tokenizer: z.enum(TOKENIZERS).optional().meta({ description: 'Tokenizer for maxTokens and token stats (default llama2).' }),
  tokenStats: z.boolean().default(false).meta({ description: 'Count tokens of every row without leaving any out.' }),
  template: z.string().min(1).optional().meta({
    description: 'Training template (name in templates/ or a file) for prompt-completion records and token counts. Default alpaca.',
  }),
  system: z.string().min(1).optional().meta({ description: 'System prompt for sharegpt and messages records.' }),
  answerModel: z.string().min(1).optional().meta({
    description: "Two-stage data: the output is this model's answer, only tasks it answered. Default: each task's latest accepted answer.",
  }),
  minScore: z
    .number()
    .min(1)
    .max(10)
    .optional()
    .meta({ description: 'Curated export: keep rows whose latest judgment by judgeModel is at least this; unjudged rows are left out.' }),
  judgeModel: z.string().min(1).optional().meta({ description: 'The judge whose scores count. Default: the one of the newest judgment.' }),
  dropFlags: z.array(z.string().min(1)).optional().meta({ description: 'Leave out rows the judge flagged with any of these.' }),
});

export type ExportSettings = z.input<typeof exportSettingsSchema>;
export type ResolvedExportSettings = z.output<typeof exportSettingsSchema> & { format: Format };

export function resolveExportSettings(options: ExportSettings): ResolvedExportSettings {
  const resolved = resolveOptions(exportSettingsSchema, options);
  if (resolved.format === undefined) throw new UsageError(`say which format: ${FORMATS.join(', ')}`, { option: 'format' });
  return { ...resolved, format: resolved.format };
}

/** Options of `importTasks()`. */
export const importSettingsSchema = z.strictObject({
  in: z.string().min(1).meta({ description: 'Alpaca, BELLE {input,target} or self-instruct JSON/JSONL file.' }),
  db: z.string().min(1).default(DEFAULT_DB),
  source: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Source name stored with each task. Default: the file name without extension.' }),
  similarity: z.number().min(0.5).max(1).default(0.7),
  filter: z.boolean().default(false).meta({ description: 'Also apply the quality rules (default: near-duplicate check only).' }),
});
export type ImportSettings = z.input<typeof importSettingsSchema>;

/** Options of `dedupFiles()`. */
export const dedupSettingsSchema = z.strictObject({
  in: z.array(z.string().min(1)).min(1).meta({ description: 'Input files, read in order.' }),
  out: z.string().min(1).meta({ description: 'Kept records, JSONL, in input order.' }),
  similarity: z.number().min(0.5).max(1).default(0.7),
  seeds: z.string().min(1).optional().meta({ description: 'Also drop records near-duplicate to these seed tasks.' }),
  rejected: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Each dropped record with its nearest kept record and the similarity, JSONL.' }),
});
export type DedupSettings = z.input<typeof dedupSettingsSchema>;

/** Options of `answer()`: answers for instructions you already have. */
export const answerSettingsSchema = z.strictObject({
  in: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Instructions as JSON/JSONL: instruction and optional input (an output is ignored unless keepExisting).' }),
  source: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'With in: the source to store them as (default: the file name); alone: answer this stored source again.' }),
  model: z.string().min(1).default('gpt-4o').meta({ description: 'The answer model.' }),
  db: z.string().min(1).default(DEFAULT_DB),
  baseURL: z.string().url().optional(),
  filter: z.boolean().default(false).meta({ description: 'Apply the instruction quality rules to the records of in.' }),
  dedup: z
    .boolean()
    .default(true)
    .meta({ description: 'false: keep near-duplicates of the records of in (exact repeats are still skipped).' }),
  keepExisting: z.boolean().default(false).meta({ description: 'Keep the output a record of in has (it is then not answered).' }),
  similarity: z.number().min(0.5).max(1).default(0.7),
  concurrency: positiveInt.default(8),
  maxTokens: positiveInt.optional().meta({ description: 'Completion limit of one answer. Default 2048.' }),
  template: z.string().min(1).optional().meta({ description: 'User-message template with {{instruction}} and {{input}}.' }),
  system: z.string().min(1).optional().meta({ description: 'System message. Default templates/answer_system.txt.' }),
  answerRetries: z.number().int().min(0).max(10).optional(),
  timeout: z.number().positive().default(120),
  retries: z.number().int().min(0).max(20).default(3),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  maxCost: z.number().positive().optional(),
  maxRequests: positiveInt.optional(),
  prices: z.union([z.string().min(1), z.record(z.string().min(1), price)]).optional(),
  price: price.optional(),
  probe: z.boolean().default(true),
  drainTimeout: z.number().nonnegative().default(10),
});
export type AnswerSettings = z.input<typeof answerSettingsSchema>;

/** Options of `judgeTasks()`: scores for accepted tasks, by a judge model. */
export const judgeSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  model: z.string().min(1).default(DEFAULT_JUDGE_MODEL).meta({ description: 'Judge model.' }),
  baseURL: z.string().url().optional(),
  rubric: z.string().min(1).optional().meta({ description: 'Rubric template with {{tasks}}. Default templates/judge_rubric.txt.' }),
  tasksPerRequest: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(DEFAULT_JUDGE_TASKS_PER_REQUEST)
    .meta({ description: 'Tasks judged in one request.' }),
  since: z
    .union([z.enum(['all', 'last']), positiveInt])
    .default('all')
    .meta({ description: 'all | last (the last generation run) | a run id.' }),
  source: z.array(z.string().min(1)).optional().meta({ description: 'Only these sources (generated, an import name).' }),
  concurrency: positiveInt.default(4),
  batch: z
    .boolean()
    .default(false)
    .meta({ description: 'Batch API (half price): each call collects a finished batch and submits the next.' }),
  maxCost: z.number().positive().optional(),
  maxRequests: positiveInt.optional(),
  prices: z.union([z.string().min(1), z.record(z.string().min(1), price)]).optional(),
  price: price.optional(),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  timeout: z.number().positive().default(120),
  retries: z.number().int().min(0).max(20).default(3),
  jsonMode: z
    .boolean()
    .default(true)
    .meta({ description: 'Send response_format json_object (dropped by itself after a 400 saying unsupported).' }),
  probe: z.boolean().default(true),
  drainTimeout: z.number().nonnegative().default(10),
});
export type JudgeSettings = z.input<typeof judgeSettingsSchema>;
