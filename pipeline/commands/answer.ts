/**
 * `answer()`: answers for instructions you already have, end to end. With `in`, a file's instructions
 * are stored as a source (the rules and the near-duplicate check, as `import`) and answered; with only
 * `source`, a stored source is answered (again) by `model`. Everything is read and checked before the
 * lock is taken and anything is sent; the run resumes after a kill like `generate`.
 */
import path from 'node:path';
import { readDatasetFile } from '../datasets.ts';
import { UsageError } from '../errors.ts';
import { probe, resolvePrice, type GenerateHooks } from '../startup.ts';
import { connect } from '../llm/connect.ts';
import { redact } from '../llm.ts';
import { simulatorMark } from '../llm/server-info.ts';
import { takeLock } from '../lock.ts';
import { GenerationFailed } from '../runtime/progress.ts';
import { answerSettingsSchema, resolveOptions, type AnswerSettings } from '../options.ts';
import { Store } from '../store/store.ts';
import { answerTasks, importInstructions } from './answer-run.ts';
import { loadAnswerTemplate } from '../answer/prompt.ts';
import type { TwoStageSummary } from './answer-summary.ts';

export type AnswerOptions = AnswerSettings & Omit<GenerateHooks, 'random'>;

/** The source the instructions are stored as (or, without `in`, the stored source to answer). */
export function answerSource(s: { in?: string | undefined; source?: string | undefined }): string {
  if (s.in === undefined && s.source === undefined)
    throw new UsageError('give `in` FILE (instructions to answer) or `source` NAME (a stored source)');
  const source = s.source ?? path.basename(s.in ?? '').replace(/\.(jsonl|json)$/i, '');
  if (source.trim() === '' || source === 'seed' || (s.in !== undefined && source === 'generated')) {
    throw new UsageError(`${JSON.stringify(source)}: choose another name (seed and generated are the pipeline's own)`, {
      option: 'source',
    });
  }
  return source;
}

export async function answer(options: AnswerOptions): Promise<TwoStageSummary> {
  const { apiKey: givenKey, env = process.env, onEvent, onLog, onWarning, signal, ...rest } = options;
  const s = resolveOptions(answerSettingsSchema, rest);
  const source = answerSource(s);
  const connection = connect(s, givenKey, env);
  const { baseURL, apiKey } = connection;
  const tasks = s.in === undefined ? undefined : readDatasetFile(s.in, { allowEmptyInstruction: true, outputOptional: true });
  const template = loadAnswerTemplate({ ...(s.answerTemplate && { userFile: s.answerTemplate }), ...(s.system && { system: s.system }) });
  const price = resolvePrice(s);
  if (s.maxCost !== undefined && price === undefined) {
    throw new UsageError(`needs the price of ${s.model}: give \`price\` or \`prices\``, { option: 'maxCost' });
  }

  const { llm } = connection;
  // Everything that can be checked without writing is checked before the lock file is made.
  // The database first: a wrong --db is said without sending anything (the probe is a request).
  Store.check(s.db);
  const server = s.probe ? await probe(llm, baseURL) : undefined;
  const lock = takeLock(s.db, `answer --model ${s.model}`, onWarning);
  let store: Store | undefined;
  try {
    store = Store.open(s.db);
    if (tasks !== undefined) {
      const r = importInstructions(store, tasks, {
        source,
        similarity: s.similarity,
        dedup: s.dedup,
        filter: s.filter,
        keepExisting: s.keepExisting,
      });
      const reasons = Object.entries(r.rejected)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      onLog?.(
        `answer: ${r.total} records from ${s.in} as source "${source}": accepted ${r.accepted}, already stored ${r.alreadyImported}` +
          (reasons ? `, rejected (${reasons})` : ''),
        { source, total: r.total, accepted: r.accepted, alreadyImported: r.alreadyImported, rejected: r.rejected },
      );
    }
    try {
      return await answerTasks(
        {
          source,
          awaitingOnly: tasks !== undefined,
          answer: { model: s.model, template, maxTokens: s.maxTokens, retries: s.answerRetries, price },
          concurrency: s.concurrency,
          drainTimeoutMs: s.drainTimeout * 1000,
          maxCostUsd: s.maxCost,
          maxRequests: s.maxRequests,
          // Stored with the run: the settings, never the key.
          runOptions: {
            command: 'answer',
            ...s,
            baseURL: baseURL === undefined ? null : redact(baseURL, apiKey),
            ...simulatorMark(server),
          },
        },
        { store, llm, ...(signal && { signal }), ...(onEvent && { onEvent }) },
      );
    } catch (err) {
      if (err instanceof GenerationFailed) throw new GenerationFailed(redact(err.message, apiKey), err.summary, { cause: err });
      throw err;
    }
  } finally {
    store?.close();
    lock.release();
  }
}
