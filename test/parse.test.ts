import { describe, expect, it } from 'vitest';
import { parseReply } from '../pipeline/parse.ts';

const A = { instruction: '解释什么是通货膨胀', input: '', output: '通货膨胀是指物价总体水平持续上涨。' };
const B = { instruction: '把下面的句子翻译成英文', input: '今天天气很好。', output: 'The weather is nice today.' };
const C = { instruction: '计算 12 乘以 7 等于多少', input: '', output: '12 × 7 = 84。' };

describe('parseReply: JSON shapes', () => {
  it('reads a bare JSON array', () => {
    const r = parseReply(JSON.stringify([A, B, C]));
    expect(r.tasks).toEqual([A, B, C]);
    expect(r.shape).toBe('json');
    expect(r.problems).toEqual([]);
  });

  it('reads an object wrapping the array, whatever the key', () => {
    for (const key of ['tasks', 'data', '任务', 'results']) {
      expect(parseReply(JSON.stringify({ [key]: [A, B] })).tasks).toEqual([A, B]);
    }
    expect(parseReply(JSON.stringify({ data: { items: [C] } })).tasks).toEqual([C]);
  });

  it('reads a fenced block with chatter around it', () => {
    const reply = `好的，以下是为你生成的任务：\n\n\`\`\`json\n${JSON.stringify([A, B], null, 2)}\n\`\`\`\n\n希望这些任务对你有帮助！如需更多请告诉我 [1]。`;
    expect(parseReply(reply).tasks).toEqual([A, B]);
  });

  it('reads one object per line, numbered or not', () => {
    const plain = [A, B, C].map((t) => JSON.stringify(t)).join('\n');
    expect(parseReply(plain).tasks).toEqual([A, B, C]);
    const numbered = [A, B, C].map((t, i) => `${i + 1}. ${JSON.stringify(t)}`).join('\n');
    expect(parseReply(numbered).tasks).toEqual([A, B, C]);
  });

  it('accepts Chinese field names and missing or null input', () => {
    const reply = JSON.stringify([
      { 指令: A.instruction, 输入: null, 输出: A.output },
      { instruction: C.instruction, output: C.output },
    ]);
    expect(parseReply(reply).tasks).toEqual([A, C]);
  });

  it('keeps a category when the model gives one', () => {
    expect(parseReply(JSON.stringify([{ ...A, category: '问答' }])).tasks[0]!.category).toBe('问答');
  });

  it('mends raw newlines inside strings and trailing commas', () => {
    const reply = '[{"instruction": "写两句诗", "input": "", "output": "床前明月光，\n疑是地上霜。"},]';
    expect(parseReply(reply).tasks).toEqual([{ instruction: '写两句诗', input: '', output: '床前明月光，\n疑是地上霜。' }]);
  });

  it('ignores braces inside strings', () => {
    const t = { instruction: '解释这段代码', input: 'function f() { return "}"; }', output: '定义了函数 f，返回字符串 "}"。' };
    expect(parseReply(JSON.stringify([t, A])).tasks).toEqual([t, A]);
  });

  it('drops the cut item of a truncated array and keeps the whole ones', () => {
    const full = JSON.stringify([A, B, C], null, 2);
    const cut = full.slice(0, full.indexOf(C.output) + 3);
    const r = parseReply(cut, 'length');
    expect(r.tasks).toEqual([A, B]);
    expect(r.droppedTruncated).toBe(1);
  });

  it('records an item without an instruction as a problem, not a task', () => {
    const r = parseReply(JSON.stringify([A, { instruction: '', output: '没有指令' }]));
    expect(r.tasks).toEqual([A]);
    expect(r.problems).toEqual(['item without an instruction']);
  });
});

describe('parseReply: Alpaca-style numbered text', () => {
  const text = [
    '1. 指令：解释什么是通货膨胀',
    '1. 输入：<无输入>',
    '1. 输出：通货膨胀是指物价总体水平持续上涨。',
    '###',
    '2. 指令: 把下面的句子翻译成英文',
    '2. 输入: 今天天气很好。',
    '2. 输出: The weather is nice today.',
    '###',
    '3. 指令：计算 12 乘以 7 等于多少',
    '3. 输入：无',
    '3. 输出：12 × 7 = 84。',
  ].join('\n');

  it('reads items with full-width or ASCII colons; the empty-input marker is kept for the cleaner', () => {
    const r = parseReply(text);
    expect(r.shape).toBe('text');
    expect(r.tasks.map((t) => t.instruction)).toEqual([A.instruction, B.instruction, C.instruction]);
    expect(r.tasks[1]).toEqual(B);
    expect(r.tasks[0]!.input).toBe('<无输入>');
    expect(r.tasks[2]!.output).toBe(C.output);
  });

  it('keeps multi-line outputs', () => {
    const r = parseReply(
      '1. 指令：写一首短诗\n1. 输入：无输入\n1. 输出：春风拂面来，\n桃花次第开。\n###\n2. 指令：说一个成语\n2. 输出：画蛇添足',
    );
    expect(r.tasks[0]!.output).toBe('春风拂面来，\n桃花次第开。');
    expect(r.tasks[1]).toEqual({ instruction: '说一个成语', input: '', output: '画蛇添足' });
  });

  it('separates items by their numbers even without ###', () => {
    const r = parseReply('1. 指令：说一个成语\n1. 输出：画蛇添足\n2. 指令：再说一个成语\n2. 输出：守株待兔');
    expect(r.tasks).toHaveLength(2);
  });

  it('drops the last item when the reply was cut off', () => {
    const r = parseReply(text, 'length');
    expect(r.tasks).toHaveLength(2);
    expect(r.droppedTruncated).toBe(1);
  });
});

describe('parseReply: nothing usable', () => {
  it('never throws and says why', () => {
    for (const reply of ['', '抱歉，我今天不太舒服。', '{', '[1, 2, 3]', '```json\n{"a": 1}\n```']) {
      const r = parseReply(reply);
      expect(r.tasks).toEqual([]);
      expect(r.shape).toBe('none');
      expect(r.problems.length).toBeGreaterThan(0);
    }
  });
});

describe('parseReply: structured outputs', () => {
  it('keeps an output given as an object or a list as text', () => {
    const r = parseReply(
      JSON.stringify([
        { instruction: '从句子中抽取人名和城市', input: '张三去了北京。', output: { 人名: '张三', 城市: '北京' } },
        { instruction: '列出三种水果的名字', input: '', output: ['苹果', '香蕉', '橙子'] },
      ]),
    );
    expect(r.tasks.map((t) => t.output)).toEqual(['{"人名":"张三","城市":"北京"}', '苹果\n香蕉\n橙子']);
  });
});
