/**
 * How LLaMA-Factory reads a dataset, re-implemented from its documented rules (data/README and the
 * behaviour of its dataset registry, JSON loader and alpaca/sharegpt converters), independently of our
 * exporter, so that an export and its own dataset_info.json can be checked against each other:
 *
 * - `dataset_info.json` in `dataset_dir` names each dataset; `file_name` is relative to `dataset_dir`.
 * - `formatting` is alpaca (default) or sharegpt. When `columns` is given, every column the format knows
 *   is taken from it and a column it leaves out is unset (not its default); the same for `tags` in
 *   sharegpt. Without `columns`/`tags`, the defaults hold: instruction/input/output, conversations,
 *   from/value/human/gpt/observation/function_call/system.
 * - A JSON Lines file is a table whose columns are the union of the rows' keys (a row without one gets
 *   null); reading a mapped column that is not in the table fails the whole load.
 * - alpaca: the user turn is prompt and query joined by a newline (empty ones skipped), after `history`
 *   pairs; the response is the response column when it is a string, else there is none.
 * - sharegpt: a first message whose role is the system tag is the system prompt; then roles must
 *   alternate user/observation and assistant/function_call, an even number of them; otherwise the
 *   example is skipped as broken. Without a leading system message the system is the system column.
 * - Supervised training keeps an example only with an odd number of prompt turns and exactly one response.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readParquetTable } from './parquet-reader.ts';

export interface Turn {
  role: 'user' | 'assistant' | 'observation' | 'function' | 'system';
  content: string;
}

/** One example as the trainer sees it after conversion. */
export interface Example {
  prompt: Turn[];
  response: Turn[];
  system: string;
}

export interface Loaded {
  /** Problems that stop the whole load (LLaMA-Factory raises). */
  fatal: string[];
  /** Examples kept for supervised fine-tuning. */
  examples: Example[];
  /** Rows the converter or the supervised step would skip, with why. */
  skipped: { row: number; why: string }[];
}

type Row = Record<string, unknown>;

const ALPACA_COLUMNS = ['prompt', 'query', 'response', 'history'] as const;
const SHAREGPT_COLUMNS = ['messages'] as const;
const COMMON_COLUMNS = ['system', 'tools', 'images', 'chosen', 'rejected', 'kto_tag'] as const;
const TAGS = ['role_tag', 'content_tag', 'user_tag', 'assistant_tag', 'observation_tag', 'function_tag', 'system_tag'] as const;

const DEFAULTS: Record<string, string | null> = {
  prompt: 'instruction',
  query: 'input',
  response: 'output',
  history: null,
  messages: 'conversations',
  system: null,
  tools: null,
  images: null,
  chosen: null,
  rejected: null,
  kto_tag: null,
  role_tag: 'from',
  content_tag: 'value',
  user_tag: 'human',
  assistant_tag: 'gpt',
  observation_tag: 'observation',
  function_tag: 'function_call',
  system_tag: 'system',
};

class MissingColumn extends Error {}

/** Loads dataset `name` from `datasetDir` the way LLaMA-Factory would for supervised fine-tuning. */
export function loadLlamaFactoryDataset(datasetDir: string, name: string): Loaded {
  const loaded: Loaded = { fatal: [], examples: [], skipped: [] };
  let info: Record<string, Row>;
  try {
    info = JSON.parse(fs.readFileSync(path.join(datasetDir, 'dataset_info.json'), 'utf8')) as Record<string, Row>;
  } catch (err) {
    loaded.fatal.push(`cannot open dataset_info.json: ${(err as Error).message}`);
    return loaded;
  }
  const entry = info[name];
  if (entry === undefined) {
    loaded.fatal.push(`undefined dataset ${name}`);
    return loaded;
  }
  const formatting = (entry.formatting as string | undefined) ?? 'alpaca';
  if (formatting !== 'alpaca' && formatting !== 'sharegpt') {
    loaded.fatal.push(`unknown formatting ${formatting}`);
    return loaded;
  }
  const attr: Record<string, string | null> = { ...DEFAULTS };
  const columns = entry.columns as Record<string, string> | undefined;
  if (columns !== undefined) {
    for (const c of [...COMMON_COLUMNS, ...(formatting === 'alpaca' ? ALPACA_COLUMNS : SHAREGPT_COLUMNS)]) attr[c] = columns[c] ?? null;
  }
  const tags = entry.tags as Record<string, string> | undefined;
  if (formatting === 'sharegpt' && tags !== undefined) for (const t of TAGS) attr[t] = tags[t] ?? null;

  const file = path.join(datasetDir, String(entry.file_name));
  if (!fs.existsSync(file)) {
    loaded.fatal.push(`file ${entry.file_name} not found in ${datasetDir}`);
    return loaded;
  }
  const rows: Row[] = [];
  // Parquet (by the file extension, as LLaMA-Factory picks its loader): a table with a fixed schema.
  if (file.endsWith('.parquet')) {
    const table = readParquetTable(file);
    return convert(loaded, table.rows, new Set(table.columns), formatting, attr);
  }
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
      rows.push(value as Row);
    } catch (err) {
      loaded.fatal.push(`${entry.file_name}:${i + 1}: ${(err as Error).message}`);
      return loaded;
    }
  }
  // The table's columns: every key any row has; other rows read null there.
  return convert(loaded, rows, new Set(rows.flatMap((r) => Object.keys(r))), formatting, attr);
}

function convert(
  loaded: Loaded,
  rows: Row[],
  table: Set<string>,
  formatting: 'alpaca' | 'sharegpt',
  attr: Record<string, string | null>,
): Loaded {
  const get = (row: Row, column: string): unknown => {
    if (!table.has(column)) throw new MissingColumn(`column "${column}" is mapped but the file has no such column`);
    return row[column] ?? null;
  };

  for (const [i, row] of rows.entries()) {
    let example: Example | string;
    try {
      example = formatting === 'alpaca' ? alpaca(row, attr, get) : sharegpt(row, attr, get);
    } catch (err) {
      if (err instanceof MissingColumn) {
        loaded.fatal.push(err.message);
        return loaded;
      }
      throw err;
    }
    if (typeof example === 'string') loaded.skipped.push({ row: i + 1, why: example });
    else if (example.prompt.length % 2 !== 1 || example.response.length !== 1)
      loaded.skipped.push({ row: i + 1, why: 'invalid example for supervised training' });
    else loaded.examples.push(example);
  }
  return loaded;
}

type Get = (row: Row, column: string) => unknown;

function alpaca(row: Row, attr: Record<string, string | null>, get: Get): Example {
  const prompt: Turn[] = [];
  if (attr.history) {
    const history = get(row, attr.history);
    if (Array.isArray(history)) {
      for (const pair of history) {
        const [q, a] = pair as [string, string];
        prompt.push({ role: 'user', content: q }, { role: 'assistant', content: a });
      }
    }
  }
  const query: string[] = [];
  for (const c of [attr.prompt, attr.query]) {
    if (!c) continue;
    const v = get(row, c);
    if (typeof v === 'string' ? v !== '' : Boolean(v)) query.push(String(v));
  }
  prompt.push({ role: 'user', content: query.join('\n') });
  const out = attr.response ? get(row, attr.response) : null;
  const response: Turn[] = typeof out === 'string' ? [{ role: 'assistant', content: out }] : [];
  const system = attr.system ? get(row, attr.system) : '';
  return { prompt, response, system: typeof system === 'string' ? system : '' };
}

function sharegpt(row: Row, attr: Record<string, string | null>, get: Get): Example | string {
  const role = attr.role_tag ?? '';
  const content = attr.content_tag ?? '';
  const names: Record<string, Turn['role']> = {};
  for (const [tag, r] of [
    ['user_tag', 'user'],
    ['assistant_tag', 'assistant'],
    ['observation_tag', 'observation'],
    ['function_tag', 'function'],
    ['system_tag', 'system'],
  ] as const) {
    const t = attr[tag];
    if (t) names[t] = r;
  }
  const odd = [attr.user_tag, attr.observation_tag];
  const even = [attr.assistant_tag, attr.function_tag];
  const raw = attr.messages ? get(row, attr.messages) : null;
  if (!Array.isArray(raw)) return 'messages column is not a list';
  let messages = raw as Row[];
  let system: unknown;
  if (attr.system_tag && messages.length > 0 && messages[0]![role] === attr.system_tag) {
    system = messages[0]![content];
    messages = messages.slice(1);
  } else system = attr.system ? get(row, attr.system) : '';
  const aligned: Turn[] = [];
  for (const [i, m] of messages.entries()) {
    const tag = m[role];
    if (typeof tag !== 'string' || !(i % 2 === 0 ? odd : even).includes(tag)) return `invalid role tag ${String(tag)} at turn ${i + 1}`;
    aligned.push({ role: names[tag]!, content: String(m[content]) });
  }
  if (aligned.length % 2 !== 0) return `invalid message count ${aligned.length}`;
  return { prompt: aligned.slice(0, -1), response: aligned.slice(-1), system: typeof system === 'string' ? system : '' };
}
