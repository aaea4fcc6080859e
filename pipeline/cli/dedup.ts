/** `dedup`: near-duplicate filter for existing JSON/JSONL datasets, with the pipeline's exact rule. */
import { Command } from 'commander';
import { dedupFiles } from '../index.ts';
import { numberIn } from './args.ts';
import { givenFlags } from './given.ts';

export function dedupCommand(): Command {
  return new Command('dedup')
    .description(
      'drop near-duplicates from datasets (Alpaca, BELLE {input,target} or self-instruct JSON/JSONL); kept records to --out in input order',
    )
    .requiredOption('--in <file>', 'input file; repeat for several, read in order', (v: string, prev: string[] = []) => [...prev, v])
    .requiredOption('--out <file>', 'kept records, JSONL')
    .option('--similarity <t>', 'drop a record at least this similar to a kept one, 0.5–1 (default 0.7)', numberIn(0.5, 1))
    .option('--seeds <file>', 'also drop records near-duplicate to these seed tasks (not written out)')
    .option('--rejected <file>', 'write each dropped record with its nearest kept record and the similarity, JSONL')
    .action(function (this: Command) {
      const flags = givenFlags(this) as { out: string; in: string[] };
      const r = dedupFiles(flags);
      process.stderr.write(
        `dedup: total ${r.total}, kept ${r.kept}, rejected ${r.rejected} (similarity ≥ ${r.similarity}), ${r.seconds.toFixed(1)} s → ${flags.out}\n`,
      );
    });
}
