/** `dedup`: near-duplicate filter for existing JSON/JSONL datasets, with the pipeline's exact rule. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { DatasetError, readRecords, toDatasetTask } from '../datasets.ts';
import { dedupRecords, type SourcedRecord } from '../dedup/dedup-records.ts';
import { writeLinesAtomic } from '../files.ts';
import { loadSeeds } from '../seeds.ts';
import { numberIn } from './args.ts';
import { CliError } from './exit.ts';

interface DedupFlags {
  in: string[];
  out: string;
  similarity: number;
  seeds?: string;
  rejected?: string;
}

export function dedupCommand(): Command {
  return new Command('dedup')
    .description('drop near-duplicates from datasets (Alpaca, BELLE {input,target} or self-instruct JSON/JSONL); kept records to --out in input order')
    .requiredOption('--in <file>', 'input file; repeat for several, read in order', (v: string, prev: string[] = []) => [...prev, v])
    .requiredOption('--out <file>', 'kept records, JSONL')
    .option('--similarity <t>', 'drop a record at least this similar to a kept one (0.5–1)', numberIn(0.5, 1), 0.7)
    .option('--seeds <file>', 'also drop records near-duplicate to these seed tasks (not written out)')
    .option('--rejected <file>', 'write each dropped record with its nearest kept record and the similarity, JSONL')
    .action((flags: DedupFlags) => {
      const started = performance.now();
      for (const out of [flags.out, flags.rejected]) {
        if (out !== undefined && !fs.existsSync(path.dirname(path.resolve(out)))) {
          throw new CliError(`${out}: directory ${path.dirname(path.resolve(out))} does not exist`);
        }
      }
      // Every input is read and checked before anything is written.
      const records: SourcedRecord[] = [];
      let seeds;
      try {
        seeds = flags.seeds === undefined ? [] : loadSeeds(flags.seeds);
        for (const file of flags.in) {
          for (const raw of readRecords(file)) records.push({ file, task: toDatasetTask(raw, file, { allowEmptyInstruction: true }), raw: raw.value });
        }
      } catch (err) {
        if (err instanceof DatasetError) throw new CliError(err.message);
        throw err;
      }
      const { kept, rejected } = dedupRecords(records, { similarity: flags.similarity, seeds });
      writeLinesAtomic(flags.out, (function* () {
        for (const r of kept) yield JSON.stringify(r.raw);
      })());
      if (flags.rejected !== undefined) {
        writeLinesAtomic(flags.rejected, (function* () {
          for (const r of rejected) {
            yield JSON.stringify({
              record: r.record.raw,
              at: `${r.record.file}:${r.record.task.line}`,
              nearest: r.nearest !== undefined ? r.nearest.raw : seeds[r.nearestSeed!],
              nearestAt: r.nearest !== undefined ? `${r.nearest.file}:${r.nearest.task.line}` : `seed ${seeds[r.nearestSeed!]!.id}`,
              similarity: Math.round(r.similarity * 10000) / 10000,
            });
          }
        })());
      }
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `dedup: total ${records.length}, kept ${kept.length}, rejected ${rejected.length} (similarity ≥ ${flags.similarity}), ${seconds.toFixed(1)} s → ${flags.out}\n`,
      );
    });
}
