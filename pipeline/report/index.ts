/** The dataset report: figures from a store (data.ts), drawn as one self-contained HTML file (html.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { DEFAULT_DB } from '../paths.ts';
import type { ReportScope } from '../store/report.ts';
import { Store } from '../store/store.ts';
import { buildReport } from './data.ts';
import { renderHtml } from './html.ts';
import type { ReportData } from './types.ts';

export { buildReport, ReportError, type ReportOptions } from './data.ts';
export { renderHtml } from './html.ts';
export type { ReportData } from './types.ts';
export type { ReportScope } from '../store/report.ts';

export const DEFAULT_REPORT = 'data/report.html';

export interface DatasetReportOptions {
  /** Default data/pipeline.db. */
  db?: string;
  /**
   * Which tasks, as in export and judge: `all` (default), `last` (the last generation run) or a run id.
   * A date here is the old spelling of `from` (a deprecation warning).
   */
  since?: 'last' | 'all' | number | string;
  /** Only this run's tasks (same as `since: RUN`). */
  run?: number;
  /** Only tasks created on or after this UTC date (YYYY-MM-DD or an ISO time). */
  from?: string;
}

/** The report's figures for a database (read-only: works while a run writes). */
export async function reportFigures(options: DatasetReportOptions = {}): Promise<ReportData> {
  const db = options.db ?? DEFAULT_DB;
  let { since, from } = options;
  if (typeof since === 'string' && since !== 'last' && since !== 'all') {
    if (from !== undefined) throw new UsageError('give the date once, as `from`', { option: 'since' });
    process.emitWarning('report: a date in "since" is deprecated; use "from"', { type: 'DeprecationWarning', code: 'ZHSI_RENAMED_OPTION' });
    [since, from] = [undefined, since];
  }
  if (typeof since === 'number' && options.run !== undefined && since !== options.run)
    throw new UsageError('`since` and `run` name different runs', { option: 'run' });
  const run = options.run ?? (typeof since === 'number' ? since : undefined);
  if ((run !== undefined || since === 'last') && from !== undefined)
    throw new UsageError('a run and `from` exclude each other', { option: 'from' });
  if (from !== undefined && !(/^\d{4}-\d{2}-\d{2}/.test(from) && !Number.isNaN(Date.parse(from))))
    throw new UsageError(`expected a date YYYY-MM-DD or an ISO time (UTC), got "${from}"`, { option: 'from' });
  const store = Store.open(db, { readonly: true });
  try {
    const runId = since === 'last' && run === undefined ? lastRun(store) : run;
    const scope: ReportScope =
      runId !== undefined ? { kind: 'run', runId } : from !== undefined ? { kind: 'since', since: from } : { kind: 'all' };
    return await buildReport(store, { scope, database: db });
  } finally {
    store.close();
  }
}

/** Writes the report as one self-contained HTML file (atomically); resolves with its figures and path. */
export async function writeReport(options: DatasetReportOptions & { out?: string } = {}): Promise<{ data: ReportData; file: string }> {
  const out = options.out ?? DEFAULT_REPORT;
  const outDir = path.dirname(path.resolve(out));
  if (!(fs.existsSync(outDir) && fs.statSync(outDir).isDirectory()))
    throw new UsageError(`folder ${outDir} does not exist`, { option: 'out' });
  const data = await reportFigures(options);
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
