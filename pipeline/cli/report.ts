/** `report`: the dataset report as one self-contained HTML file, or (--json) its figures on stdout. */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { writeFileAtomic } from '../files.ts';
import { buildReport, renderHtml, ReportError } from '../report/index.ts';
import type { ReportScope } from '../store/report.ts';
import { Store, StoreError } from '../store/store.ts';
import { positiveInt } from './args.ts';
import { CliError } from './exit.ts';
import { DEFAULT_DB } from './generate.ts';

export const DEFAULT_REPORT = 'data/report.html';

interface ReportFlags {
  db: string;
  run?: number;
  since?: string;
  out: string;
  json?: boolean;
}

/** YYYY-MM-DD or a full ISO time, compared with the stored UTC ISO timestamps. */
function sinceDate(value: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/.test(value) && !Number.isNaN(Date.parse(value));
  if (!ok) throw new InvalidArgumentError(`expected a date YYYY-MM-DD or an ISO time (UTC), got "${value}"`);
  return value;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('the dataset report: one self-contained HTML file with charts (or --json: the same figures)')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--run <id>', 'only this run', positiveInt)
    .option('--since <date>', 'only tasks created on or after this UTC date (YYYY-MM-DD or ISO time)', sinceDate)
    .option('--out <file>', 'HTML file to write', DEFAULT_REPORT)
    .option('--json', 'print the figures as one JSON object instead of writing HTML')
    .action(async (flags: ReportFlags) => {
      if (flags.run !== undefined && flags.since !== undefined) throw new CliError('--run and --since exclude each other');
      const scope: ReportScope =
        flags.run !== undefined
          ? { kind: 'run', runId: flags.run }
          : flags.since !== undefined
            ? { kind: 'since', since: flags.since }
            : { kind: 'all' };
      const outDir = path.dirname(path.resolve(flags.out));
      if (!flags.json && !(fs.existsSync(outDir) && fs.statSync(outDir).isDirectory()))
        throw new CliError(`--out ${flags.out}: folder ${outDir} does not exist`);
      let store: Store;
      try {
        store = Store.open(flags.db, { readonly: true });
      } catch (err) {
        if (err instanceof StoreError) throw new CliError(err.message);
        throw err;
      }
      try {
        const data = await buildReport(store, { scope, database: flags.db });
        if (flags.json) {
          process.stdout.write(JSON.stringify(data) + '\n');
          return;
        }
        const html = renderHtml(data);
        try {
          writeFileAtomic(flags.out, html);
        } catch (err) {
          throw new CliError(`--out ${flags.out}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        process.stderr.write(
          `report: ${data.overview.accepted} accepted, ${data.overview.rejected} rejected (${data.scope.label}) → ${flags.out}\n`,
        );
        process.stdout.write(path.resolve(flags.out) + '\n');
      } catch (err) {
        if (err instanceof ReportError) throw new CliError(err.message);
        throw err;
      } finally {
        store.close();
      }
    });
}
