/**
 * Exporting conversations: sharegpt and messages write the whole conversation, alpaca the last exchange
 * with `history`; every file is read back by the independent checker below (not the exporter's own
 * rules), and a conversation that breaks them stops the export before anything is published.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIndex } from '../pipeline/dedup/qgram-index.ts';
import { DialogueIngestor } from '../pipeline/dialogue/ingest.ts';
import type { Turn } from '../pipeline/dialogue/types.ts';
import { ExportError, runExport, type ExportOptions } from '../pipeline/export/export.ts';
import { normalizeSelection } from '../pipeline/export/selection.ts';
import type { Format } from '../pipeline/export/formats.ts';
import { readLatest } from '../pipeline/export/manifest.ts';
import { loadTrainingTemplate } from '../pipeline/export/template.ts';
import { Ingestor } from '../pipeline/ingest.ts';
import { Store } from '../pipeline/store/store.ts';
import { checkLine } from './dialogue-checker.ts';
import { tempDir } from './helpers.ts';

// -- a store with tasks and conversations

const conv = (...texts: string[]): { turns: Turn[] } => ({
  turns: texts.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

const DIALOGUES = [
  conv(
    '我下个月要去成都出差，有什么必吃的小吃推荐吗？',
    '比较有代表性的是钟水饺、龙抄手、担担面和三大炮，春熙路和宽窄巷子附近都能吃到。',
    '担担面辣吗？我不太能吃辣。',
    '担担面通常会放辣椒油，点的时候可以跟店家说微辣或者不要辣，味道主要来自芝麻酱和芽菜。',
  ),
  conv(
    '孩子上三年级，数学应用题总是读不懂题，怎么办？',
    '可以先让他把题目读出来，圈出已知条件和问题，再画个简单的线段图帮助理解数量关系。',
    '画线段图具体怎么画？能举个例子吗',
    '比如“小明有12颗糖，给了小红5颗，还剩几颗”，先画一条线表示12，再截出5的一段，剩下的部分就是要求的数。',
    '那如果是倍数关系的题呢？',
    '倍数题可以先画一段表示一倍的量，再照着画出几段相同的长度，孩子一眼就能看出总数是几倍。',
  ),
  conv(
    '帮我写一句给同事的生日祝福，别太肉麻。',
    '祝你生日快乐，新的一岁工作顺利、天天开心！',
    '再简短一点，适合发在群里',
    '生日快乐，天天开心！',
    '换个稍微幽默点的说法呢？',
    '又长大一岁啦，祝你发量永远比工作量多！',
    '哈哈不错，那能不能加上我们组的名字“星火组”？',
    '星火组全体祝你生日快乐，发量永远比工作量多！',
  ),
];

function build(): { db: string; store: Store } {
  const db = path.join(tempDir(), 'export.db');
  const store = Store.open(db);
  const index = buildIndex(store.acceptedKeys());
  new Ingestor(store, index).ingest({
    source: 'generated',
    tasks: [
      { instruction: '把下面这句话改写得更正式一些。', input: '明天咱们九点开会，别迟到。', output: '请各位于明天上午九点准时参加会议。' },
      {
        instruction: '用一句话解释什么是光合作用。',
        input: '',
        output: '光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。',
      },
    ],
  });
  const r = new DialogueIngestor(store, index).ingest({ runId: null, requestId: null, dialogues: DIALOGUES });
  expect(r.rejected).toEqual({});
  return { db, store };
}

function options(outDir: string, format: Format, system: string | null): ExportOptions {
  return {
    database: 'export.db',
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
  };
}

describe('export of conversations', () => {
  it('writes each format so that the independent checker accepts every line, with the conversation whole', async () => {
    const { store } = build();
    for (const [format, system] of [
      ['sharegpt', '你是一个耐心的中文助手。'],
      ['messages', '你是一个耐心的中文助手。'],
      ['sharegpt', null],
      ['alpaca', null],
    ] as const) {
      const out = tempDir();
      const result = await runExport(store, options(out, format, system));
      expect(result.kind).toBe('written');
      if (result.kind !== 'written') continue;
      const lines = fs.readFileSync(path.join(result.dir, 'train.jsonl'), 'utf8').trim().split('\n');
      expect(lines, format).toHaveLength(5);
      const checked = lines.map((l) => checkLine(format, l, format === 'alpaca' ? null : system));
      expect(
        checked.flatMap((c) => c.problems),
        `${format} ${system}`,
      ).toEqual([]);
      // The two tasks are one exchange; the conversations keep all of theirs.
      expect(checked.map((c) => c.exchanges)).toEqual([1, 1, 2, 3, 4]);
      expect(result.manifest.dialogues).toMatchObject({ records: 3, turns: 18, exchangesHistogram: { 2: 1, 3: 1, 4: 1 } });
      expect(result.manifest.dialogues!.tokensPerDialogue.max).toBeGreaterThan(50);
      const info = JSON.parse(fs.readFileSync(path.join(result.dir, 'dataset_info.json'), 'utf8')) as Record<
        string,
        { columns: Record<string, string> }
      >;
      if (format === 'alpaca') {
        expect(Object.values(info)[0]!.columns.history).toBe('history');
        const last = JSON.parse(lines[4]!) as { instruction: string; output: string; history: string[][] };
        expect(last.instruction).toBe(DIALOGUES[2]!.turns[6]!.content);
        expect(last.output).toBe(DIALOGUES[2]!.turns[7]!.content);
        expect(last.history[0]).toEqual([DIALOGUES[2]!.turns[0]!.content, DIALOGUES[2]!.turns[1]!.content]);
      }
      if (format === 'messages') {
        const m = JSON.parse(lines[3]!) as { messages: { content: string }[] };
        expect(m.messages.slice(1).map((x) => x.content)).toEqual(DIALOGUES[1]!.turns.map((t) => t.content));
      }
    }
    store.close();
  });

  it('prompt-completion has no turns: it exports the tasks only', async () => {
    const { store } = build();
    const result = await runExport(store, options(tempDir(), 'prompt-completion', null));
    expect(result.kind === 'written' && result.manifest.records.total).toBe(2);
    expect(result.kind === 'written' && 'dialogues' in result.manifest).toBe(false);
    store.close();
  });

  it('a stored conversation that breaks the format stops the export; nothing is published', async () => {
    const { store } = build();
    const id = store.db.prepare(`SELECT id FROM tasks WHERE kind = 'dialogue' ORDER BY id LIMIT 1`).pluck().get() as number;
    store.db.prepare(`UPDATE dialogue_turns SET role = 'user' WHERE task_id = ? AND turn = 1`).run(id);
    const out = tempDir();
    await expect(runExport(store, options(out, 'sharegpt', null))).rejects.toThrow(ExportError);
    await expect(runExport(store, options(out, 'messages', null))).rejects.toThrow(
      new RegExp(`^task ${id}: the conversation breaks the messages rules \\(turn 2 is "user", expected "assistant"\\)`),
    );
    expect(readLatest(out)).toBeUndefined();
    expect(fs.readdirSync(out).filter((f) => !f.startsWith('.'))).toEqual([]);
    store.close();
  });

  it('the checker itself catches what trainers reject', () => {
    expect(checkLine('sharegpt', '{"conversations":[{"from":"human","value":"a"},{"from":"human","value":"b"}]}', null).problems).toEqual([
      'turn 1 has role human',
    ]);
    expect(checkLine('messages', '{"messages":[{"role":"user","content":"a"}]}', null).problems).toEqual(['odd or empty turn count 1']);
    expect(checkLine('alpaca', '{"instruction":"a","input":"","output":"b","history":[["x"]]}', null).problems).toEqual(['bad history']);
  });
});
