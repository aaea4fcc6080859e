import { describe, expect, it } from 'vitest';
import { checkDialogue, findLoop } from '../pipeline/dialogue/checks.ts';
import type { Turn } from '../pipeline/dialogue/types.ts';

const conv = (...texts: string[]): Turn[] => texts.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content }));

const GOOD = conv(
  '我下个月要去成都出差，有什么必吃的小吃推荐吗？',
  '成都的小吃很多，比较有代表性的是钟水饺、龙抄手、担担面和三大炮，春熙路和宽窄巷子附近都能吃到。',
  '担担面是不是很辣？我不太能吃辣。',
  '担担面通常会放辣椒油，点的时候可以跟店家说微辣或者不要辣，味道主要来自芝麻酱和芽菜，不辣也好吃。',
);

describe('checkDialogue', () => {
  it('accepts a two-exchange conversation whose follow-up builds on the answer', () => {
    expect(checkDialogue(GOOD)).toEqual({ ok: true });
  });

  it('rejects every broken shape with its own reason and the turn at fault', () => {
    expect(checkDialogue([])).toMatchObject({ ok: false, reason: 'too_few_turns' });
    const starts = checkDialogue([{ role: 'assistant', content: '你好，有什么可以帮你？' }, ...GOOD]);
    expect(starts).toMatchObject({ ok: false, reason: 'starts_with_assistant' });
    const twoUsers = [GOOD[0]!, { role: 'user' as const, content: '在吗？' }, ...GOOD.slice(1)];
    expect(checkDialogue(twoUsers)).toEqual({ ok: false, reason: 'not_alternating', detail: 'turns 1 and 2 are both user turns' });
    expect(checkDialogue([...GOOD, { role: 'user', content: '那火锅呢？' }])).toMatchObject({
      ok: false,
      reason: 'ends_on_user',
      detail: "turn 5 is the user's and has no reply",
    });
    const empty = GOOD.map((t, i) => (i === 3 ? { ...t, content: '  ' } : t));
    expect(checkDialogue(empty)).toEqual({ ok: false, reason: 'empty_turn', detail: 'turn 4 (assistant) is empty' });
  });

  it('counts exchanges against --turns', () => {
    expect(checkDialogue(GOOD.slice(0, 2))).toEqual({ ok: false, reason: 'too_few_turns', detail: '1 exchanges, minimum 2' });
    expect(checkDialogue(GOOD.slice(0, 2), { turns: { min: 1, max: 1 } })).toEqual({ ok: true });
    expect(checkDialogue(GOOD, { turns: { min: 1, max: 1 } })).toMatchObject({ ok: false, reason: 'too_many_turns' });
  });

  it('applies the task rules: the opening as an instruction, every reply as an output', () => {
    expect(checkDialogue(conv('你好', ...GOOD.slice(1).map((t) => t.content)))).toMatchObject({
      ok: false,
      reason: 'instruction_too_short',
    });
    expect(checkDialogue(conv('帮我画一张成都地图', ...GOOD.slice(1).map((t) => t.content)))).toMatchObject({
      ok: false,
      reason: 'needs_non_text',
    });
    const refusal = GOOD.map((t, i) => (i === 3 ? { ...t, content: '抱歉，我无法回答这个问题。' } : t));
    expect(checkDialogue(refusal)).toMatchObject({ ok: false, reason: 'refusal', detail: expect.stringMatching(/^turn 4: /) });
    const english = GOOD.map((t, i) => (i === 2 ? { ...t, content: 'Is dandan noodle spicy?' } : t));
    expect(checkDialogue(english)).toMatchObject({ ok: false, reason: 'not_chinese' });
  });

  it('no_dialogue_dependency: a follow-up unrelated to the earlier turns, with evidence', () => {
    const unrelated = conv(
      GOOD[0]!.content,
      GOOD[1]!.content,
      '请解释光合作用的基本原理。',
      '光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。',
    );
    const v = checkDialogue(unrelated);
    expect(v).toMatchObject({ ok: false, reason: 'no_dialogue_dependency' });
    expect(v.ok === false && v.detail).toMatch(/^turn 3 \(user\) neither refers to turns 1–2/);
  });

  it('no_dialogue_dependency: a reply repeating an earlier answer', () => {
    const repeated = conv(GOOD[0]!.content, GOOD[1]!.content, '还有别的推荐吗？', GOOD[1]!.content.replace('。', '！'));
    const v = checkDialogue(repeated);
    expect(v).toMatchObject({ ok: false, reason: 'no_dialogue_dependency' });
    expect(v.ok === false && v.detail).toMatch(/^turn 4 \(assistant\) repeats turn 2/);
  });

  it('follow-ups that only refer back (追问, 纠正, 换个角度) or share content pass', () => {
    for (const followUp of ['为什么？', '不对吧，你是不是说错了', '换个角度说说？', '钟水饺和龙抄手哪个好吃']) {
      const c = conv(
        GOOD[0]!.content,
        GOOD[1]!.content,
        followUp,
        '钟水饺偏甜口，龙抄手是清汤的，口味不同，可以都尝一尝，再决定更喜欢哪一种。',
      );
      expect(checkDialogue(c), followUp).toEqual({ ok: true });
    }
  });

  it('degenerate_output: a reply stuck in a loop', () => {
    const loop = GOOD.map((t, i) => (i === 3 ? { ...t, content: '担担面不太辣。'.repeat(4) } : t));
    expect(checkDialogue(loop)).toMatchObject({
      ok: false,
      reason: 'degenerate_output',
      detail: expect.stringMatching(/^turn 4: the sentence/),
    });
    expect(findLoop('哈哈'.repeat(40))).toMatch(/distinct/);
    expect(findLoop(GOOD[1]!.content)).toBeUndefined();
  });
});
