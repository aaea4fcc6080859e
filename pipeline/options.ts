/**
 * The options of the public calls, as zod schemas: one source for the library's defaults, its
 * validation of a caller's options, the config file and its published JSON schema. A schema's
 * `.parse` applies the documented defaults, so `generate({ n: 1000 })` is a whole run.
 */
import { z } from 'zod';
import { UsageError } from './errors.ts';
import { DATASET_NAME, DEFAULT_DATASET_NAME } from './export/dataset-info.ts';
import { EVOLVE_OPS } from './evolve/op-names.ts';
import { FILE_FORMATS, FORMATS, type Format } from './export/formats.ts';
import { TOKENIZERS } from './export/tokenizer-names.ts';
import { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST, DEFAULT_MIN_SCORE } from './judge/defaults.ts';
import { DEFAULT_DB, DEFAULT_EXPORT_DIR, DEFAULT_REPORT } from './paths.ts';
import { DEFAULT_MAX_EMPTY_REPLIES, DEFAULT_MIN_ACCEPTED_PER_REPLY } from './yield-guard.ts';

const positiveInt = z.number().int().positive();
/** `--batch` of the commands that run stages: each call collects finished batches and submits the next. */
const batchFlag = z
  .boolean()
  .default(false)
  .meta({ description: 'Batch API (half price): each call collects a finished batch and submits the next.' });
const price = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  batchInput: z.number().nonnegative().optional(),
  batchOutput: z.number().nonnegative().optional(),
});

/** Benchmark files no task may copy (issue 25); shared by `generate`, `import` and `decontaminate`. */
const benchmarkPaths = z
  .array(z.string().min(1))
  .min(1)
  .meta({ description: 'Benchmark files or folders (C-Eval/CMMLU CSV, GAOKAO-Bench JSON, JSON/JSONL with a question field).' });
const benchmarkThreshold = z.number().gt(0).max(1).default(0.5).meta({
  description: "A task overlaps a benchmark item when it holds at least this share of the item's (or its stem's) character 6-grams.",
});
const benchmarkField = z
  .string()
  .min(1)
  .optional()
  .meta({ description: 'The question field or column of the benchmark files, when it is not question/instruction/prompt/input.' });

/** Options of `generate()` that can also live in a config file (no secrets, no callbacks). */
/** Several model servers for one run; a URL alone means weight 1 and the run's key. */
const endpointsSchema = z
  .array(
    z.union([
      z.string().min(1),
      z.strictObject({
        baseURL: z.string().min(1),
        weight: z.number().positive().optional(),
        concurrency: positiveInt.optional(),
        rpm: positiveInt.optional(),
        tpm: positiveInt.optional(),
        apiKeyEnv: z.string().min(1).optional(),
      }),
    ]),
  )
  .min(1)
  .optional()
  .meta({
    description:
      'Several OpenAI-compatible base URLs sharing the run, by weight; each has its own rate limits, back-off and health. Replaces baseURL.',
  });

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
  endpoints: endpointsSchema,
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
  promptTemplate: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Prompt template file. Default: the one for the mode in templates/. (Formerly `template`.)' }),
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
  answerModel: z.string().min(1).optional().meta({
    description:
      'Two-stage: instructions first, then each answered in its own request by this model; n counts answered tasks. Dialogue mode: this model writes every assistant turn; n counts conversations.',
  }),
  answerMaxTokens: positiveInt.optional().meta({ description: 'Completion limit of one answer. Default 2048.' }),
  answerTemplate: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Answer prompt user-message template with {{instruction}} and {{input}}. Default templates/answer_user.txt.' }),
  answerSystem: z.string().min(1).optional().meta({ description: 'Answer prompt system message. Default: templates/answer_system.txt.' }),
  answerRetries: z.number().int().min(0).max(10).optional().meta({
    description:
      'Rejected answers retried this many times, then the task is unanswerable (dialogue mode: per turn, then the conversation is given up). Default 2.',
  }),
  judgeModel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Judge each reply's accepted tasks with this model as they come (spending counts against maxCost)." }),
  evolveRounds: z.number().int().min(1).max(10).optional().meta({
    description:
      'After the run, evolve its accepted tasks this many rounds (Evol-Instruct, answered by answerModel or model) within what is left of maxCost. Not with batch.',
  }),
  judgeTasksPerRequest: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(DEFAULT_JUDGE_TASKS_PER_REQUEST)
    .meta({ description: 'Tasks per judge request.' }),
  embeddingModel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Embed accepted tasks with this model as they come, for `export --select` (spending counts against maxCost).' }),
  semanticThreshold: z.number().gt(0).max(1).optional().meta({
    description: 'With embeddingModel: reject a task whose cosine to an accepted one is at least this (semantic_duplicate).',
  }),
  examplesMinScore: z
    .number()
    .min(1)
    .max(10)
    .default(DEFAULT_MIN_SCORE)
    .meta({ description: 'Once tasks are judged, show as examples only tasks judged at least this.' }),
  benchmark: benchmarkPaths.optional(),
  benchmarkThreshold: benchmarkThreshold,
  benchmarkField: benchmarkField,
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

export type GenerateSettings = z.input<typeof generateSettingsSchema> & {
  /** @deprecated Renamed `promptTemplate`; still read, with a DeprecationWarning. */
  template?: string | undefined;
};
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
  const renamed = RENAMES_OF.get(schema);
  if (renamed !== undefined && typeof options === 'object' && options !== null) {
    options = renameOptions(renamed, options as Record<string, unknown>, (from, to) =>
      process.emitWarning(`${renamed}(): option "${from}" is now "${to}"`, { type: 'DeprecationWarning', code: 'ZHSI_RENAMED_OPTION' }),
    );
  }
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
  if (resolved.semanticThreshold !== undefined && resolved.embeddingModel === undefined) {
    throw new UsageError('needs `embeddingModel`', { option: 'semanticThreshold' });
  }
  if (resolved.semanticThreshold !== undefined && resolved.answerModel !== undefined) {
    throw new UsageError('is not built for two-stage runs yet (their goal counts answers)', { option: 'semanticThreshold' });
  }
  if (resolved.evolveRounds !== undefined && resolved.batch) {
    throw new UsageError('evolves after an online run; in batch mode, run the evolve command once the run is complete', {
      option: 'evolveRounds',
    });
  }
  if (resolved.evolveRounds !== undefined && resolved.mode === 'dialogue') {
    throw new UsageError('evolves single-turn tasks; a dialogue run has none', { option: 'evolveRounds' });
  }
  if (resolved.answerModel !== undefined && resolved.mode === 'dialogue') {
    if (resolved.answerTemplate !== undefined) {
      throw new UsageError(
        'formats a single instruction; in the dialogue mode the answer model is sent the conversation itself (`answerSystem` still applies)',
        { option: 'answerTemplate' },
      );
    }
  }
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
    .meta({ description: 'last | all | a run id. last: rows not exported into out before (the default, so re-runs add only new rows).' }),
  validRatio: z.number().min(0).lt(1).default(0).meta({ description: 'Share of rows (by key hash) for the valid split.' }),
  source: z.array(z.string().min(1)).optional().meta({ description: 'Only these sources ("seed" includes seeds).' }),
  category: z.array(z.string().min(1)).optional().meta({ description: 'Only these categories.' }),
  includeSeeds: z.boolean().default(false).meta({ description: 'Export seed tasks too.' }),
  shuffle: z.boolean().default(false).meta({ description: 'Order rows by a seeded hash instead of by task id.' }),
  seed: z.number().int().min(0).optional().meta({ description: 'Shuffle seed (default 0); needs shuffle.' }),
  maxTrainTokens: positiveInt
    .optional()
    .meta({ description: 'Leave out rows whose training text has more tokens than this. (Formerly `maxTokens`.)' }),
  tokenizer: z
    .string()
    .min(1)
    .optional()
    .meta({
      description: `Tokenizer for maxTrainTokens and token stats: ${TOKENIZERS.join(', ')} or the path of a Hugging Face tokenizer.json (the trainer's). Default llama2.`,
    }),
  fileFormat: z
    .enum(FILE_FORMATS)
    .default('jsonl')
    .meta({ description: 'Record files: JSON Lines or Parquet (Snappy, nested columns for conversations).' }),
  hfLayout: z.boolean().default(false).meta({
    description: 'Hugging Face file names: data/train-00000-of-00001.<ext> and data/validation-00000-of-00001.<ext>.',
  }),
  tokenStats: z.boolean().default(false).meta({ description: 'Count tokens of every row without leaving any out.' }),
  trainTemplate: z.string().min(1).optional().meta({
    description:
      'Training template (name in templates/ or a file) for prompt-completion records and token counts. Default alpaca. (Formerly `template`.)',
  }),
  system: z.string().min(1).optional().meta({ description: 'System prompt for sharegpt and messages records.' }),
  datasetName: z
    .string()
    .regex(DATASET_NAME, 'expected a letter, then letters, digits, _ . or - (at most 100)')
    .default(DEFAULT_DATASET_NAME)
    .meta({
      description:
        "LLaMA-Factory dataset name that follows LATEST: out's dataset_info.json points it at the newest export (the export's own is <name>_<export-id>).",
    }),
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
  keepContaminated: z
    .boolean()
    .default(false)
    .meta({ description: 'Export tasks `decontaminate` found overlapping a benchmark too (default: left out, counted in the manifest).' }),
  select: positiveInt.optional().meta({
    description:
      'Quality-diversity export: keep N rows, by judge score, each below `diversity` cosine to every row kept before (needs `embed`).',
  }),
  diversity: z.number().gt(0).max(1).optional().meta({ description: 'Cosine threshold of `select`. Default 0.9.' }),
  embeddingModel: z.string().min(1).optional().meta({ description: 'Embeddings `select` compares. Default: the newest stored.' }),
});

export type ExportSettings = z.input<typeof exportSettingsSchema> & {
  /** @deprecated Renamed `trainTemplate`; still read, with a DeprecationWarning. */
  template?: string | undefined;
  /** @deprecated Renamed `maxTrainTokens`; still read, with a DeprecationWarning. */
  maxTokens?: number | undefined;
};
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
  benchmark: benchmarkPaths.optional(),
  benchmarkThreshold: benchmarkThreshold,
  benchmarkField: benchmarkField,
});
export type ImportSettings = z.input<typeof importSettingsSchema>;

/** Options of `decontaminate()`: flag stored tasks that copy benchmark items. */
export const decontaminateSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  benchmark: benchmarkPaths,
  name: z
    .array(z.string().min(1))
    .optional()
    .meta({ description: "Names of the benchmarks, in the order of `benchmark`. Default: each folder's or file's name." }),
  field: benchmarkField,
  threshold: benchmarkThreshold,
});
export type DecontaminateSettings = z.input<typeof decontaminateSettingsSchema>;

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
  endpoints: endpointsSchema,
  filter: z.boolean().default(false).meta({ description: 'Apply the instruction quality rules to the records of in.' }),
  dedup: z
    .boolean()
    .default(true)
    .meta({ description: 'false: keep near-duplicates of the records of in (exact repeats are still skipped).' }),
  keepExisting: z.boolean().default(false).meta({ description: 'Keep the output a record of in has (it is then not answered).' }),
  similarity: z.number().min(0.5).max(1).default(0.7),
  concurrency: positiveInt.default(8),
  maxTokens: positiveInt.optional().meta({ description: 'Completion limit of one answer. Default 2048.' }),
  answerTemplate: z.string().min(1).optional().meta({
    description:
      'Answer prompt user-message template with {{instruction}} and {{input}}. Default templates/answer_user.txt. (Formerly `template`.)',
  }),
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
export type AnswerSettings = z.input<typeof answerSettingsSchema> & {
  /** @deprecated Renamed `answerTemplate`; still read, with a DeprecationWarning. */
  template?: string | undefined;
};

/** Options of `judgeTasks()`: scores for accepted tasks, by a judge model. */
export const judgeSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  model: z.string().min(1).default(DEFAULT_JUDGE_MODEL).meta({ description: 'Judge model.' }),
  baseURL: z.string().url().optional(),
  endpoints: endpointsSchema,
  rubric: z.string().min(1).optional().meta({ description: 'Rubric template with {{tasks}}. Default templates/judge_rubric.txt.' }),
  tasksPerRequest: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(DEFAULT_JUDGE_TASKS_PER_REQUEST)
    .meta({ description: 'Tasks judged in one request.' }),
  since: z
    .union([z.enum(['last', 'all']), positiveInt])
    .default('all')
    .meta({
      description:
        'last | all | a run id. all (the default): every task this judge has not scored yet (it never scores one twice); last: the last generation run.',
    }),
  source: z.array(z.string().min(1)).optional().meta({ description: 'Only these sources (generated, an import name).' }),
  concurrency: positiveInt.default(4),
  batch: batchFlag,
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

/** A UTC date (YYYY-MM-DD) or an ISO time, compared with the stored UTC ISO timestamps. */
const isoDate = z
  .string()
  .refine(
    (v) => /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/.test(v) && !Number.isNaN(Date.parse(v)),
    'expected a date YYYY-MM-DD or an ISO time (UTC)',
  );

/** Options of `reportFigures()` and `writeReport()`. */
export const reportSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  since: z
    .union([z.enum(['last', 'all']), positiveInt])
    .default('all')
    .meta({
      description:
        'last | all | a run id, as in export and judge. all (the default): every task but the seeds; last: the last generation run.',
    }),
  run: positiveInt.optional().meta({ description: 'Only this run (same as since: RUN).' }),
  from: isoDate.optional().meta({ description: 'Only tasks created on or after this UTC date or ISO time.' }),
  out: z.string().min(1).default(DEFAULT_REPORT).meta({ description: 'HTML file writeReport() writes.' }),
  embeddingModel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Embeddings of the data map and the nearest-neighbour figure. Default: the newest stored.' }),
  tokenizer: z
    .string()
    .min(1)
    .default('llama2')
    .meta({
      description: `Tokenizer of the training-token histogram: ${TOKENIZERS.join(', ')} or the path of a Hugging Face tokenizer.json (the trainer's).`,
    }),
});
export type ReportSettings = z.input<typeof reportSettingsSchema>;

/**
 * Options renamed so that one name means one thing in every command (issue 22): `template` was the
 * prompt, the training or the answer template, and `maxTokens` a completion limit in `generate` but a
 * training-length filter in `export`. The old names keep working (flags, config keys, library options),
 * each with one deprecation line.
 */
export const RENAMED_OPTIONS = {
  generate: { template: 'promptTemplate' },
  export: { template: 'trainTemplate', maxTokens: 'maxTrainTokens' },
  answer: { template: 'answerTemplate' },
} as const satisfies Record<string, Record<string, string>>;
export type RenamingCommand = keyof typeof RENAMED_OPTIONS;

const RENAMES_OF = new Map<z.ZodType, RenamingCommand>([
  [generateSettingsSchema, 'generate'],
  [exportSettingsSchema, 'export'],
  [answerSettingsSchema, 'answer'],
]);

/**
 * `options` with the old names of `command`'s options moved to the new ones; `onRenamed` is called once
 * per old name used. Both names at once is a UsageError: which one wins would be a guess.
 */
export function renameOptions<T extends Record<string, unknown>>(
  command: RenamingCommand,
  options: T,
  onRenamed: (from: string, to: string) => void,
): T {
  const table: Record<string, string> = RENAMED_OPTIONS[command];
  let out: Record<string, unknown> | undefined;
  for (const [from, to] of Object.entries(table)) {
    if (!Object.hasOwn(options, from)) continue;
    if (Object.hasOwn(options, to)) throw new UsageError(`give only one of "${from}" (the old name) and "${to}"`, { option: to });
    out ??= { ...options };
    out[to] = out[from];
    delete out[from];
    onRenamed(from, to);
  }
  return (out ?? options) as T;
}

/** Options of `evolve()`: accepted tasks rewritten deeper, harder and rarer (Evol-Instruct), then answered. */
export const evolveSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  rounds: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .meta({ description: "Rounds 1..rounds; each round's survivors are the next round's parents." }),
  ops: z
    .array(z.enum(EVOLVE_OPS))
    .min(1)
    .default([...EVOLVE_OPS])
    .meta({ description: 'Operations drawn from, one per parent and round (fixed by task and round).' }),
  model: z.string().min(1).default('gpt-3.5-turbo').meta({ description: 'The model that rewrites instructions.' }),
  answerModel: z.string().min(1).optional().meta({ description: 'The model that answers evolved instructions. Default: model.' }),
  checkModel: z.string().min(1).optional().meta({
    description:
      'A cheap model asked whether each evolved instruction adds anything to its parent (templates/evolve_check.txt); "no" eliminates it as evolve_no_gain before it is answered. Default: no such check.',
  }),
  n: positiveInt
    .optional()
    .meta({ description: 'Answered evolved tasks this run must add (a resumed run counts what it has). Default: evolve the whole pool.' }),
  since: z
    .union([z.enum(['all', 'last']), positiveInt])
    .default('all')
    .meta({ description: 'Roots: all accepted tasks, those of the last generation run, or of one run id.' }),
  minScore: z
    .number()
    .min(1)
    .max(10)
    .optional()
    .meta({ description: 'Roots need their latest judge score at least this (evolved parents too, once judged).' }),
  minAdded: positiveInt
    .default(40)
    .meta({ description: 'Characters an evolution may add to an instruction: at least this, or as many as the parent has.' }),
  templates: z.string().min(1).optional().meta({ description: 'Folder with evolve_<op>.txt templates. Default: the package templates/.' }),
  baseURL: z.string().url().optional(),
  endpoints: endpointsSchema,
  concurrency: positiveInt.default(8),
  batch: batchFlag,
  similarity: z.number().min(0.5).max(1).default(0.7).meta({ description: 'Reject an evolved task at least this similar to a kept one.' }),
  temperature: z.number().min(0).max(2).default(0.7),
  maxTokens: positiveInt.default(1024).meta({ description: 'Completion limit of one evolution.' }),
  answerMaxTokens: positiveInt.optional().meta({ description: 'Completion limit of one answer. Default 2048.' }),
  answerRetries: z.number().int().min(0).max(10).optional(),
  timeout: z.number().positive().default(120),
  retries: z.number().int().min(0).max(20).default(3),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  maxCost: z.number().positive().optional().meta({ description: 'Stop cleanly before the run (both stages) could spend more (USD).' }),
  maxRequests: positiveInt.optional(),
  prices: z.union([z.string().min(1), z.record(z.string().min(1), price)]).optional(),
  price: price.optional().meta({ description: "The rewriting model's price; wins over the tables." }),
  answerPrice: price.optional().meta({ description: "The answer model's price; wins over the tables." }),
  checkPrice: price.optional().meta({ description: "The check model's price; wins over the tables." }),
  maxConsecutiveFailures: positiveInt.default(20),
  newRun: z.boolean().default(false).meta({ description: 'Start a new evolve run even if the last one is unfinished.' }),
  dryRun: z.boolean().default(false).meta({ description: 'Count the pool by round and the worst-case cost; send nothing.' }),
  probe: z.boolean().default(true),
  drainTimeout: z.number().nonnegative().default(10),
});
export type EvolveSettings = z.input<typeof evolveSettingsSchema>;

/** Default embedding model of `embed` and `export --select`. */
export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

/** Options of `embed()`. */
export const embedSettingsSchema = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB),
  model: z.string().min(1).default(DEFAULT_EMBEDDING_MODEL).meta({ description: 'Embedding model (/v1/embeddings).' }),
  baseURL: z.string().url().optional(),
  endpoints: endpointsSchema,
  since: z
    .union([z.enum(['all', 'last']), positiveInt])
    .default('all')
    .meta({ description: 'all | last (the last generation run) | a run id.' }),
  perRequest: z.number().int().min(1).max(2048).default(64).meta({ description: 'Texts embedded in one request.' }),
  concurrency: positiveInt.default(4),
  batch: batchFlag,
  maxCost: z.number().positive().optional(),
  maxRequests: positiveInt.optional(),
  prices: z.union([z.string().min(1), z.record(z.string().min(1), price)]).optional(),
  price: price.optional(),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  timeout: z.number().positive().default(120),
  retries: z.number().int().min(0).max(20).default(3),
  probe: z.boolean().default(true),
  drainTimeout: z.number().nonnegative().default(10),
});
export type EmbedSettings = z.input<typeof embedSettingsSchema>;
