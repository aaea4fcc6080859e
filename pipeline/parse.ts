/**
 * Turns a chat model's reply into candidate tasks. Pure: text in, tasks and complaints out, never a
 * throw. Accepts the shapes models really produce: a JSON array, an object wrapping one, either inside a
 * ```json fence with chatter around it, one object per line (optionally numbered), and Alpaca-style
 * numbered text (`1. 指令：…` / `1. 输入：…` / `1. 输出：…`, items separated by `###`).
 */

export interface ParsedTask {
  instruction: string;
  input: string;
  output: string;
  category?: string;
}

export type ReplyShape = 'json' | 'text' | 'none';

export interface ParseResult {
  tasks: ParsedTask[];
  shape: ReplyShape;
  /** Items that looked like tasks but could not be used, and why. */
  problems: string[];
  /** Items dropped because the reply was cut off (`finish_reason: length`). */
  droppedTruncated: number;
}

const FIELD_ALIASES: Record<keyof ParsedTask, readonly string[]> = {
  instruction: ['instruction', '指令', 'instruct', 'task', '任务', 'question', '问题', 'prompt'],
  input: ['input', '输入', 'context', '上下文', 'input_text'],
  output: ['output', '输出', 'response', 'answer', '回答', '答案', 'output_text', 'completion'],
  category: ['category', '类别', '类型', 'task_type', 'type'],
};

const ALIAS_TO_FIELD = new Map<string, keyof ParsedTask>(
  Object.entries(FIELD_ALIASES).flatMap(([field, aliases]) => aliases.map((a) => [a, field as keyof ParsedTask])),
);

export function parseReply(content: string, finishReason?: string | null): ParseResult {
  // A cap on work per reply: text past MAX_PARSE_CHARS is not read (as if the reply had been cut there).
  const capped = content.length > MAX_PARSE_CHARS;
  const text = capped ? content.slice(0, MAX_PARSE_CHARS) : content;
  const truncated = finishReason === 'length' || capped;
  const json = parseJsonShapes(text);
  const numbered = parseNumberedText(text, truncated);
  // A reply is one shape or the other; whichever finds more tasks is the one the model used.
  const best = numbered.tasks.length > json.tasks.length ? numbered : json;
  const problems =
    best.tasks.length === 0 && json.problems.length === 0 && numbered.problems.length === 0
      ? ['no tasks found in reply']
      : [...best.problems];
  if (capped) problems.push(`reply longer than ${MAX_PARSE_CHARS} characters: only the first ${MAX_PARSE_CHARS} were read`);
  if (json.limited && best === json) problems.push('reply too nested or repetitive to read in full: some JSON values were not tried');
  return {
    tasks: best.tasks,
    shape: best.tasks.length === 0 ? 'none' : best === numbered ? 'text' : 'json',
    problems,
    droppedTruncated: best.droppedTruncated,
  };
}

/** Characters of a reply that are read at all (a 4096-token reply is far below it). */
export const MAX_PARSE_CHARS = 2_000_000;
/** Characters handed to JSON.parse per reply: this many times the reply's length, plus a constant. */
const JSON_WORK_FACTOR = 4;
const JSON_WORK_BASE = 65_536;

// ---------------------------------------------------------------------------------------------------
// JSON shapes

interface Collected {
  tasks: ParsedTask[];
  problems: string[];
  droppedTruncated: number;
  /** The JSON work budget ran out, so some candidate values were skipped. */
  limited?: boolean;
}

/**
 * Scans for balanced `{…}` / `[…]` values (string-aware), parses each, and collects task objects from
 * them. A value that never closes (a cut-off reply) is skipped by stepping inside it, so complete items
 * before the cut are still found, and the cut item itself is the one left behind.
 *
 * Linear in the reply: brackets are matched in one pass with an explicit stack, a value that parses is
 * walked (iteratively) and skipped as a whole, and the text handed to JSON.parse for values that do not
 * parse (stepping inside them one level at a time) is capped at JSON_WORK_FACTOR × the reply's length.
 */
function parseJsonShapes(content: string): Collected {
  const out: Collected = { tasks: [], problems: [], droppedTruncated: 0 };
  const close = matchBrackets(content);
  let budget = content.length * JSON_WORK_FACTOR + JSON_WORK_BASE;
  let i = 0;
  while (i < content.length) {
    const c = content.charCodeAt(i);
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
      i++;
      continue;
    }
    const end = close[i]!;
    if (end === -1) {
      // Never closes: the reply was cut inside this value. Items inside it may still be whole.
      if (c === OPEN_BRACE && nextNonBlankIsQuote(content, i + 1) && looksLikeTaskStart(content, i)) out.droppedTruncated++;
      i++;
      continue;
    }
    // parseLenient may read the text twice (as is, then repaired).
    const cost = 2 * (end + 1 - i);
    if (cost > budget) {
      out.limited = true;
      i++;
      continue;
    }
    budget -= cost;
    const value = parseLenient(content.slice(i, end + 1));
    if (value === undefined) {
      i++; // not JSON after all (code in a reply, say): look inside it
      continue;
    }
    // The walk sees every value nested in this one, so none of them needs parsing again.
    collectTasks(value, out);
    i = end + 1;
  }
  return out;
}

const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * For each `{` / `[` the index of the bracket closing it, or -1 (never closed, or not a bracket).
 * Quotes open strings only inside a bracket, so prose quotes outside JSON do not hide what follows;
 * as in JSON-ish text from models, any closer closes the innermost opener.
 */
function matchBrackets(s: string): Int32Array {
  const close = new Int32Array(s.length).fill(-1);
  const stack: number[] = [];
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      if (stack.length > 0) inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) stack.push(i);
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && stack.length > 0) close[stack.pop()!] = i;
  }
  return close;
}

/** JSON.parse, and on failure once more after mending what models get wrong: raw newlines or tabs
 * inside strings and trailing commas. */
function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(repairJson(text));
    } catch {
      return undefined;
    }
  }
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function repairJson(text: string): string {
  const parts: string[] = [];
  let from = 0; // start of the text not yet copied to parts
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      else if (c === '\n' || c === '\r' || c === '\t') {
        parts.push(text.slice(from, i), ESCAPES[c]!);
        from = i + 1;
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === ',' && /^\s*[}\]]/.test(text.slice(i + 1, i + 64))) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.join('');
}

/** A cheap pre-test for looksLikeTaskStart: `{` then at most 8 blanks then `"`. */
function nextNonBlankIsQuote(s: string, from: number): boolean {
  for (let i = from; i < s.length && i < from + 8; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

function looksLikeTaskStart(content: string, at: number): boolean {
  const head = content.slice(at, at + 40);
  return /"(instruction|指令|instruct|task|任务|question|问题)"/.test(head);
}

/** Index of the bracket closing the one at `start`, or -1. Tracks strings so `"}"` in text is ignored. */
export function findClosing(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Walks a parsed value in document order with an explicit stack: JSON can nest deeper than the call stack. */
function collectTasks(root: unknown, out: Collected): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (let k = value.length - 1; k >= 0; k--) {
        const item: unknown = value[k];
        if (item !== null && typeof item === 'object') stack.push(item);
      }
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const record = value as Record<string, unknown>;
    const task = toTask(record);
    if (task !== undefined) {
      if (typeof task === 'string') out.problems.push(task);
      else out.tasks.push(task);
      continue;
    }
    // A wrapper such as {"tasks": [...]} or {"data": {"items": [...]}}.
    const inner = Object.values(record);
    for (let k = inner.length - 1; k >= 0; k--) {
      const v = inner[k];
      if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
}

/** A task, a problem description, or undefined when the object is not task-shaped at all. */
function toTask(record: Record<string, unknown>): ParsedTask | string | undefined {
  const fields: Partial<Record<keyof ParsedTask, unknown>> = {};
  for (const [k, v] of Object.entries(record)) {
    const field = ALIAS_TO_FIELD.get(k.trim().toLowerCase());
    if (field !== undefined && !(field in fields)) fields[field] = v;
  }
  if (!('instruction' in fields) && !('output' in fields)) return undefined;
  // {"任务": [...]} is a wrapper, not a task whose instruction is a list.
  if (isContainer(fields.instruction)) return undefined;
  const instruction = asText(fields.instruction);
  if (instruction === undefined || instruction.trim() === '') return 'item without an instruction';
  const task: ParsedTask = {
    instruction,
    input: asText(fields.input) ?? '',
    output: asText(fields.output) ?? '',
  };
  const category = asText(fields.category);
  if (category) task.category = category;
  return task;
}

function isContainer(v: unknown): boolean {
  return v !== null && typeof v === 'object';
}

function asText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join('\n');
  // JSON.stringify recurses: a value nested deeper than it can go is not text we want anyway.
  return depthAtMost(v, MAX_VALUE_DEPTH) ? JSON.stringify(v) : undefined;
}

const MAX_VALUE_DEPTH = 64;

/** Whether `root` nests at most `limit` arrays/objects deep; iterative, stops at the first too-deep one. */
function depthAtMost(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return false;
    for (const inner of Object.values(v)) if (inner !== null && typeof inner === 'object') stack.push([inner, depth + 1]);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Alpaca-style numbered text

/** `1. 指令：…`, `指令: …`, `**输出**：…`; group 1 is the label, group 2 the rest of the line. */
const LABEL_LINE =
  /^\s*(?:#{1,6}\s*)?(?:\d{1,6}\s*[.、:：)）]\s*)?(?:\*\*)?(指令|输入|输出|instruction|input|output)(?:\*\*)?\s*[:：](?:\*\*)?\s*(.*)$/i;
const SEPARATOR_LINE = /^\s*(?:#{3,}|-{3,}|={3,})\s*$/;

/** The first non-blank character of a separator line is one of # - =. */
function couldBeSeparator(line: string): boolean {
  const c = line.trimStart().charCodeAt(0);
  return c === 0x23 || c === 0x2d || c === 0x3d;
}

function parseNumberedText(content: string, truncated: boolean): Collected {
  const out: Collected = { tasks: [], problems: [], droppedTruncated: 0 };
  type Draft = { instruction?: string[]; input?: string[]; output?: string[] };
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  let field: keyof Draft | undefined;

  for (let from = 0; from <= content.length; ) {
    let nl = content.indexOf('\n', from);
    if (nl === -1) nl = content.length;
    const line = content.slice(from, nl > from && content.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
    from = nl + 1;
    // Cheap tests first: the regexes run only on lines that could match them (a reply may be 10⁵ lines).
    if (couldBeSeparator(line) && SEPARATOR_LINE.test(line)) {
      field = undefined;
      continue;
    }
    const m = line.includes(':') || line.includes('：') ? LABEL_LINE.exec(line) : null;
    if (m) {
      const label = m[1]!.toLowerCase();
      const name: keyof Draft =
        label === '指令' || label === 'instruction' ? 'instruction' : label === '输入' || label === 'input' ? 'input' : 'output';
      if (name === 'instruction' || current === undefined || current[name] !== undefined) {
        current = {};
        drafts.push(current);
      }
      current[name] = [m[2]!];
      field = name;
    } else if (current !== undefined && field !== undefined) {
      current[field]!.push(line);
    }
  }

  if (truncated && drafts.length > 0) {
    drafts.pop();
    out.droppedTruncated++;
  }
  for (const d of drafts) {
    const instruction = d.instruction?.join('\n').trim();
    if (!instruction) {
      out.problems.push('item without an instruction');
      continue;
    }
    out.tasks.push({
      instruction,
      input: d.input?.join('\n').trim() ?? '',
      output: d.output?.join('\n').trim() ?? '',
    });
  }
  return out;
}
