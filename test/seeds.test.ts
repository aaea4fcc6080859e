import { describe, expect, it } from 'vitest';
import { DatasetError, readDatasetFile } from '../pipeline/datasets.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../pipeline/seeds.ts';
import { tempDir, writeTemp } from './helpers.ts';

const dir = tempDir();
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

describe('seed loading', () => {
  it('reads the self-instruct schema (first instance), cleaning empty-input markers', () => {
    const file = writeTemp(
      dir,
      'si.jsonl',
      [
        JSON.stringify({
          id: 'seed_task_0',
          name: 'idiom',
          instruction: '解释成语“画蛇添足”',
          instances: [{ input: '', output: '比喻做了多余的事。' }],
          is_classification: false,
        }),
        JSON.stringify({
          id: 'seed_task_1',
          name: 'sentiment',
          instruction: '判断情感倾向',
          instances: [{ input: '这家店太好吃了！', output: '正面' }],
          is_classification: true,
        }),
        JSON.stringify({
          id: 'seed_task_2',
          name: 'x',
          instruction: '讲个笑话',
          instances: [{ input: '<无输入>', output: '……' }],
          is_classification: false,
        }),
      ].join('\n'),
    );
    const seeds = loadSeeds(file);
    expect(seeds.map((s) => s.id)).toEqual(['seed_task_0', 'seed_task_1', 'seed_task_2']);
    expect(seeds[1]).toMatchObject({ input: '这家店太好吃了！', output: '正面', isClassification: true });
    expect(seeds[2]!.input).toBe('');
  });

  it('reads Alpaca JSON arrays and plain JSONL, ids from file and line', () => {
    const arr = writeTemp(
      dir,
      'alpaca.json',
      JSON.stringify(
        [
          { instruction: '写一句问候语', input: '', output: '你好！' },
          { instruction: '翻译', input: 'cat', output: '猫' },
        ],
        null,
        2,
      ),
    );
    const seeds = loadSeeds(arr);
    expect(seeds).toHaveLength(2);
    expect(seeds[0]!.id).toBe('alpaca.json:2');
    const jsonl = writeTemp(
      dir,
      'plain.jsonl',
      '{"instruction":"写一句问候语","output":"你好！"}\n\n{"instruction":"说个数字","input":"","output":"七"}\n',
    );
    expect(loadSeeds(jsonl).map((s) => s.id)).toEqual(['plain.jsonl:1', 'plain.jsonl:3']);
  });

  it('names file and line of what is wrong', () => {
    const broken = writeTemp(dir, 'broken.jsonl', '{"instruction":"a","output":"b"}\n{"instruction": "c", \n');
    expect(errorOf(() => loadSeeds(broken))).toMatch(/broken\.jsonl:2: not valid JSON/);
    const missing = writeTemp(dir, 'missing.jsonl', '{"instruction":"a","output":"b"}\n{"instruction":"c"}\n');
    expect(errorOf(() => loadSeeds(missing))).toMatch(/missing\.jsonl:2: missing field "output"/);
    const wrongType = writeTemp(dir, 'type.json', '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": 3, "output": "b"}\n]');
    expect(errorOf(() => loadSeeds(wrongType))).toMatch(/type\.json:3: field "instruction" must be a string/);
    const instances = writeTemp(dir, 'inst.jsonl', '{"instruction":"a","instances":[]}\n');
    expect(errorOf(() => loadSeeds(instances))).toMatch(/inst\.jsonl:1: "instances" must be a non-empty array/);
    const notObject = writeTemp(dir, 'num.jsonl', '42\n');
    expect(errorOf(() => loadSeeds(notObject))).toMatch(/num\.jsonl:1: expected a JSON object/);
    const empty = writeTemp(dir, 'empty.jsonl', '\n\n');
    expect(errorOf(() => loadSeeds(empty))).toMatch(/empty\.jsonl:1: file is empty/);
    // Seeds are written by hand: an empty instruction is a mistake there (import and dedup accept it).
    const blank = writeTemp(dir, 'blank.jsonl', '{"instruction":"写一首诗","output":"好"}\n{"instruction":" ","output":"好"}\n');
    expect(errorOf(() => loadSeeds(blank))).toMatch(/blank\.jsonl:2: "instruction" is empty/);
    const unclosed = writeTemp(dir, 'unclosed.json', '[\n{"instruction":"a","output":"b"},\n{"instruction":"a"');
    expect(errorOf(() => loadSeeds(unclosed))).toMatch(/unclosed\.json:3:/);
    expect(errorOf(() => loadSeeds(`${dir}/nope.jsonl`))).toMatch(/nope\.jsonl: cannot read \(no such file\)/);
  });

  it('reads BELLE {input, target} records', () => {
    const belle = writeTemp(dir, 'belle.json', JSON.stringify([{ input: '介绍一下杭州', target: '杭州是浙江省会……' }]));
    expect(readDatasetFile(belle)[0]).toMatchObject({ instruction: '介绍一下杭州', input: '', output: '杭州是浙江省会……' });
  });
});

describe('the project seed file', () => {
  const seeds = loadSeeds(DEFAULT_SEED_FILE);
  it('has 175 tasks with unique ids, about a third with input', () => {
    expect(seeds).toHaveLength(175);
    expect(new Set(seeds.map((s) => s.id)).size).toBe(175);
    const withInput = seeds.filter((s) => s.input !== '').length;
    expect(withInput).toBeGreaterThanOrEqual(45);
    expect(withInput).toBeLessThanOrEqual(75);
  });

  it('covers every category with several tasks', () => {
    const counts = new Map<string, number>();
    for (const s of seeds) counts.set(s.category ?? '', (counts.get(s.category ?? '') ?? 0) + 1);
    for (const c of [
      '问答',
      '开放式问答',
      '数值计算与推理',
      '逻辑推理',
      '诗词与文学创作',
      '写作与写信',
      '翻译',
      '编程与代码解释',
      '伦理与安全',
      '分类',
      '信息抽取',
      '摘要',
      '改写与润色',
      '推荐与建议',
      '头脑风暴',
      '娱乐与闲聊',
    ]) {
      expect(counts.get(c) ?? 0, c).toBeGreaterThanOrEqual(5);
    }
  });
});
