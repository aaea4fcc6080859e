/**
 * Benchmark decontamination (issue 25): the readers of each format, the parsers fed in chunks, the
 * normalization, recall on each labelled variant class and no false positive on the clean tasks, the
 * acceptance-time rejection (Ingestor, import, generate against the simulator), export's default and
 * the manifest, and bad benchmark files (exit 2 naming the file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchmarkChecker, loadBenchmarks } from '../../pipeline/decontaminate/checker.ts';
import { CsvParser } from '../../pipeline/decontaminate/csv.ts';
import { openBenchmarkGate, prepareBenchmarks } from '../../pipeline/decontaminate/gate.ts';
import type { BenchmarkItem } from '../../pipeline/decontaminate/items.ts';
import { JsonRecordScanner } from '../../pipeline/decontaminate/json-stream.ts';
import { loadNormalizer } from '../../pipeline/decontaminate/normalize.ts';
import { readBenchmark } from '../../pipeline/decontaminate/read.ts';
import { buildIndex } from '../../pipeline/dedup/qgram-index.ts';
import { Ingestor } from '../../pipeline/ingest.ts';
import { DEFAULT_RULE_OPTIONS } from '../../pipeline/rules/index.ts';
import { Store } from '../../pipeline/store/store.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { BENCHMARK_DIRS, cleanTasks, FIXTURES, VARIANT_CLASSES, variants } from '../decontaminate-variants.ts';
import { one, query, tempDir, writeTemp } from '../helpers.ts';

const B = path.join(FIXTURES, 'benchmarks');

function read(target: string, field?: string): { items: BenchmarkItem[]; notes: string[]; name: string } {
  const items: BenchmarkItem[] = [];
  const notes: string[] = [];
  const b = readBenchmark(target, undefined, { field, onNote: (m) => notes.push(m) }, (i) => items.push(i));
  return { items, notes, name: b.name };
}

describe('benchmark formats', () => {
  it('C-Eval folder: CSV files in name order, the id column, options as columns; hidden and other files skipped with a note', () => {
    const { items, notes, name } = read(path.join(B, 'ceval'));
    expect(name).toBe('ceval');
    expect(items).toHaveLength(10);
    expect(items[0]!.id).toBe('val/high_school_physics_val.csv:0');
    expect(items[5]!.id).toBe('val/modern_chinese_history_val.csv:0');
    // A quoted option holding a comma stays one option.
    expect(items[1]!.options).toEqual([
      '电场线是电荷在电场中实际运动的轨迹',
      '电场线越密的地方,电场强度越大',
      '沿电场线方向电场强度逐渐减小',
      '两条电场线可以在空间相交',
    ]);
    expect(notes.some((n) => n.includes('.DS_Store') && n.includes('hidden'))).toBe(true);
    expect(notes.some((n) => n.includes('README.txt'))).toBe(true);
  });

  it('CMMLU CSV: an unnamed first column is the id, the Question column the stem', () => {
    const { items } = read(path.join(B, 'cmmlu/chinese_food_culture.csv'));
    expect(items[3]).toEqual({
      id: 'chinese_food_culture.csv:3',
      stem: '“过桥米线”是哪个省份的著名小吃？',
      options: ['四川', '贵州', '云南', '广西'],
    });
  });

  it('GAOKAO-Bench JSON: records under "example", options cut out of the question text', () => {
    const { items } = read(path.join(B, 'gaokao/2010-2022_Math_I_MCQs.json'));
    expect(items).toHaveLength(8);
    expect(items[1]!.id).toBe('2010-2022_Math_I_MCQs.json:1');
    expect(items[1]!.stem).toBe('2．（5分）已知向量a，b满足|a|＝1，a•b＝﹣1，则a•(2a﹣b)＝（　　）');
    expect(items[1]!.options[0]).toMatch(/^\nA．4/);
  });

  it('JSONL: a question field with an options array; --field names another field', () => {
    const { items } = read(path.join(B, 'jsonl/logiqa-style.jsonl'));
    expect(items[1]!.options).toHaveLength(4);
    expect(items[1]!.id).toBe('logiqa-style.jsonl:line 2');
    const dir = tempDir();
    const file = writeTemp(dir, 'custom.jsonl', `${JSON.stringify({ uid: 'q7', query: '某数的三倍比它的一半多十五，这个数是多少？' })}\n`);
    expect(() => read(file)).toThrow(
      /custom\.jsonl:1: no question\/instruction\/prompt\/input\/题目\/问题 field with text \(the record's keys: uid, query\)/,
    );
    expect(read(file, 'query').items[0]!.stem).toBe('某数的三倍比它的一半多十五，这个数是多少？');
  });

  it('a JSON array of records, read in chunks that split strings and escapes', () => {
    const records = [{ question: '甲说"乙在说谎"\\n，对吗？', id: 1 }, { question: '第二题：x{[,]}' }];
    const text = JSON.stringify(records);
    for (const size of [1, 3, 7, text.length]) {
      const seen: unknown[] = [];
      const scanner = new JsonRecordScanner((e) => seen.push(e.ok ? e.value : e.error));
      for (let i = 0; i < text.length; i += size) scanner.write(text.slice(i, i + size));
      expect(scanner.end()).toEqual({ kind: 'ok', elements: 2 });
      expect(seen).toEqual(records);
    }
  });

  it('CSV in chunks of any size: quoted commas, doubled quotes, line breaks in fields, CRLF', () => {
    const text = 'id,question\r\n1,"他说：""你好,世界""\n第二行"\r\n2,普通\n';
    for (const size of [1, 2, 5, text.length]) {
      const rows: string[][] = [];
      const parser = new CsvParser((r) => rows.push(r));
      for (let i = 0; i < text.length; i += size) parser.write(text.slice(i, i + size));
      parser.end();
      expect(rows).toEqual([
        ['id', 'question'],
        ['1', '他说："你好,世界"\n第二行'],
        ['2', '普通'],
      ]);
    }
  });
});

describe('normalization', () => {
  const { normalizer } = loadNormalizer();
  it('full-width, traditional, punctuation, question numbers, scores and option letters', () => {
    expect(normalizer.text('1．（4分）已知集合Ａ＝{1，2}，則A∩B＝（　　）\nA．{1}　　B．{2}')).toBe('已知集合a12则ab12');
    expect(normalizer.text('臺灣的學生們在圖書館裡學習歷史。')).toBe('台湾的学生们在图书馆里学习历史');
    expect(normalizer.text('圆周率约为3.14，（本小题满分12分）')).toBe('圆周率约为314');
  });
});

describe('recall and false positives on the labelled set', () => {
  const checker = new BenchmarkChecker(loadBenchmarks(BENCHMARK_DIRS.map((p) => ({ path: p }))));
  const all = variants();
  for (const cls of VARIANT_CLASSES.filter((c) => c !== 'paraphrase')) {
    it(`${cls}: every variant is matched to its own item`, () => {
      const vs = all.filter((v) => v.class === cls);
      expect(vs.length).toBeGreaterThan(30);
      const wrong = vs.filter((v) => checker.check(v.task)?.itemId !== v.item).map((v) => v.item);
      expect(wrong).toEqual([]);
    });
  }
  it('paraphrases are missed (expected: the check compares characters, not meaning)', () => {
    const vs = all.filter((v) => v.class === 'paraphrase');
    expect(vs.filter((v) => checker.check(v.task) !== undefined)).toEqual([]);
  });
  it('clean tasks on the same topics are not flagged', () => {
    const clean = cleanTasks();
    expect(clean.length).toBeGreaterThan(80);
    expect(clean.filter((t) => checker.check(t) !== undefined)).toEqual([]);
  });
  it('the stem without its options is matched by the stem rule', () => {
    const v = all.find((x) => x.class === 'no_options' && x.item === 'chinese_food_culture.csv:1')!;
    expect(checker.check(v.task)).toMatchObject({ scope: 'stem', coverage: 1 });
  });
});

describe('acceptance-time check', () => {
  it('the Ingestor rejects a task copying a benchmark item with benchmark_overlap and stores the match', () => {
    const dir = tempDir();
    const store = Store.open(path.join(dir, 'i.db'));
    const gate = openBenchmarkGate(store, prepareBenchmarks(BENCHMARK_DIRS, 0.5));
    const ingestor = new Ingestor(store, buildIndex([]), {
      similarity: 0.7,
      filters: DEFAULT_RULE_OPTIONS,
      skipFilters: true,
      benchmarks: gate,
    });
    const copy = variants().find((v) => v.class === 'embedded' && v.benchmark === 'gaokao')!;
    const result = ingestor.ingest({ source: 'test', tasks: [copy.task, cleanTasks()[0]!] });
    expect(result.accepted).toHaveLength(1);
    expect(result.rejected).toEqual({ benchmark_overlap: 1 });
    const rows = store.db
      .prepare(
        `SELECT t.status, t.reason, t.detail, c.item_id AS item, b.name FROM contamination c JOIN tasks t ON t.id = c.task_id JOIN benchmarks b ON b.id = c.benchmark_id`,
      )
      .all() as { status: string; reason: string; detail: string; item: string; name: string }[];
    expect(rows).toEqual([
      { status: 'rejected', reason: 'benchmark_overlap', detail: expect.stringContaining(copy.item), item: copy.item, name: 'gaokao' },
    ]);
    store.close();
  });

  it('import --benchmark rejects the copied records', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'imp.db');
    const copies = variants()
      .filter((v) => v.class === 'traditional')
      .slice(0, 5);
    const file = writeTemp(
      dir,
      'mine.jsonl',
      [...copies.map((v) => v.task), ...cleanTasks().slice(0, 10)].map((t) => JSON.stringify(t)).join('\n'),
    );
    const r = await runCli([
      'import',
      '--in',
      file,
      '--db',
      db,
      '--benchmark',
      path.join(B, 'ceval'),
      '--benchmark',
      path.join(B, 'cmmlu'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/accepted 10, rejected 5 \(benchmark_overlap 5\)/);
    expect(one(db, `SELECT count(*) FROM contamination`)).toBe(5);
  });
});

describe('generate --benchmark against the simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    // Near-duplicates are drawn from every task this simulator has sent, across runs: copies of the first run's tasks.
    sim = await startSimulator({ port: 0, seed: 5, nearDuplicateRate: 0.6, junkRate: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('rejects generated tasks that copy a benchmark question (here: questions made of earlier generated tasks), from the config file too', async () => {
    const dir = tempDir();
    const env = { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'k' };
    const first = path.join(dir, 'first.db');
    expect((await runCli(['generate', '--n', '40', '--db', first, '--concurrency', '1'], env)).code).toBe(0);
    const made = query<{ instruction: string; input: string }>(
      first,
      `SELECT instruction, input FROM tasks WHERE source = 'generated' AND status = 'accepted'`,
    );
    // The simulator's tasks are built from shared word lists: a benchmark of them catches later ones too.
    const bench = writeTemp(
      dir,
      'made.jsonl',
      made.map((t, i) => JSON.stringify({ id: i, question: `${t.instruction}\n${t.input}` })).join('\n'),
    );
    const config = writeTemp(dir, 'c.json', JSON.stringify({ generate: { benchmark: [bench], benchmarkThreshold: 0.5 } }));
    const db = path.join(dir, 'second.db');
    const r = await runCli(
      ['generate', '--n', '5', '--db', db, '--concurrency', '1', '--config', config, '--max-empty-replies', '0', '--min-accept-rate', '0'],
      env,
    );
    expect(r.code).toBe(0);
    const rejected = one(db, `SELECT count(*) FROM tasks WHERE reason = 'benchmark_overlap'`);
    expect(rejected).toBeGreaterThan(0);
    expect(one(db, `SELECT count(*) FROM contamination c JOIN tasks t ON t.id = c.task_id WHERE t.reason = 'benchmark_overlap'`)).toBe(
      rejected,
    );
    // No accepted task overlaps the benchmark: checked again from outside.
    const checker = new BenchmarkChecker(loadBenchmarks([{ path: bench }]));
    const accepted = query<{ instruction: string; input: string; output: string }>(
      db,
      `SELECT instruction, input, output FROM tasks WHERE status = 'accepted'`,
    );
    expect(accepted.filter((t) => checker.check(t) !== undefined)).toEqual([]);
  }, 120_000);
});

describe('decontaminate, export and stats', () => {
  it('flags stored tasks; export leaves them out by default and lists each benchmark in the manifest and card; --keep-contaminated keeps them', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'd.db');
    const copies = variants().filter((v) => v.class === 'embedded' && (v.benchmark === 'gaokao' || v.benchmark === 'jsonl'));
    const rows = [...copies.map((v) => v.task), ...cleanTasks()];
    const file = writeTemp(dir, 'data.jsonl', rows.map((t) => JSON.stringify(t)).join('\n'));
    expect((await runCli(['import', '--in', file, '--db', db, '--similarity', '1'])).code).toBe(0);
    const d = await runCli([
      'decontaminate',
      '--db',
      db,
      '--benchmark',
      path.join(B, 'gaokao'),
      '--benchmark',
      path.join(B, 'jsonl'),
      '--name',
      'GAOKAO-Math',
    ]);
    expect(d.code).toBe(0);
    expect(d.stderr).toMatch(
      new RegExp(`${rows.length} accepted tasks checked against 2 benchmark\\(s\\).*: ${copies.length} contaminated`),
    );

    const out = path.join(dir, 'exports');
    const e = await runCli(['export', '--db', db, '--format', 'alpaca', '--out', out]);
    expect(e.code).toBe(0);
    const exportDir = e.stdout.trim();
    const manifest = JSON.parse(fs.readFileSync(path.join(exportDir, 'manifest.json'), 'utf8'));
    expect(manifest.records.total).toBe(cleanTasks().length);
    expect(manifest.contamination.keepContaminated).toBe(false);
    expect(manifest.contamination.removed).toBe(copies.length);
    const gaokao = manifest.contamination.benchmarks.find((b: { name: string }) => b.name === 'GAOKAO-Math');
    expect(gaokao).toMatchObject({ items: 8, removed: 8, kept: 0, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.contamination.benchmarks.find((b: { name: string }) => b.name === 'jsonl')).toMatchObject({ items: 10, removed: 10 });
    const exported = fs.readFileSync(path.join(exportDir, 'train.jsonl'), 'utf8');
    expect(exported).not.toContain('周六、周日都有同学参加公益活动');
    const card = fs.readFileSync(path.join(exportDir, 'README.md'), 'utf8');
    expect(card).toMatch(/Benchmark decontamination:.*GAOKAO-Math \(8 items, sha256 [0-9a-f]{12}…, 8 rows removed\)/);

    const kept = await runCli(['export', '--db', db, '--format', 'alpaca', '--out', path.join(dir, 'all'), '--keep-contaminated']);
    const keptManifest = JSON.parse(fs.readFileSync(path.join(kept.stdout.trim(), 'manifest.json'), 'utf8'));
    expect(keptManifest.records.total).toBe(rows.length);
    expect(keptManifest.contamination).toMatchObject({ keepContaminated: true, removed: 0 });

    const stats = JSON.parse((await runCli(['stats', '--db', db, '--json'])).stdout);
    expect(stats.contaminated).toBe(copies.length);
    expect(stats.benchmarks.map((b: { name: string; accepted: number }) => [b.name, b.accepted])).toEqual([
      ['GAOKAO-Math', 8],
      ['jsonl', 10],
    ]);
  }, 120_000);
});

describe('bad benchmark files: exit 2 naming the file', () => {
  const dir = tempDir();
  const db = path.join(dir, 'x.db');
  const cases: [string, () => string, RegExp][] = [
    ['an empty file', () => writeTemp(dir, 'empty.csv', ''), /empty\.csv: file is empty/],
    ['a missing file', () => path.join(dir, 'missing.jsonl'), /missing\.jsonl: cannot read \(no such file\)/],
    [
      'a CSV without a question column',
      () => writeTemp(dir, 'cols.csv', '编号,题干,答案\n1,一道题,A\n'),
      /cols\.csv: no question column \(question\/instruction\/prompt\/input\/题目\/问题\); the columns are 编号, 题干, 答案/,
    ],
    [
      'an unknown JSON shape',
      () => writeTemp(dir, 'shape.json', '{"meta": {"n": 1}, "rows": []}'),
      /shape\.json: unknown JSON shape.*\(its keys: meta, rows\)/,
    ],
    ['JSON cut short', () => writeTemp(dir, 'cut.json', '[{"question": "一道'), /cut\.json: the JSON ends before it is complete/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const r = await runCli(['decontaminate', '--db', db, '--benchmark', make()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(db)).toBe(false);
    });
  }
});
