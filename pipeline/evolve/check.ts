/**
 * evolve --check-model: the prompt that asks a cheap model whether an evolved instruction adds anything
 * to its parent's (templates/evolve_check.txt), and the reader of its verdict. The reader is total and
 * linear: the first 是 or 否 at the start of the reply (after labels such as 答：). A reply with neither
 * keeps the task, as a run without the check would (asking again could loop on a model that never
 * answers in the format); it is marked unread on the request.
 */
import { loadTemplateWith, renderTemplate, TEMPLATE_DIR, type Template } from '../templates.ts';
import type { ChatMessage } from '../llm.ts';

const PLACEHOLDERS = { required: ['parent_instruction', 'instruction'], optional: ['parent_input', 'input'] };

export function loadCheckTemplate(dir = TEMPLATE_DIR): Template {
  return loadTemplateWith(`${dir}${dir.endsWith('/') ? '' : '/'}evolve_check.txt`, PLACEHOLDERS, 'evolve check');
}

export interface CheckPair {
  parentInstruction: string;
  parentInput: string;
  instruction: string;
  input: string;
}

export function checkMessages(template: Template, pair: CheckPair): ChatMessage[] {
  const content = renderTemplate(template, {
    parent_instruction: pair.parentInstruction,
    parent_input: pair.parentInput === '' ? '无' : pair.parentInput,
    instruction: pair.instruction,
    input: pair.input === '' ? '无' : pair.input,
  });
  return [{ role: 'user', content }];
}

export interface CheckVerdict {
  adds: boolean;
  /** The reply started with 是 or 否. */
  read: boolean;
  reason: string;
}

/** Leading labels a model puts before its one-character answer. */
const LABEL = /^(?:答案?|回答|判断|结论|verdict|answer)\s*[:：]\s*/iu;

export function readCheck(content: string): CheckVerdict {
  // Only the head matters: a bounded slice keeps this linear whatever the reply's length.
  const head = content
    .slice(0, 200)
    .replace(/^[\s*#>"“「【[]+/u, '')
    .replace(LABEL, '');
  const first = head.replace(/^[\s*"“「【[]+/u, '').charAt(0);
  const reason = content.slice(0, 300).replace(/\s+/gu, ' ').trim();
  if (first === '是') return { adds: true, read: true, reason };
  if (first === '否') return { adds: false, read: true, reason };
  return { adds: true, read: false, reason: `no 是/否 verdict at the start (kept): ${reason.slice(0, 80)}` };
}
