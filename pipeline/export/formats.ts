/**
 * Training record shapes (pure): one task → one JSON object per line, in the shape each trainer reads.
 * - alpaca: Alpaca / Chinese-LLaMA-Alpaca / LLaMA-Factory `alpaca` formatting;
 * - sharegpt: LLaMA-Factory `sharegpt` formatting (human/gpt turns, optional system);
 * - messages: OpenAI chat fine-tuning;
 * - prompt-completion: the prompt already rendered with a training template, for plain causal-LM trainers.
 */
import { renderPrompt, type TrainingTemplate } from './template.ts';

export const FORMATS = ['alpaca', 'sharegpt', 'messages', 'prompt-completion'] as const;
export type Format = (typeof FORMATS)[number];

/** Record files: JSON Lines, or Parquet (parquet.ts). */
export const FILE_FORMATS = ['jsonl', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** A split's file inside the export folder: `train.jsonl`, or with hfLayout `data/validation-00000-of-00001.parquet`. */
export function dataFileName(split: 'train' | 'valid', fileFormat: FileFormat, hfLayout: boolean): string {
  if (!hfLayout) return `${split}.${fileFormat}`;
  return `data/${split === 'valid' ? 'validation' : 'train'}-00000-of-00001.${fileFormat}`;
}

export interface TaskText {
  instruction: string;
  /** "" when the task has none. */
  input: string;
  output: string;
}

export interface RenderOptions {
  /** For prompt-completion records, and for the training text token counts measure (alpaca too). */
  template: TrainingTemplate;
  /** A system prompt for sharegpt and messages records; null for none. */
  system: string | null;
}

export interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
}

export interface ShareGptRecord {
  conversations: [{ from: 'human'; value: string }, { from: 'gpt'; value: string }];
  system?: string;
}

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export interface MessagesRecord {
  messages: ChatMessage[];
}

export interface PromptCompletionRecord {
  prompt: string;
  completion: string;
}

export type TrainingRecord = AlpacaRecord | ShareGptRecord | MessagesRecord | PromptCompletionRecord;

/** The user's turn in chat formats: instruction, then the input on the next line, as Chinese-LLaMA-Alpaca merges them. */
export function userTurn(task: TaskText): string {
  return task.input === '' ? task.instruction : `${task.instruction}\n${task.input}`;
}

export function renderRecord(format: Format, task: TaskText, options: RenderOptions): TrainingRecord {
  switch (format) {
    case 'alpaca':
      return { instruction: task.instruction, input: task.input, output: task.output };
    case 'sharegpt': {
      const record: ShareGptRecord = {
        conversations: [
          { from: 'human', value: userTurn(task) },
          { from: 'gpt', value: task.output },
        ],
      };
      if (options.system !== null) record.system = options.system;
      return record;
    }
    case 'messages': {
      const messages: ChatMessage[] = [];
      if (options.system !== null) messages.push({ role: 'system', content: options.system });
      messages.push({ role: 'user', content: userTurn(task) }, { role: 'assistant', content: task.output });
      return { messages };
    }
    case 'prompt-completion':
      return { prompt: renderPrompt(options.template, task.instruction, task.input), completion: task.output };
  }
}

/**
 * The text a trainer tokenizes for this record, which `--max-tokens` limits: for alpaca and
 * prompt-completion the template-rendered prompt plus the output; for chat formats the turns' contents
 * joined by newlines (a chat template adds a few tokens of its own, not counted).
 */
export function trainingText(format: Format, task: TaskText, options: RenderOptions): string {
  switch (format) {
    case 'alpaca':
    case 'prompt-completion':
      return renderPrompt(options.template, task.instruction, task.input) + task.output;
    case 'sharegpt':
    case 'messages':
      return (options.system === null ? '' : `${options.system}\n`) + `${userTurn(task)}\n${task.output}`;
  }
}

/** The task's own text (no template), for the tokens-per-character figure. */
export function contentText(task: TaskText): string {
  return `${userTurn(task)}\n${task.output}`;
}

/** Optional columns the rows of one export carry. */
export interface DatasetColumns {
  /** Conversations in alpaca form: earlier exchanges in `history`. */
  history?: boolean;
  /** sharegpt rows with a top-level `system` (export with `system`). */
  system?: boolean;
}

/**
 * A LLaMA-Factory `dataset_info.json` entry for one exported file of this format. It maps only columns
 * the rows have: LLaMA-Factory reads `example[column]` for every mapped column, so a mapped column that
 * no row carries fails the load.
 */
export function datasetInfoEntry(format: Format, fileName: string, optional: DatasetColumns = {}): Record<string, unknown> {
  switch (format) {
    case 'alpaca': {
      const columns: Record<string, string> = { prompt: 'instruction', query: 'input', response: 'output' };
      // Conversations carry their earlier exchanges in `history` (LLaMA-Factory's alpaca multi-turn form).
      if (optional.history === true) columns.history = 'history';
      return { file_name: fileName, formatting: 'alpaca', columns };
    }
    case 'prompt-completion':
      // The prompt is already templated: pair it with LLaMA-Factory's `empty` template to avoid a second one.
      return { file_name: fileName, formatting: 'alpaca', columns: { prompt: 'prompt', response: 'completion' } };
    case 'sharegpt': {
      const columns: Record<string, string> = { messages: 'conversations' };
      if (optional.system === true) columns.system = 'system';
      return {
        file_name: fileName,
        formatting: 'sharegpt',
        columns,
        tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
      };
    }
    case 'messages':
      // The system prompt, when there is one, is the first message (system_tag), not a column.
      return {
        file_name: fileName,
        formatting: 'sharegpt',
        columns: { messages: 'messages' },
        tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' },
      };
  }
}
