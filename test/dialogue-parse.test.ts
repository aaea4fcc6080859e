import { describe, expect, it } from 'vitest';
import { parseDialogues } from '../pipeline/dialogue/parse.ts';

const turns = (r: ReturnType<typeof parseDialogues>) => r.dialogues.map((d) => d.turns.map((t) => `${t.role[0]}:${t.content}`));

describe('parseDialogues: JSON shapes', () => {
  it('one conversation as an array of role/content turns', () => {
    const r = parseDialogues(
      JSON.stringify([
        { role: 'user', content: '周末去哪玩比较好？' },
        { role: 'assistant', content: '可以去郊外爬山。' },
      ]),
    );
    expect(r.shape).toBe('json');
    expect(turns(r)).toEqual([['u:周末去哪玩比较好？', 'a:可以去郊外爬山。']]);
  });

  it('an array of conversations, {"conversations": …} objects, ShareGPT from/value, and a system turn dropped', () => {
    const reply = `下面是两段对话：\n\`\`\`json\n${JSON.stringify(
      [
        {
          conversations: [
            { from: 'human', value: '问题一' },
            { from: 'gpt', value: '回答一' },
          ],
          system: '你是助手',
        },
        {
          messages: [
            { role: 'system', content: '系统' },
            { role: 'user', content: '问题二' },
            { role: 'assistant', content: '回答二' },
          ],
        },
        [
          { role: '用户', content: '问题三' },
          { role: '助手', content: '回答三' },
        ],
      ],
      null,
      2,
    )}\n\`\`\``;
    const r = parseDialogues(reply);
    expect(turns(r)).toEqual([
      ['u:问题一', 'a:回答一'],
      ['u:问题二', 'a:回答二'],
      ['u:问题三', 'a:回答三'],
    ]);
  });

  it('{"dialogues": [...]} wrappers, pair objects and numbers as text', () => {
    const r = parseDialogues(JSON.stringify({ dialogues: [{ turns: [{ user: '一加一等于几', assistant: 2 }, { user: '那二加二呢' }] }] }));
    expect(turns(r)).toEqual([['u:一加一等于几', 'a:2', 'u:那二加二呢']]);
  });

  it('keeps malformed turns for the checks to reject (two user turns, empty turn), and names an unknown role', () => {
    const r = parseDialogues(
      JSON.stringify([
        [
          { role: 'user', content: '甲' },
          { role: 'user', content: '乙' },
        ],
        [
          { role: 'user', content: '丙' },
          { role: 'assistant', content: null },
        ],
        [
          { role: 'narrator', content: '旁白' },
          { role: 'user', content: '丁' },
        ],
      ]),
    );
    expect(turns(r)).toEqual([
      ['u:甲', 'u:乙'],
      ['u:丙', 'a:'],
    ]);
    expect(r.problems).toEqual(['conversation with an unknown role "narrator"']);
  });

  it('mends raw newlines inside strings and trailing commas', () => {
    const r = parseDialogues('[{"role": "user", "content": "第一行\n第二行"}, {"role": "assistant", "content": "好的",},]');
    expect(turns(r)).toEqual([['u:第一行\n第二行', 'a:好的']]);
  });

  it('a reply cut off by the token limit: whole conversations kept, the cut one dropped and counted', () => {
    const whole = [
      {
        conversations: [
          { from: 'human', value: '问一' },
          { from: 'gpt', value: '答一' },
        ],
      },
      {
        conversations: [
          { from: 'human', value: '问二' },
          { from: 'gpt', value: '答二' },
        ],
      },
      {
        conversations: [
          { from: 'human', value: '问三' },
          { from: 'gpt', value: '答三很长很长' },
        ],
      },
    ];
    const text = JSON.stringify(whole);
    const cut = text.slice(0, text.indexOf('答三很长') + 3);
    const r = parseDialogues(cut, 'length');
    expect(turns(r)).toEqual([
      ['u:问一', 'a:答一'],
      ['u:问二', 'a:答二'],
    ]);
    expect(r.droppedTruncated).toBe(1);
  });

  it('brackets in prose, garbage and deep nesting never throw, and deep input stays fast', () => {
    expect(parseDialogues('这不是 JSON [1, 2] {oops').dialogues).toEqual([]);
    expect(parseDialogues('').problems).toEqual(['no conversations found in reply']);
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const t = performance.now();
    expect(parseDialogues(deep).dialogues).toEqual([]);
    expect(parseDialogues('{"a":'.repeat(100_000)).dialogues).toEqual([]);
    expect(performance.now() - t).toBeLessThan(5000);
  });
});

describe('parseDialogues: text shapes', () => {
  it('用户/助手 with headings, numbered lists inside answers, chatter before and after a separator', () => {
    const r = parseDialogues(
      [
        '好的，以下是两段对话。',
        '',
        '### 对话1',
        '用户：我想学做饭，从哪开始？',
        '助手：可以先从炒鸡蛋开始。',
        '1. 准备两个鸡蛋',
        '2. 热锅下油',
        '用户：那火候怎么掌握？',
        '助手：中火就行。',
        '',
        '【对话二】',
        '**用户**：今天吃什么',
        '**助手**：面条吧',
        '---',
        '希望对你有帮助！',
      ].join('\n'),
    );
    expect(r.shape).toBe('text');
    expect(turns(r)).toEqual([
      ['u:我想学做饭，从哪开始？', 'a:可以先从炒鸡蛋开始。\n1. 准备两个鸡蛋\n2. 热锅下油', 'u:那火候怎么掌握？', 'a:中火就行。'],
      ['u:今天吃什么', 'a:面条吧'],
    ]);
  });

  it('Q:/A:, 问/答 and numbered conversations (1. alone, 第2组对话, Conversation 3)', () => {
    const r = parseDialogues(
      [
        '1.',
        'Q: 地球为什么是圆的？',
        'A: 因为引力。',
        '第2组对话：',
        '问：猫为什么怕水',
        '答：天性使然',
        'Conversation 3',
        'User: 你好',
        'Assistant: 你好呀',
      ].join('\n'),
    );
    expect(turns(r)).toEqual([
      ['u:地球为什么是圆的？', 'a:因为引力。'],
      ['u:猫为什么怕水', 'a:天性使然'],
      ['u:你好', 'a:你好呀'],
    ]);
  });

  it('a cut-off text reply drops its last conversation', () => {
    const r = parseDialogues('对话1\n用户：甲\n助手：乙\n对话2\n用户：丙\n助手：丁还没说', 'length');
    expect(turns(r)).toEqual([['u:甲', 'a:乙']]);
    expect(r.droppedTruncated).toBe(1);
  });
});
