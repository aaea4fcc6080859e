/**
 * Export: every format checked line by line against its trainer's shape, manifests against the files,
 * deterministic split and order, `--since last` bookkeeping, a kill mid-export, and bad input. The test
 * databases are built through `Store`; the CLI tests spawn the real command.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dedupKey } from '../../pipeline/dedup/similarity.ts';
import { ExportError, runExport, type ExportOptions, type ExportResult } from '../../pipeline/export/export.ts';
import { normalizeSelection } from '../../pipeline/export/selection.ts';
import { renderRecord, type Format } from '../../pipeline/export/formats.ts';
import { MANIFEST_FILE, readLatest, type Manifest } from '../../pipeline/export/manifest.ts';

/** The whole manifest, as a trainer reads it (the library reads back only what it needs). */
const readManifest = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
import { splitOf, splitPoint } from '../../pipeline/export/split.ts';
import { loadTrainingTemplate, renderPrompt, TrainingTemplateError } from '../../pipeline/export/template.ts';
import { countChars, loadTokenizer, TokenHistogram } from '../../pipeline/export/tokens.ts';
import { ExportStore } from '../../pipeline/store/exports.ts';
import { Store } from '../../pipeline/store/store.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

// -- test databases -------------------------------------------------------------------------------------

const CATEGORIES = ['翻译', '写作', '问答', undefined] as const;

interface Spec {
  /** Generated rows per run; each run gets its own similarity threshold and model. */
  runs?: number[];
  imported?: number;
  seeds?: number;
  rejected?: number;
  /** Rows whose output is long (many tokens), among the generated ones of the first run. */
  long?: number;
}

interface Built {
  runIds: number[];
  /** Accepted non-seed rows in id order. */
  rows: { id: number; source: string; instruction: string; input: string; output: string; category: string | null; key: string }[];
}

let counter = 0;

/** Adds rows to the DB at `file` (creating it); every call writes distinct tasks. */
function addRows(file: string, spec: Spec): Built {
  const store = Store.open(file);
  const built: Built = { runIds: [], rows: [] };
  try {
    const templateId = store.templateId('self_instruct', crypto.createHash('sha256').update('模板').digest('hex'), '模板');
    store.transaction(() => {
      for (let s = 0; s < (spec.seeds ?? 0); s++) {
        const t = { instruction: `种子任务第${++counter}条：解释成语的意思`, input: '', output: '成语是汉语里固定的短语。' };
        store.insertTask({ ...t, source: 'seed', dedupKey: dedupKey(t), status: 'accepted' });
      }
      (spec.runs ?? []).forEach((n, r) => {
        const similarity = [0.7, 0.8, 0.65][r % 3]!;
        const model = `model-${r + 1}`;
        const runId = store.createRun({ target: n, mode: 'self-instruct', model, options: { similarity, n } });
        built.runIds.push(runId);
        const requestId = store.insertRequest({ runId, templateId, model, messages: [], params: {}, status: 'ok' });
        for (let i = 0; i < n; i++) {
          const k = ++counter;
          const long = r === 0 && i < (spec.long ?? 0);
          const task = {
            instruction: `请把第${k}句话改写得更正式一些。`,
            input: k % 3 === 0 ? `我们明天{{input}}去图书馆吧，第${k}次。` : '',
            output: long
              ? `改写后的句子是：${'各位同事，明天上午九点在三楼会议室开会，请准时参加。'.repeat(40)}`
              : `第${k}条：我们明天前往图书馆。`,
            category: CATEGORIES[k % CATEGORIES.length],
          };
          const key = dedupKey(task);
          const id = store.insertTask({ ...task, source: 'generated', runId, requestId, dedupKey: key, status: 'accepted' });
          built.rows.push({ id, source: 'generated', ...task, category: task.category ?? null, key });
        }
      });
      for (let i = 0; i < (spec.imported ?? 0); i++) {
        const k = ++counter;
        const task = { instruction: `导入的任务${k}：写一句问候语`, input: '', output: `你好，这是第${k}句问候。`, category: '写作' };
        const key = dedupKey(task);
        const id = store.insertTask({ ...task, source: 'import-demo', dedupKey: key, status: 'accepted' });
        built.rows.push({ id, source: 'import-demo', ...task, key });
      }
      for (let i = 0; i < (spec.rejected ?? 0); i++) {
        const t = { instruction: `被拒绝的任务${++counter}`, input: '', output: '' };
        store.insertTask({ ...t, source: 'generated', dedupKey: dedupKey(t), status: 'rejected', reason: 'empty_output' });
      }
    });
  } finally {
    store.close();
  }
  return built;
}

function options(outDir: string, over: Partial<ExportOptions> = {}): ExportOptions {
  return {
    database: 'test.db',
    outDir,
    format: 'alpaca',
    since: 'all',
    validRatio: 0,
    selection: normalizeSelection(undefined, undefined, false),
    shuffleSeed: null,
    maxTokens: null,
    tokenizer: null,
    template: loadTrainingTemplate('alpaca'),
    system: null,
    chineseSample: 200,
    ...over,
  };
}

async function exportWith(db: string, outDir: string, over: Partial<ExportOptions> = {}): Promise<ExportResult> {
  const store = Store.open(db);
  try {
    return await runExport(store, options(outDir, over));
  } finally {
    store.close();
  }
}

function written(result: ExportResult): Extract<ExportResult, { kind: 'written' }> {
  if (result.kind !== 'written') throw new Error('expected an export to be written');
  return result;
}

function lines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

// -- the shapes trainers read, written here independently of the code under test -----------------------

const text = z.string();
const RECORD_SCHEMAS: Record<Format, z.ZodType> = {
  alpaca: z.strictObject({ instruction: text.min(1), input: text, output: text.min(1) }),
  sharegpt: z.strictObject({
    conversations: z.tuple([
      z.strictObject({ from: z.literal('human'), value: text.min(1) }),
      z.strictObject({ from: z.literal('gpt'), value: text.min(1) }),
    ]),
    system: text.min(1).optional(),
  }),
  messages: z.strictObject({
    messages: z
      .array(z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content: text.min(1) }))
      .min(2)
      .max(3)
      .refine((m) => m.at(-1)!.role === 'assistant' && m.at(-2)!.role === 'user' && (m.length === 2 || m[0]!.role === 'system')),
  }),
  'prompt-completion': z.strictObject({ prompt: text.min(1), completion: text.min(1) }),
};

const count = z.number().int().nonnegative();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const MANIFEST = z.strictObject({
  schemaVersion: z.literal(1),
  exportId: z.string().regex(/^\d{8}T\d{6}Z-\d+$/),
  format: z.enum(['alpaca', 'sharegpt', 'messages', 'prompt-completion']),
  createdAt: z.iso.datetime(),
  tool: z.strictObject({ name: z.literal('zh-self-instruct'), version: z.string().min(1) }),
  database: z.string(),
  options: z.strictObject({
    since: z.union([z.literal('last'), z.literal('all'), z.number().int().positive()]),
    validRatio: z.number().min(0).lt(1),
    selection: z.strictObject({
      sources: z.array(z.string()).nullable(),
      categories: z.array(z.string()).nullable(),
      includeSeeds: z.boolean(),
    }),
    shuffle: z.boolean(),
    seed: z.number().int().nullable(),
    maxTokens: z.number().int().positive().nullable(),
    tokenizer: z.string().min(1).nullable(),
    system: z.string().nullable(),
    fileFormat: z.enum(['jsonl', 'parquet']),
    hfLayout: z.boolean(),
  }),
  files: z
    .array(z.strictObject({ path: z.string(), split: z.enum(['train', 'valid', 'card']), records: count, bytes: count, sha256: hex64 }))
    .min(1),
  datasetInfo: z.strictObject({
    file: z.literal('dataset_info.json'),
    datasets: z.array(z.string()).min(1),
    name: z.literal('zh_self_instruct'),
    columns: z.partialRecord(z.enum(['train', 'valid']), z.strictObject({ history: z.boolean(), system: z.boolean() })),
  }),
  records: z.strictObject({ total: count, train: count, valid: count, droppedForLength: count }),
  counts: z.strictObject({
    bySource: z.record(z.string(), count),
    byCategory: z.record(z.string(), count),
    byRun: z.record(z.string(), count),
  }),
  models: z.record(z.string(), count),
  generationTemplates: z.array(z.strictObject({ name: z.string(), sha256: hex64, records: count })),
  answers: z.strictObject({
    models: z.record(z.string(), count),
    templates: z.array(z.strictObject({ name: z.string(), sha256: hex64, records: count })),
  }),
  trainingTemplate: z.strictObject({ name: z.string(), sha256: hex64, noInputSha256: hex64 }),
  similarity: z.strictObject({ thresholds: z.array(z.number()), byRun: z.record(z.string(), z.number().nullable()) }),
  evolution: z.strictObject({ byRound: z.record(z.string(), count) }),
  tokenizer: z
    .strictObject({ name: z.string().min(1), file: z.string().min(1), sha256: hex64, countedAs: z.enum(['chat template', 'text']) })
    .optional(),
  tokens: z.partialRecord(
    z.string().min(1),
    z.strictObject({
      rows: count,
      total: count,
      mean: z.number(),
      p50: count,
      p95: count,
      max: count,
      maxTokens: z.number().nullable(),
      droppedForLength: count,
    }),
  ),
  chineseTokens: z
    .strictObject({
      tokenizer: z.literal('llama2'),
      rows: count,
      sampled: z.boolean(),
      chars: count,
      hanChars: count,
      tokens: count,
      tokensPerChar: z.number().positive(),
    })
    .nullable(),
  split: z.strictObject({ validRatio: z.number(), rule: z.string() }),
  order: z.string(),
  rows: z.strictObject({
    since: z.enum(['last', 'all', 'run']),
    runId: z.number().nullable(),
    afterTaskId: count,
    throughTaskId: count,
    firstTaskId: z.number().nullable(),
    lastTaskId: z.number().nullable(),
    previousExportId: z.string().nullable(),
  }),
});

const DATASET_INFO_ENTRY = z.strictObject({
  file_name: z.string(),
  formatting: z.enum(['alpaca', 'sharegpt']),
  columns: z.partialRecord(z.enum(['prompt', 'query', 'response', 'history', 'messages', 'system', 'tools']), z.string()),
  tags: z
    .partialRecord(
      z.enum(['role_tag', 'content_tag', 'user_tag', 'assistant_tag', 'observation_tag', 'function_tag', 'system_tag']),
      z.string(),
    )
    .optional(),
});

/** Checks a written export against its manifest: schema, each file's lines, bytes and hash, the counts. */
function checkExport(dir: string, format: Format): { manifest: Manifest; records: Record<'train' | 'valid', unknown[]> } {
  const manifest = readManifest(dir);
  MANIFEST.parse(manifest);
  expect(manifest.format).toBe(format);
  const records: Record<'train' | 'valid', unknown[]> = { train: [], valid: [] };
  for (const file of manifest.files) {
    const full = path.join(dir, file.path);
    const bytes = fs.readFileSync(full);
    expect(bytes.length).toBe(file.bytes);
    expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    if (file.split === 'card') {
      // The dataset card: documentation, not records.
      expect(file.path).toBe('README.md');
      expect(bytes.toString('utf8')).toMatch(/^---\nlanguage:\n- zh\n[\s\S]*\nsize_categories:\n- \S+\n[\s\S]*\n---\n/);
      continue;
    }
    const split = file.split;
    const ls = lines(full);
    expect(ls).toHaveLength(file.records);
    ls.forEach((line, i) => {
      const parsed = RECORD_SCHEMAS[format].safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file.path}:${i + 1}: ${parsed.error.message}`);
      records[split].push(parsed.data);
    });
  }
  expect(manifest.records.total).toBe(manifest.records.train + manifest.records.valid);
  for (const by of Object.values(manifest.counts)) expect(Object.values(by).reduce((a, b) => a + b, 0)).toBe(manifest.records.total);
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'dataset_info.json'), 'utf8')) as Record<string, unknown>;
  expect(Object.keys(info)).toEqual(manifest.datasetInfo.datasets);
  for (const entry of Object.values(info)) {
    const e = DATASET_INFO_ENTRY.parse(entry);
    expect(fs.existsSync(path.join(dir, e.file_name))).toBe(true);
  }
  return { manifest, records };
}

// -- pure parts ---------------------------------------------------------------------------------------------

describe('pure parts', () => {
  it('split: a key stays on its side, ratios nest, and the rule is sha256 as documented', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `键${i}`);
    const point = (k: string) => crypto.createHash('sha256').update(k).digest().readUInt32BE(0) / 2 ** 32;
    for (const k of keys) expect(splitPoint(k)).toBe(point(k));
    const valid10 = keys.filter((k) => splitOf(k, 0.1) === 'valid');
    const valid30 = new Set(keys.filter((k) => splitOf(k, 0.3) === 'valid'));
    for (const k of valid10) expect(valid30.has(k)).toBe(true);
    expect(valid10.length).toBeGreaterThan(150);
    expect(valid10.length).toBeLessThan(250);
    expect(keys.every((k) => splitOf(k, 0) === 'train')).toBe(true);
  });

  it('token histogram: exact nearest-rank percentiles', () => {
    const h = new TokenHistogram();
    for (let i = 1; i <= 100; i++) h.add(i);
    h.add(1000);
    const s = h.summary();
    expect(s).toMatchObject({ rows: 101, total: 5050 + 1000, p50: 51, p95: 96, max: 1000 });
    expect(new TokenHistogram().summary()).toMatchObject({ rows: 0, p50: 0, p95: 0, max: 0 });
  });

  it('tokenizers: the published LLaMA and cl100k ids, counted without BOS', async () => {
    const llama = await loadTokenizer('llama2');
    // LLaMA: "Hello world" → ▁Hello ▁world (15043, 3186); "你好" → ▁ 你 好 (29871, 30919, 31076).
    expect(llama.count('Hello world')).toBe(2);
    expect(llama.count('你好')).toBe(3);
    // A character outside LLaMA's vocabulary falls back to its three UTF-8 bytes.
    expect(llama.count('饕')).toBe(4);
    const cl = await loadTokenizer('cl100k');
    expect(cl.count('Hello world')).toBe(2);
    expect(cl.count('<|endoftext|>')).toBeGreaterThan(1);
    expect(countChars('你好, ok')).toEqual({ chars: 6, han: 2 });
  });

  it('training template: input and no-input variants, braces in the task left alone', () => {
    const t = loadTrainingTemplate('alpaca');
    const withInput = renderPrompt(t, '翻译成英文', '我{{instruction}}你');
    expect(withInput).toContain('### Instruction:\n翻译成英文\n');
    expect(withInput).toContain('### Input:\n我{{instruction}}你\n');
    expect(withInput.endsWith('### Response:\n')).toBe(true);
    const noInput = renderPrompt(t, '写一首诗', '');
    expect(noInput).not.toContain('### Input:');
    expect(noInput).toContain('### Instruction:\n写一首诗\n');
    expect(t.withInput.sha256).not.toBe(t.noInput.sha256);
    const dir = tempDir();
    const bad = writeTemp(dir, 'bad.train.txt', '{{instruction}} {{output}}\n');
    expect(() => loadTrainingTemplate(bad)).toThrow(TrainingTemplateError);
    expect(() => loadTrainingTemplate(bad)).toThrow(/bad\.train\.txt:1: unknown placeholder \{\{output\}\}/);
    expect(() => loadTrainingTemplate('no-such-template')).toThrow(/cannot read training template/);
  });

  it('chat records put the input on the line after the instruction', () => {
    const template = loadTrainingTemplate('alpaca');
    const task = { instruction: '总结下文', input: '今天下雨。', output: '下雨了。' };
    expect(renderRecord('sharegpt', task, { template, system: null })).toEqual({
      conversations: [
        { from: 'human', value: '总结下文\n今天下雨。' },
        { from: 'gpt', value: '下雨了。' },
      ],
    });
    expect(renderRecord('messages', task, { template, system: '你是助手。' })).toEqual({
      messages: [
        { role: 'system', content: '你是助手。' },
        { role: 'user', content: '总结下文\n今天下雨。' },
        { role: 'assistant', content: '下雨了。' },
      ],
    });
  });
});

// -- exports through the library ----------------------------------------------------------------------------

describe('export formats', () => {
  const dir = tempDir();
  const db = path.join(dir, 'formats.db');
  const built = addRows(db, { runs: [40, 20], imported: 6, seeds: 5, rejected: 7 });

  for (const format of ['alpaca', 'sharegpt', 'messages', 'prompt-completion'] as const) {
    it(`${format}: every line matches the shape, every accepted non-seed row once, in id order`, async () => {
      const system = format === 'sharegpt' || format === 'messages' ? '你是一个认真负责的中文助手。' : null;
      const result = written(await exportWith(db, path.join(dir, `out-${format}`), { format, system }));
      const { manifest, records } = checkExport(result.dir, format);
      const rows = built.rows;
      expect(records.train).toHaveLength(rows.length);
      expect(manifest.records).toEqual({ total: rows.length, train: rows.length, valid: 0, droppedForLength: 0 });
      records.train.forEach((record, i) => {
        const row = rows[i]!;
        const user = row.input === '' ? row.instruction : `${row.instruction}\n${row.input}`;
        if (format === 'alpaca') expect(record).toEqual({ instruction: row.instruction, input: row.input, output: row.output });
        if (format === 'sharegpt')
          expect(record).toEqual({
            conversations: [
              { from: 'human', value: user },
              { from: 'gpt', value: row.output },
            ],
            system,
          });
        if (format === 'messages') {
          expect(record).toEqual({
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: user },
              { role: 'assistant', content: row.output },
            ],
          });
        }
        if (format === 'prompt-completion') {
          const r = record as { prompt: string; completion: string };
          expect(r.completion).toBe(row.output);
          expect(r.prompt).toContain(`### Instruction:\n${row.instruction}\n`);
          expect(r.prompt.includes('### Input:')).toBe(row.input !== '');
          if (row.input !== '') expect(r.prompt).toContain(`### Input:\n${row.input}\n`);
        }
      });
      expect(manifest.counts.bySource).toEqual({ generated: 60, 'import-demo': 6 });
      expect(manifest.counts.byRun).toEqual({ [String(built.runIds[0])]: 40, [String(built.runIds[1])]: 20, '': 6 });
      expect(manifest.models).toEqual({ 'model-1': 40, 'model-2': 20 });
      expect(manifest.generationTemplates).toEqual([
        { name: 'self_instruct', sha256: crypto.createHash('sha256').update('模板').digest('hex'), records: 60 },
      ]);
      expect(manifest.similarity).toEqual({
        thresholds: [0.7, 0.8],
        byRun: { [String(built.runIds[0])]: 0.7, [String(built.runIds[1])]: 0.8 },
      });
      const byCategory = rows.reduce<Record<string, number>>(
        (acc, r) => ((acc[r.category ?? ''] = (acc[r.category ?? ''] ?? 0) + 1), acc),
        {},
      );
      expect(manifest.counts.byCategory).toEqual(byCategory);
      expect(manifest.rows).toMatchObject({ since: 'all', afterTaskId: 0, firstTaskId: rows[0]!.id, lastTaskId: rows.at(-1)!.id });
      expect(manifest.chineseTokens!.tokensPerChar).toBeGreaterThan(1);
      expect(readLatest(path.dirname(result.dir))).toBe(manifest.exportId);
      expect(
        fs
          .readdirSync(path.dirname(result.dir))
          .filter((f) => !f.startsWith('.'))
          .sort(),
      ).toEqual([manifest.exportId, 'LATEST', 'dataset_info.json'].sort());
    });
  }

  it('filters: --source, --category and seeds', async () => {
    const seeds = written(await exportWith(db, path.join(dir, 'seeds'), { selection: normalizeSelection(['seed'], undefined, false) }));
    expect(seeds.manifest.counts.bySource).toEqual({ seed: 5 });
    const withSeeds = written(
      await exportWith(db, path.join(dir, 'with-seeds'), { selection: normalizeSelection(undefined, undefined, true) }),
    );
    expect(withSeeds.manifest.records.total).toBe(built.rows.length + 5);
    const cat = written(
      await exportWith(db, path.join(dir, 'cat'), { selection: normalizeSelection(['generated'], ['翻译', '问答'], false) }),
    );
    const expected = built.rows.filter((r) => r.source === 'generated' && (r.category === '翻译' || r.category === '问答')).length;
    expect(cat.manifest.records.total).toBe(expected);
    expect(Object.keys(cat.manifest.counts.byCategory).sort()).toEqual(['翻译', '问答'].sort());
  });

  it('--since RUN_ID exports one run and leaves the --since last range alone', async () => {
    const out = path.join(dir, 'by-run');
    const run2 = written(await exportWith(db, out, { since: built.runIds[1]! }));
    expect(run2.manifest.records.total).toBe(20);
    expect(run2.manifest.rows).toMatchObject({ since: 'run', runId: built.runIds[1] });
    const last = written(await exportWith(db, out, { since: 'last' }));
    expect(last.manifest.records.total).toBe(built.rows.length);
    await expect(exportWith(db, out, { since: 999 })).rejects.toThrow(/no run 999/);
  });
});

describe('determinism', () => {
  const dir = tempDir();
  const db = path.join(dir, 'det.db');
  addRows(db, { runs: [300] });

  it('the same rows and ratio give byte-identical train/valid files; a row keeps its side as the data grows', async () => {
    const a = written(await exportWith(db, path.join(dir, 'a'), { validRatio: 0.25 }));
    const b = written(await exportWith(db, path.join(dir, 'b'), { validRatio: 0.25 }));
    const { records } = checkExport(a.dir, 'alpaca');
    const data = (m: Manifest) => m.files.filter((f) => f.split !== 'card').map((f) => f.sha256);
    expect(data(a.manifest)).toEqual(data(b.manifest));
    expect(records.valid.length).toBeGreaterThan(40);
    expect(records.valid.length).toBeLessThan(110);
    const side = (recs: Record<'train' | 'valid', unknown[]>) =>
      new Map([
        ...recs.train.map((r) => [JSON.stringify(r), 'train'] as const),
        ...recs.valid.map((r) => [JSON.stringify(r), 'valid'] as const),
      ]);
    const before = side(records);
    for (const [record, s] of before) {
      const t = JSON.parse(record) as { instruction: string; input: string };
      expect(s).toBe(splitOf(dedupKey(t), 0.25));
    }

    addRows(db, { runs: [200] });
    const c = written(await exportWith(db, path.join(dir, 'c'), { validRatio: 0.25 }));
    const after = side(checkExport(c.dir, 'alpaca').records);
    expect(after.size).toBe(500);
    for (const [record, s] of before) expect(after.get(record)).toBe(s);
  });

  it('shuffle: a seed gives one order every time; another seed another order of the same rows', async () => {
    const read = (r: ExportResult) => lines(path.join(written(r).dir, 'train.jsonl'));
    const plain = read(await exportWith(db, path.join(dir, 'plain')));
    const s1 = read(await exportWith(db, path.join(dir, 's1a'), { shuffleSeed: 1 }));
    const s1again = read(await exportWith(db, path.join(dir, 's1b'), { shuffleSeed: 1 }));
    const s2 = read(await exportWith(db, path.join(dir, 's2'), { shuffleSeed: 2 }));
    expect(s1again).toEqual(s1);
    expect(s1).not.toEqual(plain);
    expect(s2).not.toEqual(s1);
    expect([...s1].sort()).toEqual([...plain].sort());
    expect([...s2].sort()).toEqual([...plain].sort());
  });
});

describe('token limits', () => {
  it('--max-train-tokens leaves out the long rows and counts them; stats cover the rows written', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'tok.db');
    addRows(db, { runs: [50], long: 7 });
    for (const tokenizer of ['llama2', 'cl100k'] as const) {
      const r = written(await exportWith(db, path.join(dir, tokenizer), { maxTokens: 400, tokenizer }));
      const { manifest } = checkExport(r.dir, 'alpaca');
      expect(manifest.records.total).toBe(43);
      expect(manifest.records.droppedForLength).toBe(7);
      const stats = manifest.tokens[tokenizer]!;
      expect(stats).toMatchObject({ rows: 43, maxTokens: 400, droppedForLength: 7 });
      expect(stats.max).toBeLessThanOrEqual(400);
      expect(stats.p50).toBeLessThanOrEqual(stats.p95);
      expect(stats.total).toBe(Math.round(stats.mean * 43));
      const counter = await loadTokenizer(tokenizer);
      const lens = lines(path.join(r.dir, 'train.jsonl')).map((l) => {
        const t = JSON.parse(l) as { instruction: string; input: string; output: string };
        return counter.count(renderPrompt(loadTrainingTemplate('alpaca'), t.instruction, t.input) + t.output);
      });
      expect(Math.max(...lens)).toBe(stats.max);
      expect(lens.reduce((a, b) => a + b, 0)).toBe(stats.total);
    }
  });
});

describe('--since last and crash recovery', () => {
  it('continues from the previous export, and says so when there is nothing new', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'since.db');
    const out = path.join(dir, 'out');
    const first = addRows(db, { runs: [30] });
    const a = written(await exportWith(db, out, { since: 'last' }));
    expect(a.manifest.records.total).toBe(30);
    const empty = await exportWith(db, out, { since: 'last' });
    expect(empty.kind).toBe('empty');
    expect(readLatest(out)).toBe(a.exportId);

    const second = addRows(db, { runs: [12] });
    const b = written(await exportWith(db, out, { since: 'last' }));
    expect(b.manifest.records.total).toBe(12);
    expect(b.manifest.rows).toMatchObject({ afterTaskId: a.manifest.rows.throughTaskId, previousExportId: a.exportId });
    const exported = lines(path.join(b.dir, 'train.jsonl')).map((l) => (JSON.parse(l) as { instruction: string }).instruction);
    expect(exported).toEqual(second.rows.map((r) => r.instruction));
    expect(exported.some((i) => first.rows.some((r) => r.instruction === i))).toBe(false);

    // A different selection would skip rows the last export left out: refused.
    await expect(exportWith(db, out, { since: 'last', selection: normalizeSelection(['generated'], undefined, false) })).rejects.toThrow(
      ExportError,
    );
    // `all` re-exports everything and moves the range to the end.
    const all = written(await exportWith(db, out, { since: 'all' }));
    expect(all.manifest.records.total).toBe(42);
    expect((await exportWith(db, out, { since: 'last' })).kind).toBe('empty');
  });

  it('an export that died after publishing LATEST is recorded as complete by the next one', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'recover.db');
    const out = path.join(dir, 'out');
    addRows(db, { runs: [10] });
    const a = written(await exportWith(db, out, { since: 'last' }));
    // As if the process died between replacing LATEST and updating the database.
    const store = Store.open(db);
    store.db.prepare(`UPDATE exports SET status = 'writing' WHERE export_id = ?`).run(a.exportId);
    store.close();
    addRows(db, { runs: [4] });
    const b = written(await exportWith(db, out, { since: 'last' }));
    expect(b.housekeeping).toEqual([{ exportId: a.exportId, outcome: 'recovered' }]);
    expect(b.manifest.records.total).toBe(4);
    expect(b.manifest.rows.previousExportId).toBe(a.exportId);
  });

  it('an export that died before publishing is removed and its rows exported again', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'abandon.db');
    const out = path.join(dir, 'out');
    addRows(db, { runs: [10] });
    const a = written(await exportWith(db, out, { since: 'last' }));
    addRows(db, { runs: [5] });
    // A dead export's leftovers: its 'writing' row and a half-written hidden folder.
    const store = Store.open(db);
    const dead = new ExportStore(store).begin({
      outDir: fs.realpathSync(out),
      format: 'alpaca',
      since: 'last',
      runId: null,
      selection: normalizeSelection(undefined, undefined, false),
      options: {},
      afterTaskId: a.manifest.rows.throughTaskId,
      throughTaskId: a.manifest.rows.throughTaskId + 5,
    });
    store.close();
    fs.mkdirSync(path.join(out, `.partial-${dead.exportId}`));
    fs.writeFileSync(path.join(out, `.partial-${dead.exportId}`, 'train.jsonl'), '{"instruction":"半');
    const b = written(await exportWith(db, out, { since: 'last' }));
    expect(b.housekeeping).toEqual([{ exportId: dead.exportId, outcome: 'removed' }]);
    expect(b.manifest.records.total).toBe(5);
    expect(fs.existsSync(path.join(out, `.partial-${dead.exportId}`))).toBe(false);
    const check = Store.open(db);
    expect(new ExportStore(check).get(dead.exportId)?.status).toBe('abandoned');
    check.close();
  });
});

// -- the real CLI ----------------------------------------------------------------------------------------------

describe('export CLI', () => {
  it('exports, prints the folder and a summary with the LLaMA tokens-per-character ratio; a second --since last is empty', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'cli.db');
    const out = path.join(dir, 'exports');
    addRows(db, { runs: [25], seeds: 3 });
    const first = await runCli([
      'export',
      '--db',
      db,
      '--out',
      out,
      '--format',
      'sharegpt',
      '--valid-ratio',
      '0.2',
      '--system',
      '你是助手。',
    ]);
    expect(first.stderr).not.toMatch(/error/);
    expect(first.code).toBe(0);
    const id = readLatest(out)!;
    expect(first.stdout.trim()).toBe(path.join(fs.realpathSync(out), id));
    expect(first.stderr).toMatch(/export \S+: 25 sharegpt records/);
    expect(first.stderr).toMatch(/LLaMA\s+\d\.\d\d tokens per character/);
    const { manifest } = checkExport(path.join(out, id), 'sharegpt');
    expect(manifest.records.total).toBe(25);
    expect(manifest.files.map((f) => f.path)).toEqual(['train.jsonl', 'valid.jsonl', 'README.md']);

    const second = await runCli(['export', '--db', db, '--out', out, '--format', 'sharegpt', '--system', '你是助手。']);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr.trim()).toMatch(
      /^export: nothing new in .* since export \S+ \(task ids through \d+\); nothing written, LATEST unchanged/,
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(readLatest(out)).toBe(id);
    expect(
      fs
        .readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
    ).toEqual([id, 'LATEST', 'dataset_info.json'].sort());

    // One export per folder: a live holder of the folder's lock (this test process) turns the next one away.
    const lock = path.join(out, '.export.lock');
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'export' }),
    );
    const locked = await runCli(['export', '--db', db, '--out', out, '--format', 'sharegpt', '--since', 'all']);
    fs.rmSync(lock);
    expect(locked.code).toBe(75);
    expect(locked.stderr.trim()).toMatch(/^error: another export is writing into .* in use by pid \d+/);
    expect(readLatest(out)).toBe(id);
  });

  it('a kill during the export leaves LATEST on the previous export, shows no half export, marks nothing exported', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'kill.db');
    const out = path.join(dir, 'exports');
    addRows(db, { runs: [50] });
    const a = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca']);
    expect(a.code).toBe(0);
    const previous = readLatest(out)!;
    // Enough new rows, counted with the tokenizer, that the export is still writing when we kill it.
    addRows(db, { runs: [20000], long: 4000 });
    const run = startCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--token-stats']);
    let partial: string | undefined;
    await waitFor(
      () => {
        const name = fs.existsSync(out) ? fs.readdirSync(out).find((f) => f.startsWith('.partial-')) : undefined;
        const file = name === undefined ? undefined : path.join(out, name, 'train.jsonl');
        if (file !== undefined && fs.existsSync(file) && fs.statSync(file).size > 0) partial = name;
        return partial !== undefined;
      },
      60_000,
      5,
    );
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    // Killed mid-write: the half-written folder is there, but hidden, and LATEST has not moved.
    expect(fs.existsSync(path.join(out, partial!, 'train.jsonl'))).toBe(true);
    expect(fs.existsSync(path.join(out, partial!, 'manifest.json'))).toBe(false);
    expect(readLatest(out)).toBe(previous);
    expect(
      fs
        .readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
    ).toEqual([previous, 'LATEST', 'dataset_info.json'].sort());

    const next = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca']);
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/removed the leftovers of export/);
    const id = readLatest(out)!;
    expect(id).not.toBe(previous);
    const { manifest } = checkExport(path.join(out, id), 'alpaca');
    expect(manifest.records.total).toBe(20000);
    expect(manifest.rows.previousExportId).toBe(previous);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('.partial-'))).toEqual([]);
  }, 120_000);

  it('bad flags and an empty database: one clear line on stderr, exit 2', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'ok.db');
    addRows(db, { runs: [3] });
    const seedsOnly = path.join(dir, 'seeds.db');
    addRows(seedsOnly, { seeds: 4 });
    const emptyDb = path.join(dir, 'empty.db');
    Store.open(emptyDb).close();
    const out = path.join(dir, 'out');
    const cases: [string[], RegExp][] = [
      [['--db', db], /--format: say which format/],
      [['--db', db, '--format', 'csv'], /--format.*expected one of alpaca, sharegpt, messages, prompt-completion, got "csv"/],
      [['--db', db, '--format', 'alpaca', '--bogus'], /unknown option '--bogus'/],
      [['--db', db, '--format', 'alpaca', '--valid-ratio', '1.5'], /--valid-ratio.*got "1\.5"/],
      [['--db', db, '--format', 'alpaca', '--since', 'yesterday'], /--since.*expected last, all or a run id, got "yesterday"/],
      [['--db', db, '--format', 'alpaca', '--since', '42'], /no run 42/],
      [['--db', db, '--format', 'alpaca', '--max-train-tokens', 'lots'], /--max-train-tokens.*got "lots"/],
      [
        ['--db', db, '--format', 'alpaca', '--tokenizer', 'gpt2'],
        /--tokenizer: gpt2: neither a built-in tokenizer \(llama2, cl100k, qwen2\.5\) nor a file/,
      ],
      [['--db', db, '--format', 'alpaca', '--file-format', 'csv'], /--file-format.*expected one of jsonl, parquet, got "csv"/],
      [['--db', db, '--format', 'alpaca', '--seed', '3'], /--seed: needs --shuffle/],
      [['--db', db, '--format', 'alpaca', '--system', '你好'], /--system: applies to sharegpt and messages/],
      [['--db', db, '--format', 'messages', '--train-template', 'alpaca'], /--train-template: applies to alpaca and prompt-completion/],
      [['--db', db, '--format', 'prompt-completion', '--train-template', 'nope'], /nope\.train\.txt: cannot read training template/],
      [['--db', db, '--format', 'alpaca', '--source', 'nowhere'], /no accepted tasks matching source nowhere/],
      [['--db', path.join(dir, 'missing.db'), '--format', 'alpaca'], /missing\.db: no such database/],
      [['--db', emptyDb, '--format', 'alpaca'], /the database has no accepted tasks to export$/],
      [['--db', seedsOnly, '--format', 'alpaca'], /besides 4 seeds \(add --include-seeds/],
    ];
    // Four at a time: each is a fresh Node process.
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      results.push(
        ...(await Promise.all(cases.slice(i, i + 4).map(([args], j) => runCli(['export', '--out', `${out}-${i + j}`, ...args])))),
      );
    }
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      const err = r.stderr.trim();
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(err.split('\n'), args.join(' ')).toHaveLength(1);
      expect(err, args.join(' ')).toMatch(/^error: /);
      expect(err, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    for (let i = 0; i < cases.length; i++) expect(readLatest(`${out}-${i}`)).toBeUndefined();
  }, 120_000);
});
