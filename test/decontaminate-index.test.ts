/**
 * The compact n-gram index against a plain oracle: the coverage rules of ngram-index.ts computed with
 * sets of n-gram strings, item by item. Checked one task at a time (lookups in text order) and in one
 * batch (lookups sorted by hash), on the labelled variants, the clean tasks, tasks built of several
 * items' pieces, and short items found whole.
 */
import { describe, expect, it } from 'vitest';
import { taskText } from '../pipeline/decontaminate/checker.ts';
import { wholeText, type BenchmarkItem } from '../pipeline/decontaminate/items.ts';
import { DEFAULT_INDEX_PARAMS, IndexBuilder, type IndexParams, type Match } from '../pipeline/decontaminate/ngram-index.ts';
import { loadNormalizer } from '../pipeline/decontaminate/normalize.ts';
import { cleanTasks, fixtureItems, variants } from './decontaminate-variants.ts';

const { normalizer } = loadNormalizer();

function grams(text: string, n: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + n <= text.length; i++) set.add(text.slice(i, i + n));
  return set;
}

/** The best matches by the rules, with plain strings: every item of the highest coverage, its scope. */
function oracle(items: readonly BenchmarkItem[], params: IndexParams, threshold: number) {
  const { n, minShortChars, minStemChars, maxPostings } = params;
  const prepared = items.map((item) => {
    const whole = normalizer.text(wholeText(item));
    const stem = normalizer.text(item.stem);
    const wholeSet = whole.length >= n ? grams(whole, n) : new Set<string>();
    const stemSet = whole.length >= n && stem.length >= Math.max(minStemChars, n) ? grams(stem, n) : new Set<string>();
    return { whole, stem, wholeSet, stemSet };
  });
  const postings = new Map<string, number>();
  for (const p of prepared) for (const g of new Set([...p.wholeSet, ...p.stemSet])) postings.set(g, (postings.get(g) ?? 0) + 1);
  const stemCount = new Map<string, number>();
  for (const p of prepared) if (p.stemSet.size > 0) stemCount.set(p.stem, (stemCount.get(p.stem) ?? 0) + 1);
  return (text: string): { items: number[]; coverage: number; scope: string } | undefined => {
    const task = normalizer.text(text);
    const taskGrams = grams(task, n);
    let best: { items: number[]; coverage: number; scope: string } | undefined;
    prepared.forEach((p, i) => {
      if (p.wholeSet.size === 0) return;
      const hit = (set: Set<string>) => [...set].filter((g) => taskGrams.has(g) && postings.get(g)! <= maxPostings).length;
      const whole = hit(p.wholeSet) / p.wholeSet.size;
      const stemApplies = p.stemSet.size > 0 && stemCount.get(p.stem) === 1;
      const stem = stemApplies ? hit(p.stemSet) / p.stemSet.size : 0;
      const coverage = Math.max(whole, stem);
      if (coverage < threshold || coverage === 0) return;
      if (best === undefined || coverage > best.coverage) best = { items: [i], coverage, scope: stem > whole ? 'stem' : 'item' };
      else if (coverage === best.coverage) best.items.push(i);
    });
    if (best === undefined || best.coverage < 1) {
      // Short items: each length in the order first seen, the first position, the first item of that text.
      const lengths = [
        ...new Set(prepared.filter((p) => p.whole.length < n && p.whole.length >= minShortChars).map((p) => p.whole.length)),
      ];
      for (const len of lengths) {
        for (let i = 0; i + len <= task.length; i++) {
          const at = prepared.findIndex((p) => p.whole.length === len && p.whole === task.slice(i, i + len));
          if (at !== -1) return { items: [at], coverage: 1, scope: 'short' };
        }
      }
    }
    return best;
  };
}

// Two items sharing a stem (the stem rule does not apply to them, and their stem's n-grams are in two
// items), and short items (under n = 6 characters once normalized), one too short for any rule.
const EXTRA: BenchmarkItem[] = [
  { id: 'shared:1', stem: '下列关于细胞结构的说法中，正确的是', options: ['线粒体是合成蛋白质的场所', '核糖体没有膜结构'] },
  { id: 'shared:2', stem: '下列关于细胞结构的说法中，正确的是', options: ['叶绿体只存在于根尖细胞', '中心体与细胞分裂有关'] },
  { id: 'short:1', stem: '勾股定理内容', options: [] },
  { id: 'short:2', stem: '《静夜思》作者', options: [] },
  { id: 'short:3', stem: '光合作用', options: [] },
  { id: 'short:4', stem: '圆周率', options: [] },
];

function buildIndex(items: readonly BenchmarkItem[], params: IndexParams = DEFAULT_INDEX_PARAMS) {
  const builder = new IndexBuilder(normalizer, params);
  for (const item of items) builder.add(0, item);
  return builder.build();
}

function texts(items: readonly BenchmarkItem[]): string[] {
  const labelled = [...variants().map((v) => taskText(v.task)), ...cleanTasks().map((t) => taskText(t))];
  // Pieces of several items in one task: the best of several touched items must win, and the counts of
  // one task must not leak into the next one in a batch.
  const mixed = items.map((item, i) => {
    const next = items[(i + 7) % items.length]!;
    return `请回答：${item.stem.slice(0, Math.ceil(item.stem.length * 0.6))}。另外，${wholeText(next)}`;
  });
  const extra = [
    '下列关于细胞结构的说法中，正确的是哪一项？',
    '请简述勾股定理内容，并举一例。',
    '《静夜思》作者是谁？',
    '光合作用需要什么条件？',
    '圆周率是多少？',
  ];
  return [...labelled, ...mixed, ...extra];
}

function expectAgrees(got: (Match | undefined)[], inputs: string[], want: ReturnType<typeof oracle>): number {
  let matched = 0;
  inputs.forEach((text, i) => {
    const w = want(text);
    const g = got[i];
    if (w === undefined) {
      expect(g, text).toBeUndefined();
      return;
    }
    matched++;
    expect(g, text).toBeDefined();
    expect(g!.coverage, text).toBeCloseTo(w.coverage, 12);
    expect(g!.scope, text).toBe(w.scope);
    expect(w.items, text).toContain(g!.item);
  });
  return matched;
}

describe('the compact n-gram index agrees with a plain string oracle', () => {
  const items = [...fixtureItems(), ...EXTRA];
  const inputs = texts(items);

  it('one task at a time and in one batch (lookups sorted by hash), on variants, clean, mixed and short tasks', () => {
    const index = buildIndex(items);
    const want = oracle(items, DEFAULT_INDEX_PARAMS, 0.5);
    const batch = index.matchMany(inputs, 0.5);
    const single = inputs.map((t) => index.match(t, 0.5));
    expect(batch).toEqual(single);
    const matched = expectAgrees(batch, inputs, want);
    // The test means something: many tasks match, many do not, and every rule fires.
    expect(matched).toBeGreaterThan(200);
    expect(inputs.length - matched).toBeGreaterThan(80);
    expect(new Set(batch.flatMap((m) => (m === undefined ? [] : [m.scope])))).toEqual(new Set(['item', 'stem', 'short']));
    expect(batch.at(-1)).toBeUndefined(); // 圆周率: too short for any rule
  });

  it('a low threshold (most items touched by some task) and n-grams too common to look up', () => {
    // maxPostings 1: an n-gram in two items or more counts in each item's total but is never looked up.
    const params = { ...DEFAULT_INDEX_PARAMS, maxPostings: 1 };
    const index = buildIndex(items, params);
    expect(index.commonGrams).toBeGreaterThan(0);
    const want = oracle(items, params, 0.05);
    const batch = index.matchMany(inputs, 0.05);
    expect(batch).toEqual(inputs.map((t) => index.match(t, 0.05)));
    expectAgrees(batch, inputs, want);
  });

  it('batches of any size give the same answers, across the growth of the batch buffers', () => {
    const index = buildIndex(items);
    const whole = index.matchMany(inputs, 0.5);
    const long = inputs.map((t, i) => (i % 50 === 0 ? t.repeat(40) : t));
    const pieces: (Match | undefined)[] = [];
    for (let i = 0; i < long.length; i += 37) pieces.push(...index.matchMany(long.slice(i, i + 37), 0.5));
    const repeated = long.map((t) => index.match(t, 0.5));
    expect(pieces).toEqual(repeated);
    // A task repeated 40 times covers its item no more than once.
    expect(repeated.filter((_, i) => i % 50 === 0)).toEqual(whole.filter((_, i) => i % 50 === 0));
  });
});
