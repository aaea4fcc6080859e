/**
 * Reads instruction datasets people already have: a JSON array or JSONL, in Alpaca form
 * `{instruction, input, output}`, self-instruct seed form `{instruction, instances: [{input, output}]}`,
 * or BELLE form `{input, target}`. Every problem is a DatasetError reading `file:line: reason`.
 */
import { UsageError } from './errors.ts';
import fs from 'node:fs';
import { findClosing } from './parse.ts';
import type { Task } from './types.ts';

export class DatasetError extends UsageError {
  override name = 'DatasetError';
}

/** One top-level JSON value of a dataset file and the line it starts on (1-based). */
export interface RawRecord {
  line: number;
  value: unknown;
}

/** A dataset record as a task, plus the self-instruct extras when the file has them. */
export interface DatasetTask extends Task {
  line: number;
  id?: string;
  name?: string;
  isClassification?: boolean;
}

export interface DatasetReadOptions {
  /**
   * Accept records whose instruction is empty. Default false: a seed file is written by hand, so an
   * empty instruction there is a mistake. Real datasets have a few (the 20k Chinese Alpaca translation
   * has one); `dedup` passes them through its rule and `import` stores them as rejected.
   */
  allowEmptyInstruction?: boolean;
  /** Records may leave out `output` (instructions to answer, `answer --in`); it reads as "". Default false. */
  outputOptional?: boolean;
}

export function readDatasetFile(file: string, options: DatasetReadOptions = {}): DatasetTask[] {
  return readRecords(file).map((r) => toDatasetTask(r, file, options));
}

export function readRecords(file: string): RawRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM from Windows editors
  const first = text.search(/\S/);
  if (first === -1) throw new DatasetError(`${file}:1: file is empty`);
  return text[first] === '[' ? readJsonArray(text, first, file) : readJsonLines(text, file);
}

function readJsonLines(text: string, file: string): RawRecord[] {
  const records: RawRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      records.push({ line: i + 1, value: JSON.parse(line) });
    } catch (err) {
      throw new DatasetError(`${file}:${i + 1}: not valid JSON (${shortJsonMessage(err)})`);
    }
  }
  return records;
}

/** Splits the top-level array element by element so each error can name its line. */
function readJsonArray(text: string, start: number, file: string): RawRecord[] {
  const records: RawRecord[] = [];
  let line = 1 + countNewlines(text, 0, start);
  let i = start + 1;
  for (;;) {
    const skipped = skipSpace(text, i);
    line += countNewlines(text, i, skipped);
    i = skipped;
    if (i >= text.length) throw new DatasetError(`${file}:${line}: JSON array is not closed`);
    if (text[i] === ']') break;
    const end = valueEnd(text, i);
    if (end === -1) throw new DatasetError(`${file}:${line}: JSON value is not closed`);
    const chunk = text.slice(i, end);
    try {
      records.push({ line, value: JSON.parse(chunk) });
    } catch (err) {
      throw new DatasetError(`${file}:${line}: not valid JSON (${shortJsonMessage(err)})`);
    }
    line += countNewlines(text, i, end);
    i = skipSpace(text, end);
    line += countNewlines(text, end, i);
    if (text[i] === ',') i++;
    else if (text[i] !== ']') throw new DatasetError(`${file}:${line}: expected "," or "]" between array elements`);
  }
  const rest = text.slice(i + 1).trim();
  if (rest !== '') throw new DatasetError(`${file}:${line}: unexpected text after the JSON array`);
  return records;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** End (exclusive) of the JSON value starting at `i`: bracket matching for objects/arrays, else up to , or ]. */
function valueEnd(s: string, i: number): number {
  if (s[i] !== '{' && s[i] !== '[') {
    let j = i;
    let inString = false;
    for (; j < s.length; j++) {
      const c = s[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === ',' || c === ']') break;
    }
    return j;
  }
  const close = findClosing(s, i);
  return close < 0 ? -1 : close + 1;
}

function shortJsonMessage(err: unknown): string {
  return String((err as Error).message)
    .replace(/\s+/g, ' ')
    .slice(0, 120);
}

/** Maps one record of any supported form to a task, or says exactly what is wrong with it. */
export function toDatasetTask(record: RawRecord, file: string, options: DatasetReadOptions = {}): DatasetTask {
  const where = `${file}:${record.line}`;
  const v = record.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new DatasetError(`${where}: expected a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
  }
  const o = v as Record<string, unknown>;
  const text = (key: string, required: boolean): string => {
    const value = o[key];
    if (value === undefined || value === null) {
      if (required) throw new DatasetError(`${where}: missing field "${key}"`);
      return '';
    }
    if (typeof value !== 'string') throw new DatasetError(`${where}: field "${key}" must be a string`);
    return value;
  };
  let task: DatasetTask;
  if ('instances' in o) {
    const instances = o.instances;
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new DatasetError(`${where}: "instances" must be a non-empty array`);
    }
    const first = instances[0] as Record<string, unknown> | null;
    if (first === null || typeof first !== 'object') throw new DatasetError(`${where}: instances[0] must be an object`);
    if (typeof first.output !== 'string') throw new DatasetError(`${where}: instances[0].output must be a string`);
    if (first.input !== undefined && first.input !== null && typeof first.input !== 'string') {
      throw new DatasetError(`${where}: instances[0].input must be a string`);
    }
    task = {
      line: record.line,
      instruction: text('instruction', true),
      input: (first.input as string | undefined) ?? '',
      output: first.output,
    };
    if (o.is_classification !== undefined) {
      if (typeof o.is_classification !== 'boolean') throw new DatasetError(`${where}: "is_classification" must be true or false`);
      task.isClassification = o.is_classification;
    }
  } else if ('instruction' in o) {
    task = {
      line: record.line,
      instruction: text('instruction', true),
      input: text('input', false),
      output: text('output', !options.outputOptional),
    };
  } else if ('target' in o) {
    // BELLE: the whole prompt is `input`, the answer `target`.
    task = { line: record.line, instruction: text('input', true), input: '', output: text('target', true) };
  } else {
    throw new DatasetError(`${where}: expected fields instruction/input/output, instruction/instances, or input/target`);
  }
  if (task.instruction.trim() === '' && !options.allowEmptyInstruction) throw new DatasetError(`${where}: "instruction" is empty`);
  if (typeof o.id === 'string' || typeof o.id === 'number') task.id = String(o.id);
  if (typeof o.name === 'string') task.name = o.name;
  if (typeof o.category === 'string' && o.category.trim() !== '') task.category = o.category.trim();
  return task;
}
