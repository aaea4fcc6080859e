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
  const truncated = finishReason === 'length';
  const json = parseJsonShapes(content);
  const text = parseNumberedText(content, truncated);
  // A reply is one shape or the other; whichever finds more tasks is the one the model used.
  const best = text.tasks.length > json.tasks.length ? text : json;
  return {
    tasks: best.tasks,
    shape: best.tasks.length === 0 ? 'none' : best === text ? 'text' : 'json',
    problems: best.tasks.length === 0 && json.problems.length === 0 && text.problems.length === 0
      ? ['no tasks found in reply']
      : best.problems,
    droppedTruncated: best.droppedTruncated,
  };
}

// ---------------------------------------------------------------------------------------------------
// JSON shapes

interface Collected {
  tasks: ParsedTask[];
  problems: string[];
  droppedTruncated: number;
}

/**
 * Scans for balanced `{…}` / `[…]` values (string-aware), parses each, and collects task objects from
 * them. A value that never closes (a cut-off reply) is skipped by stepping inside it, so complete items
 * before the cut are still found, and the cut item itself is the one left behind.
 */
function parseJsonShapes(content: string): Collected {
  const out: Collected = { tasks: [], problems: [], droppedTruncated: 0 };
  let i = 0;
  while (i < content.length) {
    const c = content[i];
    if (c !== '{' && c !== '[') {
      i++;
      continue;
    }
    const end = findClosing(content, i);
    if (end === -1) {
      // Never closes: the reply was cut inside this value. Items inside it may still be whole.
      if (c === '{' && looksLikeTaskStart(content, i)) out.droppedTruncated++;
      i++;
      continue;
    }
    const value = parseLenient(content.slice(i, end + 1));
    if (value === undefined) {
      i++; // not JSON after all (code in a reply, say): look inside it
      continue;
    }
    const before = out.tasks.length + out.problems.length;
    collectTasks(value, out);
    // A JSON value that held no task (e.g. `[1, 2]` in prose) should not hide tasks nested inside.
    i = out.tasks.length + out.problems.length > before ? end + 1 : i + 1;
  }
  return out;
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

function repairJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') {
        out += c + (text[i + 1] ?? '');
        i++;
      } else if (c === '"') {
        inString = false;
        out += c;
      } else if (c === '\n') out += '\\n';
      else if (c === '\r') out += '\\r';
      else if (c === '\t') out += '\\t';
      else out += c;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ',' && /^\s*[}\]]/.test(text.slice(i + 1, i + 64))) continue;
    out += c;
  }
  return out;
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

function collectTasks(value: unknown, out: Collected): void {
  if (Array.isArray(value)) {
    for (const item of value) collectTasks(item, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const task = toTask(record);
  if (task !== undefined) {
    if (typeof task === 'string') out.problems.push(task);
    else out.tasks.push(task);
    return;
  }
  // A wrapper such as {"tasks": [...]} or {"data": {"items": [...]}}.
  for (const inner of Object.values(record)) {
    if (inner !== null && typeof inner === 'object') collectTasks(inner, out);
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
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------------
// Alpaca-style numbered text

/** `1. 指令：…`, `指令: …`, `**输出**：…`; group 1 is the label, group 2 the rest of the line. */
const LABEL_LINE =
  /^\s*(?:#{1,6}\s*)?(?:\d{1,3}\s*[.、:：)）]\s*)?(?:\*\*)?(指令|输入|输出|instruction|input|output)(?:\*\*)?\s*[:：](?:\*\*)?\s*(.*)$/i;
const SEPARATOR_LINE = /^\s*(?:#{3,}|-{3,}|={3,})\s*$/;

function parseNumberedText(content: string, truncated: boolean): Collected {
  const out: Collected = { tasks: [], problems: [], droppedTruncated: 0 };
  type Draft = { instruction?: string[]; input?: string[]; output?: string[] };
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  let field: keyof Draft | undefined;

  for (const line of content.split(/\r?\n/)) {
    if (SEPARATOR_LINE.test(line)) {
      field = undefined;
      continue;
    }
    const m = LABEL_LINE.exec(line);
    if (m) {
      const label = m[1]!.toLowerCase();
      const name: keyof Draft = label === '指令' || label === 'instruction' ? 'instruction'
        : label === '输入' || label === 'input' ? 'input' : 'output';
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
