/** The evolution reply reader: scaffolding stripped, each elimination, and totality on hostile replies. */
import { describe, expect, it } from 'vitest';
import { readEvolution } from '../pipeline/evolve/read.ts';

const parent = {
  instruction: '介绍一下二十四节气中的清明。',
  input: '',
  answer: '清明是二十四节气之一，一般在每年四月四日到六日之间，既是节气也是传统节日。',
};
const withInput = {
  instruction: '把下面这句话翻译成英文。',
  input: '今天的会议改到下午三点。',
  answer: 'The meeting today has been moved to 3 p.m.',
};
const read = (reply: string, p = parent, op: 'deepen' | 'concretize' | 'breadth' = 'deepen') =>
  readEvolution(reply, p, op, { maxAdded: 40 });

describe('readEvolution', () => {
  it('strips the labels and layout models put around the instruction', () => {
    for (const reply of [
      '【指令】介绍清明的由来，并说明它为何既是节气又是节日。\n【输入】无',
      '好的，以下是改写后的指令：\n【指令】介绍清明的由来，并说明它为何既是节气又是节日。\n【输入】无',
      '#改写后的指令#: 介绍清明的由来，并说明它为何既是节气又是节日。',
      '```\n【指令】\n介绍清明的由来，并说明它为何既是节气又是节日。\n\n【输入】\n无\n```',
      'Rewritten Prompt: “介绍清明的由来，并说明它为何既是节气又是节日。”',
    ]) {
      expect(read(reply), reply).toEqual({ ok: true, instruction: '介绍清明的由来，并说明它为何既是节气又是节日。', input: '' });
    }
  });

  it('names each elimination', () => {
    expect(read('【指令】介绍一下 二十四节气中的清明\n【输入】无')).toMatchObject({ ok: false, reason: 'evolve_no_gain' });
    expect(read('【指令】在给定的指令基础上，介绍清明的由来。')).toMatchObject({ ok: false, reason: 'evolve_leaked_marker' });
    expect(read('【指令】介绍清明，#Rewritten Prompt# 并说明由来。')).toMatchObject({ ok: false, reason: 'evolve_leaked_marker' });
    expect(read('【指令】介绍清明的由来，#给定的输入# 为空。')).toMatchObject({ ok: false, reason: 'evolve_leaked_marker' });
    // Ordinary words that only resemble the scaffolding stay.
    expect(read('【指令】编写一个函数，对给定的输入数组按清明前后的日期排序。')).toMatchObject({ ok: true });
    expect(read('抱歉，我无法改写这个指令。')).toMatchObject({ ok: false, reason: 'evolve_refusal' });
    expect(read(`【指令】${'介绍清明的由来并说明风俗，'.repeat(8)}`)).toMatchObject({ ok: false, reason: 'evolve_too_long' });
    expect(read(`【指令】请解释：${parent.answer}`)).toMatchObject({ ok: false, reason: 'evolve_copies_answer' });
    expect(read('【指令】把下面这句话翻译成正式的英文书面语。', withInput)).toMatchObject({ ok: false, reason: 'evolve_dropped_input' });
  });

  it("keeps the parent's input for ops about the instruction, takes the reply's for concretize", () => {
    const reply = '【指令】把下面这句话翻译成正式的英文书面语。\n【输入】会议改期。';
    expect(read(reply, withInput, 'deepen')).toMatchObject({ ok: true, input: withInput.input });
    expect(read(reply, withInput, 'concretize')).toMatchObject({ ok: true, input: '会议改期。' });
  });

  it('is total and linear on hostile replies', () => {
    const hostile = [
      '',
      '【指令】',
      '【输入】【输入】【指令】',
      '\u0000'.repeat(1000),
      '#'.repeat(200_000),
      '【指令】'.repeat(50_000),
      `${'a\n'.repeat(100_000)}`,
    ];
    for (const h of hostile) {
      const started = performance.now();
      expect(() => read(h)).not.toThrow();
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});
