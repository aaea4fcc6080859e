/**
 * Training records of conversations (pure), and the format rules every one is checked against before it
 * is written: a trainer stops on a malformed conversation (LLaMA-Factory: "Invalid role tag"), so none
 * may reach the file.
 * - sharegpt: the whole conversation as human/gpt turns, `system` with --system;
 * - messages: the whole conversation as user/assistant messages, a system message first with --system;
 * - alpaca: the last exchange as instruction/output, the earlier ones as `history` [[user, assistant], …]
 *   (LLaMA-Factory's alpaca multi-turn form).
 */
import { z } from 'zod';
import type { Turn } from '../dialogue/types.ts';
import type { AlpacaRecord, ChatMessage, Format, MessagesRecord } from './formats.ts';

export interface AlpacaDialogueRecord extends AlpacaRecord {
  history: [string, string][];
}

export interface ShareGptDialogueRecord {
  conversations: { from: 'human' | 'gpt'; value: string }[];
  system?: string;
}

export type DialogueRecord = AlpacaDialogueRecord | ShareGptDialogueRecord | MessagesRecord;

/** The formats a conversation can be written in; prompt-completion has no turns. */
export function takesDialogues(format: Format): boolean {
  return format !== 'prompt-completion';
}

export function renderDialogueRecord(format: Format, turns: readonly Turn[], system: string | null): DialogueRecord {
  switch (format) {
    case 'alpaca': {
      const history: [string, string][] = [];
      for (let i = 0; i + 3 < turns.length; i += 2) history.push([turns[i]!.content, turns[i + 1]!.content]);
      return { instruction: turns[turns.length - 2]?.content ?? '', input: '', output: turns[turns.length - 1]?.content ?? '', history };
    }
    case 'sharegpt': {
      const record: ShareGptDialogueRecord = {
        conversations: turns.map((t) => ({ from: t.role === 'user' ? 'human' : 'gpt', value: t.content })),
      };
      if (system !== null) record.system = system;
      return record;
    }
    case 'messages': {
      const messages: ChatMessage[] = system === null ? [] : [{ role: 'system', content: system }];
      for (const t of turns) messages.push({ role: t.role, content: t.content });
      return { messages };
    }
    case 'prompt-completion':
      throw new Error('prompt-completion has no conversation form');
  }
}

/** The text a trainer tokenizes: the turns (and system prompt) joined by newlines. */
export function dialogueTrainingText(turns: readonly Turn[], system: string | null): string {
  return (system === null ? '' : `${system}\n`) + dialogueContentText(turns);
}

export function dialogueContentText(turns: readonly Turn[]): string {
  return turns.map((t) => t.content).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// format rules

const text = z.string().refine((s) => s.trim() !== '', 'empty text');
const ALPACA = z.object({ instruction: text, input: z.string(), output: text, history: z.array(z.tuple([text, text])) }).strict();
const SHAREGPT_TURN = z.object({ from: z.enum(['human', 'gpt']), value: text }).strict();
const SHAREGPT = z.object({ conversations: z.array(SHAREGPT_TURN), system: text.optional() }).strict();
const MESSAGE = z.object({ role: z.enum(['system', 'user', 'assistant']), content: text }).strict();
const MESSAGES = z.object({ messages: z.array(MESSAGE) }).strict();

/** What is wrong with a record by its format's rules, or undefined when it may be written. */
export function recordProblem(format: Format, record: unknown): string | undefined {
  const schema = format === 'alpaca' ? ALPACA : format === 'sharegpt' ? SHAREGPT : format === 'messages' ? MESSAGES : undefined;
  if (schema === undefined) return `${format} has no conversation form`;
  const parsed = schema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.join('.') || 'record'}: ${issue.message}`;
  }
  const data = parsed.data;
  if ('conversations' in data)
    return alternation(
      data.conversations.map((t) => t.from),
      'human',
      'gpt',
    );
  if ('messages' in data) {
    const roles = data.messages.map((m) => m.role);
    return alternation(roles[0] === 'system' ? roles.slice(1) : roles, 'user', 'assistant');
  }
  return undefined;
}

/** Strictly user, assistant, user, … ending with the assistant, at least one exchange. */
function alternation(roles: readonly string[], user: string, assistant: string): string | undefined {
  if (roles.length < 2) return 'fewer than two turns';
  for (let i = 0; i < roles.length; i++) {
    const want = i % 2 === 0 ? user : assistant;
    if (roles[i] !== want) return `turn ${i + 1} is "${roles[i]}", expected "${want}"`;
  }
  if (roles.length % 2 !== 0) return `ends on a "${user}" turn`;
  return undefined;
}
