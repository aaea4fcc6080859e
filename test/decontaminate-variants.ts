/**
 * The labelled set for benchmark decontamination: the fixture benchmarks (questions written for this
 * project, in each format), contaminated variants of their items in seven classes, and clean Chinese
 * tasks on the same topics. Mechanical classes are derived from each item; embedded wrappers,
 * paraphrases and the clean tasks are written by hand (fixtures/decontaminate/*.jsonl).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wholeText, type BenchmarkItem } from '../pipeline/decontaminate/items.ts';
import { readBenchmark } from '../pipeline/decontaminate/read.ts';
import type { Task } from '../pipeline/types.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/decontaminate');
export const BENCHMARK_DIRS = ['ceval', 'cmmlu', 'gaokao', 'jsonl'].map((d) => path.join(FIXTURES, 'benchmarks', d));

export const VARIANT_CLASSES = [
  'verbatim',
  'with_options',
  'format_changes',
  'traditional',
  'embedded',
  'no_options',
  'paraphrase',
] as const;
export type VariantClass = (typeof VARIANT_CLASSES)[number];

export interface Variant {
  class: VariantClass;
  benchmark: string;
  item: string;
  task: Task;
}

export interface FixtureItem extends BenchmarkItem {
  benchmark: string;
}

export function fixtureItems(): FixtureItem[] {
  const items: FixtureItem[] = [];
  for (const dir of BENCHMARK_DIRS) {
    const name = path.basename(dir);
    readBenchmark(dir, undefined, {}, (item) => items.push({ ...item, benchmark: name }));
  }
  return items;
}

const LETTERS = 'ABCDEFGH';

/** The question as a generated task would show it: options labelled on their own lines. */
function withLabels(item: BenchmarkItem): string {
  // Options written inside the question (GAOKAO) are already labelled.
  if (item.options.length === 1 && /^\s*[(（]?A/.test(item.options[0]!)) return wholeText(item);
  return `${item.stem}\n${item.options.map((o, i) => `${LETTERS[i]}. ${o}`).join('\n')}`;
}

/** Spaces, half-width ↔ full-width punctuation, full-width letters and digits. */
function reformat(text: string): string {
  const swapped = text
    .replace(/，/g, ', ')
    .replace(/。/g, '. ')
    .replace(/？/g, '? ')
    .replace(/：/g, ': ')
    .replace(/（/g, ' (')
    .replace(/）/g, ') ')
    .replace(/,/g, '，')
    .replace(/[A-Za-z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
  let out = '';
  let i = 0;
  for (const ch of swapped) out += ++i % 7 === 0 ? `${ch} ` : ch;
  return out.replace(/\n/g, ' \n  ');
}

const WRAPPERS: [string, string][] = [
  [
    '我正在准备考试，复习时遇到这道题拿不准，麻烦你详细讲讲思路，最好能指出容易出错的地方：\n',
    '\n谢谢！另外想问问这类题一般要花多长时间做完比较合适。',
  ],
  ['下面是我们班周测的一道题，很多同学做错了。请你先给出答案，再用三到五句话解释原因，并补充一道类似的练习题。\n题目：', ''],
  [
    '作为一名家教老师，请你为学生写一份讲解稿。讲解稿要包括题目分析、解题步骤和总结三个部分，语气要亲切。需要讲解的题目如下。',
    '\n讲解稿不要超过四百字，最后提醒学生整理错题本。',
  ],
];

const ANSWER = '好的。我们先找出题干中的关键信息，再逐个分析选项，排除明显错误的说法，最后核对剩下的选项是否符合题意。';

let toTraditional: ((s: string) => string) | undefined;

function traditional(text: string): string {
  if (toTraditional === undefined) {
    const OpenCC = createRequire(import.meta.url)('opencc-js/cn2t') as {
      Converter: (o: { from: string; to: string }) => (s: string) => string;
    };
    toTraditional = OpenCC.Converter({ from: 'cn', to: 'tw' });
  }
  return toTraditional(text);
}

export function paraphrases(): Variant[] {
  return readJsonl(path.join(FIXTURES, 'paraphrases.jsonl')).map((r) => ({
    class: 'paraphrase' as const,
    benchmark: String(r['benchmark']),
    item: String(r['item']),
    task: { instruction: String(r['instruction']), input: '', output: ANSWER },
  }));
}

/** Every contaminated variant of every fixture item (paraphrases only for the items that have one). */
export function variants(items: readonly FixtureItem[] = fixtureItems()): Variant[] {
  const out: Variant[] = [];
  items.forEach((item, k) => {
    const add = (cls: VariantClass, task: Task): void => {
      out.push({ class: cls, benchmark: item.benchmark, item: item.id, task });
    };
    const labelled = withLabels(item);
    const [before, after] = WRAPPERS[k % WRAPPERS.length]!;
    add('verbatim', { instruction: wholeText(item), input: '', output: ANSWER });
    add('with_options', { instruction: '请回答下面的单项选择题，只给出选项字母。', input: labelled, output: 'B' });
    add('format_changes', { instruction: '请回答下面的题目。', input: reformat(labelled), output: ANSWER });
    add('traditional', { instruction: traditional('请回答下面的单项选择题。'), input: traditional(labelled), output: traditional(ANSWER) });
    add('embedded', { instruction: `${before}${labelled}${after}`, input: '', output: ANSWER });
    add('no_options', { instruction: item.stem, input: '', output: ANSWER });
  });
  return [...out, ...paraphrases()];
}

export function cleanTasks(): Task[] {
  return readJsonl(path.join(FIXTURES, 'clean.jsonl')).map((r) => ({
    instruction: String(r['instruction']),
    input: String(r['input'] ?? ''),
    output: String(r['output'] ?? ''),
  }));
}

function readJsonl(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
