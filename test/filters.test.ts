import { describe, expect, it } from 'vitest';
import { checkTask, isMainlyChinese } from '../pipeline/rules/index.ts';
import { cleanField, cleanInput } from '../pipeline/text.ts';

const ok = { instruction: '用三句话介绍长城的历史', input: '', output: '长城始建于春秋战国时期……' };
const reason = (t: Partial<typeof ok>): string | undefined => {
  const v = checkTask({ ...ok, ...t });
  return v.ok ? undefined : v.reason;
};

describe('filters', () => {
  it('keeps a normal Chinese task, including ones quoting English or opening with a book title', () => {
    expect(reason({})).toBeUndefined();
    expect(reason({ instruction: '解释Python中的list comprehension是什么' })).toBeUndefined();
    expect(reason({ instruction: '《红楼梦》的作者是谁？' })).toBeUndefined();
    expect(reason({ instruction: '“知行合一”是什么意思？' })).toBeUndefined();
    expect(reason({ instruction: '将下面的句子翻译成中文', input: 'The quick brown fox jumps over the lazy dog.' })).toBeUndefined();
    expect(reason({ instruction: '写一首诗' })).toBeUndefined();
  });

  it('counts length in characters, not words', () => {
    expect(reason({ instruction: '写诗' })).toBe('instruction_too_short');
    expect(reason({ instruction: '请'.repeat(401) })).toBe('instruction_too_long');
    // 4 characters but 2 UTF-16 units each: counted as 4.
    expect(reason({ instruction: '𠀀𠀁𠀂𠀃' })).not.toBe('instruction_too_short');
  });

  it('rejects tasks a text model cannot do, in Chinese and English', () => {
    for (const instruction of [
      '描述这张图片里的内容',
      '根据视频总结要点',
      '帮我绘制一张统计图',
      '打开这个链接并总结',
      '请给这个 image 起个标题',
    ]) {
      expect(reason({ instruction })).toBe('needs_non_text');
    }
  });

  it('rejects instructions starting with punctuation', () => {
    expect(reason({ instruction: '，然后写一段总结' })).toBe('starts_with_punctuation');
    expect(reason({ instruction: '。请解释量子纠缠' })).toBe('starts_with_punctuation');
    expect(reason({ instruction: ')解释量子纠缠' })).toBe('starts_with_punctuation');
  });

  it('rejects instructions that are not mainly Chinese', () => {
    expect(reason({ instruction: 'Write a poem about the sea' })).toBe('not_chinese');
    expect(reason({ instruction: 'Translate the following sentence into 中文' })).toBe('not_chinese');
    expect(isMainlyChinese('用 Python 写一个快速排序')).toBe(true);
  });

  it('rejects empty outputs, refusals and self-talk, and outputs that repeat the input', () => {
    expect(reason({ output: '   ' })).toBe('empty_output');
    expect(reason({ output: '作为一个AI语言模型，我没有个人观点。' })).toBe('refusal');
    expect(reason({ output: '抱歉，我无法完成这个任务。' })).toBe('refusal');
    expect(reason({ output: 'As an AI language model, I cannot.' })).toBe('refusal');
    expect(reason({ output: '我是由 OpenAI 训练的 ChatGPT。' })).toBe('refusal');
    expect(reason({ input: '今天 天气很好。', output: '今天天气很好。' })).toBe('output_equals_input');
  });
});

describe('cleaning', () => {
  it('trims, normalises full-width letters and digits but keeps Chinese punctuation', () => {
    expect(cleanField('  ＡＢＣ１２３，你好：世界…  ')).toBe('ABC123，你好：世界…');
    expect(cleanField('第一行\r\n第二行')).toBe('第一行\n第二行');
    expect(cleanField('面积 S = πr²，约 ½ 个')).toBe('面积 S = πr²，约 ½ 个');
  });

  it('turns empty-input markers into ""', () => {
    for (const marker of ['<无输入>', '无输入', '无', ' 无 ', '<noinput>', 'N/A', '']) expect(cleanInput(marker)).toBe('');
    expect(cleanInput('无人机的工作原理')).toBe('无人机的工作原理');
  });
});
