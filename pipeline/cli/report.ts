/** `report`: the dataset report as one self-contained HTML file, or (--json) its figures on stdout. */
import { Command, InvalidArgumentError } from 'commander';
import { reportFigures, writeReport, type DatasetReportOptions } from '../index.ts';
import { positiveInt } from './args.ts';
import { givenFlags } from './given.ts';

/** `last | all | RUN`, as in export and judge; a date is the old spelling of --from (warned about when used). */
function since(value: string): 'last' | 'all' | number | string {
  if (value === 'last' || value === 'all') return value;
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return Number(value);
  if (DATE.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new InvalidArgumentError(`expected last, all or a run id, got "${value}" (a date goes to --from)`);
}

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/;

/** YYYY-MM-DD or a full ISO time, compared with the stored UTC ISO timestamps. */
function sinceDate(value: string): string {
  const ok = DATE.test(value) && !Number.isNaN(Date.parse(value));
  if (!ok) throw new InvalidArgumentError(`expected a date YYYY-MM-DD or an ISO time (UTC), got "${value}"`);
  return value;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('the dataset report: one self-contained HTML file with charts (or --json: the same figures)')
    .option('--db <path>', 'SQLite database file (default data/pipeline.db)')
    .option('--since <last|all|RUN>', 'which tasks: last = the last generation run, all, or one run id (default all)', since)
    .option('--run <id>', 'only this run (same as --since RUN)', positiveInt)
    .option('--from <date>', 'only tasks created on or after this UTC date (YYYY-MM-DD or ISO time)', sinceDate)
    .option('--out <file>', 'HTML file to write (default data/report.html)')
    .option('--embedding-model <model>', 'embeddings of the data map and nearest-neighbour figure (default: the newest stored)')
    .option('--json', 'print the figures as one JSON object instead of writing HTML')
    .option(
      '--tokenizer <name|file>',
      "tokenizer of the training-token histogram: a built-in name or the trainer's tokenizer.json (default llama2)",
    )
    .action(async function (this: Command) {
      const { json, ...options } = givenFlags(this) as DatasetReportOptions & { out?: string; json?: boolean };
      if (json === true) {
        process.stdout.write(JSON.stringify(await reportFigures(options)) + '\n');
        return;
      }
      const { data, file } = await writeReport(options);
      process.stderr.write(
        `report: ${data.overview.accepted} accepted, ${data.overview.rejected} rejected (${data.scope.label}) → ${file}\n`,
      );
      process.stdout.write(file + '\n');
    });
}
