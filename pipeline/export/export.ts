/**
 * One export: accepted tasks → training JSONL or Parquet in `<out>/<export-id>/`, streamed row by row.
 *
 * Visibility is all or nothing: files are written into a hidden `.partial-<id>` folder, the manifest
 * last, the folder is renamed into place, then `LATEST` is replaced atomically, and only then does the
 * database mark the rows exported. A crash at any point leaves the previous export as LATEST, and the
 * next export into the same folder cleans up (or, if LATEST already names it, completes) the leftover.
 */
import { UsageError } from '../errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath, writeFileAtomic } from '../files.ts';
import { packagePath } from '../paths.ts';
import { z } from 'zod';
import { CardSample, writeCard } from './card.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import {
  ExportStore,
  type ExportedFile,
  type ExportEntry,
  type ExportRow,
  type ExportSince,
  type RowQuery,
  type Selection,
} from '../store/exports.ts';
import type { Store } from '../store/store.ts';
import { contentText, dataFileName, renderRecord, type FileFormat, type Format, type RenderOptions } from './formats.ts';
import {
  DATASET_INFO_FILE,
  datasetEntries,
  DEFAULT_DATASET_NAME,
  exportDatasetName,
  publishStableName,
  readOutputRegistry,
  type SplitColumns,
} from './dataset-info.ts';
import {
  LATEST_FILE,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_VERSION,
  readLatest,
  readManifest,
  type ChineseTokenRatio,
  type Manifest,
  type ManifestFile,
  type TokenStats,
} from './manifest.ts';
import { describeSelection, sameSelection } from './selection.ts';
import { splitOf } from './split.ts';
import type { TrainingTemplate } from './template.ts';
import { countChars, loadTokenizer, TokenHistogram, type Tokenizer } from './tokens.ts';
import { countedAs, dialogueTokens, taskTokens } from './train-tokens.ts';
import { JsonlSink, type RecordSink } from './writer.ts';
import { DialogueStore } from '../store/dialogues.ts';
// -- dialogues (issue 14)
import { dialogueContentText, recordProblem, renderDialogueRecord, takesDialogues } from './dialogue-records.ts';
import { DialogueTally, rowTurns } from './dialogue-tally.ts';
// -- end dialogues
import { QualityTally, type QualityFilter } from './quality.ts';
import { selectRows, type SelectRequest } from './select.ts';
import { ContaminationStore } from '../store/contamination.ts';
import type { ContaminationManifest } from './manifest.ts';

/** A problem with what was asked (nothing to export, a selection that would skip rows): bad usage. */
export class ExportError extends UsageError {
  override name = 'ExportError';
}

export interface ExportOptions {
  /** How the manifest names the database (the path the user gave). */
  database: string;
  outDir: string;
  format: Format;
  /** `last`: rows after the previous complete export into outDir; `all`; or one run's rows. */
  since: 'last' | 'all' | number;
  /** Share of rows, by key hash, written to valid.jsonl; 0 for none. */
  validRatio: number;
  selection: Selection;
  /** Shuffle with this seed; null keeps task id order. */
  shuffleSeed: number | null;
  /** Leave out rows whose training text has more tokens than this. */
  maxTokens: number | null;
  /** Count tokens of every row with this tokenizer, a built-in name or a tokenizer.json (required by maxTokens). */
  tokenizer: string | null;
  /** Record files as JSON Lines (the default) or Parquet. */
  fileFormat?: FileFormat;
  /** Hugging Face file names: data/train-00000-of-00001.<ext>, data/validation-00000-of-00001.<ext>. Default false. */
  hfLayout?: boolean;
  template: TrainingTemplate;
  system: string | null;
  /**
   * LLaMA-Factory's stable dataset name: `<outDir>/dataset_info.json` points it at each new export, as
   * LATEST; the export's own dataset_info.json names it `<name>_<export-id>`. Default zh_self_instruct.
   */
  datasetName?: string;
  /** Rows tokenized with llama2 for the tokens-per-character figure. Default 2000; 0 skips it. */
  chineseSample?: number;
  /** Curated export (issue 12): a minimum judge score and flags to drop; null or absent: every row. */
  quality?: QualityFilter | null;
  /** Export rows `decontaminate` flagged as copying a benchmark too. Default false: they are left out. */
  keepContaminated?: boolean;
  /** Quality-diversity selection (issue 24): N rows by judge score, none within the cosine threshold of another. */
  select?: (SelectRequest & { judgeModel: string }) | null;
  /** Checked between chunks: a stopped export cleans up and throws. */
  signal?: AbortSignal;
  now?: () => Date;
}

export interface Housekeeping {
  exportId: string;
  /** recovered: LATEST already named it, so it completed; removed: its leftovers were deleted. */
  outcome: 'recovered' | 'removed';
}

export type ExportResult =
  | { kind: 'written'; exportId: string; dir: string; manifest: Manifest; housekeeping: Housekeeping[] }
  | { kind: 'empty'; previous: ExportEntry | undefined; afterTaskId: number; throughTaskId: number; housekeeping: Housekeeping[] };

const DEFAULT_CHINESE_SAMPLE = 2000;

export async function runExport(store: Store, options: ExportOptions): Promise<ExportResult> {
  if (options.maxTokens !== null && options.tokenizer === null) throw new ExportError('needs a tokenizer', { option: 'maxTokens' });
  let outDir: string;
  try {
    fs.mkdirSync(options.outDir, { recursive: true });
    outDir = fs.realpathSync(options.outDir);
  } catch (err) {
    throw new ExportError(
      `${options.outDir}: cannot use as the output folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let lock: Lock;
  try {
    lock = acquireLock(path.join(outDir, '.export'), 'export');
  } catch (err) {
    if (err instanceof LockedError) throw err;
    throw new ExportError(`${outDir}: cannot lock the output folder: ${(err as Error).message}`);
  }
  try {
    const exports = new ExportStore(store);
    const housekeeping = tidyUnfinished(exports, outDir);
    return await exportLocked(store, exports, outDir, options, housekeeping);
  } finally {
    lock.release();
  }
}

/** Under the folder's lock no other export is writing there, so every 'writing' row is a dead process's. */
function tidyUnfinished(exports: ExportStore, outDir: string): Housekeeping[] {
  const done: Housekeeping[] = [];
  const latest = readLatest(outDir);
  for (const entry of exports.unfinished(outDir)) {
    const dir = path.join(outDir, entry.exportId);
    if (latest === entry.exportId && fs.existsSync(path.join(dir, MANIFEST_FILE))) {
      // It died after publishing LATEST but before telling the database: the export is whole.
      const manifest = readManifest(dir);
      // It may have died before moving the stable dataset name too.
      const { name, columns } = manifest.datasetInfo ?? {};
      if (name !== undefined && columns !== undefined)
        publishStableName(outDir, name, datasetEntries(manifest.format, name, manifest.files, columns, `${entry.exportId}/`));
      exports.complete(entry.id, {
        records: manifest.records.total,
        dropped: manifest.records.droppedForLength,
        files: exportedFiles(manifest.files),
      });
      done.push({ exportId: entry.exportId, outcome: 'recovered' });
    } else {
      fs.rmSync(partialDir(outDir, entry.exportId), { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
      exports.close(entry.id, 'abandoned', 'the export process stopped before it completed');
      done.push({ exportId: entry.exportId, outcome: 'removed' });
    }
  }
  return done;
}

function partialDir(outDir: string, exportId: string): string {
  return path.join(outDir, `.partial-${exportId}`);
}

async function exportLocked(
  store: Store,
  exports: ExportStore,
  outDir: string,
  options: ExportOptions,
  housekeeping: Housekeeping[],
): Promise<ExportResult> {
  const through = exports.maxTaskId();
  const runId = typeof options.since === 'number' ? options.since : null;
  let previous: ExportEntry | undefined;
  let after = 0;
  if (runId !== null && !exports.runExists(runId)) throw new ExportError(`the database has no run ${runId}`, { option: 'since' });
  if (options.since === 'last') {
    previous = exports.lastComplete(outDir);
    if (previous !== undefined) {
      if (!sameSelection(previous.selection, options.selection)) {
        throw new ExportError(
          `last: the last export into ${outDir} (${previous.exportId}) selected ${describeSelection(previous.selection)}, ` +
            `this one ${describeSelection(options.selection)}; rows it left out would be skipped. Use \`since\` all or another \`out\``,
          { option: 'since' },
        );
      }
      after = previous.throughTaskId;
    }
  }
  // A registry beside LATEST that cannot be read is said now, before anything is written.
  readOutputRegistry(outDir);
  const datasetName = options.datasetName ?? DEFAULT_DATASET_NAME;
  const sinceKind: ExportSince = runId === null ? (options.since as 'last' | 'all') : 'run';
  const quality = options.quality ?? null;
  const query: RowQuery = {
    selection: options.selection,
    afterTaskId: after,
    throughTaskId: through,
    runId,
    shuffleSeed: options.shuffleSeed,
    excludeDialogues: !takesDialogues(options.format),
    judgeModel: quality?.judgeModel ?? options.select?.judgeModel ?? null,
  };

  const total = exports.countRows(query);
  if (total === 0) {
    // Nothing new, or nothing at all: only the latter is an error (counted again only when the range differs).
    if (after === 0 || exports.countRows({ ...query, afterTaskId: 0 }) === 0) {
      throw new ExportError(nothingMessage(exports, options.selection, runId));
    }
    return { kind: 'empty', previous, afterTaskId: after, throughTaskId: through, housekeeping };
  }

  const counter = options.tokenizer === null ? null : await loadTokenizer(options.tokenizer);
  const sampleSize = options.chineseSample ?? DEFAULT_CHINESE_SAMPLE;
  const llama = sampleSize > 0 ? await loadTokenizer('llama2') : null;

  const now = options.now?.() ?? new Date();
  const { id, exportId } = exports.begin(
    {
      outDir,
      format: options.format,
      since: sinceKind,
      runId,
      selection: options.selection,
      options: optionsRecord(options),
      afterTaskId: after,
      throughTaskId: through,
    },
    now,
  );
  const staging = partialDir(outDir, exportId);
  const finalDir = path.join(outDir, exportId);
  const sinks: RecordSink[] = [];
  const fileFormat = options.fileFormat ?? 'jsonl';
  const hfLayout = options.hfLayout ?? false;
  let renamed = false;
  try {
    fs.mkdirSync(staging);
    if (hfLayout) fs.mkdirSync(path.join(staging, 'data'));
    // Parquet fixes its columns up front: an alpaca file has `history` when the store holds conversations.
    const parquetColumns = {
      history: options.format === 'alpaca' && new DialogueStore(store).stats().accepted > 0,
      system: options.system !== null,
    };
    const open = async (split: 'train' | 'valid'): Promise<RecordSink> => {
      const file = path.join(staging, dataFileName(split, fileFormat, hfLayout));
      if (fileFormat === 'jsonl') return JsonlSink.open(file);
      const { ParquetSink } = await import('./parquet.ts');
      const tool = readTool();
      return ParquetSink.open(file, options.format, parquetColumns, `${tool.name} ${tool.version}`);
    };
    const train = await open('train');
    sinks.push(train);
    const valid = options.validRatio > 0 ? await open('valid') : null;
    if (valid) sinks.push(valid);

    const tally = new Tally();
    const histogram = counter === null ? null : new TokenHistogram();
    const chinese = new ChineseTally(llama, total, sampleSize);
    const card = new CardSample(total);
    const render: RenderOptions = { template: options.template, system: options.system };
    let dropped = 0;
    const qualityTally = quality === null ? null : new QualityTally(quality);
    const dialogues = new DialogueTally();
    // Splits holding a conversation: only their alpaca files have (and may map) a history column.
    const historyIn = new Set<'train' | 'valid'>();
    const contamination = new ContaminationTally(store, options.keepContaminated ?? false);
    const selected = options.select ? await selectRows(store, candidatesOf(store, exports, query, options), options.select) : null;

    for (const row of exports.rows(query)) {
      if (qualityTally !== null && !qualityTally.keep(row)) continue;
      if (!contamination.keep(row)) continue;
      if (selected !== null && !selected.keep.has(row.id)) continue;
      // -- dialogues (issue 14): a conversation row carries its turns
      const turns = row.kind === 'dialogue' ? rowTurns(row) : null;
      if (typeof turns === 'string') throw new ExportError(turns);
      // -- end dialogues
      chinese.offer(row, turns === null ? undefined : dialogueContentText(turns));
      if (counter !== null) {
        const tokens =
          turns === null ? taskTokens(counter, options.format, row, render) : dialogueTokens(counter, options.format, turns, render.system);
        if (options.maxTokens !== null && tokens > options.maxTokens) {
          dropped++;
          continue;
        }
        histogram!.add(tokens);
      }
      tally.add(row);
      card.offer(row);
      const sink = valid !== null && splitOf(row.key, options.validRatio) === 'valid' ? valid : train;
      let record: unknown;
      if (turns === null) record = renderRecord(options.format, row, render);
      else {
        // -- dialogues: checked against the format's rules before it is written; one bad record stops the export
        record = renderDialogueRecord(options.format, turns, render.system);
        const problem = recordProblem(options.format, record);
        if (problem !== undefined) {
          throw new ExportError(`task ${row.id}: the conversation breaks the ${options.format} rules (${problem}); nothing was published`);
        }
        dialogues.add(turns, row.dialogueTokens);
        historyIn.add(sink === train ? 'train' : 'valid');
      }
      sink.add(record);
      if (sink.full) {
        if (options.signal?.aborted) throw new ExportError('export stopped by a signal');
        await sink.flush();
      }
    }
    if (options.signal?.aborted) throw new ExportError('export stopped by a signal');
    const contaminationManifest = contamination.manifest();
    if (contaminationManifest !== null && tally.firstId === null && contaminationManifest.removed > 0) {
      throw new ExportError(
        `every row of the selection overlaps a benchmark (${contaminationManifest.removed} left out); nothing to export (\`keepContaminated\` keeps them)`,
      );
    }
    if (qualityTally !== null && qualityTally.manifest().kept === 0) {
      const q = qualityTally.manifest();
      throw new ExportError(
        `no row passes the judge filter (judge ${q.judgeModel}: ${q.dropped.belowScore} below \`minScore\`, ` +
          `${q.dropped.flagged} with \`dropFlags\`, ${q.dropped.unjudged} not judged; run the judge first?)`,
      );
    }

    const files: ManifestFile[] = [];
    for (const [sink, split] of [
      [train, 'train'],
      [valid, 'valid'],
    ] as const) {
      // The path relative to the export folder (data/… with hfLayout).
      if (sink !== null) files.push({ ...(await sink.close()), path: dataFileName(split, fileFormat, hfLayout), split });
    }
    const dialogueCounts = dialogues.result();
    const system = options.system !== null;
    const columns: SplitColumns = {
      train: { history: historyIn.has('train'), system },
      valid: { history: historyIn.has('valid'), system },
    };
    const datasetInfo = datasetEntries(options.format, exportDatasetName(datasetName, exportId), files, columns);
    writeFileAtomic(path.join(staging, DATASET_INFO_FILE), JSON.stringify(datasetInfo, null, 2) + '\n');

    const tokens: Manifest['tokens'] = {};
    if (counter !== null) {
      const stats: TokenStats = { ...histogram!.summary(), maxTokens: options.maxTokens, droppedForLength: dropped };
      tokens[counter.name] = stats;
    }
    const manifest: Manifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      exportId,
      format: options.format,
      createdAt: now.toISOString(),
      tool: readTool(),
      database: options.database,
      options: {
        since: options.since,
        validRatio: options.validRatio,
        selection: options.selection,
        shuffle: options.shuffleSeed !== null,
        seed: options.shuffleSeed,
        maxTokens: options.maxTokens,
        tokenizer: options.tokenizer,
        system: options.system,
        fileFormat,
        hfLayout,
      },
      files,
      datasetInfo: { file: DATASET_INFO_FILE, datasets: Object.keys(datasetInfo), name: datasetName, columns },
      records: {
        total: files.reduce((n, f) => n + f.records, 0),
        train: files.find((f) => f.split === 'train')?.records ?? 0,
        valid: files.find((f) => f.split === 'valid')?.records ?? 0,
        droppedForLength: dropped,
      },
      counts: { bySource: tally.bySource, byCategory: tally.byCategory, byRun: tally.byRun },
      evolution: { byRound: tally.evolvedByRound },
      models: tally.models,
      generationTemplates: [...tally.templates.entries()].map(([sha256, t]) => ({ name: t.name, sha256, records: t.records })),
      answers: {
        models: tally.answerModels,
        templates: [...tally.answerTemplates.entries()].map(([sha256, t]) => ({ name: t.name, sha256, records: t.records })),
      },
      trainingTemplate: {
        name: options.template.name,
        sha256: options.template.withInput.sha256,
        noInputSha256: options.template.noInput.sha256,
      },
      similarity: similarityOf(exports, tally.runIds()),
      tokens,
      ...(counter === null
        ? {}
        : {
            tokenizer: {
              name: counter.name,
              file: path.basename(counter.file),
              sha256: counter.sha256,
              countedAs: countedAs(counter, options.format),
            },
          }),
      ...(contaminationManifest === null ? {} : { contamination: contaminationManifest }),
      ...(qualityTally === null ? {} : { quality: qualityTally.manifest() }),
      ...(selected === null ? {} : { selection: selected.manifest }),
      chineseTokens: chinese.result(),
      // Only when there are conversations: a task-only manifest stays as it was.
      ...(dialogueCounts === null ? {} : { dialogues: dialogueCounts }),
      split: {
        validRatio: options.validRatio,
        rule: 'valid when the first 4 bytes of sha256(key), big-endian, divided by 2^32 are below validRatio; key = normalized instruction + input',
      },
      order: options.shuffleSeed === null ? 'task id' : `by the first 6 bytes of sha256("${options.shuffleSeed}\\n" + key), then task id`,
      rows: {
        since: sinceKind,
        runId,
        afterTaskId: after,
        throughTaskId: through,
        firstTaskId: tally.firstId,
        lastTaskId: tally.lastId,
        previousExportId: previous?.exportId ?? null,
      },
    };
    // The dataset card (README.md) before the manifest, and listed in it (split "card").
    files.push(await writeCard(staging, store, manifest, card));
    // The manifest goes in last: a folder with a manifest is a complete one.
    writeFileAtomic(path.join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    fsyncPath(staging);
    if (fs.existsSync(finalDir)) throw new Error(`${finalDir} already exists`);
    fs.renameSync(staging, finalDir);
    renamed = true;
    fsyncPath(outDir);
    writeFileAtomic(path.join(outDir, LATEST_FILE), `${exportId}\n`);
    publishStableName(outDir, datasetName, datasetEntries(options.format, datasetName, files, columns, `${exportId}/`));
    fsyncPath(outDir);
    exports.complete(id, { records: manifest.records.total, dropped, files: exportedFiles(files) });
    return { kind: 'written', exportId, dir: finalDir, manifest, housekeeping };
  } catch (err) {
    for (const sink of sinks) sink.destroy();
    fs.rmSync(staging, { recursive: true, force: true });
    // Renamed but LATEST not replaced: take the folder back, the rows were not exported.
    const published = renamed && readLatest(outDir) === exportId;
    if (renamed && !published) fs.rmSync(finalDir, { recursive: true, force: true });
    // Published but not recorded (the database failed): the next export into this folder completes it.
    if (!published) {
      try {
        exports.close(id, 'failed', (err as Error).message);
      } catch {
        // The database error that got us here; the row stays 'writing' and is tidied next time.
      }
    }
    throw err;
  }
}

/** Rows overlapping a benchmark (issue 25): left out unless kept, counted per benchmark for the manifest. */
class ContaminationTally {
  private readonly benchmarks: ReturnType<ContaminationStore['benchmarks']>;
  private readonly removed = new Map<number, number>();
  private readonly kept = new Map<number, number>();

  constructor(
    store: Store,
    private readonly keepAll: boolean,
  ) {
    this.benchmarks = new ContaminationStore(store).benchmarks();
  }

  keep(row: ExportRow): boolean {
    if (row.contaminatedBy === null) return true;
    const counts = this.keepAll ? this.kept : this.removed;
    counts.set(row.contaminatedBy, (counts.get(row.contaminatedBy) ?? 0) + 1);
    return this.keepAll;
  }

  /** Null when the store was never checked against a benchmark: the manifest stays as it was. */
  manifest(): ContaminationManifest | null {
    if (this.benchmarks.length === 0) return null;
    return {
      keepContaminated: this.keepAll,
      benchmarks: this.benchmarks.map((b) => ({
        name: b.name,
        items: b.items,
        sha256: b.sha256,
        threshold: b.threshold,
        checkedAt: b.checkedAt,
        removed: this.removed.get(b.id) ?? 0,
        kept: this.kept.get(b.id) ?? 0,
      })),
      removed: [...this.removed.values()].reduce((a, b) => a + b, 0),
    };
  }
}

/** Counts by source, category, run, model and template, plus the id range, over the written rows. */
class Tally {
  readonly bySource: Record<string, number> = {};
  readonly byCategory: Record<string, number> = {};
  readonly byRun: Record<string, number> = {};
  /** Evolved rows by their evolution round (issue 23). */
  readonly evolvedByRound: Record<string, number> = {};
  readonly models: Record<string, number> = {};
  readonly templates = new Map<string, { name: string; records: number }>();
  readonly answerModels: Record<string, number> = {};
  readonly answerTemplates = new Map<string, { name: string; records: number }>();
  firstId: number | null = null;
  lastId: number | null = null;

  add(row: ExportRow): void {
    bump(this.bySource, row.source);
    bump(this.byCategory, row.category ?? '');
    bump(this.byRun, row.runId === null ? '' : String(row.runId));
    if (row.evolveRound !== null) bump(this.evolvedByRound, String(row.evolveRound));
    if (row.model !== null) bump(this.models, row.model);
    if (row.templateSha256 !== null) countTemplate(this.templates, row.templateSha256, row.templateName);
    if (row.answerModel !== null) bump(this.answerModels, row.answerModel);
    if (row.answerTemplateSha256 !== null) countTemplate(this.answerTemplates, row.answerTemplateSha256, row.answerTemplateName);
    // Shuffled rows arrive in any id order.
    if (this.firstId === null || row.id < this.firstId) this.firstId = row.id;
    if (this.lastId === null || row.id > this.lastId) this.lastId = row.id;
  }

  runIds(): number[] {
    return Object.keys(this.byRun)
      .filter((k) => k !== '')
      .map(Number)
      .sort((a, b) => a - b);
  }
}

function countTemplate(templates: Map<string, { name: string; records: number }>, sha256: string, name: string | null): void {
  const t = templates.get(sha256);
  if (t) t.records++;
  else templates.set(sha256, { name: name ?? '', records: 1 });
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * LLaMA tokens per character of the tasks' own text, over evenly spaced rows of the selection: the
 * figure the Chinese-LLaMA vocabulary work set out to shrink.
 */
class ChineseTally {
  private readonly every: number;
  private seen = 0;
  private rows = 0;
  private chars = 0;
  private han = 0;
  private tokens = 0;

  constructor(
    private readonly llama: Tokenizer | null,
    private readonly total: number,
    sampleSize: number,
  ) {
    this.every = sampleSize > 0 ? Math.max(1, Math.ceil(total / sampleSize)) : Infinity;
  }

  offer(row: ExportRow, content?: string): void {
    if (this.llama !== null && this.seen++ % this.every === 0) {
      const text = content ?? contentText(row);
      const { chars, han } = countChars(text);
      this.rows++;
      this.chars += chars;
      this.han += han;
      this.tokens += this.llama.count(text);
    }
  }

  result(): ChineseTokenRatio | null {
    if (this.llama === null || this.chars === 0) return null;
    return {
      tokenizer: 'llama2',
      rows: this.rows,
      sampled: this.rows < this.total,
      chars: this.chars,
      hanChars: this.han,
      tokens: this.tokens,
      tokensPerChar: Math.round((this.tokens / this.chars) * 1000) / 1000,
    };
  }
}

/** The database's record of the files: the manifest's entries without their split. */
function exportedFiles(files: readonly ManifestFile[]): ExportedFile[] {
  return files.map(({ split: _split, ...file }) => file);
}

function similarityOf(exports: ExportStore, runIds: number[]): Manifest['similarity'] {
  const byRunMap = exports.runSimilarity(runIds);
  const byRun: Record<string, number | null> = {};
  const thresholds = new Set<number>();
  for (const [run, value] of byRunMap) {
    byRun[String(run)] = value;
    if (value !== null) thresholds.add(value);
  }
  return { thresholds: [...thresholds].sort((a, b) => a - b), byRun };
}

/** The rows a selection chooses from: those the other filters (judge, benchmarks) let through. */
function candidatesOf(store: Store, exports: ExportStore, query: RowQuery, options: ExportOptions) {
  const quality = options.quality ? new QualityTally(options.quality) : null;
  const contamination = new ContaminationTally(store, options.keepContaminated ?? false);
  const out: { taskId: number; score: number | null }[] = [];
  for (const row of exports.rows(query)) {
    if (quality !== null && !quality.keep(row)) continue;
    if (!contamination.keep(row)) continue;
    out.push({ taskId: row.id, score: row.judgeScore });
  }
  return out;
}

function optionsRecord(options: ExportOptions): Record<string, unknown> {
  return {
    validRatio: options.validRatio,
    shuffleSeed: options.shuffleSeed,
    maxTokens: options.maxTokens,
    tokenizer: options.tokenizer,
    fileFormat: options.fileFormat ?? 'jsonl',
    hfLayout: options.hfLayout ?? false,
    template: options.template.name,
    system: options.system,
  };
}

function nothingMessage(exports: ExportStore, selection: Selection, runId: number | null): string {
  const where = runId === null ? 'the database has' : `run ${runId} has`;
  const filtered = selection.sources !== null || selection.categories !== null || Boolean(selection.answerModel);
  if (filtered) return `${where} no accepted tasks matching ${describeSelection(selection)}`;
  const seeds = runId === null && !selection.includeSeeds ? exports.countSeeds() : 0;
  if (seeds > 0) return `${where} no accepted tasks to export besides ${seeds} seeds (add \`includeSeeds\` to export those)`;
  return `${where} no accepted tasks to export`;
}

/** Read when a manifest is built, not at import: every CLI command loads this module. */
function readTool(): { name: string; version: string } {
  const pkg = z.object({ name: z.string(), version: z.string() }).parse(JSON.parse(fs.readFileSync(packagePath('package.json'), 'utf8')));
  return { name: pkg.name, version: pkg.version };
}
