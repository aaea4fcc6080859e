/**
 * Reads benchmark files the way people download them, streamed in 1 MiB chunks (hashed in the same
 * pass): C-Eval CSV (`id,question,A,B,C,D,answer,explanation`), CMMLU CSV (`,Question,A,B,C,D,Answer`),
 * GAOKAO-Bench JSON (`{"example": [{"question": …}]}`, options inside the question), and JSON/JSONL
 * records with a `question`, `instruction`, `prompt` or `input` field (or the one `field` names), their
 * options in `options`/`choices` or `A`…`H`. A folder is walked in name order; hidden files and other
 * extensions are skipped with a note. Every problem is a BenchmarkError naming the file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../errors.ts';
import { CsvParser } from './csv.ts';
import { splitInlineOptions, type BenchmarkItem } from './items.ts';
import { JsonRecordScanner, RECORD_KEYS } from './json-stream.ts';

export class BenchmarkError extends UsageError {
  override name = 'BenchmarkError';
}

export const QUESTION_FIELDS = ['question', 'instruction', 'prompt', 'input', '题目', '问题'] as const;
const EXTENSIONS = new Set(['.csv', '.json', '.jsonl']);
const OPTION_KEY = /^[A-H]$/i;
const CHUNK = 1 << 20;

export interface BenchmarkFile {
  /** Relative to the benchmark's path (the file name for a single file). */
  path: string;
  sha256: string;
  items: number;
}

export interface LoadedBenchmark {
  name: string;
  path: string;
  files: BenchmarkFile[];
  items: number;
  /** sha256 over the files' relative paths and hashes, in order: one value for the whole benchmark. */
  sha256: string;
}

export interface ReadOptions {
  /** The question's field or column, when it is none of QUESTION_FIELDS. */
  field?: string | undefined;
  onNote?: ((message: string) => void) | undefined;
}

/** Reads one benchmark (a file, or a folder of files), handing each item to `onItem`. */
export function readBenchmark(
  target: string,
  name: string | undefined,
  options: ReadOptions,
  onItem: (item: BenchmarkItem) => void,
): LoadedBenchmark {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    throw new BenchmarkError(`${target}: cannot read (${codeOf(err)})`);
  }
  const files = stat.isDirectory() ? walk(target, options.onNote) : [target];
  if (files.length === 0) throw new BenchmarkError(`${target}: no .csv, .json or .jsonl files in the folder`);
  const read: BenchmarkFile[] = [];
  for (const file of files) {
    const relative = stat.isDirectory() ? path.relative(target, file).split(path.sep).join('/') : path.basename(file);
    read.push(readFile(file, relative, options, onItem));
  }
  const whole = crypto.createHash('sha256');
  for (const f of read) whole.update(`${f.path}\n${f.sha256}\n`);
  const base = path.basename(path.resolve(target));
  return {
    name: name ?? (stat.isDirectory() ? base : base.replace(/\.(csv|jsonl|json)$/i, '')),
    path: target,
    files: read,
    items: read.reduce((n, f) => n + f.items, 0),
    sha256: whole.digest('hex'),
  };
}

function walk(dir: string, onNote: ((m: string) => void) | undefined): string[] {
  const found: string[] = [];
  const visit = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (err) {
      throw new BenchmarkError(`${d}: cannot read the folder (${codeOf(err)})`);
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(d, e.name);
      if (e.name.startsWith('.')) onNote?.(`skipped hidden ${e.isDirectory() ? 'folder' : 'file'} ${full}`);
      else if (e.isDirectory()) visit(full);
      else if (!EXTENSIONS.has(path.extname(e.name).toLowerCase())) onNote?.(`skipped ${full} (not .csv, .json or .jsonl)`);
      else found.push(full);
    }
  };
  visit(dir);
  return found;
}

function codeOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message);
}

/** Streams a file's text to `write` in chunks, hashing its bytes; returns the hash and whether it was blank. */
function streamFile(file: string, write: (text: string) => void): { sha256: string; blank: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new BenchmarkError(`${file}: cannot read (${codeOf(err)})`);
  }
  const hash = crypto.createHash('sha256');
  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let blank = true;
  let first = true;
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buffer, 0, CHUNK, null);
      } catch (err) {
        throw new BenchmarkError(`${file}: cannot read (${codeOf(err)})`);
      }
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      let text = decoder.write(buffer.subarray(0, n));
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM from Windows tools
      first = false;
      if (blank && /\S/.test(text)) blank = false;
      write(text);
    }
    const rest = decoder.end();
    if (rest !== '') write(rest);
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), blank };
}

function readFile(file: string, relative: string, options: ReadOptions, onItem: (item: BenchmarkItem) => void): BenchmarkFile {
  const ext = path.extname(file).toLowerCase();
  let items = 0;
  const emit = (item: BenchmarkItem): void => {
    items++;
    onItem(item);
  };
  let result: { sha256: string; blank: boolean };
  if (ext === '.csv') result = readCsv(file, relative, options, emit);
  else if (ext === '.jsonl') result = readJsonl(file, relative, options, emit);
  else result = readJson(file, relative, options, emit);
  if (result.blank) throw new BenchmarkError(`${file}: file is empty`);
  if (items === 0) throw new BenchmarkError(`${file}: no questions in the file`);
  return { path: relative, sha256: result.sha256, items };
}

function readCsv(file: string, relative: string, options: ReadOptions, emit: (item: BenchmarkItem) => void) {
  let header: string[] | undefined;
  let question = -1;
  let idColumn = -1;
  let optionColumns: number[] = [];
  const parser = new CsvParser((row, line) => {
    if (header === undefined) {
      header = row.map((h) => h.trim());
      const lower = header.map((h) => h.toLowerCase());
      const wanted = options.field === undefined ? QUESTION_FIELDS : [options.field];
      for (const w of wanted) {
        question = lower.indexOf(w.toLowerCase());
        if (question !== -1) break;
      }
      if (question === -1) {
        const names = header.map((h) => (h === '' ? '(unnamed)' : h)).join(', ');
        throw new BenchmarkError(
          `${file}: no question column (${options.field === undefined ? QUESTION_FIELDS.join('/') : options.field}); the columns are ${names}`,
        );
      }
      // C-Eval names its id column; CMMLU leaves its first (row number) column unnamed.
      idColumn = lower.indexOf('id') !== -1 ? lower.indexOf('id') : header[0] === '' ? 0 : -1;
      optionColumns = header.flatMap((h, i) => (OPTION_KEY.test(h) ? [i] : []));
      return;
    }
    const stem = row[question] ?? '';
    if (stem.trim() === '') return;
    const id = idColumn >= 0 && (row[idColumn] ?? '').trim() !== '' ? row[idColumn]!.trim() : `line ${line}`;
    const opts = optionColumns.map((i) => row[i] ?? '').filter((o) => o.trim() !== '');
    emit(opts.length > 0 ? { id: `${relative}:${id}`, stem, options: opts } : { id: `${relative}:${id}`, ...splitInlineOptions(stem) });
  });
  const result = streamFile(file, (text) => parser.write(text));
  parser.end();
  return result;
}

/** An item from a JSON record, or the reason it is not one. */
function recordItem(value: unknown, fallbackId: string, relative: string, field: string | undefined): BenchmarkItem | string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a record is not a JSON object';
  const record = value as Record<string, unknown>;
  const key =
    field ?? QUESTION_FIELDS.find((f) => typeof record[f] === 'string') ?? Object.keys(record).find((k) => k.toLowerCase() === 'question');
  const question = key === undefined ? undefined : record[key];
  if (typeof question !== 'string') {
    const keys = Object.keys(record).join(', ') || '(none)';
    return `no ${field ?? QUESTION_FIELDS.join('/')} field with text (the record's keys: ${keys})`;
  }
  if (question.trim() === '') return null;
  const rawId = record['id'] ?? record['index'] ?? record['ID'];
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : fallbackId;
  const list = record['options'] ?? record['choices'];
  let options: string[] = [];
  if (Array.isArray(list)) options = list.filter((o): o is string => typeof o === 'string');
  else options = Object.keys(record).flatMap((k) => (OPTION_KEY.test(k) && typeof record[k] === 'string' ? [record[k] as string] : []));
  options = options.filter((o) => o.trim() !== '');
  return options.length > 0
    ? { id: `${relative}:${id}`, stem: question, options }
    : { id: `${relative}:${id}`, ...splitInlineOptions(question) };
}

function readJsonl(file: string, relative: string, options: ReadOptions, emit: (item: BenchmarkItem) => void) {
  let pending = '';
  let line = 0;
  const take = (text: string): void => {
    line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BenchmarkError(`${file}:${line}: not valid JSON (${(err as Error).message})`);
    }
    const item = recordItem(value, `line ${line}`, relative, options.field);
    if (typeof item === 'string') throw new BenchmarkError(`${file}:${line}: ${item}`);
    if (item !== null) emit(item);
  };
  const result = streamFile(file, (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop()!;
    for (const l of lines) take(l);
  });
  if (pending !== '') take(pending);
  return result;
}

function readJson(file: string, relative: string, options: ReadOptions, emit: (item: BenchmarkItem) => void) {
  const scanner = new JsonRecordScanner((element, index) => {
    if (!element.ok) throw new BenchmarkError(`${file}: record ${index + 1} is not valid JSON (${element.error})`);
    const item = recordItem(element.value, `#${index + 1}`, relative, options.field);
    if (typeof item === 'string') throw new BenchmarkError(`${file}: record ${index + 1}: ${item}`);
    if (item !== null) emit(item);
  });
  const result = streamFile(file, (text) => scanner.write(text));
  const outcome = scanner.end();
  if (!result.blank && outcome.kind === 'truncated') throw new BenchmarkError(`${file}: the JSON ends before it is complete`);
  if (!result.blank && outcome.kind === 'unknown-shape') {
    throw new BenchmarkError(
      `${file}: unknown JSON shape: expected an array of records or an object with ${RECORD_KEYS.map((k) => `"${k}"`).join('/')} ` +
        `holding one` +
        (outcome.keys.length > 0 ? ` (its keys: ${outcome.keys.join(', ')})` : ''),
    );
  }
  return result;
}
