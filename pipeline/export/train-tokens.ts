/**
 * A record's length in the trainer's tokens, counted the way the trainer builds the sample: chat formats
 * (sharegpt, messages) through the model's chat template when the tokenizer has one (system, user and
 * assistant turns with the template's own special tokens and default system prompt), alpaca and
 * prompt-completion as the training template's prompt followed by the output. A tokenizer without a chat
 * template counts chat records as their turns joined by newlines.
 */
import type { Turn } from '../dialogue/types.ts';
import { dialogueTrainingText } from './dialogue-records.ts';
import { trainingText, userTurn, type Format, type RenderOptions, type TaskText } from './formats.ts';
import type { ChatTurn, Tokenizer } from './tokens.ts';

const isChat = (format: Format): boolean => format === 'sharegpt' || format === 'messages';

export function taskTokens(counter: Tokenizer, format: Format, task: TaskText, render: RenderOptions): number {
  if (isChat(format) && counter.countChat !== null) {
    const turns: ChatTurn[] = render.system === null ? [] : [{ role: 'system', content: render.system }];
    turns.push({ role: 'user', content: userTurn(task) }, { role: 'assistant', content: task.output });
    return counter.countChat(turns);
  }
  return counter.count(trainingText(format, task, render));
}

export function dialogueTokens(counter: Tokenizer, format: Format, turns: readonly Turn[], system: string | null): number {
  if (isChat(format) && counter.countChat !== null) {
    const chat: ChatTurn[] = system === null ? [] : [{ role: 'system', content: system }];
    for (const t of turns) chat.push({ role: t.role, content: t.content });
    return counter.countChat(chat);
  }
  return counter.count(dialogueTrainingText(turns, system));
}

/** How the manifest says the records were counted. */
export function countedAs(counter: Tokenizer, format: Format): 'chat template' | 'text' {
  return isChat(format) && counter.countChat !== null ? 'chat template' : 'text';
}
