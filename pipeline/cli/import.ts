/** `import`: an existing dataset into the store as accepted tasks of a named source. */
import { Command } from 'commander';
import { importTasks, type ImportSettings } from '../index.ts';
import { numberIn } from './args.ts';
import { givenFlags } from './given.ts';

export function importCommand(): Command {
  return new Command('import')
    .description('add a dataset you already train on to the store, so new generations never near-duplicate it')
    .requiredOption('--in <file>', 'Alpaca, BELLE {input,target} or self-instruct JSON/JSONL')
    .option('--db <path>', 'SQLite database file (default data/pipeline.db)')
    .option('--source <name>', 'source name stored with each task (default: the file name without extension)')
    .option('--similarity <t>', 'skip a record at least this similar to a stored one, 0.5–1 (default 0.7)', numberIn(0.5, 1))
    .option('--filter', 'also apply the quality filters (default: near-duplicate check only)')
    .option(
      '--benchmark <path>',
      'reject records that copy a question of this benchmark (file or folder: C-Eval/CMMLU CSV, GAOKAO-Bench JSON, JSONL); repeatable',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--benchmark-threshold <t>',
      "share of an item's character 6-grams that makes a record overlap it (default 0.5)",
      numberIn(0.05, 1),
    )
    .option(
      '--benchmark-field <name>',
      'the question field or column of the benchmark files, when it is not question/instruction/prompt/input',
    )
    .action(function (this: Command) {
      const s = importTasks({ ...(givenFlags(this) as ImportSettings), onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
      const rejected = Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
      const reasons = Object.entries(s.rejected)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      process.stderr.write(
        `import: ${s.total} records from ${this.opts().in} as source "${s.source}": accepted ${s.accepted}, ` +
          `rejected ${rejected}${reasons ? ` (${reasons})` : ''}, already imported ${s.alreadyImported}, ` +
          `${s.seconds.toFixed(1)} s → ${s.db}\n`,
      );
    });
}
