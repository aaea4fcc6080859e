import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BruteForceIndex } from '../pipeline/dedup/brute.ts';
import { dedupKey, normalize, similarity } from '../pipeline/dedup/similarity.ts';
import { DEFAULT_INGEST_OPTIONS, Ingestor } from '../pipeline/ingest.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

describe('the near-duplicate rule', () => {
  it('normalises NFKC, case and whitespace; keys join instruction and input', () => {
    expect(normalize(' Ｈｅｌｌｏ  World\n你 好 ')).toBe('helloworld你好');
    expect(dedupKey({ instruction: '翻译 成英文', input: '你好' })).toBe('翻译成英文你好');
  });

  it('measures similarity in UTF-16 units, empty keys identical', () => {
    expect(similarity('', '')).toBe(1);
    expect(similarity('abc', '')).toBe(0);
    expect(similarity('介绍一下长城', '介绍一下黄河')).toBeCloseTo(1 - 2 / 6);
    expect(similarity('𠀀', '𠀁')).toBe(0.5); // one code unit of the surrogate pair differs
  });
});

describe('Ingestor', () => {
  const open = () => Store.open(path.join(tempDir(), 'db.sqlite'));

  it('rejects near-duplicates against earlier tasks of the same batch, storing the nearest', () => {
    const store = open();
    const ingestor = new Ingestor(store, new BruteForceIndex());
    const r = ingestor.ingest({
      source: 'generated',
      tasks: [
        { instruction: '请介绍一下中国长城的历史和意义', input: '', output: '长城……' },
        { instruction: '请介绍一下中国长城的历史与意义', input: '', output: '长城是……' },
        { instruction: '写一首关于秋天落叶的七言绝句', input: '', output: '秋风……' },
      ],
    });
    expect(r.accepted).toHaveLength(2);
    expect(r.rejected).toEqual({ near_duplicate: 1 });
    const rows = store.db.prepare('SELECT id, status, reason, nearest_task_id, similarity FROM tasks ORDER BY id').all() as {
      status: string;
      reason: string | null;
      nearest_task_id: number | null;
      similarity: number | null;
      id: number;
    }[];
    expect(rows[1]).toMatchObject({ status: 'rejected', reason: 'near_duplicate', nearest_task_id: rows[0]!.id });
    expect(rows[1]!.similarity).toBeCloseTo(1 - 1 / 15);
    store.close();
  });

  it('uses the threshold as given: ≥ T is a duplicate', () => {
    const store = open();
    // 10 characters, 3 edits apart: similarity exactly 0.7.
    const a = '一二三四五六七八九十';
    const b = '一二三四五六七甲乙丙';
    expect(similarity(a, b)).toBeCloseTo(0.7);
    const strict = new Ingestor(store, new BruteForceIndex(), { ...DEFAULT_INGEST_OPTIONS, skipFilters: true, similarity: 0.7 });
    expect(
      strict.ingest({
        source: 'x',
        tasks: [
          { instruction: a, input: '', output: '1' },
          { instruction: b, input: '', output: '2' },
        ],
      }).accepted,
    ).toHaveLength(1);
    const loose = new Ingestor(store, new BruteForceIndex(), { ...DEFAULT_INGEST_OPTIONS, skipFilters: true, similarity: 0.71 });
    expect(
      loose.ingest({
        source: 'y',
        tasks: [
          { instruction: '子丑寅卯辰巳午未申酉', input: '', output: '1' },
          { instruction: '子丑寅卯辰巳午戌亥丙', input: '', output: '2' },
        ],
      }).accepted,
    ).toHaveLength(2);
    store.close();
  });

  it('stores every rejection with its reason and stops accepting at maxAccept', () => {
    const store = open();
    const ingestor = new Ingestor(store, new BruteForceIndex());
    const r = ingestor.ingest({
      source: 'generated',
      maxAccept: 1,
      tasks: [
        { instruction: '描述这张图片中的风景', input: '', output: '……' },
        { instruction: '用一句话解释光合作用', input: '', output: '抱歉，作为一个AI语言模型，我不能。' },
        { instruction: '用一句话解释光合作用', input: '', output: '植物利用光能把二氧化碳和水合成有机物。' },
        { instruction: '列举三种常见的可再生能源', input: '', output: '太阳能、风能、水能。' },
      ],
    });
    expect(r.accepted.map((t) => t.instruction)).toEqual(['用一句话解释光合作用']);
    expect(r.rejected).toEqual({ needs_non_text: 1, refusal: 1, target_reached: 1 });
    const reasons = store.db.prepare(`SELECT reason FROM tasks WHERE status = 'rejected' ORDER BY id`).pluck().all();
    expect(reasons).toEqual(['needs_non_text', 'refusal', 'target_reached']);
    store.close();
  });

  it('cleans fields before storing them', () => {
    const store = open();
    new Ingestor(store, new BruteForceIndex()).ingest({
      source: 'generated',
      tasks: [{ instruction: '  将下面的数字相加  ', input: '<无输入>', output: ' １＋２＝３ ' }],
    });
    expect(store.db.prepare('SELECT instruction, input, output FROM tasks').get()).toEqual({
      instruction: '将下面的数字相加',
      input: '',
      output: '1+2=3',
    });
    store.close();
  });
});
