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
  /** Only this run's tasks. */
  run?: number;
  /** Only tasks created on or after this UTC date (YYYY-MM-DD or an ISO time). */
  since?: string;
}

/** The report's figures for a database (read-only: works while a run writes). */
export async function reportFigures(options: DatasetReportOptions = {}): Promise<ReportData> {
  const db = options.db ?? DEFAULT_DB;
  if (options.run !== undefined && options.since !== undefined)
    throw new UsageError('`run` and `since` exclude each other', { option: 'run' });
  const scope: ReportScope =
    options.run !== undefined
      ? { kind: 'run', runId: options.run }
      : options.since !== undefined
        ? { kind: 'since', since: options.since }
        : { kind: 'all' };
  const store = Store.open(db, { readonly: true });
  try {
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
