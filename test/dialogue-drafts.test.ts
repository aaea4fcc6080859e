/**
 * Conversations built turn by turn (issue 20): the follow-up reader, the per-turn checks, and the draft
 * book against a real SQLite file — a draft is stored per turn, given up after its tries, finished only
 * whole, and never visible as an accepted conversation before then.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIndex } from '../pipeline/dedup/qgram-index.ts';
import { checkFollowUp } from '../pipeline/dialogue/checks.ts';
import { checkReply, DraftBook, type Draft } from '../pipeline/dialogue/drafts.ts';
import { readFollowUp, transcript } from '../pipeline/dialogue/follow-up.ts';
import type { Turn } from '../pipeline/dialogue/types.ts';
import { DEFAULT_RULE_OPTIONS } from '../pipeline/rules/index.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const OPENING = '我下个月要去成都出差，有什么必吃的小吃推荐吗？';
const REPLY = '成都的小吃很多，比较有代表性的是钟水饺、龙抄手、担担面和三大炮，春熙路和宽窄巷子附近都能吃到。';
const FOLLOW_UP = '担担面辣吗？我不太能吃辣。';
const REPLY_2 = '担担面通常会放辣椒油，点的时候可以跟店家说微辣或者不要辣，味道主要来自芝麻酱和芽菜，不辣也好吃。';
const SO_FAR: Turn[] = [
  { role: 'user', content: OPENING },
  { role: 'assistant', content: REPLY },
];

describe('readFollowUp', () => {
  it('takes the one user turn out of the shapes models write it in', () => {
    for (const reply of [
      FOLLOW_UP,
      `用户：${FOLLOW_UP}`,
      `User: ${FOLLOW_UP}`,
      `【用户】${FOLLOW_UP}`,
      `“${FOLLOW_UP}”`,
      `${FOLLOW_UP}\n助手：担担面一般是辣的。`,
      `用户：${FOLLOW_UP}\n\nAssistant: it is spicy.`,
      JSON.stringify({ content: FOLLOW_UP }),
      `\`\`\`\n${FOLLOW_UP}\n\`\`\``,
    ]) {
      expect(readFollowUp(reply, 'stop').text, reply).toBe(FOLLOW_UP);
    }
    // A user turn that starts with 问 is not a label.
    expect(readFollowUp('问一下，担担面辣吗？', 'stop').text).toBe('问一下，担担面辣吗？');
  });

  it('has no turn for a cut-off, empty or assistant-only reply', () => {
    expect(readFollowUp(FOLLOW_UP, 'length')).toMatchObject({ text: undefined, problems: ['cut off by the token limit'] });
    expect(readFollowUp('   ', 'stop').text).toBeUndefined();
    expect(readFollowUp('助手：担担面一般是辣的。', 'stop').text).toBeUndefined();
  });

  it('is linear on hostile input', () => {
    const hostile = [' \n'.repeat(200_000), `${'用户：'.repeat(100_000)}x`, `\`\`\`${'`'.repeat(100_000)}`, `{${'"a":'.repeat(50_000)}}`];
    const started = performance.now();
    for (const reply of hostile) readFollowUp(reply, 'stop');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('shows the conversation as labelled paragraphs', () => {
    expect(transcript(SO_FAR)).toBe(`用户：${OPENING}\n\n助手：${REPLY}`);
  });
});

describe('per-turn checks', () => {
  it('a follow-up must build on the conversation and be Chinese', () => {
    expect(checkFollowUp(SO_FAR, FOLLOW_UP)).toEqual({ ok: true });
    expect(checkFollowUp(SO_FAR, '你刚才说的三大炮是什么？')).toEqual({ ok: true });
    expect(checkFollowUp(SO_FAR, '请写一首关于秋天落叶和远方故乡的七言绝句，要求押韵工整。')).toMatchObject({
      ok: false,
      reason: 'no_dialogue_dependency',
    });
    expect(checkFollowUp(SO_FAR, 'Is dandan noodle spicy at all, honestly?')).toMatchObject({ ok: false, reason: 'not_chinese' });
    expect(checkFollowUp(SO_FAR, '  ')).toMatchObject({ ok: false, reason: 'empty_turn' });
  });

  it('a reply is checked with the conversation up to it; the last one against the run’s bounds', () => {
    const bounds = { min: 2, max: 4 };
    expect(checkReply([SO_FAR[0]!], REPLY, 'stop', 2, bounds, DEFAULT_RULE_OPTIONS)).toEqual({ ok: true });
    expect(checkReply([SO_FAR[0]!], REPLY, 'length', 2, bounds, DEFAULT_RULE_OPTIONS)).toMatchObject({ ok: false, reason: 'truncated' });
    expect(checkReply([SO_FAR[0]!], '抱歉，我无法回答这个问题。', 'stop', 2, bounds, DEFAULT_RULE_OPTIONS)).toMatchObject({ ok: false });
    // One exchange planned, two wanted: the last reply is checked against the run's bounds.
    expect(checkReply([SO_FAR[0]!], REPLY, 'stop', 1, bounds, DEFAULT_RULE_OPTIONS)).toMatchObject({ ok: false, reason: 'too_few_turns' });
    // A reply repeating an earlier one.
    const three = [...SO_FAR, { role: 'user' as const, content: '再说一遍？' }];
    expect(checkReply(three, REPLY, 'stop', 2, bounds, DEFAULT_RULE_OPTIONS)).toMatchObject({
      ok: false,
      reason: 'no_dialogue_dependency',
    });
  });
});

function book(maxAttempts = 2) {
  const store = Store.open(path.join(tempDir(), 'drafts.db'));
  const runId = store.createRun({ target: 5, mode: 'dialogue', model: 'gpt-3.5-turbo', options: {} });
  const index = buildIndex(store.acceptedKeys());
  // random() 0: every draft plans the fewest exchanges (2).
  const b = new DraftBook(
    store,
    index,
    { runId, turns: { min: 2, max: 4 }, filters: DEFAULT_RULE_OPTIONS, similarity: 0.7, maxAttempts },
    () => 0,
  );
  const accepted = (): number => store.countAccepted(runId);
  const draft = (): Draft => {
    const [d] = [...b.drafts.due(runId, 'answer', 10, new Set()), ...b.drafts.due(runId, 'follow-up', 10, new Set())];
    return d!;
  };
  return { store, runId, b, accepted, draft };
}

describe('DraftBook', () => {
  it('stores each turn as it comes and accepts the conversation only once whole', () => {
    const { b, accepted, draft, store, runId } = book();
    const r = b.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '', output: '' }], maxAccept: 5 });
    expect(r.accepted).toHaveLength(1);
    expect(b.openDrafts).toBe(1);
    expect(b.advance(draft(), { role: 'assistant', content: REPLY, requestId: null }, 5)).toEqual({ kind: 'open' });
    expect(b.advance(draft(), { role: 'user', content: FOLLOW_UP, requestId: null }, 5)).toEqual({ kind: 'open' });
    expect(accepted()).toBe(0);
    expect(draft().turns.map((t) => t.content)).toEqual([OPENING, REPLY, FOLLOW_UP]);
    // Read again from the store, as a resumed run would.
    const again = new DraftBook(
      store,
      buildIndex(store.acceptedKeys()),
      { runId, turns: { min: 2, max: 4 }, filters: DEFAULT_RULE_OPTIONS, similarity: 0.7, maxAttempts: 2 },
      () => 0,
    );
    expect(again.drafts.due(runId, 'answer', 10, new Set())[0]!.turns).toHaveLength(3);
    const done = b.advance(draft(), { role: 'assistant', content: REPLY_2, requestId: null }, 5);
    expect(done.kind).toBe('accepted');
    expect(accepted()).toBe(1);
    expect(b.drafts.countOpen(runId)).toBe(0);
  });

  it('gives a draft up after maxAttempts rejected replies for one turn, as a rejected conversation', () => {
    const { b, accepted, draft, store, runId } = book(2);
    b.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '', output: '' }], maxAccept: 5 });
    expect(b.reject(draft(), 'refusal', 'x')).toEqual({ kind: 'open' });
    expect(b.reject(draft(), 'refusal', 'y')).toEqual({ kind: 'given-up', reason: 'refusal' });
    expect(b.drafts.countOpen(runId)).toBe(0);
    expect(accepted()).toBe(0);
    expect(store.runTotals(runId).rejected).toEqual({ refusal: 1 });
  });

  it('a conversation opening and going on like an accepted one is given up at its second user turn', () => {
    const { b, draft, runId, store } = book();
    b.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '', output: '' }], maxAccept: 5 });
    b.advance(draft(), { role: 'assistant', content: REPLY, requestId: null }, 5);
    b.advance(draft(), { role: 'user', content: FOLLOW_UP, requestId: null }, 5);
    b.advance(draft(), { role: 'assistant', content: REPLY_2, requestId: null }, 5);
    b.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '', output: '' }], maxAccept: 5 });
    b.advance(draft(), { role: 'assistant', content: REPLY_2, requestId: null }, 5);
    expect(b.advance(draft(), { role: 'user', content: FOLLOW_UP, requestId: null }, 5)).toEqual({
      kind: 'given-up',
      reason: 'near_duplicate',
    });
    expect(store.runTotals(runId)).toMatchObject({ accepted: 1, rejected: { near_duplicate: 1 } });
  });

  it('openings over maxAccept, and drafts left when the target is reached, are stored rejected target_reached', () => {
    const { b, runId, store } = book();
    const tasks = ['请帮我规划一个三天的西安旅行路线。', '我想学做红烧肉，步骤是怎样的？', '帮我写一封给房东的退租通知。'].map(
      (instruction) => ({
        instruction,
        input: '',
        output: '',
      }),
    );
    expect(b.ingest({ source: 'generated', tasks, maxAccept: 2 })).toMatchObject({ rejected: { target_reached: 1 } });
    expect(b.closeAll()).toBe(2);
    expect(b.drafts.countOpen(runId)).toBe(0);
    expect(store.runTotals(runId)).toMatchObject({ accepted: 0, rejected: { target_reached: 3 } });
  });
});
