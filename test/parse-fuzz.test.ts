/**
 * The parser is total: whatever a model sends (random text, repetition loops, cut-off nesting, 1 MB,
 * lone surrogates, control characters, well-formed replies cut at any point) it returns well-formed
 * tasks and never throws. Timing is bench:parse's job, not this file's.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReply, type ParseResult } from '../pipeline/parse.ts';
import { adversarialReplies, normalReplies, TASK } from './adversarial-replies.ts';

function expectWellFormed(r: ParseResult): void {
  expect(['json', 'text', 'none']).toContain(r.shape);
  expect(r.shape === 'none').toBe(r.tasks.length === 0);
  expect(Number.isInteger(r.droppedTruncated) && r.droppedTruncated >= 0).toBe(true);
  for (const p of r.problems) expect(typeof p).toBe('string');
  for (const t of r.tasks) {
    expect(typeof t.instruction).toBe('string');
    expect(t.instruction.trim()).not.toBe('');
    expect(typeof t.input).toBe('string');
    expect(typeof t.output).toBe('string');
    if (t.category !== undefined) expect(typeof t.category === 'string' && t.category !== '').toBe(true);
    expect(Object.keys(t).every((k) => ['instruction', 'input', 'output', 'category'].includes(k))).toBe(true);
  }
}

const parse = (text: string, finish: string | null = null): ParseResult => {
  const r = parseReply(text, finish);
  expectWellFormed(r);
  return r;
};

/** Any UTF-16 code units, lone surrogates and control characters included. */
const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 400 }).map((cs) => String.fromCharCode(...cs));
const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  '\\',
  ',',
  ':',
  '：',
  '\n',
  '\r\n',
  ' ',
  '```',
  '```json\n',
  '###',
  '---',
  '1. ',
  '12、',
  '**',
  '指令：',
  '输入：',
  '输出：',
  'instruction',
  '"instruction"',
  '"output"',
  '"指令"',
  '"input":',
  'null',
  'true',
  '3',
  '你好',
  '\ud800',
  '\udc00',
  '\u0000',
  '\u001b',
  '🙂',
];
const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 300 }).map((ts) => ts.join(''));
/** One token (or a short run of them) repeated up to 20,000 times, as a model stuck in a loop does. */
const loop = fc
  .tuple(fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 20_000 }), soup)
  .map(([unit, n, tail]) => unit.join('').repeat(n) + tail);
const finish = fc.constantFrom(null, 'stop', 'length');

/** Whole tasks in a reply shape, and a cut point: the reply as a model cut off there would send it. */
const chinese = fc.string({
  unit: fc.constantFrom(...'把下面句子改写成正式的语气计算翻译解释一二三'.split('')),
  minLength: 2,
  maxLength: 20,
});
const task = fc.record({ instruction: chinese, input: fc.oneof(fc.constant(''), chinese), output: chinese });
const shaped = fc
  .tuple(fc.array(task, { minLength: 1, maxLength: 12 }), fc.constantFrom('json', 'fenced', 'lines', 'numbered'))
  .map(([tasks, shape]) => {
    const text =
      shape === 'json'
        ? JSON.stringify(tasks)
        : shape === 'fenced'
          ? `好的：\n\`\`\`json\n${JSON.stringify({ tasks }, null, 2)}\n\`\`\`\n还需要吗？`
          : shape === 'lines'
            ? tasks.map((t, i) => `${i + 1}. ${JSON.stringify(t)}`).join('\n')
            : tasks
                .map((t, i) => `${i + 1}. 指令：${t.instruction}\n${i + 1}. 输入：${t.input}\n${i + 1}. 输出：${t.output}`)
                .join('\n###\n');
    return { tasks, text };
  });

describe('parseReply is total', () => {
  it('random code units, token soup and repetition loops: no throw, well-formed tasks', () => {
    fc.assert(
      fc.property(fc.oneof(units, soup, loop), finish, (text, f) => void parse(text, f)),
      { numRuns: 400 },
    );
  }, 60_000);

  it('well-formed replies cut at any point: only whole, original tasks come back', () => {
    fc.assert(
      fc.property(shaped, fc.double({ min: 0, max: 1, noNaN: true }), ({ tasks, text }, at) => {
        const cut = text.slice(0, Math.floor(text.length * at));
        const r = parse(cut, 'length');
        const originals = new Set(tasks.map((t) => t.instruction));
        for (const t of r.tasks) expect(originals.has(t.instruction)).toBe(true);
        // Uncut, every task is found.
        expect(parse(text, 'stop').tasks.map((t) => t.instruction)).toEqual(tasks.map((t) => t.instruction));
      }),
      { numRuns: 300 },
    );
  });

  it('degenerate replies of 64 KB and 1 MB: no throw, nothing made up', () => {
    for (const size of [64 * 1024, 1024 * 1024]) {
      for (const [name, text] of Object.entries(adversarialReplies(size))) {
        const r = parse(text, 'length');
        // Only two cases hold real tasks; every other one must come back empty.
        if (name === 'task inside deep output') expect(r.tasks.map((t) => t.instruction)).toEqual([TASK.instruction]);
        else if (name !== 'trailing commas') expect(r.tasks, name).toEqual([]);
      }
    }
  }, 60_000);

  it('normal replies of 1 MB are read in full; longer ones up to the cap, saying so', () => {
    for (const text of Object.values(normalReplies(1024 * 1024))) expect(parse(text).tasks.length).toBeGreaterThan(10_000);
    const huge = normalReplies(2_500_000)['json array']!;
    const r = parse(huge);
    expect(r.tasks.length).toBeGreaterThan(0);
    expect(r.problems.some((p) => p.includes('only the first'))).toBe(true);
  }, 60_000);

  it('a task whose fields nest deeper than JSON.stringify can go is a problem, not a crash', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const r = parse(`[{"instruction":"写一首诗","output":${deep}},{"instruction":"再写一首","input":${deep},"output":"好"}]`);
    expect(r.tasks.map((t) => t.instruction)).toEqual(['写一首诗', '再写一首']);
    expect(r.tasks[0]!.output).toBe('');
  });
});
