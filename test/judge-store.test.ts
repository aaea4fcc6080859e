/**
 * Migrations 4 and 7 and the judgments SQL: pending subjects (a task's own output, or each accepted
 * answer), one judgment per (subject, judge), judge runs apart, scores by the exported output.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AnswerStore } from '../pipeline/store/answers.ts';
import { BatchStore } from '../pipeline/store/batches.ts';
import { ExportStore } from '../pipeline/store/exports.ts';
import { batchLineTasks, JudgmentStore, sampleJudgedAtLeast, setBatchLineTasks } from '../pipeline/store/judgments.ts';
import { MIGRATIONS } from '../pipeline/store/migrations.ts';
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
    const own = (...taskIds: number[]) => taskIds.map((taskId) => ({ taskId, answerId: null }));
    expect(js.pendingSubjects(judge, { since: 'all' })).toEqual(own(ids[1]!, ids[2]!, ids[4]!));
    expect(js.pendingSubjects(judge, { since: 'all', sources: ['mydata'] })).toEqual(own(ids[4]!));
    expect(
      js.insertJudgments(null, judge, [
        { taskId: ids[1]!, judgment: judgment(8) },
        { taskId: ids[2]!, judgment: judgment(2, ['truncated']) },
      ]),
    ).toBe(2);
    expect(js.insertJudgments(null, judge, [{ taskId: ids[1]!, judgment: judgment(1) }])).toBe(0);
    expect(js.pendingSubjects(judge, { since: 'last' })).toEqual(own(ids[4]!));
    // Another rubric judges again, and adds rows.
    expect(js.pendingSubjects({ ...judge, rubricSha256: 'b'.repeat(64) }, { since: 'all' })).toHaveLength(3);
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

/** One-stage, awaiting and answered tasks (issue 13): what the judge takes and what counts as judged. */
function twoStage() {
  const store = Store.open(path.join(tempDir(), 'a.db'));
  const run = store.createRun({ target: 5, mode: 'self-instruct', model: 'gpt-3.5-turbo', options: {} });
  const answers = new AnswerStore(store);
  const task = (n: number, output: string, source = 'generated') =>
    store.insertTask({ instruction: `指令${n}`, input: `输入${n}`, output, source, dedupKey: `k${n}`, status: 'accepted', runId: run });
  const answer = (taskId: number, model: string, output: string, status: 'accepted' | 'rejected' = 'accepted') =>
    answers.insertAnswer({ taskId, runId: run, requestId: null, model, templateId: null, output, finishReason: 'stop', status });
  const own = task(1, '自己的回答');
  const awaiting = task(2, '');
  const answered = task(3, '');
  const twice = task(4, '');
  const rejectedOnly = task(5, '');
  task(6, '种子回答', 'seed');
  const a3 = answer(answered, 'gpt-4o', '回答三');
  const a4mini = answer(twice, 'gpt-4o-mini', '回答四（小）');
  const a4 = answer(twice, 'gpt-4o', '回答四');
  answer(rejectedOnly, 'gpt-4o', '抱歉', 'rejected');
  return { store, js: new JudgmentStore(store), run, answer, own, awaiting, answered, twice, a3, a4mini, a4 };
}

describe('judging answers (two-stage tasks)', () => {
  const judge = { model: 'gpt-4o-mini', rubricSha256: 'c'.repeat(64) };

  it('pending subjects: own outputs and each accepted answer; awaiting tasks are none; judged ones leave', () => {
    const { js, answer, own, answered, twice, a3, a4mini, a4 } = twoStage();
    const pending = js.pendingSubjects(judge, { since: 'all' });
    expect(pending).toEqual([
      { taskId: own, answerId: null },
      { taskId: answered, answerId: a3 },
      { taskId: twice, answerId: a4mini },
      { taskId: twice, answerId: a4 },
    ]);
    // The text judged: the task's instruction and input with the answer's output.
    expect(js.tasks(pending).map((t) => [t.instruction, t.input, t.output])).toEqual([
      ['指令1', '输入1', '自己的回答'],
      ['指令3', '输入3', '回答三'],
      ['指令4', '输入4', '回答四（小）'],
      ['指令4', '输入4', '回答四'],
    ]);
    // A subject whose answer is not the task's is no subject.
    expect(js.tasks([{ taskId: own, answerId: a3 }])).toEqual([]);

    expect(js.insertJudgments(null, judge, [{ ...pending[1]!, judgment: judgment(8) }])).toBe(1);
    // The same answer again is not a new judgment; the same task's other answer is.
    expect(js.insertJudgments(null, judge, [{ ...pending[1]!, judgment: judgment(2) }])).toBe(0);
    expect(js.insertJudgments(null, judge, [{ ...pending[2]!, judgment: judgment(3) }])).toBe(1);
    expect(js.pendingSubjects(judge, { since: 'all' })).toEqual([pending[0], pending[3]]);
    // A new answer (another model) is a new subject.
    const a3b = answer(answered, 'gpt-4.1', '回答三（新）');
    expect(js.pendingSubjects(judge, { since: 'all' })).toEqual([pending[0], { taskId: answered, answerId: a3b }, pending[3]]);
    expect(js.pendingSubjects(judge, { since: 'all', sources: ['seed'] })).toEqual([]);
  });

  it('scoreSummary counts each task once, by its chosen answer (latest accepted) or its own output', () => {
    const { js, answer, own, awaiting, answered, twice, a3, a4mini, a4 } = twoStage();
    // A judgment of an awaiting task's empty output (the judge before issue 13 took those) counts nowhere.
    js.insertJudgments(null, judge, [
      { taskId: own, answerId: null, judgment: judgment(8) },
      { taskId: awaiting, answerId: null, judgment: judgment(1) },
      { taskId: answered, answerId: a3, judgment: judgment(6, ['truncated']) },
      { taskId: twice, answerId: a4mini, judgment: judgment(1) },
    ]);
    // Chosen: a4 (latest) is unjudged, so task 4 is unjudged although its older answer is judged.
    expect(js.scoreSummary(judge)).toMatchObject({ judged: 2, unjudged: 1, meanScore: 7, flags: { truncated: 1 } });
    js.insertJudgments(null, judge, [{ taskId: twice, answerId: a4, judgment: judgment(10) }]);
    const s = js.scoreSummary(judge);
    expect(s).toMatchObject({ judged: 3, unjudged: 0, meanScore: 8 });
    expect(s.histogram).toMatchObject({ '1': 0, '6': 1, '8': 1, '10': 1 });
    // A newer answer becomes the chosen one, unjudged until the judge runs again.
    answer(answered, 'gpt-4.1', '回答三（新）');
    expect(js.scoreSummary(judge)).toMatchObject({ judged: 2, unjudged: 1, meanScore: 9, flags: {} });
  });

  it('export joins the judgment of the output it writes; machine examples use own-output judgments', () => {
    const { store, js, own, answered, twice, a3, a4mini, a4 } = twoStage();
    // Each non-chosen output scored the opposite way, and judged later: the task's latest judgment is the wrong one.
    js.insertJudgments(null, judge, [
      { taskId: own, answerId: null, judgment: judgment(9) },
      { taskId: answered, answerId: a3, judgment: judgment(2) },
      { taskId: answered, answerId: null, judgment: judgment(9) }, // its empty own output, judged before issue 13
      { taskId: twice, answerId: a4, judgment: judgment(9, ['factual_error']) },
      { taskId: twice, answerId: a4mini, judgment: judgment(2) },
    ]);
    const rows = (answerModel: string | null) =>
      [
        ...new ExportStore(store).rows({
          selection: { sources: null, categories: null, includeSeeds: false, answerModel },
          afterTaskId: 0,
          throughTaskId: 1e9,
          runId: null,
          shuffleSeed: null,
          judgeModel: judge.model,
        }),
      ].map((r) => [r.id, r.output, r.judgeScore, r.judgeFlags]);
    expect(rows(null)).toEqual([
      [own, '自己的回答', 9, '[]'],
      [answered, '回答三', 2, '[]'],
      [twice, '回答四', 9, '["factual_error"]'],
    ]);
    expect(rows('gpt-4o-mini')).toEqual([[twice, '回答四（小）', 2, '[]']]);
    // Machine examples show a task's own output, so only own-output judgments make one (not the empty one).
    expect(sampleJudgedAtLeast(store, judge.model, 7, 10).map((t) => t.id)).toEqual([own]);
  });

  it('judge batch lines keep subjects; lines written before answers were judged (plain task ids) still read', () => {
    const { store, run, own, twice, a4 } = twoStage();
    const batches = new BatchStore(store);
    const batch = batches.createBatch(run, [
      { templateId: null, messages: [], params: {} },
      { templateId: null, messages: [], params: {} },
    ]);
    const [line, old] = [...batches.lines(batch)];
    const subjects = [
      { taskId: own, answerId: null },
      { taskId: twice, answerId: a4 },
    ];
    setBatchLineTasks(store, line!.id, subjects);
    expect(batchLineTasks(store, line!.id)).toEqual(subjects);
    store.sql('UPDATE batch_requests SET judge_task_ids = ? WHERE id = ?').run(JSON.stringify([own, twice]), old!.id);
    expect(batchLineTasks(store, old!.id)).toEqual([
      { taskId: own, answerId: null },
      { taskId: twice, answerId: null },
    ]);
  });

  it('a database judged before migration 7: its judgments are of own outputs, and nothing is judged again', () => {
    const file = path.join(tempDir(), 'v6.db');
    const conn = new Database(file);
    for (const m of MIGRATIONS.filter((m) => m.version <= 6)) conn.exec(m.sql);
    conn.pragma('user_version = 6');
    const at = '2026-01-01T00:00:00Z';
    for (const n of [1, 2]) {
      conn
        .prepare(`INSERT INTO tasks (id, source, instruction, input, output, dedup_key, status, created_at)
          VALUES (?, 'generated', ?, '', ?, ?, 'accepted', ?)`)
        .run(n, `指令${n}`, `回答${n}`, `k${n}`, at);
    }
    conn
      .prepare(`INSERT INTO judgments (task_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, created_at)
        VALUES (1, ?, ?, 8, '{}', '[]', '好', ?)`)
      .run(judge.model, judge.rubricSha256, at);
    conn.close();
    const store = Store.open(file);
    const js = new JudgmentStore(store);
    expect(js.pendingSubjects(judge, { since: 'all' })).toEqual([{ taskId: 2, answerId: null }]);
    expect(js.scoreSummary(judge)).toMatchObject({ judged: 1, unjudged: 1, meanScore: 8 });
    const rows = new ExportStore(store).rows({
      selection: { sources: null, categories: null, includeSeeds: false },
      afterTaskId: 0,
      throughTaskId: 1e9,
      runId: null,
      shuffleSeed: null,
      judgeModel: judge.model,
    });
    expect([...rows].map((r) => r.judgeScore)).toEqual([8, null]);
    store.close();
  });
});
