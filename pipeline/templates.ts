/**
 * Template files: editable Chinese text in `templates/` with `{{name}}` placeholders, checked against the
 * placeholders their kind fills when loaded (file:line in every error), and list files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { UsageError } from './errors.ts';
import { packagePath } from './paths.ts';

export class TemplateError extends UsageError {
  override name = 'TemplateError';
}

/** The repository's `templates/` folder (generation and training templates), with a trailing slash. */
export const TEMPLATE_DIR = `${packagePath('templates')}/`;

export interface Template {
  name: string;
  file: string;
  content: string;
  /** sha256 of the content: each stored request records which exact text produced it. */
  sha256: string;
}

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** A template file whose placeholders are checked against `placeholders`; `label` names its kind in errors. */
export function loadTemplateWith(file: string, placeholders: { required: string[]; optional: string[] }, label: string): Template {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`${file}: cannot read template (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const { required, optional } = placeholders;
  const found = new Set<string>();
  content.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(PLACEHOLDER)) {
      const name = m[1]!;
      if (!required.includes(name) && !optional.includes(name)) {
        throw new TemplateError(
          `${file}:${i + 1}: unknown placeholder {{${name}}} (${label} templates use ${[...required, ...optional].join(', ')})`,
        );
      }
      found.add(name);
    }
  });
  const missing = required.filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new TemplateError(`${file}: template for ${label} is missing placeholder ${missing.map((n) => `{{${n}}}`).join(', ')}`);
  }
  const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.prompt\.txt$|\.txt$/, '');
  return { name, file, content, sha256: crypto.createHash('sha256').update(content).digest('hex') };
}

/** A list file: one item per line, `#` comments and blank lines ignored. */
export function loadList(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`${file}: cannot read list (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const items = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (items.length === 0) throw new TemplateError(`${file}:1: list is empty`);
  return items;
}

export function renderTemplate(template: Template, values: Record<string, string>): string {
  return template.content.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
}
