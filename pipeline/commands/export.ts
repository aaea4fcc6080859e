/**
 * `exportDataset()`: one training export from one options object. Checks the options against each
 * other, opens the database, loads the training template and runs the export (see export.ts).
 */
import fs from 'node:fs';
import { PipelineError, UsageError } from '../errors.ts';
import { LockedError } from '../lock.ts';
import { asStorageError } from '../store/storage-errors.ts';
import { DEFAULT_JUDGE_MODEL } from '../judge/request.ts';
import { resolveExportSettings, type ExportSettings, type ResolvedExportSettings } from '../options.ts';
import { JudgmentStore } from '../store/judgments.ts';
import { parseDropFlags, type QualityFilter } from '../export/quality.ts';
import { Store } from '../store/store.ts';
import { runExport, type ExportResult } from '../export/export.ts';
import { normalizeSelection } from '../export/selection.ts';
import { DEFAULT_TRAINING_TEMPLATE, loadTrainingTemplate } from '../export/template.ts';
import { DEFAULT_DIVERSITY, selectionModel } from '../export/select.ts';

export type ExportDatasetOptions = ExportSettings & {
  /** Checked between chunks: a stopped export cleans up, publishes nothing and throws. */
  signal?: AbortSignal;
};

/** The curated export's filter (judge scores and flags), or null when none is asked for. */
function qualityFilter(
  s: Pick<ResolvedExportSettings, 'minScore' | 'dropFlags' | 'judgeModel' | 'select'>,
  store: Store,
): QualityFilter | null {
  if (s.minScore === undefined && s.dropFlags === undefined) {
    // `select` orders by this judge's scores.
    if (s.judgeModel !== undefined && s.select === undefined)
      throw new UsageError('needs `minScore`, `dropFlags` or `select`', { option: 'judgeModel' });
    return null;
  }
  const judgeModel = s.judgeModel ?? new JudgmentStore(store).latestJudge()?.model ?? DEFAULT_JUDGE_MODEL;
  return { minScore: s.minScore ?? null, judgeModel, dropFlags: parseDropFlags(s.dropFlags ?? []) };
}

export async function exportDataset(options: ExportDatasetOptions): Promise<ExportResult> {
  const { signal, ...rest } = options;
  const s = resolveExportSettings(rest);
  const chat = s.format === 'sharegpt' || s.format === 'messages';
  if (s.seed !== undefined && !s.shuffle) throw new UsageError('needs `shuffle`', { option: 'seed' });
  if (s.system !== undefined && !chat) throw new UsageError(`applies to sharegpt and messages, not ${s.format}`, { option: 'system' });
  if (s.system !== undefined && s.system.trim() === '') throw new UsageError('is empty', { option: 'system' });
  if (s.trainTemplate !== undefined && chat)
    throw new UsageError(`applies to alpaca and prompt-completion, not ${s.format}`, { option: 'trainTemplate' });
  if (!fs.existsSync(s.db)) throw new UsageError(`${s.db}: no such database`, { option: 'db' });
  const template = loadTrainingTemplate(s.trainTemplate ?? DEFAULT_TRAINING_TEMPLATE);
  const tokenizer = s.tokenizer ?? (s.maxTrainTokens !== undefined || s.tokenStats ? 'llama2' : null);
  if (s.select === undefined && (s.diversity !== undefined || s.embeddingModel !== undefined)) {
    throw new UsageError('needs `select`', { option: s.diversity !== undefined ? 'diversity' : 'embeddingModel' });
  }
  const store = Store.open(s.db);
  try {
    const select =
      s.select === undefined
        ? null
        : {
            n: s.select,
            threshold: s.diversity ?? DEFAULT_DIVERSITY,
            model: selectionModel(store, s.embeddingModel, s.db),
            judgeModel: s.judgeModel ?? new JudgmentStore(store).latestJudge()?.model ?? DEFAULT_JUDGE_MODEL,
          };
    return await runExport(store, {
      database: s.db,
      outDir: s.out,
      format: s.format,
      since: s.since,
      validRatio: s.validRatio,
      selection: {
        ...normalizeSelection(s.source, s.category, s.includeSeeds),
        ...(s.answerModel === undefined ? {} : { answerModel: s.answerModel }),
      },
      shuffleSeed: s.shuffle ? (s.seed ?? 0) : null,
      maxTokens: s.maxTrainTokens ?? null,
      tokenizer,
      fileFormat: s.fileFormat,
      hfLayout: s.hfLayout,
      template,
      system: s.system ?? null,
      datasetName: s.datasetName,
      quality: qualityFilter(s, store),
      keepContaminated: s.keepContaminated,
      select,
      ...(signal && { signal }),
    });
  } catch (err) {
    if (err instanceof LockedError)
      throw new PipelineError('locked', `another export is writing into ${s.out}: ${err.message}`, { cause: err });
    // A full or read-only disk: nothing was published, LATEST still names the last export.
    const storage = asStorageError(err, s.out);
    if (storage !== undefined)
      throw new PipelineError('failed', `${storage.message}; nothing was published, LATEST is unchanged`, { cause: err });
    throw err;
  } finally {
    store.close();
  }
}
