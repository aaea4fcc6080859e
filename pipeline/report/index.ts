/** The dataset report: figures from a store (data.ts), drawn as one self-contained HTML file (html.ts). */
import fs from 'node:fs';
import type { z } from 'zod';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { reportSettingsSchema, resolveOptions, type ReportSettings } from '../options.ts';
import type { ReportScope } from '../store/report.ts';
import { Store } from '../store/store.ts';
import { buildReport } from './data.ts';
import { renderHtml } from './html.ts';
import type { ReportData } from './types.ts';

export { buildReport, ReportError, type ReportOptions } from './data.ts';
export { renderHtml } from './html.ts';
export type { ReportData } from './types.ts';
export type { ReportScope } from '../store/report.ts';

export { DEFAULT_REPORT } from '../paths.ts';

/** `since` may still hold a date: the old spelling of `from` (a DeprecationWarning). */
export type DatasetReportOptions = Omit<ReportSettings, 'since' | 'out'> & { since?: ReportSettings['since'] | string };

/** The report's figures for a database (read-only: works while a run writes). */
export async function reportFigures(options: DatasetReportOptions = {}): Promise<ReportData> {
  const s = resolveReportSettings(options);
  const db = s.db;
  if (s.since !== 'all' && s.run !== undefined && s.since !== s.run)
    throw new UsageError('`since` and `run` name different runs', { option: 'run' });
  const run = s.run ?? (typeof s.since === 'number' ? s.since : undefined);
  if ((run !== undefined || s.since === 'last') && s.from !== undefined)
    throw new UsageError('a run and `from` exclude each other', { option: 'from' });
  const store = Store.open(db, { readonly: true });
  try {
    const runId = s.since === 'last' && run === undefined ? lastRun(store) : run;
    const scope: ReportScope =
      runId !== undefined ? { kind: 'run', runId } : s.from !== undefined ? { kind: 'since', since: s.from } : { kind: 'all' };
    return await buildReport(store, {
      scope,
      database: db,
      tokenizer: s.tokenizer,
      ...(s.embeddingModel !== undefined && { embeddingModel: s.embeddingModel }),
    });
  } finally {
    store.close();
  }
}

/** Writes the report as one self-contained HTML file (atomically); resolves with its figures and path. */
export async function writeReport(options: DatasetReportOptions & { out?: string } = {}): Promise<{ data: ReportData; file: string }> {
  const { out: given, ...rest } = options;
  const out = reportSettingsSchema.shape.out.parse(given);
  const outDir = path.dirname(path.resolve(out));
  if (!(fs.existsSync(outDir) && fs.statSync(outDir).isDirectory()))
    throw new UsageError(`folder ${outDir} does not exist`, { option: 'out' });
  const data = await reportFigures(rest);
  // Rendered first: a page asset missing from the install is not the fault of `out`.
  const html = renderHtml(data);
  try {
    writeFileAtomic(out, html);
  } catch (err) {
    throw new UsageError(`cannot write ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      option: 'out',
      cause: err,
    });
  }
  return { data, file: path.resolve(out) };
}

/** The last generation run (judge runs hold no tasks); `since: last` with none is a usage error. */
function lastRun(store: Store): number {
  const latest = store.latestRun();
  if (latest === undefined) throw new UsageError('this database has no run yet', { option: 'since' });
  return latest.id;
}

/** The options with their defaults; a date in `since` moves to `from`. */
function resolveReportSettings(options: DatasetReportOptions): z.output<typeof reportSettingsSchema> {
  const { since, ...rest } = options;
  if (typeof since === 'string' && since !== 'last' && since !== 'all') {
    if (rest.from !== undefined) throw new UsageError('give the date once, as `from`', { option: 'since' });
    process.emitWarning('report: a date in "since" is deprecated; use "from"', { type: 'DeprecationWarning', code: 'ZHSI_RENAMED_OPTION' });
    return resolveOptions(reportSettingsSchema, { ...rest, from: since });
  }
  return resolveOptions(reportSettingsSchema, since === undefined ? rest : { ...rest, since });
}
