/**
 * `generate()`: a whole generation run from one options object, the library's main entry. It checks
 * every input before anything is written or sent (seeds, template, lists, prices, the database's
 * folder), then takes the database's lock, builds the client from `OPENAI_API_KEY` / `OPENAI_BASE_URL`
 * as the official client does, probes the server, opens the store and runs online (`runOnline`) or one
 * batch step (`generateBatch`). The CLI and `demo` call this and nothing below it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateBatch } from './generate-batch.ts';
import { PipelineError, UsageError } from '../errors.ts';
import { DEFAULT_RULE_OPTIONS, endpointSecrets } from '../rules/index.ts';
import { redact, type ChatParams } from '../llm.ts';
import { connect, type Connection } from '../llm/connect.ts';
import { probe, resolvePrice, type GenerateHooks } from '../startup.ts';
import { evolve, type EvolveSummary } from './evolve.ts';
import { simulatorMark, type ServerInfo } from '../llm/server-info.ts';
import { createBatchApi, type BatchApi } from '../llm/batch-api.ts';
import type { Price } from '../llm/cost.ts';
import type { InlineJudgeOptions } from '../stages/judge.ts';
import type { EmbedFollowerOptions } from '../stages/embed.ts';
import { loadRubric } from '../judge/rubric.ts';
import { takeLock } from '../lock.ts';
import { runOnline, type OnlineOptions } from './generate-stages.ts';
import { GenerationFailed, type RunSummary } from '../runtime/progress.ts';
import { resolveGenerateSettings, type GenerateSettings, type ResolvedGenerateSettings } from '../options.ts';
import { loadAnswerTemplate, type AnswerTemplate } from '../answer/prompt.ts';
import {
  DEFAULT_INSTRUCTION_TEMPLATE_FILES,
  DEFAULT_TASK_TYPE_LIST,
  DEFAULT_TEMPLATE_FILES,
  DEFAULT_TOPIC_LIST,
  loadTemplate,
} from '../prompt.ts';
import { loadList, type Template } from '../templates.ts';
import { DEFAULT_DB, makeDefaultDbFolder } from '../paths.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../seeds.ts';
import { BatchStore } from '../store/batches.ts';
import { asStorageError } from '../store/storage-errors.ts';
import { Store } from '../store/store.ts';
import type { SeedTask } from '../types.ts';
import { openBenchmarkGate, prepareBenchmarks, type PreparedBenchmarks } from '../decontaminate/gate.ts';

export type GenerateOptions = GenerateSettings & GenerateHooks;
export { probe, resolvePrice, type GenerateHooks } from '../startup.ts';

/** Everything a run needs, read and checked; nothing opened yet. */
export interface PreparedGenerate {
  settings: ResolvedGenerateSettings;
  apiKey: string;
  baseURL: string | undefined;
  /** The client over the one base URL or the several endpoints. */
  connection: Connection;
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
  /** `benchmark`: the benchmark files, read and indexed (issue 25). */
  benchmarks: PreparedBenchmarks | undefined;
}

const STORAGE_HINT = 'nothing stored is lost: free space (or make it writable) and run the same command again to resume';

/** Checks the options and reads every input file; throws a UsageError naming what is wrong. */
export function prepareGenerate(options: GenerateOptions): PreparedGenerate {
  const { apiKey: givenKey, env = process.env, onEvent: _e, onLog: _l, onWarning: _w, signal: _s, random: _r, ...rest } = options;
  const settings = resolveGenerateSettings(rest);
  const connection = connect(settings, givenKey, env);
  const { baseURL, apiKey } = connection;
  // Files of the package itself: found from its root, wherever the caller's working directory is.
  const seeds = loadSeeds(settings.seeds ?? DEFAULT_SEED_FILE);
  const templateFile =
    settings.promptTemplate ??
    // Two-stage runs ask for instructions only (dialogue runs: openings, answered and followed up turn by turn).
    (settings.answerModel !== undefined ? DEFAULT_INSTRUCTION_TEMPLATE_FILES[settings.mode] : DEFAULT_TEMPLATE_FILES[settings.mode]);
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
    connection,
    seeds,
    template,
    topics,
    taskTypes,
    price,
    answerTemplate,
    answerPrice,
    judge: inlineJudge(settings),
    benchmarks:
      settings.benchmark === undefined
        ? undefined
        : prepareBenchmarks(settings.benchmark, settings.benchmarkThreshold, { field: settings.benchmarkField }),
  };
}

/**
 * One generation run (or, with `batch`, one batch step) end to end. Resolves with the run's summary;
 * a run stopped by `signal` or a budget cap resolves too, with status `interrupted`. Throws a
 * `PipelineError`: `usage` (bad options or inputs), `locked` (another writer), `unavailable` (the
 * probe got no answer), `failed` (`GenerationFailed`, with the summary).
 */
export async function generate(options: GenerateOptions): Promise<RunSummary & { evolved?: EvolveSummary }> {
  const summary = await generateRun(options);
  const rounds = options.evolveRounds;
  if (rounds === undefined || summary.status !== 'completed') return summary;
  // `evolveRounds`: the run's accepted tasks evolved in the same invocation, within what is left of maxCost.
  const left = options.maxCost === undefined ? undefined : options.maxCost - summary.requests.costUsd;
  if (left !== undefined && left <= 0) return summary;
  const evolved = await evolve({
    db: options.db ?? DEFAULT_DB,
    rounds,
    since: summary.runId,
    model: options.model ?? 'gpt-3.5-turbo',
    ...pick(options, [
      'answerModel',
      'baseURL',
      'endpoints',
      'timeout',
      'retries',
      'rpm',
      'tpm',
      'prices',
      'concurrency',
      'apiKey',
      'env',
      'onEvent',
      'onWarning',
      'signal',
    ]),
    ...(left !== undefined && { maxCost: left }),
  });
  return { ...summary, evolved };
}

/** The members of `o` named, those that are set. */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** One generation run, or one batch step. */
async function generateRun(options: GenerateOptions): Promise<RunSummary> {
  const prepared = prepareGenerate(options);
  const { settings, baseURL } = prepared;
  const { llm } = prepared.connection;
  // Everything that can be checked without writing is checked before the lock file is made.
  // The database first: a wrong --db is said without sending anything (the probe is a request).
  Store.check(settings.db);
  const server = settings.probe ? await probe(llm, baseURL) : undefined;
  const lock = takeLock(settings.db, `generate --n ${settings.n}`, options.onWarning);
  let store: Store | undefined;
  try {
    store = Store.open(settings.db);
    if (!settings.batch && !settings.newRun) refuseOpenBatches(store);
    if (!settings.newRun) refuseModeSwitch(store, settings.mode, settings.answerModel);
    const common = {
      ...runSetup(prepared, server),
      benchmarks: prepared.benchmarks === undefined ? undefined : openBenchmarkGate(store, prepared.benchmarks),
    };
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
      const stages = { ...common, answer, judge: prepared.judge, embed: embedFollower(settings) };
      return settings.batch
        ? await generateBatch(stages, { store, api: batchApi(prepared), ...optional(options) })
        : await runOnline({ ...stages, ...loop }, { store, llm, ...optional(options) });
    } catch (err) {
      if (err instanceof GenerationFailed) {
        // Messages of the API's errors are redacted already; a failure's message may quote one.
        const message = prepared.connection.secrets.reduce((m, key) => redact(m, key), err.message);
        throw new GenerationFailed(err.summary.stopReason === 'storage' ? `${message}; ${STORAGE_HINT}` : message, err.summary, {
          cause: err,
          category: err.category === 'unavailable' ? 'unavailable' : 'failed',
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

/** The embedding follower (`embeddingModel`, issue 24): its model and price. */
function embedFollower(settings: ResolvedGenerateSettings): EmbedFollowerOptions | undefined {
  if (settings.embeddingModel === undefined) return undefined;
  return {
    model: settings.embeddingModel,
    price: resolvePrice({ ...settings, model: settings.embeddingModel, price: undefined }),
    semanticThreshold: settings.semanticThreshold,
  };
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
function runSetup(
  p: PreparedGenerate,
  server: ServerInfo | undefined,
): Omit<OnlineOptions, 'concurrency' | 'maxConsecutiveFailures' | 'drainTimeoutMs'> {
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
    // A task that carries the run's key is rejected (contains_secret), never stored as accepted.
    filters: { ...DEFAULT_RULE_OPTIONS, secrets: [...new Set([...p.connection.secrets, ...endpointSecrets(p.apiKey, p.baseURL)])] },
    resume: !settings.newRun,
    // Stored with the run: the settings, never the key (the base URL is redacted too, in case it holds one).
    runOptions: { ...runOptions, baseURL: p.baseURL === undefined ? null : redact(p.baseURL, p.apiKey), ...simulatorMark(server) },
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
  makeDefaultDbFolder(db);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`${db}: directory ${dir} does not exist (create it: mkdir -p ${dir})`, { option: 'db' });
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
