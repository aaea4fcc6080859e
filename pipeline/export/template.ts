/**
 * Training templates: how a task becomes the prompt a model is trained on. Alpaca-style, a pair of
 * files `templates/<name>.train.txt` (with `{{input}}`) and `<name>_no_input.train.txt` (without),
 * since a prompt with an empty input section teaches the model to expect one.
 */
import { UsageError } from '../errors.ts';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TEMPLATE_DIR } from '../templates.ts';

export class TrainingTemplateError extends UsageError {
  override name = 'TrainingTemplateError';
}

export const DEFAULT_TRAINING_TEMPLATE = 'alpaca';

export interface TemplateText {
  file: string;
  content: string;
  sha256: string;
}

export interface TrainingTemplate {
  name: string;
  withInput: TemplateText;
  noInput: TemplateText;
}

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/**
 * `alpaca` → `templates/alpaca.train.txt` + `templates/alpaca_no_input.train.txt`; a path to a
 * `*.train.txt` file uses its `_no_input` sibling when there is one, else the same file with `{{input}}`
 * left empty.
 */
export function loadTrainingTemplate(nameOrFile: string): TrainingTemplate {
  const isFile = nameOrFile.includes('/') || nameOrFile.endsWith('.txt');
  const withFile = isFile ? nameOrFile : path.join(TEMPLATE_DIR, `${nameOrFile}.train.txt`);
  const base = withFile.replace(/\.train\.txt$|\.txt$/, '');
  const noFile = `${base}_no_input.train.txt`;
  const name = path.basename(base);
  const withInput = readTemplate(withFile, true);
  const noInput = fs.existsSync(noFile) ? readTemplate(noFile, false) : withInput;
  return { name, withInput, noInput };
}

function readTemplate(file: string, mayHaveInput: boolean): TemplateText {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TrainingTemplateError(`${file}: cannot read training template (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const found = new Set<string>();
  content.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(PLACEHOLDER)) {
      const name = m[1]!;
      if (name !== 'instruction' && !(name === 'input' && mayHaveInput)) {
        throw new TrainingTemplateError(
          `${file}:${i + 1}: unknown placeholder {{${name}}} (training templates use {{instruction}}${mayHaveInput ? ' and {{input}}' : ''})`,
        );
      }
      found.add(name);
    }
  });
  if (!found.has('instruction')) throw new TrainingTemplateError(`${file}: training template has no {{instruction}}`);
  return { file, content, sha256: crypto.createHash('sha256').update(content).digest('hex') };
}

/** The prompt for one task; placeholders are filled in one pass, so braces in the task stay as they are. */
export function renderPrompt(template: TrainingTemplate, instruction: string, input: string): string {
  const text = input === '' ? template.noInput : template.withInput;
  return text.content.replace(PLACEHOLDER, (_, name: string) => (name === 'instruction' ? instruction : input));
}
