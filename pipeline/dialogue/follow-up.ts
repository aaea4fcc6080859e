/**
 * The follow-up request of a conversation built turn by turn: the generation model, shown the
 * conversation so far, writes the user's next turn (templates/dialogue_follow_up.txt), and its reply is
 * read as that one turn. The reader is total and linear: model output is untrusted input.
 */
import type { ChatMessage } from '../llm.ts';
import { loadTemplateWith, renderTemplate, TEMPLATE_DIR, type Template } from '../templates.ts';
import { cleanField } from '../text.ts';
import type { Turn } from './types.ts';

export const DEFAULT_FOLLOW_UP_FILE = `${TEMPLATE_DIR}dialogue_follow_up.txt`;
const PLACEHOLDERS = { required: ['conversation'], optional: ['turn', 'turns'] };

export function loadFollowUpTemplate(file: string = DEFAULT_FOLLOW_UP_FILE): Template {
  return loadTemplateWith(file, PLACEHOLDERS, 'dialogue follow-up');
}

/** The conversation as the prompt shows it: one labelled paragraph per turn. */
export function transcript(turns: readonly Turn[]): string {
  return turns.map((t) => `${t.role === 'user' ? '用户' : '助手'}：${t.content}`).join('\n\n');
}

/** The request for the user turn after `turns` (ending on a reply), in a conversation of `planned` exchanges. */
export function followUpMessages(template: Template, turns: readonly Turn[], planned: number): ChatMessage[] {
  const content = renderTemplate(template, {
    conversation: transcript(turns),
    turn: String(turns.length / 2 + 1),
    turns: String(planned),
  });
  return [{ role: 'user', content }];
}

export interface FollowUpReading {
  /** The user turn, cleaned; undefined when the reply holds none. */
  text: string | undefined;
  shape: 'text' | 'json' | 'none';
  problems: string[];
}

/** A label a model may put before the user's words (用户：, User:, 【用户】). */
const USER_LABEL = /^[ \t]*(?:【(?:用户|提问者)】[ \t]*[:：]?|[[(（]?[ \t]*(?:用户|user|human|提问者|问)[ \t]*[\])）]?[ \t]*[:：])[ \t]*/iu;
/** A line where the model goes on to write the assistant's reply: everything from it on is not the user's. */
const ASSISTANT_LINE = /^[ \t]*(?:【(?:助手|AI)】|[[(（]?[ \t]*(?:助手|assistant|ai|答)[ \t]*[\])）]?[ \t]*[:：])/imu;
const QUOTE_PAIRS: readonly [string, string][] = [
  ['“', '”'],
  ['"', '"'],
  ['「', '」'],
  ['『', '』'],
];
const JSON_KEYS = ['content', 'user', 'text', 'message', 'value', '内容'];

/** The one user turn a follow-up reply holds. Total, linear in the reply's length. */
export function readFollowUp(content: string, finishReason: string | null): FollowUpReading {
  if (finishReason === 'length') return { text: undefined, shape: 'none', problems: ['cut off by the token limit'] };
  let text = content.trim();
  let shape: FollowUpReading['shape'] = 'text';
  // A fenced block, or a JSON object with the turn under a usual key.
  const fence = /^```[a-z]*\n([\s\S]*?)\n?```$/u.exec(text);
  if (fence !== null) text = fence[1]!.trim();
  if (text.startsWith('{') && text.endsWith('}')) {
    const inner = jsonTurn(text);
    if (inner !== undefined) {
      text = inner;
      shape = 'json';
    }
  }
  const assistant = ASSISTANT_LINE.exec(text);
  if (assistant !== null) text = text.slice(0, assistant.index);
  text = text.replace(USER_LABEL, '').trim();
  for (const [open, close] of QUOTE_PAIRS) {
    if (text.length >= 2 && text.startsWith(open) && text.endsWith(close) && !text.slice(1, -1).includes(close)) {
      text = text.slice(1, -1).trim();
      break;
    }
  }
  text = cleanField(text);
  if (text === '') return { text: undefined, shape: 'none', problems: ['no user turn found in reply'] };
  return { text, shape, problems: [] };
}

function jsonTurn(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of JSON_KEYS) if (typeof record[key] === 'string') return record[key];
  return undefined;
}
