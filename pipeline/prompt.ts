/**
 * Generation prompts: editable Chinese templates in `templates/` with `{{name}}` placeholders, filled
 * with sampled seed and machine examples (self-instruct) or random topic × task-type lists (topics).
 */
import { loadTemplateWith, renderTemplate, TEMPLATE_DIR, type Template } from './templates.ts';
import type { Task } from './types.ts';
import { openingLines } from './dialogue/openings.ts';
import { DEFAULT_TURN_BOUNDS, type TurnBounds } from './dialogue/types.ts';

export type GenerationMode = 'self-instruct' | 'topics' | 'dialogue';
export const GENERATION_MODES: readonly GenerationMode[] = ['self-instruct', 'topics', 'dialogue'];

export const DEFAULT_TEMPLATE_FILES: Record<GenerationMode, string> = {
  'self-instruct': `${TEMPLATE_DIR}self_instruct.prompt.txt`,
  topics: `${TEMPLATE_DIR}topics.prompt.txt`,
  dialogue: `${TEMPLATE_DIR}dialogue.txt`,
};
/**
 * Two-stage runs (issue 13): stage 1 asks for instruction and input only; answers come in stage 2. In the
 * dialogue mode, stage 1 asks for openings (a conversation's first user turn), built on turn by turn.
 */
export const DEFAULT_INSTRUCTION_TEMPLATE_FILES: Record<GenerationMode, string> = {
  'self-instruct': `${TEMPLATE_DIR}instructions_self_instruct.txt`,
  topics: `${TEMPLATE_DIR}instructions_topics.txt`,
  dialogue: `${TEMPLATE_DIR}dialogue_openings.txt`,
};
export const DEFAULT_TOPIC_LIST = `${TEMPLATE_DIR}topic_list.txt`;
export const DEFAULT_TASK_TYPE_LIST = `${TEMPLATE_DIR}task_type_list.txt`;

/** Placeholders each mode fills; the required ones must appear in its template. */
const PLACEHOLDERS: Record<GenerationMode, { required: string[]; optional: string[] }> = {
  'self-instruct': { required: ['examples', 'num_tasks'], optional: ['max_output_chars'] },
  topics: { required: ['topics', 'task_types', 'num_tasks'], optional: ['max_output_chars', 'examples'] },
  dialogue: { required: ['num_dialogues', 'openings'], optional: ['min_turns', 'max_turns', 'max_output_chars'] },
};

export function loadTemplate(file: string, mode: GenerationMode): Template {
  return loadTemplateWith(file, PLACEHOLDERS[mode], mode);
}

/** Examples as the JSON array the model is asked to continue (without outputs for instruction-only prompts). */
export function formatExamples(tasks: readonly Task[], instructionOnly = false): string {
  return JSON.stringify(
    tasks.map((t) =>
      instructionOnly ? { instruction: t.instruction, input: t.input } : { instruction: t.instruction, input: t.input, output: t.output },
    ),
    null,
    2,
  );
}

/** Any source of randomness in [0, 1). Math.random in production; seeded in tests. */
export type Random = () => number;

/** k distinct items, uniformly (partial Fisher–Yates on a copy of the indices). */
export function sample<T>(items: readonly T[], k: number, random: Random): T[] {
  const n = items.length;
  const picked: T[] = [];
  const taken = new Map<number, number>();
  for (let i = 0; i < Math.min(k, n); i++) {
    const j = i + Math.floor(random() * (n - i));
    const vj = taken.get(j) ?? j;
    taken.set(j, taken.get(i) ?? i);
    picked.push(items[vj]!);
  }
  return picked;
}

export interface PromptInputs {
  mode: GenerationMode;
  template: Template;
  numTasks: number;
  maxOutputChars: number;
  seeds: readonly Task[];
  /** Already accepted machine-written tasks to show beside the seeds (self-instruct: up to 2). */
  machineExamples: readonly Task[];
  topics: readonly string[];
  taskTypes: readonly string[];
  random: Random;
  /** Dialogue mode: exchanges per conversation the prompt asks for. Default 2–4. */
  turns?: TurnBounds;
  /** Stage 1 of a two-stage run: examples shown without their outputs. Default false. */
  instructionOnly?: boolean;
}

/** Seed examples per self-instruct prompt, and machine examples once there are some (Self-Instruct's 6+2, here 3+2). */
export const SEED_EXAMPLES = 3;
export const MACHINE_EXAMPLES = 2;
const TOPICS_PER_PROMPT = 5;
const TASK_TYPES_PER_PROMPT = 6;

export function buildPrompt(p: PromptInputs): string {
  const common = { num_tasks: String(p.numTasks), max_output_chars: String(p.maxOutputChars) };
  // -- dialogue mode (issue 14): numTasks conversations, one opening hint each --------------------
  if (p.mode === 'dialogue') {
    const turns = p.turns ?? DEFAULT_TURN_BOUNDS;
    return renderTemplate(p.template, {
      ...common,
      num_dialogues: String(p.numTasks),
      min_turns: String(turns.min),
      max_turns: String(turns.max),
      openings: openingLines(p.numTasks, p),
    });
  }
  // -- end dialogue mode ---------------------------------------------------------------------------
  if (p.mode === 'self-instruct') {
    const examples = [...sample(p.seeds, SEED_EXAMPLES, p.random), ...p.machineExamples.slice(0, MACHINE_EXAMPLES)];
    return renderTemplate(p.template, { ...common, examples: formatExamples(examples, p.instructionOnly) });
  }
  const bullet = (items: string[]): string => items.map((t) => `- ${t}`).join('\n');
  return renderTemplate(p.template, {
    ...common,
    topics: bullet(sample(p.topics, TOPICS_PER_PROMPT, p.random)),
    task_types: bullet(sample(p.taskTypes, TASK_TYPES_PER_PROMPT, p.random)),
    examples: formatExamples(sample(p.seeds, 2, p.random), p.instructionOnly),
  });
}
