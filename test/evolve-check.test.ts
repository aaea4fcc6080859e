/** The check model's verdict is model output: read totally, in linear time, from the head of the reply. */
import { describe, expect, it } from 'vitest';
import { checkMessages, loadCheckTemplate, readCheck } from '../pipeline/evolve/check.ts';

describe('readCheck', () => {
  it('reads 是 and 否 at the start, after labels and markup', () => {
    expect(readCheck('是\n增加了限制条件。')).toMatchObject({ adds: true, read: true });
    expect(readCheck('否。只是换了说法')).toMatchObject({ adds: false, read: true });
    expect(readCheck('**否**\n没有新内容')).toMatchObject({ adds: false, read: true });
    expect(readCheck('答：是')).toMatchObject({ adds: true, read: true });
    expect(readCheck('  「否」')).toMatchObject({ adds: false, read: true });
  });

  it('keeps the task when the reply has no verdict at its start (a 否 later on does not count)', () => {
    for (const reply of ['', '我认为改写后的指令否定了原意', 'Yes', '\u0000'.repeat(10)]) {
      expect(readCheck(reply), JSON.stringify(reply)).toMatchObject({ adds: true, read: false });
    }
  });

  it('is linear: a reply of a million characters is read from its head only', () => {
    const started = performance.now();
    expect(readCheck(`否${'啊'.repeat(1_000_000)}`).adds).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('checkMessages', () => {
  it('puts the parent and the rewrite side by side, 无 for an empty input', () => {
    const [m] = checkMessages(loadCheckTemplate(), {
      parentInstruction: '写一首诗',
      parentInput: '',
      instruction: '写一首七言绝句，描写江南春雨',
      input: '',
    });
    expect(m!.content).toContain('【原指令】\n写一首诗');
    expect(m!.content).toContain('【改写后的指令】\n写一首七言绝句，描写江南春雨');
    expect(m!.content).toContain('【原输入】\n无');
    expect(m!.content).not.toContain('{{');
  });
});
