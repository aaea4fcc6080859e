/**
 * LLaMA-Factory's dataset registry (`dataset_info.json`) for exports, in two places:
 * - inside each export folder, the export's own name (`<name>_<export-id>`), fixed forever;
 * - in the output folder, beside LATEST, the stable name (`<name>`, default `zh_self_instruct`) that is
 *   moved to each new export as LATEST is, so a nightly training config can say `dataset_dir:
 *   data/exports` and `dataset: zh_self_instruct` and always train on the newest export.
 * Other entries of the output folder's file (another stable name, the user's own) are kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { datasetInfoEntry, type DatasetColumns, type Format } from './formats.ts';

export const DATASET_INFO_FILE = 'dataset_info.json';
export const DEFAULT_DATASET_NAME = 'zh_self_instruct';
/** Names that are safe as a YAML scalar and a JSON key in a training config. */
export const DATASET_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

type Entries = Record<string, Record<string, unknown>>;

export interface DatasetFile {
  path: string;
  split: 'train' | 'valid' | 'card';
}

/** The optional columns of each split's file: a file maps only columns its own rows carry. */
export type SplitColumns = Partial<Record<'train' | 'valid', DatasetColumns>>;

/** The name inside one export folder: `<name>_<export id with separators as _>`. */
export function exportDatasetName(name: string, exportId: string): string {
  return `${name}_${exportId.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

/**
 * Entries for the export's train and valid files: `name` for train, `name_valid` for valid, their
 * `file_name` prefixed with `folder` (relative to the dataset_info.json they go in).
 */
export function datasetEntries(format: Format, name: string, files: readonly DatasetFile[], columns: SplitColumns, folder = ''): Entries {
  const info: Entries = {};
  for (const file of files) {
    if (file.split === 'card') continue;
    info[file.split === 'train' ? name : `${name}_${file.split}`] = datasetInfoEntry(format, folder + file.path, columns[file.split]);
  }
  return info;
}

/** The output folder's registry as it is now; {} when there is none. Anything else is an error, said before writing. */
export function readOutputRegistry(outDir: string): Entries {
  const file = path.join(outDir, DATASET_INFO_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { option: 'out' });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not JSON (${(err as Error).message}); fix or remove it, exports keep their dataset name there`, {
      option: 'out',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${file}: not a JSON object of datasets; fix or remove it`, { option: 'out' });
  return value as Entries;
}

/**
 * Points the stable `name` (and `name_valid`) at this export in the output folder's registry,
 * atomically; an export without a valid split drops a `name_valid` left from an earlier one.
 */
export function publishStableName(outDir: string, name: string, entries: Entries): void {
  const registry = readOutputRegistry(outDir);
  delete registry[name];
  delete registry[`${name}_valid`];
  writeFileAtomic(path.join(outDir, DATASET_INFO_FILE), JSON.stringify({ ...registry, ...entries }, null, 2) + '\n');
}
