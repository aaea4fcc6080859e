/** Migration 4 and the judgments SQL: pending tasks, one judgment per (task, judge), judge runs apart. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JudgmentStore } from '../pipeline/store/judgments.ts';
import { Store } from '../pipeline/store/store.ts';
import { tempDir } from './helpers.ts';

const judgment = (score: number, flags: ('truncated' | 'factual_error')[] = []) => ({
  score,
  subScores: { correctness: score },
  flags,
  reason: '理由',
});

function seeded() {
  const store = Store.open(path.join(tempDir(), 'j.db'));
  const run = store.createRun({ target: 3, mode: 'self-instruct', model: 'gpt-3.5-turbo', options: {} });
  const add = (n: number, source = 'generated', status: 'accepted' | 'rejected' = 'accepted') =>
    store.insertTask({ instruction: `指令${n}`, input: '', output: `回答${n}`, source, dedupKey: `k${n}`, status, runId: run });
  const ids = [add(1, 'seed'), add(2), add(3), add(4, 'generated', 'rejected'), add(5, 'mydata')];
  return { store, js: new JudgmentStore(store), ids, run };
}

describe('judgments store', () => {
  it('pending: accepted non-seed tasks without a judgment by this judge; the unique key keeps one per judge', () => {
    const { store, js, ids } = seeded();
    const judge = { model: 'gpt-4o-mini', rubricSha256: 'a'.repeat(64) };
    expect(js.pendingTaskIds(judge, { since: 'all' })).toEqual([ids[1], ids[2], ids[4]]);
    expect(js.pendingTaskIds(judge, { since: 'all', sources: ['mydata'] })).toEqual([ids[4]]);
    expect(
      js.insertJudgments(null, judge, [
        { taskId: ids[1]!, judgment: judgment(8) },
        { taskId: ids[2]!, judgment: judgment(2, ['truncated']) },
      ]),
    ).toBe(2);
    expect(js.insertJudgments(null, judge, [{ taskId: ids[1]!, judgment: judgment(1) }])).toBe(0);
    expect(js.pendingTaskIds(judge, { since: 'last' })).toEqual([ids[4]]);
    // Another rubric judges again, and adds rows.
    expect(js.pendingTaskIds({ ...judge, rubricSha256: 'b'.repeat(64) }, { since: 'all' })).toHaveLength(3);
    const s = js.scoreSummary();
    expect(s).toMatchObject({ judged: 2, unjudged: 1, meanScore: 5, flags: { truncated: 1 } });
    expect(s.histogram['8']).toBe(1);
    expect(s.histogram['2']).toBe(1);
    expect(() =>
      store.db
        .prepare(`INSERT INTO judgments (task_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, created_at)
      VALUES (?, 'm', 's', 11, '{}', '[]', '', '')`)
        .run(ids[1]),
    ).toThrow(/CHECK/);
  });

  it('judge runs do not count as the latest generation run; requests are marked by kind', () => {
    const { store, js, run } = seeded();
    const judgeRun = store.createRun({ target: 3, mode: 'judge', model: 'gpt-4o-mini', options: {} });
    expect(store.latestRun()!.id).toBe(run);
    expect(js.latestJudgeRun()!.id).toBe(judgeRun);
    const r = store.insertRequest({
      runId: judgeRun,
      templateId: null,
      model: 'gpt-4o-mini',
      messages: [],
      params: {},
      status: 'ok',
      costUsd: 0.5,
    });
    js.markJudgeRequest(r);
    store.insertRequest({ runId: run, templateId: null, model: 'gpt-3.5-turbo', messages: [], params: {}, status: 'ok', costUsd: 2 });
    expect(js.spending('judge')).toMatchObject({ requests: 1, costUsd: 0.5 });
    expect(js.spending('generate')).toMatchObject({ requests: 1, costUsd: 2 });
  });
});
