/**
 * Renders tasks as chat models really write them: bare or wrapped JSON, fenced JSON with chatter, JSON
 * lines, and Alpaca-style numbered text. Pure: tasks and a random stream in, text out. Every shape here
 * is one the pipeline's parser must accept.
 */
import type { SimTask } from './families/common.ts';
import { fill, type Rng } from './random.ts';

export type ReplyShape = 'json-array' | 'json-wrapped' | 'fenced' | 'jsonl' | 'alpaca-text';
export const REPLY_SHAPES: readonly ReplyShape[] = ['json-array', 'json-wrapped', 'fenced', 'jsonl', 'alpaca-text'];

/** Where one task sits in the reply text (UTF-16 offsets, end exclusive). */
export interface ItemSpan {
  start: number;
  end: number;
  /** The output's text inside the item: a cut here leaves the item unmistakably incomplete. */
  outputStart: number;
  outputEnd: number;
}

export interface ReplyLayout {
  text: string;
  items: ItemSpan[];
}

export function renderReply(tasks: readonly SimTask[], shape: ReplyShape, rng: Rng): string {
  return layoutReply(tasks, shape, rng).text;
}

/**
 * The reply text and the span of every task in it (for cutting a reply off mid-item). `instructionOnly`:
 * items without an output field, as a two-stage prompt asks; a cut then falls inside the instruction.
 */
export function layoutReply(tasks: readonly SimTask[], shape: ReplyShape, rng: Rng, instructionOnly = false): ReplyLayout {
  const b = new Builder();
  const chosen = rng.chance(0.3) ? CHINESE_KEYS : ENGLISH_KEYS;
  const keys = instructionOnly ? { ...chosen, output: '' } : chosen;
  const withCategory = rng.chance(0.2);
  switch (shape) {
    case 'json-array':
      jsonArray(b, tasks, keys, withCategory, rng.chance(0.6) ? rng.pick([2, 4]) : 0);
      break;
    case 'json-wrapped':
      jsonWrapped(b, tasks, keys, withCategory, rng);
      break;
    case 'fenced':
      b.add(fill(rng.pick(FENCE_BEFORE), { n: tasks.length }) + '\n\n```json\n');
      if (rng.chance(0.7)) jsonArray(b, tasks, keys, withCategory, 2);
      else jsonWrapped(b, tasks, keys, withCategory, rng);
      b.add('\n```');
      {
        const after = rng.pick(FENCE_AFTER);
        if (after !== '') b.add('\n\n' + after);
      }
      break;
    case 'jsonl': {
      const numbered = rng.chance(0.4);
      tasks.forEach((t, i) => {
        if (i > 0) b.add('\n');
        if (numbered) b.add(`${i + 1}. `);
        jsonObject(b, t, keys, withCategory, 0, '', rng.chance(0.5) ? ', ' : ',');
      });
      break;
    }
    case 'alpaca-text':
      alpacaText(b, tasks, rng, instructionOnly);
      break;
  }
  return { text: b.text, items: b.items };
}

// ---------------------------------------------------------------------------------------------------

interface Keys {
  instruction: string;
  input: string;
  output: string;
  category: string;
}
const ENGLISH_KEYS: Keys = { instruction: 'instruction', input: 'input', output: 'output', category: 'category' };
const CHINESE_KEYS: Keys = { instruction: '指令', input: '输入', output: '输出', category: '类别' };

const WRAPPER_KEYS = ['tasks', 'data', 'items', '任务', 'results'];
const FENCE_BEFORE = [
  '好的，以下是{n}个新任务：',
  '没问题！下面是按要求生成的{n}条指令数据：',
  '根据你的要求，我整理了以下任务：',
  '以下是新的任务列表，格式为 JSON：',
  '好的，这是{n}条新的指令数据，已尽量覆盖不同类型：',
  '下面给出生成结果。',
];
const FENCE_AFTER = [
  '希望对你有帮助！',
  '如需调整数量或难度，请告诉我。',
  '以上任务都可以由纯文本模型完成。',
  '',
  '如果需要更多任务，可以随时告诉我。',
];

/** Accumulates text and records item spans as they are written. */
class Builder {
  text = '';
  items: ItemSpan[] = [];
  add(s: string): void {
    this.text += s;
  }
}

/**
 * One task as a JSON object, written by hand so the output value's span is known. `indent` 0 means one
 * line; otherwise fields go on their own lines, indented by `pad` + indent spaces.
 */
function jsonObject(b: Builder, t: SimTask, keys: Keys, withCategory: boolean, indent: number, pad: string, separator = ','): void {
  const start = b.text.length;
  // keys.output '' (instruction-only items): no output field; the cut span is the instruction's text.
  const fields: [string, string][] = [
    [keys.instruction, t.instruction],
    [keys.input, t.input],
  ];
  if (keys.output !== '') fields.push([keys.output, t.output]);
  if (withCategory) fields.push([keys.category, t.category]);
  const inner = pad + ' '.repeat(indent);
  let outputStart = 0;
  let outputEnd = 0;
  b.add('{');
  fields.forEach(([k, v], i) => {
    if (i > 0) b.add(indent > 0 ? ',' : separator);
    if (indent > 0) b.add('\n' + inner);
    b.add(`${JSON.stringify(k)}:${indent > 0 || separator !== ',' ? ' ' : ''}`);
    const value = JSON.stringify(v);
    if (k === (keys.output === '' ? keys.instruction : keys.output)) {
      // Inside the quotes, so a cut there leaves an unterminated string.
      outputStart = b.text.length + 1;
      outputEnd = b.text.length + value.length - 1;
    }
    b.add(value);
  });
  if (indent > 0) b.add('\n' + pad);
  b.add('}');
  b.items.push({ start, end: b.text.length, outputStart, outputEnd });
}

function jsonArray(b: Builder, tasks: readonly SimTask[], keys: Keys, withCategory: boolean, indent: number, pad = ''): void {
  b.add('[');
  tasks.forEach((t, i) => {
    if (i > 0) b.add(',');
    if (indent > 0) b.add('\n' + pad + ' '.repeat(indent));
    jsonObject(b, t, keys, withCategory, indent, pad + ' '.repeat(indent));
  });
  if (indent > 0 && tasks.length > 0) b.add('\n' + pad);
  b.add(']');
}

function jsonWrapped(b: Builder, tasks: readonly SimTask[], keys: Keys, withCategory: boolean, rng: Rng): void {
  const key = rng.pick(WRAPPER_KEYS);
  const indent = rng.chance(0.7) ? 2 : 0;
  const nl = indent > 0 ? '\n' + ' '.repeat(indent) : '';
  b.add('{' + nl);
  if (rng.chance(0.3)) b.add(`"count":${indent > 0 ? ' ' : ''}${tasks.length},${nl}`);
  b.add(`${JSON.stringify(key)}:${indent > 0 ? ' ' : ''}`);
  jsonArray(b, tasks, keys, withCategory, indent, ' '.repeat(indent));
  b.add((indent > 0 ? '\n' : '') + '}');
}

const EMPTY_INPUT_MARKERS = ['<无输入>', '无输入', '无'];

function alpacaText(b: Builder, tasks: readonly SimTask[], rng: Rng, instructionOnly: boolean): void {
  const colon = rng.pick(['：', ':', ': ']);
  const marker = rng.pick(EMPTY_INPUT_MARKERS);
  const separator = rng.pick(['\n###\n', '\n\n###\n\n']);
  if (rng.chance(0.3)) b.add(rng.pick(['以下是生成的任务：', '好的，按照要求写了这些：']) + '\n\n');
  tasks.forEach((t, i) => {
    if (i > 0) b.add(separator);
    const n = i + 1;
    const start = b.text.length;
    if (instructionOnly) {
      b.add(`${n}. 指令${colon}`);
      const instructionStart = b.text.length;
      b.add(t.instruction);
      const instructionEnd = b.text.length;
      b.add(`\n${n}. 输入${colon}${t.input === '' ? marker : t.input}`);
      b.items.push({ start, end: b.text.length, outputStart: instructionStart, outputEnd: instructionEnd });
      return;
    }
    b.add(`${n}. 指令${colon}${t.instruction}\n${n}. 输入${colon}${t.input === '' ? marker : t.input}\n${n}. 输出${colon}`);
    const outputStart = b.text.length;
    b.add(t.output);
    b.items.push({ start, end: b.text.length, outputStart, outputEnd: b.text.length });
  });
}

// ---------------------------------------------------------------------------------------------------
// cutting replies off

export interface CutReply {
  text: string;
  /** How many items are complete in the cut text. */
  complete: number;
}

/**
 * Cuts the reply inside one item's output (never the first item when there are several), the way a
 * reply stopped by a token limit ends mid-sentence.
 */
export function cutInsideItem(layout: ReplyLayout, rng: Rng): CutReply {
  const n = layout.items.length;
  if (n === 0) return { text: layout.text.slice(0, Math.floor(layout.text.length / 2)), complete: 0 };
  const k = n === 1 ? 0 : 1 + rng.int(n - 1);
  const item = layout.items[k]!;
  const room = item.outputEnd - item.outputStart;
  let at = room >= 2 ? item.outputStart + 1 + rng.int(room - 1) : item.outputStart;
  // Never split a surrogate pair.
  if (at > 0 && isHighSurrogate(layout.text.charCodeAt(at - 1))) at--;
  return { text: layout.text.slice(0, at), complete: k };
}

/** Keeps a prefix of `text` and reports how many items survive whole. */
export function cutAt(layout: ReplyLayout, at: number): CutReply {
  const text = layout.text.slice(0, at);
  return { text, complete: layout.items.filter((i) => i.end <= at).length };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

// ---------------------------------------------------------------------------------------------------
// garbage

const GARBAGE_SENTENCES = [
  '好的，我明白你的需求。',
  '不过在开始之前，我想先确认几个细节：你希望这些任务偏向哪个领域？',
  '生成高质量的数据需要同时考虑多样性、难度和准确性。',
  '一般来说，可以先确定任务类型，再为每种类型设计若干示例。',
  '如果你能提供更多背景信息，我可以给出更有针对性的内容。',
  '这个问题涉及的方面比较多，我们可以分几步来讨论。',
  '首先要明确数据的用途，其次要控制好每条数据的长度，最后还要人工抽查质量。',
  '请告诉我你更关注哪一方面，我再继续。',
  '说实话，一次写这么多条内容，质量很难保证。',
  '我建议先从小批量开始，确认格式没有问题后再扩大规模。',
];
const GARBAGE_TOPICS = ['关于健康饮食', '关于时间管理', '关于旅行规划', '关于学习方法', '关于家庭理财', '关于职场沟通', '关于城市交通'];

/** A reply with no task in it at all: chatter, or a list of topics without any fields. */
export function garbageReply(rng: Rng): string {
  if (rng.chance(0.3)) {
    const topics = rng.sample(GARBAGE_TOPICS, rng.between(3, 5));
    return `好的，下面开始：\n\n${topics.map((t, i) => `${i + 1}. ${t}`).join('\n')}\n\n（由于篇幅所限，具体内容省略。）`;
  }
  const sentences = rng.sample(GARBAGE_SENTENCES, rng.between(3, 6));
  const split = rng.between(1, sentences.length - 1);
  return `${sentences.slice(0, split).join('')}\n\n${sentences.slice(split).join('')}`;
}
