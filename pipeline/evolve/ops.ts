/**
 * The evolution operations (after WizardLM's Evol-Instruct): four in depth — deepen the question, add one
 * constraint, make it concrete, require multi-step reasoning — and one in breadth, a new rarer instruction
 * of the same domain. Each has an editable prompt in `templates/evolve_<op>.txt`, checked at load.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { loadTemplateWith, renderTemplate, TEMPLATE_DIR, TemplateError, type Template } from '../templates.ts';
import type { ChatMessage } from '../llm.ts';

import type { EvolveOp } from './op-names.ts';

export { EVOLVE_OPS, type EvolveOp } from './op-names.ts';

/**
 * Operations allowed to change the task's input: making a task concrete may make its material concrete,
 * and a breadth evolution is a new task with material of its own. The others keep the parent's input as is.
 */
export const OPS_CHANGING_INPUT: ReadonlySet<EvolveOp> = new Set(['concretize', 'breadth']);

const PLACEHOLDERS = { required: ['instruction', 'input', 'max_added'], optional: [] as string[] };

/** Stored with empty inputs in the prompt, so the model sees the slot and is told to write 无. */
const NO_INPUT = '无';

export interface EvolveTemplates {
  /** One template per operation asked for. */
  byOp: Partial<Record<EvolveOp, Template>>;
  /** One stored template for the run: the operations' files together. */
  combined: Template;
}

export function templateFile(op: EvolveOp, dir = TEMPLATE_DIR): string {
  return `${dir}${dir.endsWith('/') ? '' : '/'}evolve_${op}.txt`;
}

/**
 * Loads the templates of `ops`. A template missing a placeholder is a TemplateError naming file:line (the
 * last line, where it would go); an unknown placeholder names its own line.
 */
export function loadEvolveTemplates(ops: readonly EvolveOp[], dir = TEMPLATE_DIR): EvolveTemplates {
  const byOp: Partial<Record<EvolveOp, Template>> = {};
  for (const op of ops) {
    const file = templateFile(op, dir);
    let template: Template;
    try {
      template = loadTemplateWith(file, PLACEHOLDERS, `evolve ${op}`);
    } catch (err) {
      if (err instanceof TemplateError && /is missing placeholder/.test(err.message) && !/^[^:]+:\d+:/.test(err.message)) {
        throw new TemplateError(withLastLine(err.message, file));
      }
      throw err;
    }
    byOp[op] = template;
  }
  const content = ops.map((op) => `[${op}]\n${byOp[op]!.content}`).join('\n');
  const combined: Template = {
    name: `evolve:${ops.join(',')}`,
    file: templateFile(ops[0]!, dir),
    content,
    sha256: crypto.createHash('sha256').update(content).digest('hex'),
  };
  return { byOp, combined };
}

function withLastLine(message: string, file: string): string {
  // loadTemplateWith has read the file already; count its lines again only for the message.
  let lines = 1;
  try {
    const text = fs.readFileSync(file, 'utf8');
    lines = Math.max(1, text.replace(/\n$/, '').split('\n').length);
  } catch {
    lines = 1;
  }
  return message.replace(`${file}:`, `${file}:${lines}:`);
}

/** The operation a parent takes in a round: fixed by (task, round), so a resumed run asks the same. */
export function opFor(taskId: number, round: number, ops: readonly EvolveOp[]): EvolveOp {
  // A small integer hash (Knuth's multiplicative), spread enough over ids and rounds.
  const h = Math.imul(taskId * 31 + round, 2654435761) >>> 0;
  return ops[h % ops.length]!;
}

/** Characters an evolution may add to the instruction: at least `floor`, else as much as the parent has. */
export function maxAdded(parentChars: number, floor: number): number {
  return Math.max(floor, parentChars);
}

export function evolveMessages(template: Template, parent: { instruction: string; input: string }, added: number): ChatMessage[] {
  const content = renderTemplate(template, {
    instruction: parent.instruction,
    input: parent.input.trim() === '' ? NO_INPUT : parent.input,
    max_added: String(added),
  });
  return [{ role: 'user', content: content.trim() }];
}
