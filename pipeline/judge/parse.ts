/**
 * Judge replies → judgments, matched to the ids the prompt gave. Model output is untrusted input: this
 * reader is total (never throws), iterative (an explicit stack, no recursion on input depth) and linear
 * (one scan for brackets, then each span parsed at most once per level, at most MAX_LEVELS levels).
 *
 * Accepted shapes: `{"results": [...]}` or any object wrapping an array of items, a bare array, an
 * object keyed by id (`{"1": {...}}`), one item alone, any of them inside a ```json fence or with
 * chatter around, and slightly malformed JSON (trailing or missing commas, bare or single-quoted keys,
 * full-width `：，`, Chinese quotes, `//` comments, raw newlines in strings, a cut-off end).
 */

export const JUDGE_FLAGS = [
  'needs_non_text',
  'factual_error',
  'ignores_input',
  'refusal',
  'unsafe',
  'placeholder',
  'truncated',
  'wrong_language',
] as const;
export type JudgeFlag = (typeof JUDGE_FLAGS)[number];

export const SUB_SCORES = ['clarity', 'correctness', 'helpfulness', 'fluency'] as const;
export type SubScore = (typeof SUB_SCORES)[number];

export interface Judgment {
  /** 1–10. */
  score: number;
  subScores: Partial<Record<SubScore, number>>;
  flags: JudgeFlag[];
  reason: string;
}

export type JudgeReplyShape = 'json' | 'fenced' | 'embedded' | 'salvaged' | 'none';

export interface JudgeParse {
  /** By prompt id; only ids that were asked for. */
  judged: Map<number, Judgment>;
  /** Ids asked for and not (validly) answered: judge them again in a later request. */
  missing: number[];
  /** Items whose id was not asked for. */
  extra: number;
  /** Items repeating an id already answered (the first one counts). */
  repeated: number;
  shape: JudgeReplyShape;
  problems: string[];
}

const MAX_REASON_CHARS = 200;
/** Root → wrapper → array → item: deeper than this no judge reply goes. */
const MAX_LEVELS = 4;
const FLAG_SET: ReadonlySet<string> = new Set(JUDGE_FLAGS);

export function isJudgeFlag(s: string): s is JudgeFlag {
  return FLAG_SET.has(s);
}

const ID_KEYS = ['id', 'task_id', 'taskid', 'task', 'index', 'no', '编号', '序号', '任务'];
const SCORE_KEYS = ['score', 'overall', 'overall_score', 'total', 'rating', '总分', '评分', '分数', '得分'];
const SUB_KEYS = ['sub', 'sub_scores', 'subscores', 'sub_score', 'scores', 'details', 'dimensions', '分项', '分项得分'];
const FLAG_KEYS = ['flags', 'flag', 'issues', 'problems', '标记', '问题'];
const REASON_KEYS = ['reason', 'reasons', 'explanation', 'comment', 'rationale', '理由', '原因', '说明'];
const SUB_ALIASES: Record<string, SubScore> = {
  clarity: 'clarity',
  clear: 'clarity',
  instruction: 'clarity',
  清晰: 'clarity',
  指令: 'clarity',
  指令清晰: 'clarity',
  correctness: 'correctness',
  correct: 'correctness',
  accuracy: 'correctness',
  正确: 'correctness',
  正确性: 'correctness',
  回答正确: 'correctness',
  helpfulness: 'helpfulness',
  helpful: 'helpfulness',
  completeness: 'helpfulness',
  完整: 'helpfulness',
  有帮助: 'helpfulness',
  完整有帮助: 'helpfulness',
  fluency: 'fluency',
  fluent: 'fluency',
  language: 'fluency',
  通顺: 'fluency',
  流畅: 'fluency',
  中文通顺: 'fluency',
};

/** Parses a judge reply for the prompt ids `expected`. Never throws. */
export function parseJudgeReply(content: string, expected: readonly number[]): JudgeParse {
  const result: JudgeParse = { judged: new Map(), missing: [], extra: 0, repeated: 0, shape: 'none', problems: [] };
  try {
    collect(typeof content === 'string' ? content : '', expected, result);
  } catch (err) {
    // Defence in depth: nothing above should throw, but a reader of model output must not.
    result.problems.push(`parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
  result.missing = expected.filter((id) => !result.judged.has(id));
  return result;
}

interface RawItem {
  id: number | undefined;
  record: Record<string, unknown>;
}

function collect(content: string, expected: readonly number[], out: JudgeParse): void {
  const fenced = /```(?:json|JSON)?\s*\n?/.exec(content);
  const spans = scanSpans(content);
  const items: RawItem[] = [];
  let salvaged = false;
  // Roots first; a span whose parse yields nothing is opened one level down.
  let level = spans.filter((s) => s.parent === -1 && s.end !== -1);
  const orphans = spans.filter((s) => s.end !== -1 && s.parent !== -1 && spans[s.parent]!.end === -1);
  level.push(...orphans);
  level.sort((a, b) => a.start - b.start);
  for (let depth = 0; depth < MAX_LEVELS && level.length > 0; depth++) {
    const next: Span[] = [];
    for (const span of level) {
      const value = parseLenient(content.slice(span.start, span.end + 1));
      const found = value === undefined ? [] : itemsOf(value);
      if (found.length > 0) {
        items.push(...found);
        if (depth > 0 || orphans.includes(span)) salvaged = true;
      } else {
        for (const child of span.children) next.push(spans[child]!);
      }
    }
    level = next;
  }
  if (spans.some((s) => s.end === -1)) out.problems.push('reply ends inside a JSON value (cut off)');
  if (items.length === 0) {
    out.problems.push(content.trim() === '' ? 'empty reply' : 'no judgment found in the reply');
    return;
  }
  const bare = /^[{[][\s\S]*[}\]]$/.test(content.trim());
  out.shape = salvaged ? 'salvaged' : fenced !== null ? 'fenced' : bare ? 'json' : 'embedded';

  const wanted = new Set(expected);
  const noIds = items.every((i) => i.id === undefined);
  if (noIds && items.length === expected.length) {
    // No ids at all but one item per task: the order is all there is to go by.
    out.problems.push('items carry no ids: matched by position');
    items.forEach((item, i) => (item.id = expected[i]));
  }
  let invalid = 0;
  for (const item of items) {
    if (item.id === undefined) {
      out.problems.push('item without an id');
      continue;
    }
    if (!wanted.has(item.id)) {
      out.extra++;
      continue;
    }
    if (out.judged.has(item.id)) {
      out.repeated++;
      continue;
    }
    const j = toJudgment(item.record, out.problems);
    if (j === undefined) invalid++;
    else out.judged.set(item.id, j);
  }
  if (out.extra > 0) out.problems.push(`${out.extra} item(s) with ids that were not asked for`);
  if (out.repeated > 0) out.problems.push(`${out.repeated} repeated id(s); the first answer counts`);
  if (invalid > 0) out.problems.push(`${invalid} item(s) without a valid score`);
}

// ---------------------------------------------------------------------------------------------------
// finding JSON values in text

interface Span {
  start: number;
  /** Index of the closing bracket; -1 when it never closes. */
  end: number;
  parent: number;
  children: number[];
}

/** Every `{…}`/`[…]` in the text, string-aware, with its nesting, in one pass. */
function scanSpans(s: string): Span[] {
  const spans: Span[] = [];
  const stack: number[] = [];
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && stack.length > 0) inString = true;
    else if (c === '{' || c === '[') {
      const parent = stack.length > 0 ? stack[stack.length - 1]! : -1;
      spans.push({ start: i, end: -1, parent, children: [] });
      if (parent !== -1) spans[parent]!.children.push(spans.length - 1);
      stack.push(spans.length - 1);
    } else if ((c === '}' || c === ']') && stack.length > 0) {
      spans[stack.pop()!]!.end = i;
    }
  }
  return spans;
}

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

const IDENT_START = /[A-Za-z_\u4e00-\u9fff]/;
const IDENT = /[A-Za-z0-9_\u4e00-\u9fff]/;

/**
 * Mends what models get wrong, in one string-aware pass: single-quoted or “Chinese-quoted” strings,
 * bare keys, full-width `：` and `，` between values, raw newlines in strings, `//` comments, trailing
 * commas, missing commas between values.
 */
export function repairJson(text: string): string {
  let out = '';
  // What ended the last significant token: a value end (`v`), a separator, or an opener.
  let last: 'v' | 'sep' | 'open' = 'open';
  // A comma is written only once the next value shows it is not a trailing one.
  let pendingComma = false;
  const valueStart = (): void => {
    if (pendingComma || last === 'v') out += ',';
    pendingComma = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '“') {
      valueStart();
      const close = c === '“' ? '”' : c;
      out += '"';
      for (i++; i < text.length; i++) {
        const d = text[i]!;
        if (d === '\\') {
          out += d + (text[i + 1] ?? '');
          i++;
        } else if (d === close || (close === '”' && d === '"')) break;
        else if (d === '"') out += '\\"';
        else if (d === '\n') out += '\\n';
        else if (d === '\r') out += '\\r';
        else if (d === '\t') out += '\\t';
        else out += d;
      }
      out += '"';
      last = 'v';
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '{' || c === '[') {
      valueStart();
      out += c;
      last = 'open';
    } else if (c === '}' || c === ']') {
      pendingComma = false; // a trailing comma
      out += c;
      last = 'v';
    } else if (c === ',' || c === '，') {
      pendingComma = last !== 'open';
      last = 'sep';
    } else if (c === ':' || c === '：') {
      pendingComma = false;
      out += ':';
      last = 'sep';
    } else if (/\s/.test(c)) {
      out += c;
    } else if (IDENT_START.test(c)) {
      let j = i;
      while (j < text.length && IDENT.test(text[j]!)) j++;
      const word = text.slice(i, j);
      valueStart();
      out += word === 'true' || word === 'false' || word === 'null' ? word : JSON.stringify(word);
      i = j - 1;
      last = 'v';
    } else if (/[-0-9.]/.test(c)) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j]!)) j++;
      valueStart();
      out += text.slice(i, j);
      i = j - 1;
      last = 'v';
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// items

/** The judgment items a parsed value holds, down a bounded number of wrapper levels. */
function itemsOf(value: unknown): RawItem[] {
  const out: RawItem[] = [];
  // Iterative walk with a depth bound: wrappers are shallow, and input depth must not drive recursion.
  const stack: { v: unknown; depth: number; id?: number | undefined }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth, id } = stack.pop()!;
    if (depth > MAX_LEVELS || v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1 });
      continue;
    }
    const record = v as Record<string, unknown>;
    if (pick(record, SCORE_KEYS) !== undefined) {
      out.push({ id: idOf(pick(record, ID_KEYS)) ?? id, record });
      continue;
    }
    const entries = Object.entries(record);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, inner] = entries[i]!;
      if (inner === null || typeof inner !== 'object') continue;
      // {"1": {...}, "2": {...}}: the key is the id.
      stack.push({ v: inner, depth: depth + 1, ...(Array.isArray(inner) ? {} : { id: idOf(k) }) });
    }
  }
  return out;
}

/** The first of `keys` present in the record (case-insensitive, trimmed). */
function pick(record: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const [k, v] of Object.entries(record)) {
    if (keys.includes(k.trim().toLowerCase())) return v;
  }
  return undefined;
}

/** 3, "3", "#3", "任务3", "t3" → 3. */
function idOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\D{0,6}?(\d{1,9})\s*$/.exec(v.trim());
  return m === null ? undefined : Number(m[1]);
}

/** 8, "8", "8/10", "8分", "8.5" → a number in 1–10, else undefined. */
function scoreOf(v: unknown): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d{1,2}(?:\.\d+)?)\s*(?:\/\s*10|分|points?)?\s*$/i.exec(v);
    if (m !== null) n = Number(m[1]);
  }
  if (n === undefined || !Number.isFinite(n) || n < 1 || n > 10) return undefined;
  return Math.round(n * 10) / 10;
}

function toJudgment(record: Record<string, unknown>, problems: string[]): Judgment | undefined {
  const score = scoreOf(pick(record, SCORE_KEYS));
  if (score === undefined) return undefined;
  const subScores: Judgment['subScores'] = {};
  const sub = pick(record, SUB_KEYS);
  const subSources: Record<string, unknown>[] = [record];
  if (Array.isArray(sub)) {
    // The rubric's compact form: [clarity, correctness, helpfulness, fluency].
    sub.slice(0, SUB_SCORES.length).forEach((v, i) => {
      const n = scoreOf(v);
      if (n !== undefined) subScores[SUB_SCORES[i]!] = n;
    });
  } else if (sub !== null && typeof sub === 'object') subSources.unshift(sub as Record<string, unknown>);
  for (const source of subSources) {
    for (const [k, v] of Object.entries(source)) {
      const name = SUB_ALIASES[k.trim().toLowerCase()];
      const n = scoreOf(v);
      if (name !== undefined && n !== undefined && subScores[name] === undefined) subScores[name] = n;
    }
  }
  const flags: JudgeFlag[] = [];
  const rawFlags = pick(record, FLAG_KEYS);
  const list = Array.isArray(rawFlags) ? rawFlags : typeof rawFlags === 'string' ? rawFlags.split(/[,，、\s]+/) : [];
  for (const f of list) {
    if (typeof f !== 'string' || f.trim() === '') continue;
    const name = f.trim().toLowerCase();
    if (isJudgeFlag(name)) {
      if (!flags.includes(name)) flags.push(name);
    } else problems.push(`unknown flag ${JSON.stringify(name.slice(0, 40))}`);
  }
  const reasonRaw = pick(record, REASON_KEYS);
  const reason = typeof reasonRaw === 'string' ? [...reasonRaw.trim()].slice(0, MAX_REASON_CHARS).join('') : '';
  return { score, subScores, flags, reason };
}
