/**
 * The judge and two-stage tasks (issue 13) end to end: the library in process (the real CLI for the exports), the simulator
 * over HTTP, a real SQLite file. Each accepted answer is judged once, a second model's answers get
 * judgments of their own, tasks awaiting an answer are not judged, and `export --min-score` goes by the
 * score of the answer it exports (scores planted in the DB, so what is kept is known exactly).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { answer, generate, judgeTasks, stats } from '../../pipeline/index.ts';
import { runCli } from '../cli.ts';
import { one, query, tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 51, judgeFaults: { omit: 0.2, repeat: 0.1, extra: 0.1 } });
});
afterAll(async () => {
  await sim.close();
});

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key-judge-answers' });

function counts(db: string) {
  return {
    acceptedAnswers: one(db, `SELECT count(*) FROM answers WHERE status = 'accepted'`),
    answerJudgments: one(db, 'SELECT count(*) FROM judgments WHERE answer_id IS NOT NULL'),
    judgedAnswers: one(db, 'SELECT count(DISTINCT answer_id) FROM judgments'),
    ownJudgments: one(db, 'SELECT count(*) FROM judgments WHERE answer_id IS NULL'),
    // A judgment must be of an accepted answer of its own task.
    strayJudgments: one(
      db,
      `SELECT count(*) FROM judgments j LEFT JOIN answers a ON a.id = j.answer_id
       WHERE j.answer_id IS NOT NULL AND (a.task_id IS NOT j.task_id OR a.status <> 'accepted')`,
    ),
    awaitingJudged: one(
      db,
      `SELECT count(*) FROM judgments j JOIN tasks t ON t.id = j.task_id
       WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted')`,
    ),
    judgeRequests: one(db, `SELECT count(*) FROM requests WHERE kind = 'judge'`),
  };
}

describe('judge with two-stage tasks', () => {
  it("judges each accepted answer once, a second model's answers apart, never an awaiting task; export --min-score goes by the chosen answer", async () => {
    const dir = tempDir();
    const db = path.join(dir, 'two.db');
    expect((await generate({ db, n: 30, answerModel: 'gpt-4o', env: env() })).status).toBe('completed');
    // An instruction that will stay without an answer (its own source, so `answer --source generated` leaves it).
    const conn = new Database(db);
    conn
      .prepare(`INSERT INTO tasks (source, instruction, input, output, dedup_key, status, created_at)
        VALUES ('later', '介绍一下大运河的历史。', '', '', 'judge-answers-awaiting', 'accepted', '2026-01-01T00:00:00Z')`)
      .run();
    conn.close();
    const awaitingBefore = one(
      db,
      `SELECT count(*) FROM tasks t WHERE t.status = 'accepted' AND t.output = ''
       AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted')`,
    );
    expect(awaitingBefore).toBeGreaterThanOrEqual(1);

    const first = await judgeTasks({ db, env: env() });
    const c1 = counts(db);
    expect(c1.acceptedAnswers).toBeGreaterThanOrEqual(30);
    expect(c1.answerJudgments).toBe(c1.acceptedAnswers);
    expect(c1.judgedAnswers).toBe(c1.acceptedAnswers);
    expect(c1.ownJudgments).toBe(0); // two-stage tasks have no output of their own
    expect(c1.strayJudgments).toBe(0);
    expect(c1.awaitingJudged).toBe(0);
    expect(first).toMatchObject({ status: 'completed', left: 0, judgedNow: c1.acceptedAnswers });
    // The judged text is the answer, and the request keeps which answer each prompt id stood for.
    const judged = query<{ output: string; messages: string; kept: number }>(
      db,
      `SELECT a.output, q.messages_json AS messages,
         EXISTS (SELECT 1 FROM json_each(q.params_json, '$.judge.answerIds') e WHERE e.value = j.answer_id) AS kept
       FROM judgments j JOIN answers a ON a.id = j.answer_id JOIN requests q ON q.id = j.request_id`,
    );
    for (const row of judged) {
      expect(row.kept).toBe(1);
      expect((JSON.parse(row.messages) as { content: string }[])[0]!.content).toContain(`【回答】${row.output}`);
    }

    const figures = stats({ db });
    const answeredTasks = one(db, `SELECT count(DISTINCT task_id) FROM answers WHERE status = 'accepted'`);
    expect(figures.judged).toBe(answeredTasks);
    // Judge requests are the judge's spending, not stage 1's.
    expect(figures.byStage.instructions.requests).toBe(
      one(db, `SELECT count(*) FROM requests WHERE kind = 'generate' AND answer_task_id IS NULL`),
    );
    expect(figures.judgeSpending.requests).toBeGreaterThan(0);

    // A second answer model: its answers are new subjects, each judged once; the first model's are not judged again.
    expect((await answer({ source: 'generated', db, model: 'gpt-4o-mini', env: env() })).status).toBe('completed');
    const miniAnswers = one(db, `SELECT count(*) FROM answers WHERE status = 'accepted' AND model = 'gpt-4o-mini'`);
    expect(miniAnswers).toBeGreaterThan(0);
    const again = await judgeTasks({ db, env: env() });
    const c2 = counts(db);
    expect(again).toMatchObject({ status: 'completed', pendingAtStart: miniAnswers, judgedNow: miniAnswers });
    expect(c2.answerJudgments).toBe(c1.acceptedAnswers + miniAnswers);
    expect(c2.judgedAnswers).toBe(c2.acceptedAnswers);
    expect(c2.strayJudgments).toBe(0);
    expect(c2.awaitingJudged).toBe(0);

    // Nothing left: the same command sends nothing.
    expect(await judgeTasks({ db, env: env() })).toMatchObject({ status: 'completed', pendingAtStart: 0, judgedNow: 0 });
    expect(counts(db)).toEqual(c2);

    // Planted scores: each task's chosen answer (latest accepted) 9 on even task ids and 2 on odd ones,
    // every other answer the opposite and flagged, so going by the wrong judgment changes what is kept.
    const w = new Database(db);
    w.exec(`UPDATE judgments SET score = CASE WHEN task_id % 2 = 0 THEN 9 ELSE 2 END, flags_json = '[]'
              WHERE answer_id = (SELECT max(x.id) FROM answers x WHERE x.task_id = judgments.task_id AND x.status = 'accepted');
            UPDATE judgments SET score = CASE WHEN task_id % 2 = 0 THEN 2 ELSE 9 END, flags_json = '["truncated"]'
              WHERE answer_id <> (SELECT max(x.id) FROM answers x WHERE x.task_id = judgments.task_id AND x.status = 'accepted');`);
    w.close();
    const chosen = query<{ task: number; output: string; model: string }>(
      db,
      `SELECT t.id AS task, a.output, a.model FROM tasks t JOIN answers a ON a.id = (SELECT max(x.id) FROM answers x
         WHERE x.task_id = t.id AND x.status = 'accepted') WHERE t.status = 'accepted' AND t.source <> 'seed' ORDER BY t.id`,
    );
    expect(chosen.length).toBe(one(db, `SELECT count(DISTINCT task_id) FROM answers WHERE status = 'accepted'`));
    const even = chosen.filter((r) => r.task % 2 === 0);
    expect(even.length).toBeGreaterThan(0);
    expect(even.length).toBeLessThan(chosen.length);

    const exportRows = async (extra: string[]) => {
      const out = path.join(dir, `out-${extra.join('-')}`);
      const r = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--since', 'all', '--valid-ratio', '0', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const folder = r.stdout.trim();
      return {
        outputs: fs
          .readFileSync(path.join(folder, 'train.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { output: string }).output)
          .sort(),
        manifest: JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')),
      };
    };
    const curated = await exportRows(['--min-score', '7']);
    expect(curated.outputs).toEqual(even.map((r) => r.output).sort());
    expect(curated.manifest.quality).toMatchObject({
      kept: even.length,
      dropped: { belowScore: chosen.length - even.length, flagged: 0, unjudged: 0 },
    });
    // Only the non-chosen answers are flagged: --drop-flags leaves every exported row in.
    const unflagged = await exportRows(['--drop-flags', 'truncated']);
    expect(unflagged.outputs).toHaveLength(chosen.length);
    // With --answer-model the first model's answers are exported, and scored by their own judgments.
    const byFirst = await exportRows(['--min-score', '7', '--answer-model', 'gpt-4o']);
    const firstAnswers = query<{ task: number; output: string; latest: number }>(
      db,
      `SELECT task_id AS task, output, NOT EXISTS (SELECT 1 FROM answers b WHERE b.task_id = a.task_id AND b.status = 'accepted'
         AND b.id > a.id) AS latest FROM answers a WHERE status = 'accepted' AND model = 'gpt-4o'`,
    );
    expect(firstAnswers.filter((r) => r.latest === 0).length).toBeGreaterThan(0);
    // Planted 9: a latest answer on an even task, an older one on an odd task.
    expect(byFirst.outputs).toEqual(
      firstAnswers
        .filter((r) => (r.latest === 1) === (r.task % 2 === 0))
        .map((r) => r.output)
        .sort(),
    );
  }, 300_000);
});
