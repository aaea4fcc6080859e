/**
 * `manifest.json`: what one export holds, for the trainer and for an orchestrator that polls `LATEST`.
 * Written last inside the export folder; its presence means every file it lists is complete.
 */
import type { SelectionManifest } from './select.ts';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PipelineError } from '../errors.ts';
import type { ExportedFile, Selection } from '../store/exports.ts';
import type { QualityManifest } from './quality.ts';
import { FORMATS, type DatasetColumns, type Format } from './formats.ts';
import type { TokenSummary } from './tokens.ts';
import type { DialogueCounts } from './dialogue-tally.ts';

export const MANIFEST_SCHEMA_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const LATEST_FILE = 'LATEST';

export interface ManifestFile extends ExportedFile {
  /** `card` is the dataset card (README.md, records 0): documentation, not training data. */
  split: 'train' | 'valid' | 'card';
}

export interface TokenStats extends TokenSummary {
  /** The limit in force (`--max-tokens`), or null when counting only. */
  maxTokens: number | null;
  /** Rows left out because their training text was longer than maxTokens. */
  droppedForLength: number;
}

export interface ChineseTokenRatio {
  tokenizer: 'llama2';
  /**
   * Rows measured: every selected row when the selection has at most the sample size (2000 by default),
   * else every ceil(total / sample size)-th row in export order. Rows later left out by `--max-tokens`
   * are measured too.
   */
  rows: number;
  /** Whether `rows` is fewer than the selected rows. */
  sampled: boolean;
  /** Code points of instruction + input + output, and how many are Han characters. */
  chars: number;
  hanChars: number;
  tokens: number;
  tokensPerChar: number;
}

export interface ContaminationManifest {
  keepContaminated: boolean;
  benchmarks: {
    name: string;
    items: number;
    sha256: string;
    threshold: number;
    checkedAt: string;
    /** Rows of this export's selection overlapping it: left out, or kept with keepContaminated. */
    removed: number;
    kept: number;
  }[];
  /** All rows left out as contaminated. */
  removed: number;
}

export interface Manifest {
  schemaVersion: number;
  exportId: string;
  format: Format;
  createdAt: string;
  tool: { name: string; version: string };
  database: string;
  options: {
    since: 'last' | 'all' | number;
    validRatio: number;
    selection: Selection;
    shuffle: boolean;
    seed: number | null;
    maxTokens: number | null;
    /** A built-in tokenizer's name or the tokenizer.json path given. */
    tokenizer: string | null;
    system: string | null;
    /** Absent in manifests written before Parquet: jsonl. */
    fileFormat?: 'jsonl' | 'parquet';
    hfLayout?: boolean;
  };
  files: ManifestFile[];
  /**
   * LLaMA-Factory's registry: the export's own dataset_info.json and the names in it; `name` is the
   * stable name the output folder's dataset_info.json moved to this export; `columns`, the optional
   * columns its rows carry.
   */
  datasetInfo: { file: string; datasets: string[]; name: string; columns: Partial<Record<'train' | 'valid', DatasetColumns>> };
  records: { total: number; train: number; valid: number; droppedForLength: number };
  counts: {
    bySource: Record<string, number>;
    /** Uncategorised rows under "". */
    byCategory: Record<string, number>;
    /** Rows with no run (seeds, imports) under "". */
    byRun: Record<string, number>;
  };
  /** Evolved rows (source `evolved`, counted in `counts.bySource.evolved`) by the round that made them. */
  evolution: { byRound: Record<string, number> };
  /** The models that wrote the rows (rows from seeds and imports have none). */
  models: Record<string, number>;
  /** The generation prompt templates behind the rows, by content hash. */
  generationTemplates: { name: string; sha256: string; records: number }[];
  /** Rows whose output is an answer written in its own request (two-stage, `answer`): by model and answer prompt. */
  answers: { models: Record<string, number>; templates: { name: string; sha256: string; records: number }[] };
  /** The training template rendered into prompt-completion records and counted in token stats. */
  trainingTemplate: { name: string; sha256: string; noInputSha256: string };
  /** Near-duplicate thresholds of the runs the rows came from (null: not recorded). */
  similarity: { thresholds: number[]; byRun: Record<string, number | null> };
  tokens: Record<string, TokenStats>;
  /**
   * The tokenizer the token stats and the length filter used: its name, the vocabulary file's name and
   * sha256, and whether chat records were counted through its chat template or as plain text.
   */
  tokenizer?: { name: string; file: string; sha256: string; countedAs: 'chat template' | 'text' };
  chineseTokens: ChineseTokenRatio | null;
  /** Conversations among the records (dialogue mode); absent when there are none. */
  dialogues?: DialogueCounts;
  /**
   * The benchmarks the store was checked against (`decontaminate`, `generate --benchmark`): each one's
   * files and how many rows of this selection overlapping it were left out (or kept, with
   * keepContaminated). Absent when the store was never checked.
   */
  contamination?: ContaminationManifest;
  /** Curated exports only (--min-score / --drop-flags): the judge, threshold, what was dropped, scores. */
  quality?: QualityManifest;
  /** `--select` (issue 24): the quality-diversity selection. */
  selection?: SelectionManifest;
  split: { validRatio: number; rule: string };
  order: string;
  /** The task ids this export covered: the next `--since last` into this folder starts after throughTaskId. */
  rows: {
    since: 'last' | 'all' | 'run';
    runId: number | null;
    afterTaskId: number;
    throughTaskId: number;
    firstTaskId: number | null;
    lastTaskId: number | null;
    previousExportId: string | null;
  };
}

/** The id LATEST names, or undefined when there is none yet. */
export function readLatest(outDir: string): string | undefined {
  try {
    const id = fs.readFileSync(path.join(outDir, LATEST_FILE), 'utf8').trim();
    return id === '' ? undefined : id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const COLUMNS = z.object({ history: z.boolean(), system: z.boolean() });

/** The part of a manifest read back (recovering an export that died after publishing LATEST). */
const storedManifestSchema = z.looseObject({
  schemaVersion: z.number(),
  exportId: z.string(),
  format: z.enum(FORMATS),
  // Absent in manifests written before the stable dataset name.
  datasetInfo: z
    .looseObject({ name: z.string().optional(), columns: z.partialRecord(z.enum(['train', 'valid']), COLUMNS).optional() })
    .optional(),
  records: z.looseObject({ total: z.number().int(), droppedForLength: z.number().int() }),
  files: z.array(
    z.looseObject({
      path: z.string(),
      split: z.enum(['train', 'valid', 'card']),
      records: z.number().int(),
      bytes: z.number().int(),
      sha256: z.string(),
    }),
  ),
});

export type StoredManifest = z.output<typeof storedManifestSchema>;

/** Reads and checks `manifest.json`; a file that is not one is reported with its path. */
export function readManifest(exportDir: string): StoredManifest {
  const file = path.join(exportDir, MANIFEST_FILE);
  const result = storedManifestSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!result.success)
    throw new PipelineError('failed', `${file}: not a manifest this version can read (${result.error.issues[0]?.message})`);
  return result.data;
}
