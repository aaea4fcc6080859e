/**
 * `judgeTasks()`: scores every accepted, non-seed task that this judge (model + rubric) has not judged
 * yet, end to end: checks the options, takes the database's lock, builds the client from `OPENAI_*`,
 * probes the server and runs online (`judge`) or one Batch API step (`judgeBatchStep`).
 */
import { UsageError } from '../errors.ts';
import { probe, resolvePrice, type GenerateHooks } from '../startup.ts';
import { connect } from '../llm/connect.ts';
import { redact } from '../llm.ts';
import { createBatchApi } from '../llm/batch-api.ts';
import { takeLock } from '../lock.ts';
import { judgeSettingsSchema, resolveOptions, type JudgeSettings } from '../options.ts';
import { Store } from '../store/store.ts';
import { judgeBatchStep } from './judge-batch.ts';
import { DEFAULT_RUBRIC_FILE, loadRubric } from '../judge/rubric.ts';
import { judge, JudgeFailed, type JudgeSummary } from './judge-run.ts';

export type JudgeTasksOptions = JudgeSettings & Omit<GenerateHooks, 'random'>;

export async function judgeTasks(options: JudgeTasksOptions): Promise<JudgeSummary> {
  const { apiKey: givenKey, env = process.env, onEvent, onLog, onWarning, signal, ...rest } = options;
  const s = resolveOptions(judgeSettingsSchema, rest);
  const connection = connect(s, givenKey, env);
  const { baseURL, apiKey } = connection;
  const rubric = loadRubric(s.rubric ?? DEFAULT_RUBRIC_FILE);
  const price = resolvePrice(s);
  if (s.maxCost !== undefined && price === undefined) {
    throw new UsageError(`needs the price of ${s.model}, which is not in the built-in table: give \`price\` or \`prices\``, {
      option: 'maxCost',
    });
  }
  const { llm } = connection;
  // Everything that can be checked without writing is checked before the lock file is made.
  // The database first: a wrong --db is said without sending anything (the probe is a request).
  Store.check(s.db);
  if (s.probe && !s.batch) await probe(llm, baseURL);
  const lock = takeLock(s.db, `judge --model ${s.model}`, onWarning);
  let store: Store | undefined;
  try {
    store = Store.open(s.db);
    const run = {
      model: s.model,
      rubric,
      tasksPerRequest: s.tasksPerRequest,
      concurrency: s.concurrency,
      since: s.since,
      sources: s.source,
      price,
      maxCostUsd: s.maxCost,
      maxRequests: s.maxRequests,
      jsonMode: s.jsonMode,
      drainTimeoutMs: s.drainTimeout * 1000,
      // Stored with the run: the settings, never the key.
      runOptions: { ...s, baseURL: baseURL === undefined ? null : redact(baseURL, apiKey) },
    };
    try {
      return s.batch
        ? await judgeBatchStep(run, {
            store,
            api: createBatchApi({ apiKey, baseURL, maxRetries: s.retries }),
            ...(signal && { signal }),
            ...(onLog && { log: onLog }),
          })
        : await judge(run, { store, llm, ...(signal && { signal }), ...(onEvent && { onEvent }) });
    } catch (err) {
      if (err instanceof JudgeFailed) throw new JudgeFailed(redact(err.message, apiKey), err.summary);
      throw err;
    }
  } finally {
    store?.close();
    lock.release();
  }
}
