/**
 * What the batch step's yield guard and first-batch sizing start from (store/reply-outcomes.ts), on a real
 * SQLite file: a run's generation replies to its own prompt template, never its other requests (a
 * conversation's turns, built turn by turn, are replies of the run too, and bring no task of their own).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recentReplyOutcomes } from '../pipeline/store/reply-outcomes.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

describe('recentReplyOutcomes', () => {
  it("counts a run's replies to its prompt template with what each brought, and leaves the run's other requests out", () => {
    const store = Store.open(path.join(tempDir(), 'outcomes.db'));
    try {
      const runId = store.createRun({ target: 10, mode: 'dialogue', model: 'gpt-3.5-turbo', options: { tasksPerRequest: 5 } });
      const prompt = store.templateId('dialogue_openings', 'a'.repeat(64), '开场白模板');
      const turns = store.templateId('answer_system', 'b'.repeat(64), '回答模板');
      const reply = (templateId: number) =>
        store.insertRequest({ runId, templateId, model: 'gpt-3.5-turbo', messages: [], params: {}, status: 'ok', rawReply: '[]' });
      const first = reply(prompt);
      store.insertTask({
        instruction: '介绍一下长城',
        input: '',
        output: '',
        source: 'generated',
        dedupKey: 'k1',
        status: 'accepted',
        runId,
        requestId: first,
      });
      store.insertTask({
        instruction: '介绍一下长城吧',
        input: '',
        output: '',
        source: 'generated',
        dedupKey: 'k2',
        status: 'rejected',
        reason: 'near_duplicate',
        runId,
        requestId: first,
      });
      // Ten turns of conversations: replies of the run that bring no task.
      for (let i = 0; i < 10; i++) reply(turns);
      reply(prompt);
      const outcomes = recentReplyOutcomes(store, { runId, templateId: prompt }, 50);
      expect(outcomes.map((o) => ({ accepted: o.accepted, rejected: o.rejected }))).toEqual([
        { accepted: 1, rejected: { near_duplicate: 1 } },
        { accepted: 0, rejected: {} },
      ]);
      expect(recentReplyOutcomes(store, { runId, templateId: turns }, 50)).toHaveLength(10);
      expect(recentReplyOutcomes(store, { templateId: prompt, tasksPerRequest: 5 }, 50)).toHaveLength(2);
    } finally {
      store.close();
    }
  });
});
