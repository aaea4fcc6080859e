/**
 * Two-stage generation through the Batch API: the real CLI, one step per invocation (as cron runs it),
 * the real `openai` client's files and batches calls against the simulator's Batch API (which refuses a
 * batch mixing models), a real SQLite file; answer faults (refusals, placeholders, empty answers) and a
 * kill -9 in the middle of ingesting an answer batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { generate, stats, type RunSummary } from '../../pipeline/index.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { one, query, summaryOf, tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    port: 0,
    seed: 43,
    batch: { stepPolls: 1 },
    answerFaults: { refusal: 0.08, placeholder: 0.05, empty: 0.03 },
    nearDuplicateRate: 0.1,
  });
});
afterAll(async () => {
  await sim.close();
});

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key-two-stage-batch' });
const MODEL = 'gpt-4o-mini';
const args = (db: string, n: number): string[] => [
  ...`generate --batch --answer-model ${MODEL} --tasks-per-request 10 --log-format json`.split(' '),
  ...['--n', String(n), '--db', db],
];

/** One step in process: what `args(db, n)` asks of the CLI. */
const step = (db: string, n: number) => generate({ db, n, batch: true, answerModel: MODEL, tasksPerRequest: 10, env: env() });

/** Runs the step until the run completes (a failed step throws); returns the summaries of every step. */
async function untilDone(db: string, n: number, limit = 20): Promise<RunSummary[]> {
  const summaries: RunSummary[] = [];
  for (let i = 0; i < limit; i++) {
    summaries.push(await step(db, n));
    if (summaries.at(-1)!.status === 'completed') return summaries;
  }
  throw new Error('the run did not complete');
}

/** The invariants of a two-stage batch run, whatever happened on the way. */
function expectConsistent(db: string, n: number): void {
  // Exactly --n accepted answers in the run, never two accepted answers by the model for one task.
  expect(one(db, `SELECT count(*) FROM answers WHERE status = 'accepted' AND run_id = (SELECT max(id) FROM runs)`)).toBe(n);
  expect(
    one(db, `SELECT count(*) FROM (SELECT task_id FROM answers WHERE status = 'accepted' GROUP BY task_id, model HAVING count(*) > 1)`),
  ).toBe(0);
  // Every line has exactly one stored result; an answer line's result is an answer request of its task.
  expect(one(db, 'SELECT count(*) FROM batch_requests WHERE request_id IS NULL')).toBe(0);
  expect(one(db, 'SELECT count(*) FROM (SELECT request_id FROM batch_requests GROUP BY request_id HAVING count(*) > 1)')).toBe(0);
  expect(one(db, 'SELECT count(*) FROM requests WHERE batch_id IS NOT NULL')).toBe(one(db, 'SELECT count(*) FROM batch_requests'));
  expect(
    one(
      db,
      `SELECT count(*) FROM batch_requests br JOIN requests q ON q.id = br.request_id JOIN batches b ON b.id = br.batch_id
       WHERE q.answer_task_id IS NOT coalesce(CASE WHEN b.stage = 'answers' THEN json_extract(br.unit_json, '$.unit.id') END, br.answer_task_id)`,
    ),
  ).toBe(0);
  // Each answer is tied to the request that brought it, and answers only instruction-only tasks.
  expect(one(db, `SELECT count(*) FROM answers a JOIN requests q ON q.id = a.request_id WHERE q.answer_task_id IS NOT a.task_id`)).toBe(0);
  expect(one(db, `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.output <> ''`)).toBe(0);
  // A batch holds one model: answer lines go in batches of their own.
  expect(
    one(
      db,
      `SELECT count(*) FROM (SELECT batch_id FROM batch_requests GROUP BY batch_id
         HAVING count(DISTINCT json_extract(unit_json, '$.unit.id') IS NULL) > 1 OR count(DISTINCT json_extract(params_json, '$.model')) > 1)`,
    ),
  ).toBe(0);
}

describe('generate --answer-model --batch', () => {
  it('instruction batches, then answer batches to the answer model, until exactly --n answered tasks', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'two-batch.db');
    const first = await runCli(args(db, 60), env());
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first.stderr)).toMatchObject({ status: 'waiting', accepted: 0, answers: { model: MODEL, answered: 0 } });
    // Step 1 can only ask for instructions: nothing awaits an answer yet.
    expect(one(db, `SELECT count(*) FROM batch_requests WHERE batch_id IN (SELECT id FROM batches WHERE stage = 'answers')`)).toBe(0);
    const stage1 = query<{ m: string }>(db, 'SELECT messages_json AS m FROM batch_requests LIMIT 1')[0]!.m;
    expect(stage1).toMatch(/10 条新指令/);
    expect(stage1).not.toMatch(/\\"output\\"/); // examples without outputs

    const summaries = await untilDone(db, 60);
    const last = summaries.at(-1)!;
    expect(last).toMatchObject({ status: 'completed', accepted: 60, answers: { model: MODEL, answered: 60 } });
    expectConsistent(db, 60);

    // Answer lines went out only for tasks that were stored awaiting, at the answer model, with the answer prompt.
    const answerLines = query<{ params: string; messages: string }>(
      db,
      `SELECT params_json AS params, messages_json AS messages FROM batch_requests WHERE batch_id IN (SELECT id FROM batches WHERE stage = 'answers')`,
    );
    expect(answerLines.length).toBeGreaterThanOrEqual(60);
    for (const l of answerLines) {
      expect(JSON.parse(l.params).model).toBe(MODEL);
      expect(JSON.parse(l.messages).map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
    }
    // Rejected answers are stored with their reason; their tasks are sent again (at most 3 answers in all,
    // --answer-retries 2) or wait for the next run: none is lost or given up early.
    expect(one(db, `SELECT count(*) FROM answers WHERE status = 'rejected'`)).toBeGreaterThan(0);
    expect(one(db, `SELECT count(*) FROM answers WHERE status = 'rejected' AND reason IS NULL`)).toBe(0);
    expect(one(db, `SELECT count(*) FROM (SELECT task_id FROM answers GROUP BY task_id HAVING sum(status = 'rejected') > 3)`)).toBe(0);
    const rejectedOnly = one(db, `SELECT count(*) FROM (SELECT task_id FROM answers GROUP BY task_id HAVING sum(status = 'accepted') = 0)`);
    // Batch price: half of gpt-4o-mini's $0.15 / $0.60 per million tokens.
    const costs = query<{ cost: number; p: number; c: number }>(
      db,
      `SELECT cost_usd AS cost, prompt_tokens AS p, completion_tokens AS c FROM requests WHERE answer_task_id IS NOT NULL AND status = 'ok'`,
    );
    expect(costs.length).toBeGreaterThan(0);
    for (const r of costs) expect(r.cost).toBeCloseTo((r.p * 0.075 + r.c * 0.3) / 1e6, 12);

    const figures = stats({ db });
    expect(figures.answered).toBe(60);
    expect(figures.awaitingAnswer + figures.unanswerable).toBeGreaterThanOrEqual(rejectedOnly);
    expect(figures.byStage.answers.requests).toBe(answerLines.length);
    expect(figures.byStage.instructions.requests).toBe(
      one(db, `SELECT count(*) FROM batch_requests WHERE batch_id IN (SELECT id FROM batches WHERE stage = 'instructions')`),
    );
  }, 240_000);

  it('an answer batch written before lines kept their unit (migration 13) is read back by its task ids, exactly', async () => {
    const db = path.join(tempDir(), 'two-batch-legacy.db');
    const answersOut = (): boolean =>
      fs.existsSync(db) && one(db, `SELECT count(*) FROM batches WHERE stage = 'answers' AND status <> 'ingested'`) > 0;
    for (let i = 0; i < 10 && !answersOut(); i++) await step(db, 30);
    expect(answersOut()).toBe(true);
    // As an older version left it: the task on the line's own column, no unit, no stage on the batch.
    const conn = new Database(db);
    conn.exec(`UPDATE batch_requests SET answer_task_id = json_extract(unit_json, '$.unit.id'), unit_json = NULL
                 WHERE batch_id IN (SELECT id FROM batches WHERE stage = 'answers' AND status <> 'ingested');
               UPDATE batches SET stage = NULL WHERE status <> 'ingested'`);
    conn.close();
    const summaries = await untilDone(db, 30);
    expect(summaries.at(-1)).toMatchObject({ status: 'completed', accepted: 30 });
    expectConsistent(db, 30);
    expect(one(db, 'SELECT count(*) FROM batch_requests WHERE answer_task_id IS NOT NULL AND request_id IS NULL')).toBe(0);
  }, 240_000);

  it('a kill -9 in the middle of ingesting an answer batch: nothing lost, nothing answered twice, exact count', async () => {
    const db = path.join(tempDir(), 'two-batch-kill.db');
    // Steps until an answer batch is one poll away from completing.
    const answerBatchFinalizing = (): boolean =>
      fs.existsSync(db) &&
      one(
        db,
        `SELECT count(*) FROM batches b WHERE b.status = 'submitted' AND b.provider_status = 'finalizing'
           AND b.stage = 'answers'
           AND b.id = (SELECT min(id) FROM batches WHERE status <> 'ingested')`,
      ) > 0;
    for (let i = 0; i < 10 && !answerBatchFinalizing(); i++) expect((await step(db, 40)).status).not.toBe('interrupted');
    expect(answerBatchFinalizing()).toBe(true);
    // A one-stage step does not take over the run (it would count tasks and could not read answer lines).
    const oneStage = await runCli(['generate', '--batch', '--n', '40', '--db', db], env());
    expect(oneStage.code).toBe(2);
    expect(oneStage.stderr).toMatch(/unfinished two-stage run: resume it with --answer-model gpt-4o-mini/);
    const linesDone = (): number =>
      one(
        db,
        `SELECT count(*) FROM batch_requests br JOIN batches b ON b.id = br.batch_id
         WHERE b.status = 'submitted' AND b.stage = 'answers' AND br.request_id IS NOT NULL`,
      );
    sim.batches.hold({ contentAfterLines: 5 });
    const run = startCli(args(db, 40), env());
    await waitFor(() => linesDone() >= 5, 30_000, 20);
    run.child.kill('SIGKILL');
    await run.done;
    expect(linesDone()).toBe(5);
    const answersAtKill = one(db, 'SELECT count(*) FROM answers');
    expect(answersAtKill).toBeGreaterThan(0);

    const summaries = await untilDone(db, 40);
    expect(summaries.at(-1)).toMatchObject({ status: 'completed', accepted: 40 });
    expectConsistent(db, 40);
    expect(query<{ integrity_check: string }>(db, 'PRAGMA integrity_check')[0]!.integrity_check).toBe('ok');
  }, 240_000);
});
