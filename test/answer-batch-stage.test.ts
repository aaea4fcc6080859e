/** The answer stage of batch mode on a real SQLite file: sizing the answer lines, surplus answers, retries. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnswerBatchStage } from '../pipeline/answer/batch-stage.ts';
import { loadAnswerTemplate } from '../pipeline/answer/prompt.ts';
import { AttemptStore } from '../pipeline/store/attempts.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const MODEL = 'gpt-4o-mini';
const GOOD = '可以分三步来做：\n1. 先把问题拆开；\n2. 逐项查清事实；\n3. 最后整理成结论。';

function setup(awaiting: number) {
  const store = Store.open(path.join(tempDir(), 'stage.db'));
  const runId = store.createRun({ target: 10, mode: 'self-instruct', model: 'gpt-3.5-turbo', options: { answerModel: MODEL } });
  const ids = Array.from({ length: awaiting }, (_, i) =>
    store.insertTask({
      instruction: `请说明如何整理第${i + 1}份报告`,
      input: '',
      output: '',
      source: 'generated',
      dedupKey: `k${i}`,
      status: 'accepted',
      runId,
    }),
  );
  const stage = new AnswerBatchStage(store, runId, { model: MODEL, template: loadAnswerTemplate(), retries: 1 });
  const attempts = new AttemptStore(store);
  const reply = (content: string) => ({ content, finishReason: 'stop', usage: null, attempts: 1, attemptLog: [], costUsd: null });
  const answerLine = (taskId: number, content: string, target: number) =>
    store.transaction(() => {
      const line = stage.line({ id: taskId, instruction: '', input: '' });
      const base = { runId, templateId: stage.templateId, model: MODEL, messages: line.messages, params: stage.params };
      return stage.storeReply(attempts, base, taskId, reply(content), target);
    });
  const n = (sql: string): number => store.sql(sql).pluck().get() as number;
  return { store, stage, ids, answerLine, n };
}

describe('AnswerBatchStage', () => {
  it('asks for more lines than the need, by the yield and a two-sigma margin; never lines once the target is met', () => {
    const { stage } = setup(0);
    // Prior yield 0.9: 100 needed → 100/0.9 + 2·√(100·0.1)/0.9 ≈ 111.1 + 7.0.
    expect(stage.linesWanted(100)).toBe(119);
    expect(stage.instructionsWanted(100)).toBe(119);
    expect(stage.linesWanted(0)).toBe(0);
    // The margin shrinks relative to the need as the need grows (√n): under 1% at 50 000.
    expect(stage.linesWanted(50_000) / (50_000 / 0.9)).toBeLessThan(1.01);
  });

  it('stores accepted and rejected answers, gives a task up after its retries, and keeps no answer past the target', () => {
    const { stage, ids, answerLine, n } = setup(4);
    expect(stage.awaiting).toBe(4);
    expect(answerLine(ids[0]!, GOOD, 2)).toMatchObject({ accepted: true, surplus: false });
    // A refusal: rejected with its reason; the task still awaits (retries 1 → two tries).
    expect(answerLine(ids[1]!, '抱歉，我无法回答这个问题。', 2)).toMatchObject({ accepted: false, surplus: false });
    expect(stage.awaiting).toBe(3);
    expect(answerLine(ids[1]!, '略', 2)).toMatchObject({ accepted: false });
    expect(stage.awaiting).toBe(2); // given up after two rejected answers
    expect(n(`SELECT group_concat(reason) FROM answers WHERE status = 'rejected'`)).toBe('refusal,placeholder');
    expect(answerLine(ids[2]!, GOOD, 2)).toMatchObject({ accepted: true });
    expect(stage.answered).toBe(2);
    // The yield is per answer line: 2 accepted of 4, with the 0.9 prior weighing 2 → (2 + 1.8) / 6.
    expect(stage.answerYield()).toBeCloseTo(3.8 / 6, 10);
    // The target is met: a good answer is stored as a request only; its task still awaits.
    expect(answerLine(ids[3]!, GOOD, 2)).toEqual(expect.objectContaining({ accepted: false, surplus: true }));
    expect(n(`SELECT count(*) FROM answers WHERE task_id = ${ids[3]}`)).toBe(0);
    expect(n(`SELECT count(*) FROM requests WHERE answer_task_id = ${ids[3]}`)).toBe(1);
    expect(stage.nextTasks(10).map((t) => t.id)).toEqual([ids[3]]);
    // A second line for an answered task (never sent, but defended): no second accepted answer.
    expect(answerLine(ids[0]!, GOOD, 10)).toMatchObject({ accepted: false, surplus: false });
    expect(n(`SELECT count(*) FROM answers WHERE status = 'accepted'`)).toBe(2);
  });
});
