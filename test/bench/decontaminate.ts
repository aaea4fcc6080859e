/**
 * Benchmark decontamination: quality and speed.
 *
 *   npm run bench:decontaminate [-- --tasks 1000000 --items 30000 --huge-items 20000]
 *
 * Quality, on the labelled fixtures (test/decontaminate-variants.ts): recall per variant class and false
 * positives on the clean topic-sharing tasks, for n = 5…13, plus an "edited" class (one character in
 * every 12 replaced, as a model recalling a question imperfectly would) that shows what a longer n
 * costs, and the highest coverage any clean task reaches (the margin below the threshold). When the
 * real Alpaca-zh 20k file is beside the repository (../shared/data, never in tests) it is checked as
 * well, as clean text: every hit there is a false positive against the fixture benchmarks.
 *
 * Speed: OpenCC's character table (once per process) against its phrase converter; then the
 * `decontaminate` command itself on a store of `--tasks` synthetic tasks (1M by default) against a JSONL
 * file of `--items` synthetic items, against reading the same tasks from the store alone (the baseline),
 * in the same run: wall and CPU seconds (CPU is what a shared machine inflates least).
 *
 * Memory: a huge benchmark (`--huge-items` items with long explanations the check skips) in each format,
 * loaded in a child (decontaminate-load.ts): the rise of the peak RSS, against reading the file whole.
 * `--huge-items 0` skips it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BenchmarkChecker, loadBenchmarks, taskText } from '../../pipeline/decontaminate/checker.ts';
import { decontaminate } from '../../pipeline/commands/decontaminate.ts';
import { DEFAULT_INDEX_PARAMS } from '../../pipeline/decontaminate/ngram-index.ts';
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

// -- speed: the decontaminate command over a store of --tasks tasks ------------------------------------
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
  id: String(i),
  question: text(30 + rng.int(60)),
  options: [text(4 + rng.int(10)), text(4 + rng.int(10)), text(4 + rng.int(10)), text(4 + rng.int(10))],
}));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-decontam-'));
const benchFile = path.join(dir, 'synthetic.jsonl');
fs.writeFileSync(benchFile, items.map((it) => JSON.stringify(it)).join('\n'));

// Task text is cut from one long random text (its own characters, independent of the items), so filling
// a million tasks takes seconds; a task's n-grams are as varied as before. Tasks also carry what real
// ones do and the synthetic Han text lacks: numbered steps, Latin letters and digits, an "A." label.
const long = text(8_000_000);
const cut = (len: number): string => {
  const at = rng.int(long.length - len);
  return long.slice(at, at + len);
};
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
        ? `${it.question}\n${it.options.map((o, k) => `${'ABCD'[k]}. ${o}`).join('\n')}`
        : rng.int(2) === 0
          ? ''
          : cut(20 + rng.int(60));
      const output =
        i % 4 === 0
          ? `1. ${cut(30 + rng.int(60))}\n2. ${cut(30 + rng.int(60))}\n3. 共${rng.int(100)}个，约 ${rng.int(1000)} km（${cut(10)}）\nA. ${cut(20)}`
          : cut(80 + rng.int(200));
      insert.run(cut(15 + rng.int(40)), input, output, `k${i}`);
    }
  });
}
const fillS = (performance.now() - t) / 1000;
store.close();

/** Wall and CPU seconds of `fn`; CPU time is what a machine shared with other work inflates least. */
function timed<T>(fn: () => T): { value: T; wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const c = process.cpuUsage(cpu0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

// Baseline: what the check cannot do without, reading every accepted task's text from the store.
const baseline = timed(() => {
  const s = Store.open(db);
  let chars = 0;
  for (const row of new ContaminationStore(s).acceptedTasks()) chars += row.instruction.length + row.input.length + row.output.length;
  s.close();
  return chars;
});
// Reading and indexing the benchmark alone, for its CPU seconds (the command reports only wall time).
const load = timed(() => loadBenchmarks([{ path: benchFile }]));
// The command: reads the benchmark file, indexes it, checks every accepted task, stores the flags.
const run = timed(() => decontaminate({ db, benchmark: [benchFile] }));
const flagged = (() => {
  const s = Store.open(db);
  const ids = s.sql('SELECT task_id FROM contamination').pluck().all() as number[];
  s.close();
  return ids;
})();
const plantedFound = flagged.filter((id) => planted.has(id)).length;
const r = run.value;

console.log(
  `\nSpeed: \`decontaminate\` on a store of ${tasksN} synthetic tasks (${(baseline.value / tasksN).toFixed(0)} chars each) against a JSONL benchmark of ${itemsN} synthetic items`,
);
console.log(
  table(
    ['step', 'wall s', 'vs baseline', 'CPU s', 'CPU vs baseline'],
    [
      ['(fill the store, setup)', fillS.toFixed(1), '', '', ''],
      ['read tasks from the store (baseline)', baseline.wall.toFixed(1), '1.0x', baseline.cpu.toFixed(1), '1.0x'],
      ['  normalizer table (once per process)', r.seconds.normalizer.toFixed(2), '', '', ''],
      [`  read + index ${itemsN} items`, r.seconds.index.toFixed(2), '', load.cpu.toFixed(1), ''],
      [
        '  read + check every task (CPU: command − index)',
        r.seconds.check.toFixed(1),
        `${(r.seconds.check / baseline.wall).toFixed(1)}x`,
        (run.cpu - load.cpu).toFixed(1),
        `${((run.cpu - load.cpu) / baseline.cpu).toFixed(1)}x`,
      ],
      [
        'decontaminate, whole command',
        r.seconds.total.toFixed(1),
        `${(r.seconds.total / baseline.wall).toFixed(1)}x`,
        run.cpu.toFixed(1),
        `${(run.cpu / baseline.cpu).toFixed(1)}x`,
      ],
    ],
  ),
);
console.log(
  `Wall time is what the target counts; CPU seconds are what a machine shared with other work inflates least (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores now).`,
);
console.log(
  `planted copies found ${plantedFound}/${planted.size}; other tasks flagged ${flagged.length - plantedFound}; ${r.contaminated} reported`,
);

// -- memory: a huge benchmark is streamed, never held whole -------------------------------------------
// Each record carries a long explanation the check skips (C-Eval ships one per question), so the file
// is far larger than what the index keeps: holding the file would show in the peak RSS.
const hugeN = arg('huge-items', 20_000);
if (hugeN === 0) {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
const explanation = text(2000);
const hugeFiles: Record<string, string> = {
  'jsonl, no explanations': path.join(dir, 'small.jsonl'),
  jsonl: path.join(dir, 'huge.jsonl'),
  json: path.join(dir, 'huge.json'),
  csv: path.join(dir, 'huge.csv'),
};
{
  const q = (i: number): string => `${i}${items[i % items.length]!.question}`;
  const rec = (i: number) => ({ id: i, question: q(i), A: 'a', B: 'b', C: 'c', D: 'd', explanation });
  const write = (file: string, head: string, line: (i: number) => string, sep: string, tail: string): void => {
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, head);
    for (let i = 0; i < hugeN; i++) fs.writeSync(fd, (i === 0 ? '' : sep) + line(i));
    fs.writeSync(fd, tail);
    fs.closeSync(fd);
  };
  write(hugeFiles['jsonl']!, '', (i) => JSON.stringify(rec(i)), '\n', '\n');
  // The same items without the text the check skips: what the index alone takes.
  write(hugeFiles['jsonl, no explanations']!, '', (i) => JSON.stringify({ ...rec(i), explanation: '' }), '\n', '\n');
  write(hugeFiles['json']!, '{"keywords": ["x"], "example": [', (i) => JSON.stringify(rec(i)), ',\n', ']}');
  write(hugeFiles['csv']!, 'id,question,A,B,C,D,answer,explanation\n', (i) => `${i},"${q(i)}",a,b,c,d,A,"${explanation}"`, '\n', '\n');
}
const LOAD = path.join(import.meta.dirname, 'decontaminate-load.ts');
const child = (mode: string, file: string, flags: string[] = []): { riseBytes: number; items: number } => {
  const out = spawnSync(process.execPath, [...flags, '--expose-gc', '--import', 'tsx', LOAD, mode, file], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`decontaminate-load ${mode} ${file}: ${out.stderr}`);
  return JSON.parse(out.stdout) as { riseBytes: number; items: number };
};
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const memRows: string[][] = [];
for (const [format, file] of Object.entries(hugeFiles)) {
  const size = fs.statSync(file).size;
  const indexed = child('index', file);
  // V8 lets garbage (each chunk's text, each parsed record) pile up while it has room; a capped heap
  // collects it, so what the load truly holds shows.
  const capped = child('index', file, ['--max-old-space-size=32']);
  const whole = child('whole', file);
  memRows.push([format, mb(size), String(indexed.items), mb(indexed.riseBytes), mb(capped.riseBytes), mb(whole.riseBytes)]);
}
console.log(`\nMemory: a huge benchmark (${hugeN} items, each with a 2,000-character explanation); rise of the peak RSS while loading, MB`);
console.log(table(['format', 'file MB', 'items', 'load + index', 'same, heap capped at 32 MB', 'file read whole (baseline)'], memRows));
fs.rmSync(dir, { recursive: true, force: true });
