/** `export`: accepted tasks → training JSONL, a manifest and `LATEST`, for trainers and orchestrators. */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeSelection, ExportError, normalizeSelection, runExport, type ExportResult } from '../export/export.ts';
import { FORMATS, type Format } from '../export/formats.ts';
import { DEFAULT_TRAINING_TEMPLATE, loadTrainingTemplate, TrainingTemplateError } from '../export/template.ts';
import { TOKENIZERS, type TokenizerName } from '../export/tokens.ts';
import { LockedError } from '../lock.ts';
import { Store, StoreError } from '../store/store.ts';
import { numberIn, oneOf, positiveInt } from './args.ts';
import { parseDropFlags, QualityError, type QualityFilter } from '../export/quality.ts';
import { DEFAULT_JUDGE_MODEL } from '../judge/request.ts';
import { DEFAULT_MIN_SCORE } from '../judge/examples.ts';
import { JudgmentStore } from '../store/judgments.ts';
import { CliError, EXIT } from './exit.ts';
import { DEFAULT_DB } from './generate.ts';

export const DEFAULT_EXPORT_DIR = 'data/exports';

interface ExportFlags {
  db: string;
  out: string;
  format: Format;
  since: 'last' | 'all' | number;
  validRatio: number;
  source?: string[];
  category?: string[];
  includeSeeds?: boolean;
  shuffle?: boolean;
  seed?: number;
  maxTokens?: number;
  tokenizer?: TokenizerName;
  tokenStats?: boolean;
  template: string;
  system?: string;
  minScore?: number;
  judgeModel?: string;
  dropFlags?: string[];
}

function since(value: string): 'last' | 'all' | number {
  if (value === 'last' || value === 'all') return value;
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return Number(value);
  throw new InvalidArgumentError(`expected last, all or a run id, got "${value}"`);
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a number from 0 up to (not including) 1, got "${value}"`);
  return n;
}

function seedValue(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

/** Repeatable and comma-separated: `--source a,b --source c`. */
function list(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InvalidArgumentError(`expected comma-separated names, got "${value}"`);
  return [...(previous ?? []), ...items];
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write accepted tasks as training JSONL (alpaca, sharegpt, messages, prompt-completion) with a manifest')
    .requiredOption('--format <format>', `record shape: ${FORMATS.join(' | ')}`, oneOf(FORMATS))
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--out <dir>', 'folder that receives <export-id>/ and LATEST', DEFAULT_EXPORT_DIR)
    .option('--since <last|all|run>', 'last: rows not exported into --out before; all; or one run id', since, 'last')
    .option('--valid-ratio <r>', 'share of rows (by key hash) for valid.jsonl', ratio, 0)
    .option('--source <names>', 'only these sources (comma-separated, repeatable; "seed" includes seeds)', list)
    .option('--category <names>', 'only these categories (comma-separated, repeatable)', list)
    .option('--include-seeds', 'export seed tasks too')
    .option('--shuffle', 'order rows by a seeded hash instead of by task id')
    .option('--seed <n>', 'shuffle seed (default 0)', seedValue)
    .option('--max-tokens <n>', 'leave out rows whose training text has more tokens than this', positiveInt)
    .option('--tokenizer <name>', `tokenizer for --max-tokens and token stats: ${TOKENIZERS.join(' | ')} (default llama2)`, oneOf(TOKENIZERS))
    .option('--token-stats', 'count tokens of every row (slower) without leaving any out')
    .option('--template <name|file>', 'training template for prompt-completion records and token counts', DEFAULT_TRAINING_TEMPLATE)
    .option('--system <text>', 'system prompt for sharegpt and messages records')
    // -- curated export (issue 12) --
    .addOption(new Option('--min-score [s]', `keep rows whose latest judgment by --judge-model is at least this (1–10; ${DEFAULT_MIN_SCORE} without a value); unjudged rows are left out`)
      .preset(String(DEFAULT_MIN_SCORE)).argParser(numberIn(1, 10)))
    .option('--judge-model <name>', 'judge whose scores count (default: the one of the newest judgment)')
    .option('--drop-flags <flags>', 'leave out rows the judge flagged with any of these (comma-separated)', list)
    .action(async function (this: Command, flags: ExportFlags) {
      await exportAction(flags, this.getOptionValueSource('template') !== 'default');
    });
}

async function exportAction(flags: ExportFlags, templateGiven: boolean): Promise<void> {
  const chat = flags.format === 'sharegpt' || flags.format === 'messages';
  if (flags.seed !== undefined && !flags.shuffle) throw new CliError('--seed needs --shuffle');
  if (flags.system !== undefined && !chat) throw new CliError(`--system applies to sharegpt and messages, not ${flags.format}`);
  if (flags.system !== undefined && flags.system.trim() === '') throw new CliError('--system is empty');
  if (templateGiven && chat) throw new CliError(`--template applies to alpaca and prompt-completion, not ${flags.format}`);
  if (!fs.existsSync(flags.db)) throw new CliError(`${flags.db}: no such database`);

  let template;
  try {
    template = loadTrainingTemplate(flags.template);
  } catch (err) {
    if (err instanceof TrainingTemplateError) throw new CliError(err.message);
    throw err;
  }
  const tokenizer = flags.tokenizer ?? (flags.maxTokens !== undefined || flags.tokenStats ? 'llama2' : null);

  let store: Store;
  try {
    store = Store.open(flags.db);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  }
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy ??= signal;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runExport(store, {
      database: flags.db,
      outDir: flags.out,
      format: flags.format,
      since: flags.since,
      validRatio: flags.validRatio,
      selection: normalizeSelection(flags.source, flags.category, flags.includeSeeds ?? false),
      shuffleSeed: flags.shuffle ? (flags.seed ?? 0) : null,
      maxTokens: flags.maxTokens ?? null,
      tokenizer,
      template,
      system: flags.system ?? null,
      quality: qualityFilter(flags, store),
      signal: stop.signal,
    });
    report(result, flags);
  } catch (err) {
    if (stoppedBy !== undefined) {
      throw new CliError(`export stopped by ${stoppedBy}; nothing was published`, stoppedBy === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    }
    if (err instanceof ExportError || err instanceof QualityError) throw new CliError(err.message);
    if (err instanceof LockedError) throw new CliError(`another export is writing into ${flags.out}: ${err.message}`, EXIT.locked);
    if (err instanceof StoreError) throw new CliError(err.message, EXIT.failure);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store.close();
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function report(result: ExportResult, flags: ExportFlags): void {
  const err = (line: string): boolean => process.stderr.write(line + '\n');
  for (const h of result.housekeeping) {
    err(h.outcome === 'recovered'
      ? `note: export ${h.exportId} had finished writing but not recorded itself; recorded it as complete`
      : `note: removed the leftovers of export ${h.exportId}, whose process stopped before it completed`);
  }
  if (result.kind === 'empty') {
    const prev = result.previous;
    err(`export: nothing new in ${flags.db} since export ${prev?.exportId ?? '(none)'} (task ids through ${result.afterTaskId}); ` +
      `nothing written, LATEST unchanged. Use --since all to export everything again`);
    return;
  }
  const m = result.manifest;
  const relative = path.relative(process.cwd(), result.dir);
  const rel = relative.startsWith('..') || path.isAbsolute(relative) ? result.dir : relative;
  err(`export ${m.exportId}: ${fmt(m.records.total)} ${m.format} records → ${rel}`);
  const range = m.rows.since === 'run' ? `run ${m.rows.runId}` : m.rows.afterTaskId === 0 ? 'all rows' : `rows after task ${m.rows.afterTaskId}`;
  err(`  rows        ${range} through task ${m.rows.throughTaskId} (${describeSelection(m.options.selection)})` +
    (m.rows.previousExportId ? `, continuing ${m.rows.previousExportId}` : ''));
  for (const f of m.files) err(`  ${f.path.padEnd(11)} ${fmt(f.records).padStart(9)} records  ${fmt(f.bytes)} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
  err(`  sources     ${top(m.counts.bySource)}`);
  err(`  categories  ${top(m.counts.byCategory)}`);
  if (Object.keys(m.models).length > 0) err(`  models      ${top(m.models)}`);
  if (m.quality !== undefined) {
    const q = m.quality;
    err(`  judge       ${q.judgeModel}` + (q.minScore === null ? '' : `, score ≥ ${q.minScore}`) + (q.dropFlags.length > 0 ? `, dropping ${q.dropFlags.join(',')}` : '') +
      `: kept ${fmt(q.kept)}, left out ${fmt(q.dropped.belowScore)} below, ${fmt(q.dropped.flagged)} flagged, ${fmt(q.dropped.unjudged)} unjudged`);
    err(`  scores      ${Object.entries(q.histogram).map(([k, n]) => `${k}:${n}`).join(' ')}`);
  }
  for (const [name, t] of Object.entries(m.tokens)) {
    err(`  tokens      ${name}: total ${fmt(t.total)}, mean ${t.mean}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max}` +
      (t.maxTokens === null ? '' : `; ${fmt(t.droppedForLength)} rows over ${fmt(t.maxTokens)} left out`));
  }
  const zh = m.chineseTokens;
  if (zh !== null) {
    const han = Math.round((zh.hanChars / zh.chars) * 100);
    err(`  LLaMA       ${zh.tokensPerChar.toFixed(2)} tokens per character with the original LLaMA vocabulary ` +
      `(${zh.sampled ? `sample of ${fmt(zh.rows)} rows` : `${fmt(zh.rows)} rows`}, ${han}% Han); ` +
      `Chinese-LLaMA's extended vocabulary needs about half as many`);
  }
  err(`  LATEST      ${m.exportId}`);
  process.stdout.write(result.dir + '\n');
}

/** The largest counts first, at most eight, with "" shown as (none). */
function top(counts: Record<string, number>): string {
  if (Object.keys(counts).length === 0) return '-';
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, 8).map(([k, n]) => `${k === '' ? '(none)' : k} ${fmt(n)}`);
  if (entries.length > 8) shown.push(`… ${entries.length - 8} more`);
  return shown.join(', ');
}

/** --min-score / --drop-flags → the filter; the judge defaults to the one of the newest judgment. */
function qualityFilter(flags: ExportFlags, store: Store): QualityFilter | null {
  if (flags.minScore === undefined && flags.dropFlags === undefined) {
    if (flags.judgeModel !== undefined) throw new CliError('--judge-model needs --min-score or --drop-flags');
    return null;
  }
  const judgeModel = flags.judgeModel ?? new JudgmentStore(store).latestJudge()?.model ?? DEFAULT_JUDGE_MODEL;
  return { minScore: flags.minScore ?? null, judgeModel, dropFlags: parseDropFlags(flags.dropFlags ?? []) };
}
