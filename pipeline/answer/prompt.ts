/**
 * The answer prompt of stage 2: a system message (the Chinese answer guidance) and a user message that is
 * the task as a trained model will see it (instruction, then the input on the lines after it, the way the
 * chat export formats merge them). Both are editable files in `templates/`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { loadTemplateWith, renderTemplate, TEMPLATE_DIR, TemplateError, type Template } from '../templates.ts';
import type { ChatMessage } from '../llm.ts';

export const DEFAULT_ANSWER_SYSTEM_FILE = `${TEMPLATE_DIR}answer_system.txt`;
export const DEFAULT_ANSWER_USER_FILE = `${TEMPLATE_DIR}answer_user.txt`;

const USER_PLACEHOLDERS = { required: ['instruction'], optional: ['input'] };

/** The answer prompt as one template: its sha256 covers the system text and the user template together. */
export interface AnswerTemplate extends Template {
  system: string;
  user: Template;
}

export interface AnswerTemplateOptions {
  /** User-message template with {{instruction}} and optionally {{input}}. Default templates/answer_user.txt. */
  userFile?: string | undefined;
  /** The system message itself; wins over `systemFile`. */
  system?: string | undefined;
  /** Default templates/answer_system.txt. */
  systemFile?: string | undefined;
}

export function loadAnswerTemplate(options: AnswerTemplateOptions = {}): AnswerTemplate {
  const user = loadTemplateWith(options.userFile ?? DEFAULT_ANSWER_USER_FILE, USER_PLACEHOLDERS, 'answer');
  const system = (options.system ?? readSystem(options.systemFile ?? DEFAULT_ANSWER_SYSTEM_FILE)).trim();
  // Stored as one text so a changed system message is a different template (and a different sha256).
  const content = `[system]\n${system}\n[user]\n${user.content}`;
  return {
    name: `answer:${user.name}`,
    file: user.file,
    content,
    system,
    user,
    sha256: crypto.createHash('sha256').update(content).digest('hex'),
  };
}

function readSystem(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`${file}: cannot read the answer system prompt (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** One answer request's messages; no system message when the system text is empty. */
export function answerMessages(template: AnswerTemplate, task: { instruction: string; input: string }): ChatMessage[] {
  const user = renderTemplate(template.user, { instruction: task.instruction, input: task.input })
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return template.system === ''
    ? [{ role: 'user', content: user }]
    : [
        { role: 'system', content: template.system },
        { role: 'user', content: user },
      ];
}
