/**
 * Benchmark decontamination: quality and speed.
 *
 *   npm run bench:decontaminate [-- --tasks 1000000 --items 30000]
 *
 * Quality, on the labelled fixtures (test/decontaminate-variants.ts): recall per variant class and false
 * positives on the clean topic-sharing tasks, for n = 5…13, plus an "edited" class (one character in
 * every 12 replaced, as a model recalling a question imperfectly would) that shows what a longer n
 * costs, and the highest coverage any clean task reaches (the margin below the threshold). When the
 * real Alpaca-zh 20k file is beside the repository (../shared/data, never in tests) it is checked as
 * well, as clean text: every hit there is a false positive against the fixture benchmarks.
 *
 * Speed: OpenCC's character table (once per process) against its phrase converter; the index build
 * for `--items` synthetic items; and checking `--tasks` synthetic tasks read from a SQLite store,
 * against reading the same tasks from the store alone (the baseline), in the same run.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BenchmarkChecker, loadBenchmarks, taskText } from '../../pipeline/decontaminate/checker.ts';
import { DEFAULT_INDEX_PARAMS, IndexBuilder } from '../../pipeline/decontaminate/ngram-index.ts';
import { loadNormalizer } from '../../pipeline/decontaminate/normalize.ts';
import { ContaminationStore } from '../../pipeline/store/contamination.ts';
import { Store } from '../../pipeline/store/store.ts';
import type { Task } from '../../pipeline/types.ts';
import { BENCHMARK_DIRS, cleanTasks, VARIANT_CLASSES, variants, type Variant } from '../decontaminate-variants.ts';
import { createRng, type Rng } from './corpus.ts';

const REAL = path.resolve(import.meta.dirname, '../../../shared/data/alpaca_zh_translated_20k.jsonl');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => [...r[i]!].length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]! - ([...c].length - c.length))).join('  ')).join('\n');
}

// -- normalizer load time (first thing, so it is cold) ---------------------------------------------
const { loadMs } = loadNormalizer();
const require = createRequire(import.meta.url);
let t = performance.now();
const OpenCC = require('opencc-js/t2cn') as { Converter: (o: { from: string; to: string }) => (s: string) => string };
const phrase = OpenCC.Converter({ from: 'tw', to: 'cn' });
const phraseLoad = performance.now() - t;
const sample = cleanTasks()
  .map((x) => taskText(x))
  .join('')
  .repeat(40);
t = performance.now();
phrase(sample);
const phraseRate = sample.length / ((performance.now() - t) / 1000);
const { normalizer } = loadNormalizer();
t = performance.now();
normalizer.codes(sample);
const tableRate = sample.length / ((performance.now() - t) / 1000);
console.log('Normalization (traditional → simplified with OpenCC)');
console.log(
  table(
    ['', 'load ms', 'chars/s'],
    [
      ['per-character table (used): NFKC + markers + table', loadMs.toFixed(0), tableRate.toExponential(2)],
      ['opencc-js phrase converter tw→cn alone', phraseLoad.toFixed(0), phraseRate.toExponential(2)],
    ],
  ),
);

// -- quality ---------------------------------------------------------------------------------------
const all = variants();
const clean = cleanTasks();

/** One character in every `every` replaced by another Han character, deterministically. */
function edit(task: Task, every: number, rng: Rng): Task {
  const change = (s: string): string =>
    [...s]
      .map((c, i) => (i % every === every - 1 && /\p{Script=Han}/u.test(c) ? String.fromCharCode(0x4e00 + rng.int(0x5000)) : c))
      .join('');
  return { instruction: change(task.instruction), input: change(task.input), output: task.output };
}
const editRng = createRng(7);
const edited: Variant[] = all.filter((v) => v.class === 'with_options').map((v) => ({ ...v, task: edit(v.task, 12, editRng) }));

function readReal(): Task[] | null {
  if (!fs.existsSync(REAL)) return null;
  return fs
    .readFileSync(REAL, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((r) => ({ instruction: String(r['instruction'] ?? ''), input: String(r['input'] ?? ''), output: String(r['output'] ?? '') }));
}
const real = readReal();

const rows: (string | number)[][] = [];
for (const n of [5, 6, 7, 8, 10, 13]) {
  const loaded = loadBenchmarks(
    BENCHMARK_DIRS.map((p) => ({ path: p })),
    { params: { ...DEFAULT_INDEX_PARAMS, n } },
  );
  const checker = new BenchmarkChecker(loaded, 0.5);
  const recall = (vs: readonly Variant[]): string => {
    const hit = vs.filter((v) => checker.check(v.task)?.itemId === v.item).length;
    return `${(hit / vs.length).toFixed(2)} (${hit}/${vs.length})`;
  };
  const row: (string | number)[] = [n];
  for (const cls of VARIANT_CLASSES) row.push(recall(all.filter((v) => v.class === cls)));
  row.push(recall(edited));
  const fp = clean.filter((c) => checker.check(c) !== undefined).length;
  row.push(`${fp}/${clean.length}`);
  // The margin: highest coverage a clean task reaches (threshold 0.01 returns the best item).
  const low = new BenchmarkChecker(loaded, 0.01);
  row.push(Math.max(0, ...clean.map((c) => low.check(c)?.coverage ?? 0)).toFixed(2));
  if (real !== null) {
    const realFp = real.filter((c) => checker.check(c) !== undefined).length;
    row.push(`${realFp}/${real.length} (${((realFp / real.length) * 100).toFixed(3)}%)`);
  }
  rows.push(row);
}
console.log('\nRecall per variant class (right item found, threshold 0.5) and false positives, by n');
console.log(
  table(['n', ...VARIANT_CLASSES, 'edited 1/12', 'clean FP', 'clean max cov', ...(real === null ? [] : ['alpaca-zh 20k FP'])], rows),
);
if (real === null) console.log(`(${REAL} not found: real-data false positives not measured)`);

// -- speed -----------------------------------------------------------------------------------------
const itemsN = arg('items', 30_000);
const tasksN = arg('tasks', 1_000_000);
const rng = createRng(2024);
// Characters of real Chinese text, weighted by how often they occur in it, so n-grams repeat as in text.
const pool = [...(clean.map((c) => taskText(c)).join('') + all.map((v) => taskText(v.task)).join(''))].filter((c) =>
  /\p{Script=Han}/u.test(c),
);
const text = (len: number): string => {
  let s = '';
  for (let i = 0; i < len; i++) s += i % 13 === 12 ? '，' : pool[rng.int(pool.length)]!;
  return s;
};
const items = Array.from({ length: itemsN }, (_, i) => ({
  id: `synthetic:${i}`,
  stem: text(30 + rng.int(60)),
  options: [text(4 + rng.int(10)), text(4 + rng.int(10)), text(4 + rng.int(10)), text(4 + rng.int(10))],
}));
t = performance.now();
const builder = new IndexBuilder(normalizer);
for (const it of items) builder.add(0, it);
const index = builder.build();
const buildMs = performance.now() - t;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-decontam-'));
const db = path.join(dir, 'bench.db');
const store = Store.open(db);
const planted = new Set<number>();
t = performance.now();
const insert = store.db.prepare(
  `INSERT INTO tasks (source, instruction, input, output, dedup_key, status, created_at) VALUES ('bench', ?, ?, ?, ?, 'accepted', '')`,
);
const CHUNK = 50_000;
for (let start = 0; start < tasksN; start += CHUNK) {
  store.transaction(() => {
    for (let i = start; i < Math.min(tasksN, start + CHUNK); i++) {
      // One task in a thousand copies a synthetic item into its input.
      const copy = i % 1000 === 500;
      if (copy) planted.add(i + 1);
      const it = items[rng.int(items.length)]!;
      const input = copy
        ? `${it.stem}\n${it.options.map((o, k) => `${'ABCD'[k]}. ${o}`).join('\n')}`
        : rng.int(2) === 0
          ? ''
          : text(20 + rng.int(60));
      insert.run(text(15 + rng.int(40)), input, text(80 + rng.int(200)), `k${i}`);
    }
  });
}
const fillS = (performance.now() - t) / 1000;
const cs = new ContaminationStore(store);
t = performance.now();
let chars = 0;
for (const row of cs.acceptedTasks()) chars += row.instruction.length + row.input.length + row.output.length;
const readS = (performance.now() - t) / 1000;
t = performance.now();
let found = 0;
let plantedFound = 0;
for (const row of cs.acceptedTasks()) {
  if (index.match(taskText(row), 0.5) !== undefined) {
    found++;
    if (planted.has(row.id)) plantedFound++;
  }
}
const checkS = (performance.now() - t) / 1000;
store.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(
  `\nSpeed (${itemsN} synthetic items, ${index.grams} distinct ${index.params.n}-grams; ${tasksN} synthetic tasks, ${(chars / tasksN).toFixed(0)} chars each)`,
);
console.log(
  table(
    ['step', 'seconds', 'vs baseline'],
    [
      ['index build', (buildMs / 1000).toFixed(2), ''],
      ['(fill the store, setup)', fillS.toFixed(1), ''],
      ['read tasks from the store (baseline)', readS.toFixed(1), '1.0x'],
      ['read + check every task', checkS.toFixed(1), `${(checkS / readS).toFixed(1)}x`],
    ],
  ),
);
console.log(`planted copies found ${plantedFound}/${planted.size}; other tasks flagged ${found - plantedFound}`);
