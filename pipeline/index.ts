/**
 * zh-self-instruct as a library, and the one module the command line imports. Every call takes one
 * options object; options with a documented default may be left out, and the library applies the
 * default. Errors are `PipelineError`s with a `category`.
 *
 *   import { generate } from 'zh-self-instruct';
 *   const summary = await generate({ db: 'data/pipeline.db', n: 1000 });
 *
 * The asynchronous commands load their module on first call, so `stats`, `--help` and a command's own
 * flags start without the model client, the tokenizers, the report or the export writer.
 */
import type { TwoStageSummary } from './commands/answer-summary.ts';
import type { AnswerOptions } from './commands/answer.ts';
import type { ExportDatasetOptions } from './commands/export.ts';
import type { ExportResult } from './export/export.ts';
import type { GenerateOptions } from './commands/generate.ts';
import type { TrainingTokens, TrainingTokensOptions } from './training-tokens.ts';
import type { JudgeTasksOptions } from './commands/judge.ts';
import type { JudgeSummary } from './judge/summary.ts';
import type { EmbedOptions } from './commands/embed.ts';
import type { EmbedSummary } from './embed/summary.ts';
import type { EvolveOptions } from './commands/evolve.ts';
import type { EvolveSummary } from './evolve/summary.ts';
import type { AnswerSettings, JudgeSettings } from './options.ts';
import type { GeneratePlan, StagePlan } from './commands/plan-format.ts';
import type { DatasetReportOptions, ReportData } from './report/index.ts';
import type { RunSummary } from './runtime/progress.ts';

/** Generates accepted tasks into the database until `n` (or a budget, the signal, a failure) stops it. */
export async function generate(options: GenerateOptions): Promise<RunSummary & { evolved?: EvolveSummary }> {
  return (await import('./commands/generate.ts')).generate(options);
}

/** One step of a batch-mode run: collect what the provider finished, submit what is still missing. */
export function generateBatchStep(options: GenerateOptions): Promise<RunSummary & { evolved?: EvolveSummary }> {
  return generate({ ...options, batch: true });
}

/** `generate --dry-run`: what a run would do and roughly cost, sending nothing. */
export async function planGenerate(options: GenerateOptions): Promise<GeneratePlan> {
  return (await import('./commands/plan.ts')).planGenerate(options);
}

/** Answers instructions you already have (a file, or a stored source) with the model you choose. */
export async function answer(options: AnswerOptions): Promise<TwoStageSummary> {
  return (await import('./commands/answer.ts')).answer(options);
}

/** Scores accepted tasks (or answers) with a judge model; throws `JudgeFailed` when the run fails. */
export async function judgeTasks(options: JudgeTasksOptions): Promise<JudgeSummary> {
  return (await import('./commands/judge.ts')).judgeTasks(options);
}

/** Writes accepted tasks as training JSONL with a manifest and a dataset card. */
export async function exportDataset(options: ExportDatasetOptions): Promise<ExportResult> {
  return (await import('./commands/export.ts')).exportDataset(options);
}

/** Training length of the accepted tasks in a trainer's tokens (`stats --tokenizer`); loads the tokenizer. */
export async function trainingTokens(options: TrainingTokensOptions): Promise<TrainingTokens> {
  return (await import('./training-tokens.ts')).trainingTokens(options);
}

/** The report's figures, as `report --json` prints them. */
export async function reportFigures(options: DatasetReportOptions = {}): Promise<ReportData> {
  return (await import('./report/index.ts')).reportFigures(options);
}

/** Writes the HTML report of a database. */
export async function writeReport(options: DatasetReportOptions & { out?: string } = {}): Promise<{ data: ReportData; file: string }> {
  return (await import('./report/index.ts')).writeReport(options);
}

/** `judge --dry-run`: what judging would send and roughly cost, sending nothing. */
export async function planJudge(options: JudgeSettings & { env?: NodeJS.ProcessEnv | undefined }): Promise<StagePlan> {
  return (await import('./commands/plan.ts')).planJudge(options);
}

/** `answer --dry-run`: what answering would send and roughly cost, sending nothing. */
export async function planAnswer(options: AnswerSettings & { env?: NodeJS.ProcessEnv | undefined }): Promise<StagePlan> {
  return (await import('./commands/plan.ts')).planAnswer(options);
}

/** Rewrites accepted tasks by the Evol-Instruct operations and answers them; throws `EvolveFailed` when the run fails. */
export async function evolve(options: EvolveOptions): Promise<EvolveSummary> {
  return (await import('./commands/evolve.ts')).evolve(options);
}

/** Embeds accepted tasks with an embedding model; throws `EmbedFailed` when the run fails. */
export async function embed(options: EmbedOptions): Promise<EmbedSummary> {
  return (await import('./commands/embed.ts')).embed(options);
}

export type { AnswerOptions, DatasetReportOptions, ExportDatasetOptions, ExportResult, GenerateOptions, GeneratePlan, JudgeSummary };
export type { JudgeTasksOptions, ReportData, RunSummary, TwoStageSummary };
export type { GenerateHooks } from './commands/generate.ts';
export { formatPlan, formatStagePlan, type StagePlan } from './commands/plan-format.ts';
export { EvolveFailed, type EvolveSummary } from './evolve/summary.ts';
export { EmbedFailed, type EmbedSummary } from './embed/summary.ts';
export type { EvolveOptions } from './commands/evolve.ts';
export { EVOLVE_OPS, type EvolveOp } from './evolve/op-names.ts';
export { RENAMED_OPTIONS, renameOptions, type RenamingCommand } from './options.ts';
export type { EmbedOptions } from './commands/embed.ts';
export { importTasks, type ImportResult, type ImportSummary } from './commands/import.ts';
export { JudgeFailed } from './judge/summary.ts';
export { DEFAULT_MIN_SCORE } from './judge/examples.ts';
export { DEFAULT_DATASET_NAME } from './export/dataset-info.ts';
export type { Manifest } from './export/manifest.ts';
export { FILE_FORMATS, FORMATS, type FileFormat, type Format } from './export/formats.ts';
export { TOKENIZERS, type TokenizerName } from './export/tokens.ts';
export { describeSelection } from './export/selection.ts';
export { dedupFiles, type DedupFilesResult } from './commands/dedup-files.ts';
export { decontaminate, type DecontaminateOptions, type DecontaminateResult } from './commands/decontaminate.ts';
export { describeMatch } from './decontaminate/gate.ts';
export { dedupRecords, type DedupResult, type Rejection, type SourcedRecord } from './dedup/dedup-records.ts';
export { dedupKey, similarity } from './dedup/similarity.ts';
export { loadConfig, configJsonSchema, type Config } from './config.ts';
export { generateSettingsSchema } from './options.ts';
export type {
  AnswerSettings,
  DecontaminateSettings,
  DedupSettings,
  ExportSettings,
  GenerateSettings,
  ImportSettings,
  EmbedSettings,
  EvolveSettings,
  JudgeSettings,
} from './options.ts';
export type { GenerateEvent, Progress } from './runtime/progress.ts';
export { GenerationFailed } from './runtime/progress.ts';
export type { YieldGuardState } from './yield-guard.ts';
export { PipelineError, UsageError, UnavailableError, categoryOf, type ErrorCategory } from './errors.ts';
export { LockedError } from './lock.ts';
export { LlmError } from './llm/llm-error.ts';
export { parsePriceFlag, type Price } from './llm/cost.ts';
export { DEFAULT_DB } from './paths.ts';
export { commandLine } from './command.ts';
export type { TurnBounds } from './dialogue/types.ts';
export type { TrainingTokens, TrainingTokensOptions } from './training-tokens.ts';
export type { StoreStats } from './store/store.ts';
export type { AnswerStats, StageTotals } from './store/answers.ts';
export type { Task, SeedTask } from './types.ts';
export { stats, type Stats, type StatsOptions } from './commands/stats.ts';
export { sampleAccepted, type SampleOptions } from './commands/sample.ts';
