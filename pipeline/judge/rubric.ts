/**
 * The judge's rubric: an editable Chinese template (`templates/judge_rubric.txt`) with `{{tasks}}`
 * (required), `{{count}}` and `{{flags}}`, and the prompt built from it for K tasks, each under an id
 * the reply must echo. The rubric's sha256 keys the judgments: another rubric judges again.
 */
import { UsageError } from '../errors.ts';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { TEMPLATE_DIR } from '../templates.ts';
import type { ChatMessage } from '../llm.ts';
import type { Task } from '../types.ts';
import { JUDGE_FLAGS, type JudgeFlag } from './parse.ts';

export const DEFAULT_RUBRIC_FILE = `${TEMPLATE_DIR}judge_rubric.txt`;

/** A judge error a user can fix (bad rubric, bad option); the CLI maps it to exit 2. */
export class JudgeError extends UsageError {
  override name = 'JudgeError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

export interface Rubric {
  name: string;
  file: string;
  content: string;
  sha256: string;
}

const REQUIRED = ['tasks'];
const OPTIONAL = ['count', 'flags'];
const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** What each flag means, as the rubric lists it. */
const FLAG_MEANINGS: Record<JudgeFlag, string> = {
  needs_non_text: '需要图片、音频、文件、链接或现实操作',
  factual_error: '有事实、数字、计算或代码错误',
  ignores_input: '没有针对给出的输入作答',
  refusal: '拒绝作答',
  unsafe: '内容有害、违法或歧视',
  placeholder: '有占位内容',
  truncated: '回答中途断掉',
  wrong_language: '没有用要求的语言作答',
};

export function loadRubric(file: string = DEFAULT_RUBRIC_FILE): Rubric {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new JudgeError(`${file}: cannot read rubric (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const found = new Set<string>();
  const lines = content.split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(PLACEHOLDER)) {
      const name = m[1]!;
      if (!REQUIRED.includes(name) && !OPTIONAL.includes(name)) {
        throw new JudgeError(`${file}:${i + 1}: unknown placeholder {{${name}}} (a rubric uses ${[...REQUIRED, ...OPTIONAL].join(', ')})`);
      }
      found.add(name);
    }
  });
  const missing = REQUIRED.filter((n) => !found.has(n));
  if (missing.length > 0) {
    // No line holds what is missing: point at the end, where the tasks block belongs.
    throw new JudgeError(`${file}:${lines.length}: rubric is missing placeholder ${missing.map((n) => `{{${n}}}`).join(', ')}`);
  }
  const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.txt$/, '');
  return { name, file, content, sha256: crypto.createHash('sha256').update(content).digest('hex') };
}

export interface JudgeItem extends Task {
  /** The id the prompt shows and the reply must echo (1..K within a request). */
  id: number;
}

/**
 * The tasks block: one header line per task that code writes, not the rubric, so a reader (the
 * simulator, a test) can find the tasks whatever the rubric's wording.
 */
export function renderTasks(items: readonly JudgeItem[]): string {
  return items
    .map((t) =>
      [`### 任务 id=${t.id}`, `【指令】${t.instruction}`, `【输入】${t.input === '' ? '（无）' : t.input}`, `【回答】${t.output}`].join(
        '\n',
      ),
    )
    .join('\n\n');
}

export function buildJudgeMessages(rubric: Rubric, items: readonly JudgeItem[]): ChatMessage[] {
  const values: Record<string, string> = {
    tasks: renderTasks(items),
    count: String(items.length),
    flags: JUDGE_FLAGS.map((f) => `${f}（${FLAG_MEANINGS[f]}）`).join('；'),
  };
  // One pass, so text inside a task that looks like a placeholder is never expanded.
  const content = rubric.content.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
  return [{ role: 'user', content }];
}
