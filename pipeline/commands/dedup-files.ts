/**
 * `dedupFiles()`: the near-duplicate rule over existing dataset files. Every input is read and checked
 * before anything is written; kept records go out unchanged, in input order; files appear only whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readRecords, toDatasetTask } from '../datasets.ts';
import { dedupRecords, type SourcedRecord } from '../dedup/dedup-records.ts';
import { UsageError } from '../errors.ts';
import { writeLinesAtomic } from '../files.ts';
import { dedupSettingsSchema, resolveOptions, type DedupSettings } from '../options.ts';
import { loadSeeds } from '../seeds.ts';

export interface DedupFilesResult {
  total: number;
  kept: number;
  rejected: number;
  similarity: number;
  seconds: number;
}

export function dedupFiles(options: DedupSettings): DedupFilesResult {
  const started = performance.now();
  const settings = resolveOptions(dedupSettingsSchema, options);
  for (const [option, out] of [
    ['out', settings.out],
    ['rejected', settings.rejected],
  ] as const) {
    const dir = out === undefined ? undefined : path.dirname(path.resolve(out));
    if (dir !== undefined && !fs.existsSync(dir)) throw new UsageError(`${out}: directory ${dir} does not exist`, { option });
  }
  const seeds = settings.seeds === undefined ? [] : loadSeeds(settings.seeds);
  const records: SourcedRecord[] = [];
  for (const file of settings.in) {
    for (const raw of readRecords(file))
      records.push({ file, task: toDatasetTask(raw, file, { allowEmptyInstruction: true }), raw: raw.value });
  }
  // Without a rejection report no one reads which kept record a rejected one is nearest to.
  const { kept, rejected } = dedupRecords(records, { similarity: settings.similarity, seeds, nearest: settings.rejected !== undefined });
  writeLinesAtomic(
    settings.out,
    (function* () {
      for (const r of kept) yield JSON.stringify(r.raw);
    })(),
  );
  if (settings.rejected !== undefined) {
    writeLinesAtomic(
      settings.rejected,
      (function* () {
        for (const r of rejected) {
          const seed = r.nearestSeed === undefined ? undefined : seeds[r.nearestSeed];
          yield JSON.stringify({
            record: r.record.raw,
            at: `${r.record.file}:${r.record.task.line}`,
            nearest: r.nearest !== undefined ? r.nearest.raw : seed,
            nearestAt: r.nearest !== undefined ? `${r.nearest.file}:${r.nearest.task.line}` : `seed ${seed?.id}`,
            similarity: Math.round(r.similarity * 10000) / 10000,
          });
        }
      })(),
    );
  }
  return {
    total: records.length,
    kept: kept.length,
    rejected: rejected.length,
    similarity: settings.similarity,
    seconds: (performance.now() - started) / 1000,
  };
}
