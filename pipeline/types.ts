/** Domain types shared by every stage of the pipeline. */

/** One instruction-tuning example, as stored and exported. `input` is "" when the task has none. */
export interface Task {
  instruction: string;
  input: string;
  output: string;
  /** Task category (e.g. 翻译, 摘要) when the source says so. */
  category?: string | undefined;
}

/** A seed task in the self-instruct schema, flattened to its first instance. */
export interface SeedTask extends Task {
  /** Stable id: the file's own id, or `<file>:<line>` when it has none. */
  id: string;
  name?: string;
  isClassification: boolean;
}

/** One turn of a multi-turn conversation, as parsed, checked, stored and exported. */
export type Role = 'user' | 'assistant';

export interface Turn {
  role: Role;
  content: string;
}
