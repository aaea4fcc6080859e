import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIndex } from '../pipeline/dedup/qgram-index.ts';
import { DialogueIngestor, DEFAULT_DIALOGUE_INGEST_OPTIONS } from '../pipeline/dialogue/ingest.ts';
import { dialogueKey } from '../pipeline/dialogue/key.ts';
import type { Turn } from '../pipeline/dialogue/types.ts';
import { Ingestor } from '../pipeline/ingest.ts';
import { DialogueStore } from '../pipeline/store/dialogues.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const conv = (...texts: string[]): { turns: Turn[] } => ({
  turns: texts.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

const OPENING = '我下个月要去成都出差，有什么必吃的小吃推荐吗？';
const TRIP = conv(
  OPENING,
  '成都的小吃很多，比较有代表性的是钟水饺、龙抄手、担担面和三大炮，春熙路和宽窄巷子附近都能吃到。',
  '担担面辣吗？',
  '担担面通常会放辣椒油，点的时候可以跟店家说微辣或者不要辣，味道主要来自芝麻酱和芽菜，不辣也好吃。',
);

function open() {
  const store = Store.open(path.join(tempDir(), 'd.db'));
  const index = buildIndex(store.acceptedKeys());
  return {
    store,
    index,
    tasks: new Ingestor(store, index),
    dialogues: new DialogueIngestor(store, index, DEFAULT_DIALOGUE_INGEST_OPTIONS),
  };
}

describe('dialogues in the store and the shared near-duplicate index', () => {
  it('the key is the normalized first and second user turns', () => {
    expect(dialogueKey(TRIP.turns)).toBe('我下个月要去成都出差,有什么必吃的小吃推荐吗?担担面辣吗?');
  });

  it('stores an accepted conversation with its turns, tokens and kind; a rejected one with reason and evidence', () => {
    const { store, dialogues } = open();
    const unrelated = conv(
      '帮我想一个周末家庭聚会的菜单，六个人。',
      '可以准备红烧肉、清蒸鱼、蒜蓉西兰花、番茄炒蛋、冬瓜排骨汤和一份水果拼盘。',
      '请解释光合作用的基本原理。',
      '光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。',
    );
    const r = dialogues.ingest({ runId: null, requestId: null, dialogues: [TRIP, unrelated] });
    expect(r.accepted).toHaveLength(1);
    expect(r.rejected).toEqual({ no_dialogue_dependency: 1 });
    const rows = store.db.prepare(`SELECT id, kind, status, reason, detail, source, instruction FROM tasks ORDER BY id`).all() as Record<
      string,
      unknown
    >[];
    expect(rows.map((x) => [x.kind, x.status, x.reason, x.source])).toEqual([
      ['dialogue', 'accepted', null, 'dialogue'],
      ['dialogue', 'rejected', 'no_dialogue_dependency', 'dialogue'],
    ]);
    expect(rows[1]!.detail).toMatch(/^turn 3 \(user\)/);
    const ds = new DialogueStore(store);
    expect(ds.turns(rows[0]!.id as number)).toEqual(TRIP.turns);
    expect(ds.turns(rows[1]!.id as number)).toHaveLength(4);
    const stats = ds.stats();
    expect(stats).toMatchObject({ accepted: 1, rejected: 1, exchangesHistogram: { 2: 1 } });
    expect(stats.tokensPerDialogue!.max).toBeGreaterThan(40);
    store.close();
  });

  it('a conversation near a stored task is a near-duplicate pointing at it, and a task near a stored conversation too', () => {
    const { store, tasks, dialogues } = open();
    tasks.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '', output: '推荐钟水饺和龙抄手。' }] });
    const taskId = store.db.prepare(`SELECT id FROM tasks WHERE kind = 'task'`).pluck().get() as number;
    const r = dialogues.ingest({ runId: null, requestId: null, dialogues: [TRIP] });
    expect(r.rejected).toEqual({ near_duplicate: 1 });
    const dup = store.db.prepare(`SELECT nearest_task_id AS nearest, similarity FROM tasks WHERE kind = 'dialogue'`).get() as {
      nearest: number;
      similarity: number;
    };
    expect(dup.nearest).toBe(taskId);
    expect(dup.similarity).toBeGreaterThanOrEqual(0.7);

    const other = open();
    other.dialogues.ingest({ runId: null, requestId: null, dialogues: [TRIP] });
    const dialogueId = other.store.db.prepare(`SELECT id FROM tasks WHERE kind = 'dialogue'`).pluck().get() as number;
    const t = other.tasks.ingest({ source: 'generated', tasks: [{ instruction: OPENING, input: '担担面辣不辣', output: '有一点辣。' }] });
    expect(t.rejected).toEqual({ near_duplicate: 1 });
    expect(other.store.db.prepare(`SELECT nearest_task_id FROM tasks WHERE kind = 'task'`).pluck().get()).toBe(dialogueId);
    // A restarted run rebuilds the index from the store: conversations are in it.
    expect(buildIndex(other.store.acceptedKeys()).findNearDuplicate(dialogueKey(TRIP.turns), 0.7)?.id).toBe(dialogueId);
    store.close();
    other.store.close();
  });

  it('maxAccept stores the rest as target_reached; the unique index forbids two accepted conversations with one key', () => {
    const { store, dialogues } = open();
    const r = dialogues.ingest({ runId: null, requestId: null, dialogues: [TRIP], maxAccept: 0 });
    expect(r.rejected).toEqual({ target_reached: 1 });
    const ds = new DialogueStore(store);
    const row = {
      source: 'dialogue',
      runId: null,
      requestId: null,
      turns: TRIP.turns,
      tokens: [1, 1, 1, 1],
      dedupKey: 'k',
      status: 'accepted' as const,
    };
    ds.insert(row);
    expect(() => ds.insert(row)).toThrow(/UNIQUE/);
    // The failed insert left no orphan turns behind.
    expect(store.db.prepare('SELECT count(*) FROM dialogue_turns').pluck().get()).toBe(8);
    store.close();
  });
});
