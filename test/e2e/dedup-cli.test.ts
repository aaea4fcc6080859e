/** `dedup` and `import` through the real CLI. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dedupKey, similarity } from '../../pipeline/dedup/similarity.ts';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

const base = [
  { instruction: '介绍一下中国的四大发明', input: '', output: '造纸术、印刷术、火药和指南针。' },
  { instruction: '把这句话翻译成英文', input: '我明天要去上海出差。', output: "I'm going on a business trip to Shanghai tomorrow." },
  { instruction: '写一首关于秋天的五言绝句', input: '', output: '秋风吹落叶……' },
  { instruction: '计算一个边长为五厘米的正方形的面积', input: '', output: '25 平方厘米。' },
];
const nearDups = [
  { instruction: '介绍一下中国古代的四大发明', input: '', output: '……' }, // near base[0]
  { instruction: '把这句话翻译成英语', input: '我明天要去上海出差。', output: '……' }, // near base[1]
];

function greedy(keys: string[], t: number): number[] {
  const kept: number[] = [];
  keys.forEach((k, i) => {
    if (kept.every((j) => similarity(k, keys[j]!) < t)) kept.push(i);
  });
  return kept;
}

describe('dedup', () => {
  it('keys records as import and generate do: an empty-input marker is no input', async () => {
    const dir = tempDir();
    const file = writeTemp(
      dir,
      'm.jsonl',
      [
        { instruction: '列出三种常见的水果', input: '<无输入>', output: '苹果、香蕉、橙子。' },
        { instruction: '列出三种常见的水果', input: '', output: '葡萄、西瓜、梨。' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const out = path.join(dir, 'out.jsonl');
    const r = await runCli(['dedup', '--in', file, '--out', out]);
    expect(r.code).toBe(0);
    // Kept records are written as read; only the comparison sees the cleaned text.
    expect(
      fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).input),
    ).toEqual(['<无输入>']);
  });

  it('keeps records in input order across files and forms, and reports each rejection', async () => {
    const dir = tempDir();
    const a = writeTemp(dir, 'a.json', JSON.stringify([base[0], base[1], nearDups[0]], null, 2));
    const b = writeTemp(
      dir,
      'b.jsonl',
      [
        { input: base[2]!.instruction, target: base[2]!.output }, // BELLE form
        nearDups[1],
        base[3],
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const out = path.join(dir, 'out.jsonl');
    const rej = path.join(dir, 'rej.jsonl');
    const r = await runCli(['dedup', '--in', a, '--in', b, '--out', out, '--rejected', rej]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/total 6, kept 4, rejected 2/);
    const kept = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(kept).toEqual([base[0], base[1], { input: base[2]!.instruction, target: base[2]!.output }, base[3]]);
    const rejected = fs
      .readFileSync(rej, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejected.map((x) => x.record)).toEqual(nearDups);
    expect(rejected[0].nearest).toEqual(base[0]);
    expect(rejected[0].at).toMatch(/a\.json:\d+$/);
    expect(rejected[0].similarity).toBeGreaterThanOrEqual(0.7);

    const all = [base[0], base[1], nearDups[0], { instruction: base[2]!.instruction, input: '' }, nearDups[1], base[3]];
    expect(
      greedy(
        all.map((t) => dedupKey(t as { instruction: string; input: string })),
        0.7,
      ),
    ).toEqual([0, 1, 3, 5]);
  });

  it('a stricter threshold keeps more', async () => {
    const dir = tempDir();
    const a = writeTemp(dir, 'a.jsonl', [...base, ...nearDups].map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'out.jsonl');
    const r = await runCli(['dedup', '--in', a, '--out', out, '--similarity', '0.95']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(6);
  });

  it.each([
    ['not JSON', 'x.jsonl', '{"instruction":"a","output":"b"}\nthis is not json\n', /x\.jsonl:2: not valid JSON/],
    ['wrong fields', 'y.json', '[\n{"instruction":"a","output":"b"},\n{"question":"a","answer":"b"}\n]', /y\.json:3: expected fields/],
    [
      'broken line',
      'z.jsonl',
      '{"instruction":"a","output":"b"}\n{"instruction":"a","output":"b"}\n{"instruction":"a",\n',
      /z\.jsonl:3: not valid JSON/,
    ],
  ])('%s → file:line, exit 2, nothing written', async (_name, file, content, message) => {
    const dir = tempDir();
    const input = writeTemp(dir, file, content);
    const out = path.join(dir, 'out.jsonl');
    const r = await runCli(['dedup', '--in', input, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([file]);
  });
});

describe('import', () => {
  it('stores accepted tasks of a source through dedup; re-importing adds nothing', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'store.db');
    const file = writeTemp(dir, 'mydata.jsonl', [...base, ...nearDups].map((r) => JSON.stringify(r)).join('\n'));
    const first = await runCli(['import', '--in', file, '--db', db]);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/source "mydata": accepted 4, rejected 2 \(near_duplicate 2\), already imported 0/);
    const count = () => {
      const conn = new Database(db, { readonly: true });
      const rows = conn.prepare(`SELECT status, count(*) AS n FROM tasks WHERE source = 'mydata' GROUP BY status ORDER BY status`).all();
      conn.close();
      return rows;
    };
    expect(count()).toEqual([
      { status: 'accepted', n: 4 },
      { status: 'rejected', n: 2 },
    ]);
    const again = await runCli(['import', '--in', file, '--db', db]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/accepted 0, rejected 0, already imported 6/);
    expect(count()).toEqual([
      { status: 'accepted', n: 4 },
      { status: 'rejected', n: 2 },
    ]);

    // A second source with a near-duplicate of the first is rejected against it.
    const other = writeTemp(dir, 'other.json', JSON.stringify([{ instruction: '请介绍一下中国的四大发明', input: '', output: '……' }]));
    const third = await runCli(['import', '--in', other, '--db', db, '--source', 'team']);
    expect(third.stderr).toMatch(/accepted 0, rejected 1 \(near_duplicate 1\)/);
  });

  it('applies the quality filters only when asked', async () => {
    const dir = tempDir();
    const file = writeTemp(dir, 'junk.json', JSON.stringify([{ instruction: '描述这张图片中的风景', input: '', output: '一片湖……' }]));
    const plain = await runCli(['import', '--in', file, '--db', path.join(dir, 'a.db')]);
    expect(plain.stderr).toMatch(/accepted 1/);
    const filtered = await runCli(['import', '--in', file, '--db', path.join(dir, 'b.db'), '--filter']);
    expect(filtered.stderr).toMatch(/accepted 0, rejected 1 \(needs_non_text 1\)/);
  });

  it('keeps going past records real datasets have: an empty instruction or output is stored as rejected', async () => {
    const dir = tempDir();
    const file = writeTemp(
      dir,
      'real.jsonl',
      [
        { instruction: '', input: '要求您的用户输入详细信息。', output: '要求用户提供必要的详细信息。' },
        { instruction: '把这句话翻译成英文', input: '今天天气很好。', output: '' },
        { instruction: '列出三种常见的水果', input: '', output: '苹果、香蕉、橙子。' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const r = await runCli(['import', '--in', file, '--db', path.join(dir, 'c.db')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/accepted 1, rejected 2 \((?=.*instruction_too_short 1)(?=.*empty_output 1).*\)/);
    // dedup passes the same records through its rule unchanged.
    const out = path.join(dir, 'kept.jsonl');
    expect((await runCli(['dedup', '--in', file, '--out', out])).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('a bad file or reserved source name fails before the DB is touched', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'never.db');
    const bad = writeTemp(dir, 'bad.jsonl', '{"instruction":"a","output":"b"}\n{"instruction":1,"output":"b"}\n');
    const r = await runCli(['import', '--in', bad, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.jsonl:2: field "instruction" must be a string/);
    const reserved = await runCli(['import', '--in', bad, '--db', db, '--source', 'generated']);
    expect(reserved.code).toBe(2);
    expect(fs.existsSync(db)).toBe(false);
  });
});
