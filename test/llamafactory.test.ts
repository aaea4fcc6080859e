/**
 * Every export format, read back the way LLaMA-Factory reads it (test/llamafactory-loader.ts, written
 * from its documented rules, not from our exporter): each export's own dataset_info.json must load its
 * own files with no error and no skipped row, giving the user turn, answer and system prompt we meant;
 * and the output folder's dataset_info.json must carry a stable name that follows LATEST.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIndex } from '../pipeline/dedup/qgram-index.ts';
import { DialogueIngestor } from '../pipeline/dialogue/ingest.ts';
import type { Turn } from '../pipeline/dialogue/types.ts';
import { exportDataset } from '../pipeline/commands/export.ts';
import { runExport, type ExportOptions, type ExportResult } from '../pipeline/export/export.ts';
import { normalizeSelection } from '../pipeline/export/selection.ts';
import { FORMATS, type Format } from '../pipeline/export/formats.ts';
import { readLatest } from '../pipeline/export/manifest.ts';
import { loadTrainingTemplate, renderPrompt } from '../pipeline/export/template.ts';
import { Ingestor } from '../pipeline/ingest.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir, writeTemp } from './helpers.ts';
import { loadLlamaFactoryDataset, type Example } from './llamafactory-loader.ts';
import { readParquetRows } from './parquet-reader.ts';

const TASKS = [
  { instruction: '把下面这句话翻译成英文。', input: '今天的会议改到下午三点。', output: 'The meeting today has been moved to 3 p.m.' },
  {
    instruction: '列举三种常见的室内绿植，并各用一句话说明养护要点。',
    input: '',
    output: '绿萝：散射光、见干见湿。吊兰：耐阴，夏季多喷水。虎皮兰：耐旱，少浇水。',
  },
  {
    instruction: '判断下面的说法是否正确，并说明理由。',
    input: '水在任何气压下都是100摄氏度沸腾。',
    output: '不正确。水的沸点随气压变化，高原上气压低，沸点低于100摄氏度。',
  },
];

const turns = (...texts: string[]): { turns: Turn[] } => ({
  turns: texts.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

const DIALOGUE = turns(
  '周末想带父母去郊外走走，有什么需要准备的？',
  '带上舒适的鞋、外套和常用药，出发前查一下天气，路线别安排得太满。',
  '那他们膝盖不太好，爬山合适吗？',
  '可以选坡度平缓的步道或者湖边栈道，带上登山杖，走一段歇一段。',
);

const SYSTEM = '你是一名耐心、准确的中文助手。';

function store(withDialogue: boolean): Store {
  const s = Store.open(path.join(tempDir(), 'lf.db'));
  const index = buildIndex(s.acceptedKeys());
  new Ingestor(s, index).ingest({ source: 'generated', tasks: TASKS });
  if (withDialogue) new DialogueIngestor(s, index).ingest({ runId: null, requestId: null, dialogues: [DIALOGUE] });
  return s;
}

function options(outDir: string, format: Format, system: string | null, extra: Partial<ExportOptions> = {}): ExportOptions {
  return {
    database: 'lf.db',
    outDir,
    format,
    since: 'all',
    validRatio: 0,
    selection: normalizeSelection(undefined, undefined, false),
    shuffleSeed: null,
    maxTokens: null,
    tokenizer: null,
    template: loadTrainingTemplate('alpaca'),
    system,
    chineseSample: 0,
    ...extra,
  };
}

const written = (r: ExportResult) => {
  if (r.kind !== 'written') throw new Error('nothing was written');
  return r;
};

const rowsIn = (file: string) =>
  file.endsWith('.parquet') ? readParquetRows(file).length : fs.readFileSync(file, 'utf8').trim().split('\n').length;

/** What LLaMA-Factory should see for a task: the user turn, the answer and the system prompt. */
function expected(format: Format, task: (typeof TASKS)[number], system: string | null): Example {
  const user =
    format === 'prompt-completion'
      ? renderPrompt(loadTrainingTemplate('alpaca'), task.instruction, task.input)
      : task.input === ''
        ? task.instruction
        : `${task.instruction}\n${task.input}`;
  return { prompt: [{ role: 'user', content: user }], response: [{ role: 'assistant', content: task.output }], system: system ?? '' };
}

const CASES: { format: Format; system: string | null }[] = [
  { format: 'alpaca', system: null },
  { format: 'sharegpt', system: null },
  { format: 'sharegpt', system: SYSTEM },
  { format: 'messages', system: null },
  { format: 'messages', system: SYSTEM },
  { format: 'prompt-completion', system: null },
];

describe('exports as LLaMA-Factory loads them', () => {
  // Every case as JSON Lines and as Parquet (issue 26): LLaMA-Factory picks the loader by the file extension.
  const both = CASES.flatMap((c) => (['jsonl', 'parquet'] as const).map((fileFormat) => ({ ...c, fileFormat })));
  it.each(both)(
    '$format (system: $system, $fileFormat): its own dataset_info.json loads every row as written',
    async ({ format, system, fileFormat }) => {
      const s = store(format !== 'prompt-completion');
      try {
        const out = tempDir();
        const r = written(await runExport(s, options(out, format, system, { validRatio: 0.4, fileFormat })));
        expect(r.manifest.files[0]!.path).toBe(`train.${fileFormat}`);
        const info = JSON.parse(fs.readFileSync(path.join(r.dir, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
        let loaded = 0;
        for (const [name, entry] of Object.entries(info)) {
          const got = loadLlamaFactoryDataset(r.dir, name);
          expect(got.fatal, `${format} ${name}`).toEqual([]);
          expect(got.skipped, `${format} ${name}`).toEqual([]);
          expect(got.examples).toHaveLength(rowsIn(path.join(r.dir, entry.file_name)));
          loaded += got.examples.length;
          for (const example of got.examples) {
            const task = TASKS.find((t) => example.response[0]!.content === t.output);
            if (task === undefined) {
              // The conversation: every turn in order, the last answer as the response.
              const contents = [...example.prompt, ...example.response].map((t) => t.content);
              expect(contents).toEqual(DIALOGUE.turns.map((t) => t.content));
              expect(example.system).toBe(system ?? '');
            } else expect(example).toEqual(expected(format, task, system));
          }
        }
        expect(loaded).toBe(r.manifest.records.total);
        expect(loaded).toBe(TASKS.length + (format === 'prompt-completion' ? 0 : 1));
      } finally {
        s.close();
      }
    },
  );

  it('a column mapped in dataset_info.json but carried by no row fails the load (the sharegpt-without-system defect)', () => {
    const dir = tempDir();
    writeTemp(
      dir,
      'train.jsonl',
      `${JSON.stringify({
        conversations: [
          { from: 'human', value: '问' },
          { from: 'gpt', value: '答' },
        ],
      })}\n`,
    );
    const entry = {
      file_name: 'train.jsonl',
      formatting: 'sharegpt',
      tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
    };
    writeTemp(
      dir,
      'dataset_info.json',
      JSON.stringify({
        with: { ...entry, columns: { messages: 'conversations', system: 'system' } },
        without: { ...entry, columns: { messages: 'conversations' } },
      }),
    );
    expect(loadLlamaFactoryDataset(dir, 'with').fatal).toEqual(['column "system" is mapped but the file has no such column']);
    expect(loadLlamaFactoryDataset(dir, 'without')).toMatchObject({ fatal: [], skipped: [], examples: [{ system: '' }] });
  });

  it('the loader skips what LLaMA-Factory skips: a turn out of order, an odd count, no answer', () => {
    const dir = tempDir();
    const line = (conversations: { from: string; value: string }[]) => JSON.stringify({ conversations });
    writeTemp(
      dir,
      'train.jsonl',
      [
        line([
          { from: 'gpt', value: '答' },
          { from: 'human', value: '问' },
        ]),
        line([
          { from: 'human', value: '问' },
          { from: 'gpt', value: '答' },
          { from: 'human', value: '又问' },
        ]),
        line([]),
      ].join('\n'),
    );
    writeTemp(dir, 'dataset_info.json', JSON.stringify({ d: { file_name: 'train.jsonl', formatting: 'sharegpt' } }));
    expect(loadLlamaFactoryDataset(dir, 'd').skipped.map((s) => s.why)).toEqual([
      'invalid role tag gpt at turn 1',
      'invalid message count 3',
      'invalid example for supervised training',
    ]);
  });
});

describe('the stable dataset name', () => {
  it('follows LATEST in the output folder: each export moves it, and a split that is gone takes its _valid name along', async () => {
    const s = store(false);
    try {
      const out = tempDir();
      const first = written(await runExport(s, options(out, 'alpaca', null, { validRatio: 0.5 })));
      let info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
      expect(Object.keys(info).sort()).toEqual(['zh_self_instruct', 'zh_self_instruct_valid']);
      expect(info.zh_self_instruct!.file_name).toBe(`${first.exportId}/train.jsonl`);
      // The per-export name stays, inside the export's folder.
      const own = `zh_self_instruct_${first.exportId.replace(/[^A-Za-z0-9]+/g, '_')}`;
      expect(first.manifest.datasetInfo).toMatchObject({ name: 'zh_self_instruct', datasets: [own, `${own}_valid`] });

      // Time moves on (export ids are timestamps); a new export without a valid split.
      const second = written(await runExport(s, options(out, 'sharegpt', null, { now: () => new Date(Date.now() + 60_000) })));
      expect(readLatest(out)).toBe(second.exportId);
      info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
      expect(Object.keys(info)).toEqual(['zh_self_instruct']);
      expect(info.zh_self_instruct!.file_name).toBe(`${second.exportId}/train.jsonl`);
      const loaded = loadLlamaFactoryDataset(out, 'zh_self_instruct');
      expect(loaded.fatal).toEqual([]);
      expect(loaded.examples).toHaveLength(TASKS.length);
      // sharegpt now: the stable name's entry changed format with the export.
      expect(loaded.examples[0]).toEqual(expected('sharegpt', TASKS[0]!, null));
    } finally {
      s.close();
    }
  });

  it("is configurable; other entries of the folder (another name, the user's own) are kept", async () => {
    const s = store(false);
    try {
      const out = tempDir();
      writeTemp(out, 'dataset_info.json', JSON.stringify({ my_own: { file_name: 'elsewhere.jsonl' } }));
      written(await runExport(s, options(out, 'alpaca', null)));
      const nightly = written(
        await runExport(s, options(out, 'messages', SYSTEM, { datasetName: 'nightly_chat', now: () => new Date(Date.now() + 60_000) })),
      );
      const info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
      expect(Object.keys(info).sort()).toEqual(['my_own', 'nightly_chat', 'zh_self_instruct']);
      expect(info.nightly_chat!.file_name).toBe(`${nightly.exportId}/train.jsonl`);
      expect(nightly.manifest.datasetInfo.datasets[0]).toMatch(/^nightly_chat_\d/);
      expect(loadLlamaFactoryDataset(out, 'nightly_chat').examples[0]).toEqual(expected('messages', TASKS[0]!, SYSTEM));
    } finally {
      s.close();
    }
  });

  it('a bad name is refused by the options; an unreadable dataset_info.json beside LATEST stops the export before it writes', async () => {
    const s = store(false);
    const db = s.path;
    s.close();
    const out = tempDir();
    await expect(exportDataset({ db, out, format: 'alpaca', datasetName: 'has space' })).rejects.toMatchObject({
      category: 'usage',
      option: 'datasetName',
    });
    writeTemp(out, 'dataset_info.json', '{ "broken": ');
    await expect(exportDataset({ db, out, format: 'alpaca' })).rejects.toThrow(/dataset_info\.json: not JSON/);
    // Nothing but the file and the folder's lock: no export folder, no LATEST.
    expect(fs.readdirSync(out).filter((f) => !f.startsWith('.'))).toEqual(['dataset_info.json']);
  });

  it('an export that published LATEST but died before moving the name is completed by the next export, name included', async () => {
    const s = store(false);
    try {
      const out = tempDir();
      const first = written(await runExport(s, options(out, 'alpaca', null)));
      // As if the process died right after LATEST: the name not moved, the database still says writing.
      fs.rmSync(path.join(out, 'dataset_info.json'));
      s.db.prepare(`UPDATE exports SET status = 'writing' WHERE export_id = ?`).run(first.exportId);
      const next = await runExport(s, options(out, 'alpaca', null, { since: 'last' }));
      expect(next.housekeeping).toEqual([{ exportId: first.exportId, outcome: 'recovered' }]);
      const info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
      expect(info.zh_self_instruct!.file_name).toBe(`${first.exportId}/train.jsonl`);
    } finally {
      s.close();
    }
  });

  it('every format has a case above', () => {
    expect(new Set(CASES.map((c) => c.format))).toEqual(new Set(FORMATS));
  });
});
