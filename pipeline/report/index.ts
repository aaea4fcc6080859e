/** The dataset report: figures from a store (data.ts), drawn as one self-contained HTML file (html.ts). */
export { buildReport, ReportError, type ReportOptions } from './data.ts';
export { renderHtml } from './html.ts';
export type { ReportData } from './types.ts';
export type { ReportScope } from '../store/report.ts';
