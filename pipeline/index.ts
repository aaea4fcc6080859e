/**
 * zh-self-instruct as a library. Every call takes one options object; options with a documented default
 * may be left out, and the library applies the default. Errors are `PipelineError`s with a `category`.
 *
 *   import { generate } from 'zh-self-instruct';
 *   const summary = await generate({ db: 'data/pipeline.db', n: 1000 });
 */
import { generate, type GenerateOptions } from './generate.ts';
import type { RunSummary } from './runtime/progress.ts';
import { Store, type OpenOptions } from './store/store.ts';

export { generate, prepareGenerate, type GenerateHooks, type GenerateOptions } from './generate.ts';
export { planGenerate, formatPlan, planJudge, planAnswer, formatStagePlan, type GeneratePlan, type StagePlan } from './plan.ts';
export { importTasks, type ImportResult, type ImportSummary } from './import.ts';
export { answer, type AnswerOptions } from './answer/answer.ts';
export type { TwoStageSummary } from './answer/two-stage.ts';
export { judgeTasks, type JudgeTasksOptions } from './judge/judge-tasks.ts';
export { evolve, EvolveFailed, type EvolveOptions, type EvolveSummary } from './evolve/evolve.ts';
export { JudgeFailed, type JudgeSummary } from './judge/run.ts';
export { embed, EmbedFailed, type EmbedOptions, type EmbedSummary } from './embed/embed.ts';
export { reportFigures, writeReport, type DatasetReportOptions, type ReportData } from './report/index.ts';
export { exportDataset, type ExportDatasetOptions } from './export/dataset.ts';
export type { ExportResult } from './export/export.ts';
export type { Manifest } from './export/manifest.ts';
export { FORMATS, type Format } from './export/formats.ts';
export { dedupFiles, type DedupFilesResult } from './dedup-files.ts';
export { decontaminate, type DecontaminateOptions, type DecontaminateResult } from './decontaminate/decontaminate.ts';
export { dedupRecords, type DedupResult, type Rejection, type SourcedRecord } from './dedup/dedup-records.ts';
export { dedupKey, similarity } from './dedup/similarity.ts';
export { loadConfig, configJsonSchema, type Config } from './config.ts';
export type {
  AnswerSettings,
  DecontaminateSettings,
  DedupSettings,
  ExportSettings,
  GenerateSettings,
  ImportSettings,
  EvolveSettings,
  JudgeSettings,
} from './options.ts';
export type { GenerateEvent, Progress, RunSummary } from './runtime/progress.ts';
export { GenerationFailed } from './runtime/progress.ts';
export { PipelineError, UsageError, UnavailableError, type ErrorCategory } from './errors.ts';
export { LockedError } from './lock.ts';
export { LlmError } from './llm/errors.ts';
export { Store, type StoreStats } from './store/store.ts';
export type { Task, SeedTask } from './types.ts';

/** One step of a batch-mode run: collect what the provider finished, submit what is still missing. */
export function generateBatchStep(options: GenerateOptions): Promise<RunSummary> {
  return generate({ ...options, batch: true });
}

/** Opens (and migrates) a database; `readonly` opens an existing one for reading while a run writes. */
export function openStore(file: string, options: OpenOptions = {}): Store {
  return Store.open(file, options);
}
export { stats, type Stats, type StatsOptions } from './stats.ts';
