/**
 * `generate()`: a whole generation run from one options object, the library's main entry. It checks
 * every input before anything is written or sent (seeds, template, lists, prices, the database's
 * folder), then takes the database's lock, builds the client from `OPENAI_API_KEY` / `OPENAI_BASE_URL`
 * as the official client does, probes the server, opens the store and runs online (`runOnline`) or one
 * batch step (`runBatchStep`). The CLI and `demo` call this and nothing below it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runBatchStep } from './batch.ts';
import { PipelineError, UnavailableError, UsageError } from './errors.ts';
import { DEFAULT_RULE_OPTIONS } from './rules/index.ts';
import { createLlmClient, redact, type ChatParams, type LlmClient } from './llm.ts';
import { createBatchApi, type BatchApi } from './llm/batch-api.ts';
import { displayURL, hasUserinfo } from './llm/secrets.ts';
import { DEFAULT_PRICES, loadPriceFile, priceFor, type Price } from './llm/cost.ts';
import { createInlineJudge, type InlineJudgeOptions } from './judge/inline.ts';
import { loadRubric } from './judge/rubric.ts';
import { takeLock } from './lock.ts';
import { GenerationFailed, runOnline, type GenerateEvent, type OnlineOptions, type RunSummary } from './online.ts';
import { resolveGenerateSettings, type GenerateSettings, type ResolvedGenerateSettings } from './options.ts';
import { loadAnswerTemplate, type AnswerTemplate } from './answer/prompt.ts';
import { runTwoStage } from './answer/two-stage.ts';
import {
  DEFAULT_INSTRUCTION_TEMPLATE_FILES,
  DEFAULT_TASK_TYPE_LIST,
  DEFAULT_TEMPLATE_FILES,
  DEFAULT_TOPIC_LIST,
  loadList,
  loadTemplate,
  type Random,
  type Template,
} from './prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from './seeds.ts';
import { BatchStore } from './store/batches.ts';
import { asStorageError } from './store/storage-errors.ts';
import { Store } from './store/store.ts';
import type { SeedTask } from './types.ts';

export interface GenerateHooks {
  /** Default: `OPENAI_API_KEY`. May be left unset for a non-OpenAI base URL (vLLM, Ollama). */
  apiKey?: string;
  /** Where `OPENAI_*` are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Progress: start, each reply, failed requests, stopping. */
  onEvent?: (event: GenerateEvent) => void;
  /** Batch mode's steps (uploaded, created, polled, ingested, submitted), with their figures. */
  onLog?: (message: string, fields: Record<string, unknown>) => void;
  /** Things the caller should know that do not stop the run (a stale lock taken over). */
  onWarning?: (message: string) => void;
  /** Aborting stops new requests; in-flight ones get `drainTimeout` seconds, then are cancelled. */
  signal?: AbortSignal;
  random?: Random;
}

export type GenerateOptions = GenerateSettings & GenerateHooks;

/** Everything a run needs, read and checked; nothing opened yet. */
export interface PreparedGenerate {
  settings: ResolvedGenerateSettings;
  apiKey: string;
  baseURL: string | undefined;
  seeds: SeedTask[];
  template: Template;
  topics: string[];
  taskTypes: string[];
  price: Price | undefined;
  /** Two-stage runs: the answer prompt and the answer model's price. */
  answerTemplate: AnswerTemplate | undefined;
  answerPrice: Price | undefined;
  /** `judgeModel`: the inline judge's rubric and price. */
  judge: InlineJudgeOptions | undefined;
}

const OPENAI_HOST = /^https?:\/\/api\.openai\.com(\/|$)/;
const STORAGE_HINT = 'nothing stored is lost: free space (or make it writable) and run the same command again to resume';

/**
 * The base URL and key, found as the official client finds them (`baseURL`/`apiKey`, else
 * `OPENAI_BASE_URL`/`OPENAI_API_KEY`). A non-OpenAI server may go without a key.
 */
export function resolveEndpoint(
  givenURL: string | undefined,
  givenKey: string | undefined,
  env: NodeJS.ProcessEnv,
): { baseURL: string | undefined; apiKey: string } {
  const baseURL = givenURL ?? (env.OPENAI_BASE_URL || undefined);
  if (hasUserinfo(baseURL)) {
    // fetch refuses such URLs, and every message that quoted the URL would show the key: say so, without it.
    throw new UsageError(
      `OPENAI_BASE_URL (${displayURL(baseURL!)}) holds credentials before the host (user:key@), which are never sent: give the key in OPENAI_API_KEY`,
    );
  }
  const apiKey = givenKey ?? env.OPENAI_API_KEY ?? '';
  if (apiKey !== '') return { baseURL, apiKey };
  if (baseURL === undefined || OPENAI_HOST.test(baseURL)) {
    throw new UsageError('OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or set OPENAI_BASE_URL for another provider)', {
      option: 'apiKey',
    });
  }
  // Local servers (vLLM, Ollama) ignore it, but the client requires one.
  return { baseURL, apiKey: 'not-needed' };
}

/** Checks the options and reads every input file; throws a UsageError naming what is wrong. */
export function prepareGenerate(options: GenerateOptions): PreparedGenerate {
  const { apiKey: givenKey, env = process.env, onEvent: _e, onLog: _l, onWarning: _w, signal: _s, random: _r, ...rest } = options;
  const settings = resolveGenerateSettings(rest);
  const { baseURL, apiKey } = resolveEndpoint(settings.baseURL, givenKey, env);
  // Files of the package itself: found from its root, wherever the caller's working directory is.
  const seeds = loadSeeds(settings.seeds ?? DEFAULT_SEED_FILE);
  const templateFile =
    settings.template ??
    // Two-stage runs ask for instructions only (the options refuse `answerModel` in the dialogue mode).
    (settings.answerModel !== undefined && settings.mode !== 'dialogue'
      ? DEFAULT_INSTRUCTION_TEMPLATE_FILES[settings.mode]
      : DEFAULT_TEMPLATE_FILES[settings.mode]);
  const template = loadTemplate(templateFile, settings.mode);
  const answerTemplate =
    settings.answerModel === undefined
      ? undefined
      : loadAnswerTemplate({
          ...(settings.answerTemplate && { userFile: settings.answerTemplate }),
          ...(settings.answerSystem && { system: settings.answerSystem }),
        });
  const lists = settings.mode === 'topics' || settings.mode === 'dialogue';
  const topics = lists ? loadList(settings.topics ?? DEFAULT_TOPIC_LIST) : [];
  const taskTypes = lists ? loadList(settings.taskTypes ?? DEFAULT_TASK_TYPE_LIST) : [];
  checkDbDirectory(settings.db);
  const price = resolvePrice(settings);
  if (settings.maxCost !== undefined && price === undefined) {
    throw new UsageError(
      `needs the price of ${settings.model}, which is not in the built-in table: give \`price\` (USD per 1M prompt and completion tokens) or \`prices\``,
      { option: 'maxCost' },
    );
  }
  const answerPrice =
    settings.answerModel === undefined ? undefined : resolvePrice({ ...settings, model: settings.answerModel, price: undefined });
  if (settings.maxCost !== undefined && settings.answerModel !== undefined && answerPrice === undefined) {
    throw new UsageError(`needs the price of the answer model ${settings.answerModel}: add it with \`prices\``, { option: 'maxCost' });
  }
  return {
    settings,
    apiKey,
    baseURL,
    seeds,
    template,
    topics,
    taskTypes,
    price,
    answerTemplate,
    answerPrice,
    judge: inlineJudge(settings),
  };
}

/**
 * One generation run (or, with `batch`, one batch step) end to end. Resolves with the run's summary;
 * a run stopped by `signal` or a budget cap resolves too, with status `interrupted`. Throws a
 * `PipelineError`: `usage` (bad options or inputs), `locked` (another writer), `unavailable` (the
 * probe got no answer), `failed` (`GenerationFailed`, with the summary).
 */
export async function generate(options: GenerateOptions): Promise<RunSummary> {
  const prepared = prepareGenerate(options);
  const { settings, apiKey, baseURL } = prepared;
  const llm = createLlmClient({
    apiKey,
    baseURL,
    timeoutMs: settings.timeout * 1000,
    maxRetries: settings.retries,
    rateLimit: { rpm: settings.rpm, tpm: settings.tpm },
  });
  // Everything that can be checked without writing is checked before the lock file is made.
  if (settings.probe) await probe(llm, baseURL);
  Store.check(settings.db);
  const lock = takeLock(settings.db, `generate --n ${settings.n}`, options.onWarning);
  let store: Store | undefined;
  try {
    store = Store.open(settings.db);
    if (!settings.batch && !settings.newRun) refuseOpenBatches(store);
    if (!settings.newRun) refuseModeSwitch(store, settings.mode, settings.answerModel);
    const common = runSetup(prepared);
    const loop = {
      concurrency: settings.concurrency,
      maxConsecutiveFailures: settings.maxConsecutiveFailures,
      drainTimeoutMs: settings.drainTimeout * 1000,
    };
    try {
      const answer =
        prepared.answerTemplate !== undefined && settings.answerModel !== undefined
          ? {
              model: settings.answerModel,
              template: prepared.answerTemplate,
              maxTokens: settings.answerMaxTokens,
              retries: settings.answerRetries,
              price: prepared.answerPrice,
            }
          : undefined;
      return settings.batch
        ? await runBatchStep({ ...common, answer }, { store, api: batchApi(prepared), ...optional(options) })
        : answer !== undefined
          ? await runTwoStage({ ...common, ...loop, answer }, { store, llm, ...optional(options) })
          : await runOnline(
              { ...common, ...loop },
              {
                store,
                llm,
                ...optional(options),
                ...(prepared.judge && { judgeReply: createInlineJudge(prepared.judge, { store, llm }).judgeReply }),
              },
            );
    } catch (err) {
      if (err instanceof GenerationFailed) {
        // Messages of the API's errors are redacted already; a failure's message may quote one.
        const message = redact(err.message, apiKey);
        throw new GenerationFailed(err.summary.stopReason === 'storage' ? `${message}; ${STORAGE_HINT}` : message, err.summary, {
          cause: err,
        });
      }
      throw err;
    }
  } catch (err) {
    // A disk failure outside the request loop (starting or resuming the run): the same advice.
    const storage = err instanceof GenerationFailed ? undefined : asStorageError(err, settings.db);
    if (storage !== undefined) throw new PipelineError('failed', `${storage.message}: ${STORAGE_HINT}`, { cause: err });
    throw err;
  } finally {
    try {
      store?.close();
    } catch {
      // A full disk can refuse the final checkpoint; the WAL is replayed by the next open.
    }
    lock.release();
  }
}

/** The inline judge (`judgeModel`): its rubric and price, checked before anything runs. */
function inlineJudge(settings: ResolvedGenerateSettings): InlineJudgeOptions | undefined {
  if (settings.judgeModel === undefined) return undefined;
  const rubric = loadRubric();
  const price = resolvePrice({ ...settings, model: settings.judgeModel, price: undefined });
  if (settings.maxCost !== undefined && price === undefined) {
    throw new UsageError(`needs the price of the judge ${settings.judgeModel}, which is not in the built-in table: give \`prices\``, {
      option: 'maxCost',
    });
  }
  return {
    model: settings.judgeModel,
    rubric,
    price,
    tasksPerRequest: settings.judgeTasksPerRequest,
    minScore: settings.examplesMinScore,
  };
}

/** The options the online loop and the batch step share. */
function runSetup(p: PreparedGenerate): Omit<OnlineOptions, 'concurrency' | 'maxConsecutiveFailures' | 'drainTimeoutMs'> {
  const { settings } = p;
  const params: ChatParams = {
    model: settings.model,
    temperature: settings.temperature,
    top_p: settings.topP,
    max_tokens: settings.maxTokens,
  };
  const { probe: _p, ...runOptions } = settings;
  return {
    target: settings.n,
    mode: settings.mode,
    template: p.template,
    seeds: p.seeds,
    topics: p.topics,
    taskTypes: p.taskTypes,
    params,
    tasksPerRequest: settings.tasksPerRequest,
    maxOutputChars: settings.maxOutputChars,
    similarity: settings.similarity,
    filters: DEFAULT_RULE_OPTIONS,
    resume: !settings.newRun,
    // Stored with the run: the settings, never the key (the base URL is redacted too, in case it holds one).
    runOptions: { ...runOptions, baseURL: p.baseURL === undefined ? null : redact(p.baseURL, p.apiKey) },
    price: p.price,
    maxCostUsd: settings.maxCost,
    maxRequests: settings.maxRequests,
    maxEmptyReplies: settings.maxEmptyReplies,
    minAcceptedPerReply: settings.minAcceptRate,
    turns: settings.turns,
    machineExamples: { judgeModel: settings.judgeModel ?? null, minScore: settings.examplesMinScore },
  };
}

function batchApi(p: PreparedGenerate): BatchApi {
  return createBatchApi({ apiKey: p.apiKey, baseURL: p.baseURL, maxRetries: p.settings.retries });
}

/** The hooks the run loops take, without undefined members (exactOptionalPropertyTypes). */
function optional(o: GenerateHooks) {
  return {
    ...(o.onEvent && { onEvent: o.onEvent }),
    ...(o.onLog && { log: o.onLog }),
    ...(o.signal && { signal: o.signal }),
    ...(o.random && { random: o.random }),
  };
}

/** The model's price from \`price\`, else \`prices\` over the built-in table; undefined when none knows it. */
export function resolvePrice(settings: Pick<ResolvedGenerateSettings, 'price' | 'prices' | 'model'>): Price | undefined {
  if (settings.price !== undefined) return settings.price;
  const extra = settings.prices === undefined ? {} : typeof settings.prices === 'string' ? loadPriceFile(settings.prices) : settings.prices;
  return priceFor(settings.model, { ...DEFAULT_PRICES, ...extra });
}

/** The start-up probe: an UnavailableError when the server does not answer, a failure when it refuses the key. */
export async function probe(llm: LlmClient, baseURL: string | undefined): Promise<void> {
  try {
    await llm.probe();
  } catch (err) {
    const where = baseURL ?? 'https://api.openai.com/v1';
    // probe() throws LlmErrors, whose messages are redacted already.
    const message = (err as Error).message;
    if ((err as { kind?: string }).kind === 'auth')
      throw new PipelineError('failed', `the model API at ${where} refused the key: ${message}`, { cause: err });
    throw new UnavailableError(`the model API at ${where} does not answer (${message}); check OPENAI_BASE_URL and the network`, {
      cause: err,
    });
  }
}

/** An online run must not take over a run whose batch is still out: its results would be lost. */
function refuseOpenBatches(store: Store): void {
  const latest = store.latestRun();
  if (latest === undefined || latest.status === 'completed') return;
  const open = new BatchStore(store).openBatches(latest.id)[0];
  if (open === undefined) return;
  throw new UsageError(
    `run ${latest.id} has batch ${open.providerBatchId ?? open.id} out (${open.providerStatus ?? open.status}): continue it with \`batch\`, or start a new run with \`newRun\``,
  );
}

/**
 * A run counts what it accepted: resuming a task run as a dialogue run (or back) would mix the two, and
 * so would resuming a two-stage run (it counts answers; its batches may hold answer lines) as one-stage.
 */
function refuseModeSwitch(store: Store, mode: string, answerModel: string | undefined): void {
  const latest = store.latestRun();
  if (latest === undefined || latest.status === 'completed' || latest.mode === 'answer') return;
  if (latest.mode !== mode && (latest.mode === 'dialogue' || mode === 'dialogue')) {
    throw new UsageError(
      `run ${latest.id} is an unfinished ${latest.mode} run: resume it with \`mode\` ${latest.mode}, or start a new run with \`newRun\``,
    );
  }
  if ((latest.answerModel === null) !== (answerModel === undefined)) {
    throw new UsageError(
      latest.answerModel === null
        ? `run ${latest.id} is an unfinished one-stage run: resume it without \`answerModel\`, or start a new run with \`newRun\``
        : `run ${latest.id} is an unfinished two-stage run: resume it with \`answerModel\` ${latest.answerModel}, or start a new run with \`newRun\``,
      { option: 'answerModel' },
    );
  }
}

/** The database's folder must exist and be writable; said before anything else is touched. */
function checkDbDirectory(db: string): void {
  const dir = path.dirname(path.resolve(db));
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`${db}: directory ${dir} does not exist`, { option: 'db' });
  }
  if (!stat.isDirectory()) throw new UsageError(`${db}: ${dir} is not a directory`, { option: 'db' });
  // access(W_OK) says yes to root everywhere (even /proc): create and remove a file to be sure.
  const probeFile = path.join(dir, `.zhsi-write-check-${process.pid}`);
  try {
    fs.closeSync(fs.openSync(probeFile, 'wx'));
    fs.rmSync(probeFile, { force: true });
  } catch {
    throw new UsageError(`${db}: directory ${dir} is not writable`, { option: 'db' });
  }
}
