/**
 * Reply → conversations. Total: never throws, iterative (no recursion on input depth) and linear in the
 * reply's length. JSON shapes: an array of `{role, content}` turns, `{"conversations"|"messages": [...]}`,
 * ShareGPT `{from, value}`, pair objects `{"user": …, "assistant": …}`, and arrays or wrappers holding
 * several of these; text shapes: `用户：…` / `助手：…`, `Q:` / `A:`, `问：` / `答：`, with conversations
 * separated by headings (`对话1`, `### 对话二`, `【对话3】`, `1.` alone on a line) or `---` lines.
 *
 * Turns are returned as written, malformed ones included (two user turns in a row, empty turns): the
 * checks reject those with a reason, so the store can say why. A conversation cut off by the token limit
 * is dropped, as the cut item is for tasks.
 */
import type { Role, Turn } from './types.ts';

export interface ParsedDialogue {
  turns: Turn[];
}

export type DialogueShape = 'json' | 'text' | 'none';

export interface DialogueParseResult {
  dialogues: ParsedDialogue[];
  shape: DialogueShape;
  /** Things that looked like conversations but could not be used, and why. */
  problems: string[];
  /** Conversations dropped because the reply was cut off (`finish_reason: length`). */
  droppedTruncated: number;
}

const USER_ROLES = ['user', 'human', 'humans', '用户', '人类', '提问者', '问', 'q', 'question', 'customer', '顾客', '学生'];
const ASSISTANT_ROLES = [
  'assistant',
  'gpt',
  'ai',
  'bot',
  'model',
  'chatbot',
  '助手',
  '助理',
  'ai助手',
  '回答者',
  '答',
  'a',
  'answer',
  '老师',
];
const SYSTEM_ROLES = ['system', '系统'];
const ROLE_OF = new Map<string, Role | 'system'>([
  ...USER_ROLES.map((r) => [r, 'user'] as const),
  ...ASSISTANT_ROLES.map((r) => [r, 'assistant'] as const),
  ...SYSTEM_ROLES.map((r) => [r, 'system'] as const),
]);
const ROLE_KEYS = ['role', 'from', 'speaker', 'author', '角色', '说话人'];
const CONTENT_KEYS = ['content', 'value', 'text', 'message', '内容', '话'];
/** Keys under which an object holds one conversation's turns. */
const CONVERSATION_KEYS = ['conversations', 'conversation', 'messages', 'dialogue', 'dialog', 'turns', 'chat', '对话', '会话'];

export function parseDialogues(content: string, finishReason?: string | null): DialogueParseResult {
  const truncated = finishReason === 'length';
  const json = parseJson(content, truncated);
  const text = parseText(content, truncated);
  // One shape or the other: whichever finds more conversations is the one the model used.
  const best = text.dialogues.length > json.dialogues.length ? text : json;
  const none = best.dialogues.length === 0;
  return {
    dialogues: best.dialogues,
    shape: none ? 'none' : best === text ? 'text' : 'json',
    problems: none && json.problems.length === 0 && text.problems.length === 0 ? ['no conversations found in reply'] : best.problems,
    droppedTruncated: best.droppedTruncated,
  };
}

interface Collected {
  dialogues: ParsedDialogue[];
  problems: string[];
  droppedTruncated: number;
}

// ---------------------------------------------------------------------------------------------------
// JSON

/** How deep into a bracketed value that is not valid JSON the scan looks for valid ones (keeps it linear). */
const MAX_DESCENT = 2;

function parseJson(content: string, truncated: boolean): Collected {
  const out: Collected = { dialogues: [], problems: [], droppedTruncated: 0 };
  const match = matchBrackets(content);
  const found: { at: number; dialogues: ParsedDialogue[]; problems: string[] }[] = [];
  let unclosed = false;
  // Ranges to scan, each with how many invalid values enclose it. Every character is scanned at most
  // MAX_DESCENT + 1 times, and each JSON.parse covers a range scanned at that level.
  const work: { start: number; end: number; level: number }[] = [{ start: 0, end: content.length, level: 0 }];
  while (work.length > 0) {
    const { start, end, level } = work.pop()!;
    let i = start;
    while (i < end) {
      const c = content.charCodeAt(i);
      if (c !== 0x7b && c !== 0x5b) {
        i++;
        continue;
      }
      const close = match[i]!;
      if (close === -1 || close >= end) {
        // Never closes: cut inside this value. Whole values inside it are still found.
        unclosed = true;
        i++;
        continue;
      }
      const value = parseLenient(content.slice(i, close + 1));
      if (value === INVALID) {
        if (level < MAX_DESCENT) work.push({ start: i + 1, end: close, level: level + 1 });
      } else {
        const got = collect(value);
        if (got.dialogues.length > 0 || got.problems.length > 0) found.push({ at: i, ...got });
      }
      i = close + 1;
    }
  }
  found.sort((a, b) => a.at - b.at);
  for (const f of found) {
    out.dialogues.push(...f.dialogues);
    out.problems.push(...f.problems);
  }
  if (truncated && unclosed) out.droppedTruncated = 1;
  return out;
}

/**
 * For each `{` or `[`, the index of its closing bracket, or -1. One pass with a stack; strings are
 * skipped so brackets inside them do not count; a closer of the wrong kind is prose and ignored.
 */
function matchBrackets(s: string): Int32Array {
  const match = new Int32Array(s.length).fill(-1);
  const stack: number[] = [];
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) stack.push(i);
    else if ((c === 0x7d || c === 0x5d) && stack.length > 0) {
      const open = stack[stack.length - 1]!;
      if ((c === 0x7d) === (s.charCodeAt(open) === 0x7b)) {
        stack.pop();
        match[open] = i;
      }
    }
  }
  return match;
}

const INVALID = Symbol('invalid');

/** JSON.parse (iterative in V8), then once more after mending raw newlines in strings and trailing commas. */
function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(repairJson(text));
    } catch {
      return INVALID;
    }
  }
}

function repairJson(text: string): string {
  const out: string[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') {
        out.push(c, text[i + 1] ?? '');
        i++;
      } else if (c === '"') {
        inString = false;
        out.push(c);
      } else out.push(c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : c);
      continue;
    }
    if (c === '"') inString = true;
    if (c === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === '}' || text[j] === ']') continue;
    }
    out.push(c);
  }
  return out.join('');
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Conversations inside a parsed value, in order, found with an explicit stack (no recursion). */
function collect(root: unknown): { dialogues: ParsedDialogue[]; problems: string[] } {
  const dialogues: ParsedDialogue[] = [];
  const problems: string[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    const conversation = asConversation(value);
    if (conversation !== undefined) {
      if (typeof conversation === 'string') problems.push(conversation);
      else dialogues.push(conversation);
      continue;
    }
    const children = Array.isArray(value) ? value : isObj(value) ? Object.values(value) : [];
    for (let k = children.length - 1; k >= 0; k--) {
      const child = children[k];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return { dialogues, problems };
}

/** One conversation, a problem with one, or undefined when the value is not conversation-shaped. */
function asConversation(value: unknown): ParsedDialogue | string | undefined {
  if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (CONVERSATION_KEYS.includes(k.trim().toLowerCase()) && Array.isArray(v)) {
        const turns = asTurns(v);
        if (turns !== undefined) return turns;
      }
    }
    return undefined;
  }
  return Array.isArray(value) ? asTurns(value) : undefined;
}

/** An array of turn objects or of `{user, assistant}` pairs as turns; undefined when it is neither. */
function asTurns(items: readonly unknown[]): ParsedDialogue | string | undefined {
  if (items.length === 0 || !items.every(isObj)) return undefined;
  const objects = items as Obj[];
  const roleTurns = objects.map(roleTurn);
  if (roleTurns.every((t) => t !== undefined)) {
    const unknown = roleTurns.find((t) => t.role === undefined);
    if (unknown !== undefined) return `conversation with an unknown role "${unknown.rawRole}"`;
    // A system prompt the model added is not part of the training conversation.
    return { turns: roleTurns.filter((t) => t.role !== 'system').map((t) => ({ role: t.role as Role, content: t.content })) };
  }
  const pairs = objects.map(pairTurns);
  if (pairs.every((p) => p !== undefined)) return { turns: pairs.flat() };
  return undefined;
}

function field(obj: Obj, keys: readonly string[]): { found: boolean; value: unknown } {
  for (const [k, v] of Object.entries(obj)) if (keys.includes(k.trim().toLowerCase())) return { found: true, value: v };
  return { found: false, value: undefined };
}

function roleTurn(obj: Obj): { role: Role | 'system' | undefined; rawRole: string; content: string } | undefined {
  const role = field(obj, ROLE_KEYS);
  const content = field(obj, CONTENT_KEYS);
  if (!role.found || typeof role.value !== 'string' || !content.found) return undefined;
  return { role: ROLE_OF.get(role.value.trim().toLowerCase()), rawRole: role.value.slice(0, 40), content: asText(content.value) };
}

/** `{"user": "…", "assistant": "…"}`: one exchange (the assistant side may be missing). */
function pairTurns(obj: Obj): Turn[] | undefined {
  let user: string | undefined;
  let assistant: string | undefined;
  for (const [k, v] of Object.entries(obj)) {
    const role = ROLE_OF.get(k.trim().toLowerCase());
    if (role === 'user' && user === undefined) user = asText(v);
    else if (role === 'assistant' && assistant === undefined) assistant = asText(v);
  }
  if (user === undefined) return undefined;
  const turns: Turn[] = [{ role: 'user', content: user }];
  if (assistant !== undefined) turns.push({ role: 'assistant', content: assistant });
  return turns;
}

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('\n');
  return '';
}

// ---------------------------------------------------------------------------------------------------
// Text

/** `用户：…`, `**助手**: …`, `- Q: …`, `1. 问：…`; group 1 the speaker, group 2 the rest of the line. */
const SPEAKER_LINE = new RegExp(
  '^\\s*(?:[-*>]\\s*)?(?:\\d{1,3}\\s*[.、)）]\\s*)?(?:\\*\\*)?' +
    '(用户|人类|提问者|问|user|human|q|助手|助理|ai助手|assistant|ai|gpt|bot|答|回答|a)' +
    '(?:\\*\\*)?\\s*[:：](?:\\*\\*)?\\s*(.*)$',
  'i',
);
const NUMERAL = '[0-9一二三四五六七八九十百]+';
/**
 * A line that starts a new conversation: `对话1`, `### 对话 二：旅行`, `【对话3】`, `第2组对话`, `Conversation 1`,
 * and a number alone (`2.`) or with a title naming a conversation (`2. 关于租房的对话`). A numbered line
 * of an answer (`1. 先准备材料`) is not one.
 */
const HEADING_LINE = new RegExp(
  '^\\s*(?:#{1,6}\\s*)?(?:\\*\\*)?[【\\[(（]?\\s*(?:' +
    `(?:对话|会话|多轮对话|conversation|dialogue)\\s*${NUMERAL}\\s*[】\\])）]?(?:\\*\\*)?\\s*(?:[:：.、]\\s*.{0,30})?` +
    `|第\\s*${NUMERAL}\\s*(?:组|段|个|轮)?\\s*(?:对话|会话)\\s*[】\\])）]?(?:\\*\\*)?\\s*(?:[:：]\\s*.{0,30})?` +
    `|${NUMERAL}\\s*[.、)）]\\s*(?:.{0,20}(?:对话|会话).{0,10})?` +
    ')\\s*$',
  'i',
);
const SEPARATOR_LINE = /^\s*(?:#{3,}|-{3,}|={3,}|\*{3,})\s*$/;

function parseText(content: string, truncated: boolean): Collected {
  const out: Collected = { dialogues: [], problems: [], droppedTruncated: 0 };
  const drafts: { role: Role; lines: string[] }[][] = [];
  let current: { role: Role; lines: string[] }[] | undefined;
  let turn: { role: Role; lines: string[] } | undefined;
  for (const line of content.split(/\r?\n/)) {
    const speaker = SPEAKER_LINE.exec(line);
    if (speaker !== null) {
      if (current === undefined) {
        current = [];
        drafts.push(current);
      }
      const name = speaker[1]!.toLowerCase();
      turn = { role: ROLE_OF.get(name === '回答' ? '答' : name) === 'assistant' ? 'assistant' : 'user', lines: [speaker[2]!] };
      current.push(turn);
      continue;
    }
    if (SEPARATOR_LINE.test(line) || HEADING_LINE.test(line)) {
      // Closes the conversation; text until the next speaker belongs to none (chatter, headings).
      current = undefined;
      turn = undefined;
      continue;
    }
    turn?.lines.push(line);
  }
  if (truncated && drafts.length > 0) {
    drafts.pop();
    out.droppedTruncated++;
  }
  for (const d of drafts) out.dialogues.push({ turns: d.map((t) => ({ role: t.role, content: t.lines.join('\n').trim() })) });
  return out;
}
