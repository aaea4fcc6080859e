/** `export`: accepted tasks → training JSONL, a manifest and `LATEST`, for trainers and orchestrators. */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  loadConfig,
  exportDataset,
  describeSelection,
  DEFAULT_DATASET_NAME,
  FORMATS,
  TOKENIZERS,
  FILE_FORMATS,
  DEFAULT_DB,
  DEFAULT_MIN_SCORE,
  type ExportResult,
  type Format,
} from '../index.ts';
import { numberIn, oneOf, positiveInt } from './args.ts';
import { EXIT } from './exit.ts';
import { givenFlags } from './given.ts';

interface ExportFlags {
  db?: string;
  out?: string;
  format?: Format;
  since?: 'last' | 'all' | number;
  validRatio?: number;
  source?: string[];
  category?: string[];
  includeSeeds?: boolean;
  shuffle?: boolean;
  seed?: number;
  maxTrainTokens?: number;
  tokenizer?: string;
  fileFormat?: 'jsonl' | 'parquet';
  hfLayout?: boolean;
  tokenStats?: boolean;
  trainTemplate?: string;
  system?: string;
  datasetName?: string;
  answerModel?: string;
  minScore?: number;
  judgeModel?: string;
  dropFlags?: string[];
  keepContaminated?: boolean;
  select?: number;
  diversity?: number;
  embeddingModel?: string;
}

function since(value: string): 'last' | 'all' | number {
  if (value === 'last' || value === 'all') return value;
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return Number(value);
  throw new InvalidArgumentError(`expected last, all or a run id, got "${value}"`);
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError(`expected a number from 0 up to (not including) 1, got "${value}"`);
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
  return (
    new Command('export')
      .description('write accepted tasks as training JSONL or Parquet (alpaca, sharegpt, messages, prompt-completion) with a manifest')
      .option('--format <format>', `record shape: ${FORMATS.join(' | ')} (required, here or in --config)`, oneOf(FORMATS))
      .option('--config <file>', 'JSON config file (see zh-self-instruct.schema.json); flags override it')
      .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
      .option('--out <dir>', 'folder that receives <export-id>/ and LATEST (default data/exports)')
      .option(
        '--since <last|all|RUN>',
        'which rows: last = not exported into --out before, all, or one run id (default last: a re-run adds only new rows)',
        since,
      )
      .option('--valid-ratio <r>', 'share of rows (by key hash) for the valid split (default 0)', ratio)
      .option('--source <names>', 'only these sources (comma-separated, repeatable; "seed" includes seeds)', list)
      .option('--category <names>', 'only these categories (comma-separated, repeatable)', list)
      .option('--include-seeds', 'export seed tasks too')
      .option('--shuffle', 'order rows by a seeded hash instead of by task id')
      .option('--seed <n>', 'shuffle seed (default 0)', seedValue)
      .option('--max-train-tokens <n>', 'leave out rows whose training text has more tokens than this', positiveInt)
      .addOption(new Option('--max-tokens <n>', 'old name of --max-train-tokens').argParser(positiveInt).hideHelp())
      .option(
        '--tokenizer <name|file>',
        `tokenizer for --max-train-tokens and token stats: ${TOKENIZERS.join(' | ')} or a Hugging Face tokenizer.json (the trainer's; default llama2)`,
      )
      .option('--file-format <format>', `record files: ${FILE_FORMATS.join(' | ')} (default jsonl)`, oneOf(FILE_FORMATS))
      .option('--hf-layout', 'Hugging Face file names: data/train-00000-of-00001.<ext>, data/validation-00000-of-00001.<ext>')
      .option('--token-stats', 'count tokens of every row (slower) without leaving any out')
      .option('--train-template <name|file>', 'training template for alpaca/prompt-completion token counts and records (default alpaca)')
      .addOption(new Option('--template <name|file>', 'old name of --train-template').hideHelp())
      .option('--system <text>', 'system prompt for sharegpt and messages records')
      .option(
        '--dataset-name <name>',
        `LLaMA-Factory dataset name that follows LATEST in <out>/dataset_info.json (default ${DEFAULT_DATASET_NAME})`,
      )
      // -- curated export (issue 12) --
      .addOption(
        new Option(
          '--min-score [s]',
          `keep rows whose latest judgment by --judge-model is at least this (1–10; ${DEFAULT_MIN_SCORE} without a value); unjudged rows are left out`,
        )
          .preset(String(DEFAULT_MIN_SCORE))
          .argParser(numberIn(1, 10)),
      )
      .option('--judge-model <name>', 'judge whose scores count (default: the one of the newest judgment)')
      .option('--drop-flags <flags>', 'leave out rows the judge flagged with any of these (comma-separated)', list)
      .option('--keep-contaminated', 'also export tasks decontaminate found copying a benchmark question (default: left out)')
      // -- quality-diversity selection (issue 24) --
      .option(
        '--select <n>',
        'keep N rows: by judge score, each below --diversity cosine to every one kept before (needs `embed`)',
        positiveInt,
      )
      .option('--diversity <t>', 'cosine threshold of --select (default 0.9)', numberIn(0, 1))
      .option('--embedding-model <name>', 'embeddings --select compares (default: the newest stored)')
      .option('--answer-model <name>', "output = this model's answer; only tasks it answered (default: each task's latest accepted answer)")
      .action(async function (this: Command) {
        const { config, ...flags } = givenFlags(this);
        await exportAction(flags as ExportFlags, config as string | undefined);
      })
  );
}

async function exportAction(flags: ExportFlags, configFile: string | undefined): Promise<void> {
  const fromFile = configFile === undefined ? {} : (loadConfig(configFile).export ?? {});
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy ??= signal;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const settings = { ...fromFile, ...flags };
  try {
    report(await exportDataset({ ...settings, signal: stop.signal }), settings.db ?? DEFAULT_DB);
  } catch (err) {
    if (stoppedBy !== undefined) {
      process.stderr.write(`error: export stopped by ${stoppedBy}; nothing was published\n`);
      process.exitCode = stoppedBy === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
      return;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function report(result: ExportResult, db: string): void {
  const err = (line: string): boolean => process.stderr.write(line + '\n');
  for (const h of result.housekeeping) {
    err(
      h.outcome === 'recovered'
        ? `note: export ${h.exportId} had finished writing but not recorded itself; recorded it as complete`
        : `note: removed the leftovers of export ${h.exportId}, whose process stopped before it completed`,
    );
  }
  if (result.kind === 'empty') {
    const prev = result.previous;
    err(
      `export: nothing new in ${db} since export ${prev?.exportId ?? '(none)'} (task ids through ${result.afterTaskId}); ` +
        `nothing written, LATEST unchanged. Use --since all to export everything again`,
    );
    return;
  }
  const m = result.manifest;
  const rel = shownPath(result.dir);
  err(`export ${m.exportId}: ${fmt(m.records.total)} ${m.format} records → ${rel}`);
  const range =
    m.rows.since === 'run' ? `run ${m.rows.runId}` : m.rows.afterTaskId === 0 ? 'all rows' : `rows after task ${m.rows.afterTaskId}`;
  err(
    `  rows        ${range} through task ${m.rows.throughTaskId} (${describeSelection(m.options.selection)})` +
      (m.rows.previousExportId ? `, continuing ${m.rows.previousExportId}` : ''),
  );
  for (const f of m.files)
    err(`  ${f.path.padEnd(11)} ${fmt(f.records).padStart(9)} records  ${fmt(f.bytes)} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
  err(`  sources     ${top(m.counts.bySource)}`);
  err(`  categories  ${top(m.counts.byCategory)}`);
  if (Object.keys(m.models).length > 0) err(`  models      ${top(m.models)}`);
  // Two-stage and `answer` rows: the output is an answer, written by these models.
  if (Object.keys(m.answers.models).length > 0) err(`  answers     ${top(m.answers.models)}`);
  if (m.quality !== undefined) {
    const q = m.quality;
    err(
      `  judge       ${q.judgeModel}` +
        (q.minScore === null ? '' : `, score ≥ ${q.minScore}`) +
        (q.dropFlags.length > 0 ? `, dropping ${q.dropFlags.join(',')}` : '') +
        `: kept ${fmt(q.kept)}, left out ${fmt(q.dropped.belowScore)} below, ${fmt(q.dropped.flagged)} flagged, ${fmt(q.dropped.unjudged)} unjudged`,
    );
    err(
      `  scores      ${Object.entries(q.histogram)
        .map(([k, n]) => `${k}:${n}`)
        .join(' ')}`,
    );
  }
  if (m.selection !== undefined) {
    const x = m.selection;
    err(
      `  selection   ${fmt(x.kept)} of ${fmt(x.n)} asked, ${fmt(x.considered)} considered: ${fmt(x.droppedSimilar)} at cosine ≥ ${x.threshold} ` +
        `(${x.embeddingModel}, ${x.search}), ${fmt(x.droppedNoEmbedding)} not embedded` +
        (x.scoreRange === null ? '' : `; scores ${x.scoreRange[0]}–${x.scoreRange[1]} kept`),
    );
  }
  // -- benchmark decontamination (issue 25)
  if (m.contamination !== undefined) {
    const c = m.contamination;
    err(
      `  benchmarks  ${c.benchmarks.map((b) => `${b.name} ${fmt(c.keepContaminated ? b.kept : b.removed)}`).join(', ')} ` +
        (c.keepContaminated ? 'overlapping rows kept (--keep-contaminated)' : `rows left out as contaminated (${fmt(c.removed)} in all)`),
    );
  }
  for (const [name, t] of Object.entries(m.tokens)) {
    err(
      `  tokens      ${name}: total ${fmt(t.total)}, mean ${t.mean}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max}` +
        (t.maxTokens === null ? '' : `; ${fmt(t.droppedForLength)} rows over ${fmt(t.maxTokens)} left out`),
    );
  }
  const zh = m.chineseTokens;
  if (zh !== null) {
    const han = Math.round((zh.hanChars / zh.chars) * 100);
    err(
      `  LLaMA       ${zh.tokensPerChar.toFixed(2)} tokens per character with the original LLaMA vocabulary ` +
        `(${zh.sampled ? `sample of ${fmt(zh.rows)} rows` : `${fmt(zh.rows)} rows`}, ${han}% Han); ` +
        `Chinese-LLaMA's extended vocabulary needs about half as many`,
    );
  }
  // -- dialogues (issue 14)
  const d = m.dialogues;
  if (d) {
    const t = d.tokensPerDialogue;
    const exchanges = Object.entries(d.exchangesHistogram)
      .map(([k, n]) => `${k}: ${fmt(n)}`)
      .join(', ');
    err(
      `  dialogues   ${fmt(d.records)} conversations, ${fmt(d.turns)} turns; exchanges ${exchanges}; ` +
        `cl100k tokens per conversation mean ${t.mean}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max}`,
    );
  }
  // -- end dialogues
  err(`  LATEST      ${m.exportId}`);
  // What a LLaMA-Factory config names: the output folder with the stable name, or this export's folder with its own.
  err(`  LLaMA-Factory dataset_dir: ${shownPath(path.dirname(result.dir))}, dataset: ${m.datasetInfo.name} (follows LATEST)`);
  err(`                or dataset_dir: ${rel}, dataset: ${m.datasetInfo.datasets[0]} (this export only)`);
  process.stdout.write(result.dir + '\n');
}

/** A path as the user would type it: relative to the working directory when inside it. */
function shownPath(p: string): string {
  const relative = path.relative(process.cwd(), p);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? p : relative;
}

/** The largest counts first, at most eight, with "" shown as (none). */
function top(counts: Record<string, number>): string {
  if (Object.keys(counts).length === 0) return '-';
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, 8).map(([k, n]) => `${k === '' ? '(none)' : k} ${fmt(n)}`);
  if (entries.length > 8) shown.push(`… ${entries.length - 8} more`);
  return shown.join(', ');
}
