/** `report`: the dataset report as one self-contained HTML file, or (--json) its figures on stdout. */
import { Command, InvalidArgumentError } from 'commander';
import { reportFigures, writeReport, type DatasetReportOptions } from '../index.ts';
import { positiveInt } from './args.ts';
import { givenFlags } from './given.ts';

/** YYYY-MM-DD or a full ISO time, compared with the stored UTC ISO timestamps. */
function sinceDate(value: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/.test(value) && !Number.isNaN(Date.parse(value));
  if (!ok) throw new InvalidArgumentError(`expected a date YYYY-MM-DD or an ISO time (UTC), got "${value}"`);
  return value;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('the dataset report: one self-contained HTML file with charts (or --json: the same figures)')
    .option('--db <path>', 'SQLite database file (default data/pipeline.db)')
    .option('--run <id>', 'only this run', positiveInt)
    .option('--since <date>', 'only tasks created on or after this UTC date (YYYY-MM-DD or ISO time)', sinceDate)
    .option('--out <file>', 'HTML file to write (default data/report.html)')
    .option('--json', 'print the figures as one JSON object instead of writing HTML')
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
