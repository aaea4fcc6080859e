/**
 * The judge end to end: the library's judgeTasks() in process (the CLI in a child process where exit
 * codes, messages or kill -9 are what is tested), the real openai client over HTTP to the simulator, a
 * real SQLite file. The simulator's scores are made up (not a quality model); what is
 * tested is the plumbing: every task judged exactly once per judge, defects it planted scored low,
 * JSON-mode fallback, unmatched ids retried, resume after kill -9, bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, judgeTasks, stats } from '../../pipeline/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

let sim: Simulator;
let slow: Simulator;
let noJson: Simulator;
let template: string;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 41, judgeFaults: { omit: 0.3, repeat: 0.2, extra: 0.2 } });
  slow = await startSimulator({ port: 0, seed: 42, latencyMs: 150 });
  noJson = await startSimulator({ port: 0, seed: 43, judgeJsonMode: false });
  template = path.join(tempDir(), 'gen.db');
  expect((await generate({ db: template, n: 200, env: env(sim) })).status).toBe('completed');
}, 240_000);
afterAll(async () => {
  await Promise.all([sim.close(), slow.close(), noJson.close()]);
});

const env = (s: Simulator) => ({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: 'test-key' });
const copyDb = (): string => {
  const db = path.join(tempDir(), 'j.db');
  fs.copyFileSync(template, db);
  return db;
};

function state(db: string) {
  const conn = new Database(db, { readonly: true });
  try {
    const one = (sql: string) => conn.prepare(sql).pluck().get() as number;
    return {
      accepted: one(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source <> 'seed'`),
      judgments: one('SELECT count(*) FROM judgments'),
      judgedTasks: one('SELECT count(DISTINCT task_id) FROM judgments'),
      judgedSeedsOrRejected: one(
        `SELECT count(*) FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.source = 'seed' OR t.status <> 'accepted'`,
      ),
      judgeRequests: one(`SELECT count(*) FROM requests WHERE kind = 'judge'`),
      failedJudgeRequests: one(`SELECT count(*) FROM requests WHERE kind = 'judge' AND status = 'error'`),
      flaggedHigh: one(`SELECT count(*) FROM judgments WHERE flags_json <> '[]' AND score > 3`),
      low: one('SELECT count(*) FROM judgments WHERE score <= 3'),
      attempts: one(`SELECT count(*) FROM request_attempts a JOIN requests r ON r.id = a.request_id WHERE r.kind = 'judge'`),
      jsonModeRequests: one(`SELECT count(*) FROM requests WHERE kind = 'judge' AND params_json LIKE '%json_object%'`),
      judgeRuns: one(`SELECT count(*) FROM runs WHERE mode = 'judge'`),
      integrity: conn.pragma('integrity_check', { simple: true }) as string,
    };
  } finally {
    conn.close();
  }
}

describe('judge CLI', () => {
  it('judges every accepted non-seed task exactly once, retrying ids a reply left out, and scores planted defects low', async () => {
    const db = copyDb();
    const summary = await judgeTasks({ db, env: env(sim) });
    const s = state(db);
    expect(s.accepted).toBeGreaterThanOrEqual(200);
    expect(s.judgments).toBe(s.accepted);
    expect(s.judgedTasks).toBe(s.accepted);
    expect(s.judgedSeedsOrRejected).toBe(0);
    // With 30% of replies leaving one out, more requests than ceil(n / 10) were needed.
    expect(s.judgeRequests).toBeGreaterThan(Math.ceil(s.accepted / 10));
    expect(s.attempts).toBeGreaterThanOrEqual(s.judgeRequests);
    expect(s.jsonModeRequests).toBe(s.judgeRequests);
    expect(s.low).toBeGreaterThan(0);
    expect(s.flaggedHigh).toBe(0);
    expect(summary).toMatchObject({ status: 'completed', model: 'gpt-4o-mini', left: 0, judgedNow: s.accepted });
    expect(summary.retried).toBeGreaterThan(0);
    expect(summary.costUsd).toBeGreaterThan(0);

    // The same command again has nothing to do; another rubric judges again and adds rows.
    expect((await judgeTasks({ db, env: env(sim) })).status).toBe('completed');
    expect(state(db).judgments).toBe(s.accepted);
    const rubric = writeTemp(tempDir(), 'r.txt', `${fs.readFileSync(path.join('templates', 'judge_rubric.txt'), 'utf8')}\n请认真审核。\n`);
    expect((await judgeTasks({ db, rubric, tasksPerRequest: 20, env: env(sim) })).status).toBe('completed');
    expect(state(db).judgments).toBe(2 * s.accepted);
  }, 240_000);

  it('a server without JSON mode: the 400 is stored and the rest goes without response_format', async () => {
    const db = copyDb();
    expect((await judgeTasks({ db, maxRequests: 500, env: env(noJson) })).status).toBe('completed');
    const s = state(db);
    expect(s.judgments).toBe(s.accepted);
    expect(s.failedJudgeRequests).toBeGreaterThanOrEqual(1);
    expect(s.failedJudgeRequests).toBeLessThanOrEqual(4); // at most one per request already in flight
    expect(s.jsonModeRequests).toBe(s.failedJudgeRequests);
  }, 120_000);

  it('kill -9 at random moments, then the same command: every task judged exactly once, counts exact', async () => {
    const db = copyDb();
    const args = ['judge', '--db', db, '--concurrency', '2', '--tasks-per-request', '5', '--log-format', 'json'];
    let rng = 777;
    const random = () => (rng = (rng * 48271) % 2147483647) / 2147483647;
    let kills = 0;
    let previous = 0;
    for (let i = 0; i < 4; i++) {
      const run = startCli(args, env(slow));
      // Kill once this invocation has stored something (the first request waits for its tokenizer), at a random moment after.
      await waitFor(() => run.child.exitCode !== null || (fs.existsSync(db) && state(db).judgments > previous), 60_000, 200);
      await new Promise((r) => setTimeout(r, random() * 1200));
      run.child.kill('SIGKILL');
      if ((await run.done).signal === 'SIGKILL') kills++;
      const s = state(db);
      expect(s.integrity).toBe('ok');
      // Exact: one judgment per judged task, and only ever more.
      expect(s.judgments).toBe(s.judgedTasks);
      expect(s.judgments).toBeGreaterThanOrEqual(previous);
      previous = s.judgments;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(previous).toBeGreaterThan(0);
    const final = await runCli(args, env(slow));
    expect(final.code, final.stderr).toBe(0);
    const s = state(db);
    expect(s.judgments).toBe(s.accepted);
    expect(s.judgedTasks).toBe(s.accepted);
    const summary = JSON.parse(
      final.stderr
        .trim()
        .split('\n')
        .filter((l) => l.includes('"event":"summary"'))
        .pop()!,
    );
    expect(summary.pendingAtStart).toBe(s.accepted - previous);
    expect(summary.judgedNow).toBe(s.accepted - previous);
    // Killed judge runs are resumed, not multiplied.
    expect(s.judgeRuns).toBe(1);
  }, 240_000);
});

describe('judge bad input', () => {
  it('a rubric missing {{tasks}}: exit 2 with file:line, nothing sent', { timeout: 60_000 }, async () => {
    const db = copyDb();
    const rubric = writeTemp(tempDir(), 'bad.txt', '请给任务打分。\n只输出 JSON。\n');
    const r = await runCli(['judge', '--db', db, '--rubric', rubric], env(sim));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`error: ${rubric}:3: rubric is missing placeholder {{tasks}}`);
    expect(state(db).judgeRequests).toBe(0);
  });

  it('an unknown judge model with --max-cost and no price: exit 2', { timeout: 60_000 }, async () => {
    const db = copyDb();
    const r = await runCli(['judge', '--db', db, '--model', 'my-local-judge', '--max-cost', '1'], env(sim));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-cost: needs the price of my-local-judge/);
    const ok = await runCli(
      ['judge', '--db', db, '--model', 'my-local-judge', '--max-cost', '1', '--price', '0.1,0.2', '--max-requests', '2'],
      env(sim),
    );
    expect(ok.code).toBe(3);
    expect(state(db).judgeRequests).toBe(2);
  });
});

describe('curated export and stats', () => {
  it('export --min-score keeps rows at or above the score, leaves unjudged out and counts them; stats has judged, meanScore', async () => {
    const db = copyDb();
    // Judge part of it first: 6 requests × 20 tasks.
    expect(await judgeTasks({ db, tasksPerRequest: 20, maxRequests: 6, env: env(sim) })).toMatchObject({
      status: 'interrupted',
      stopReason: 'max-requests',
    });
    const conn = new Database(db, { readonly: true });
    const q = (sql: string) => conn.prepare(sql).pluck().get() as number;
    const accepted = q(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source <> 'seed'`);
    const judged = q('SELECT count(*) FROM judgments');
    const atLeast7 = q('SELECT count(*) FROM judgments WHERE score >= 7');
    const flaggedTruncated = q(`SELECT count(*) FROM judgments WHERE score >= 7 AND flags_json LIKE '%truncated%'`);
    const mean = q('SELECT avg(score) FROM judgments');
    conn.close();
    expect(judged).toBeGreaterThan(0);
    expect(judged).toBeLessThan(accepted);

    const figures = stats({ db });
    expect(figures.judged).toBe(judged);
    expect(figures.meanScore).toBeCloseTo(mean, 2);
    expect(Object.values(figures.scoreHistogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(judged);
    const text = (await runCli(['stats', '--db', db])).stdout;
    expect(text).toContain(`judged    ${judged} by gpt-4o-mini`);

    const out = tempDir();
    const all = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--since', 'all']);
    expect(all.code, all.stderr).toBe(0);
    const lines = (dir: string) => fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').length;
    expect(lines(all.stdout.trim())).toBe(accepted);

    const curated = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--since', 'all', '--min-score', '7']);
    expect(curated.code, curated.stderr).toBe(0);
    expect(lines(curated.stdout.trim())).toBe(atLeast7);
    const manifest = JSON.parse(fs.readFileSync(path.join(curated.stdout.trim(), 'manifest.json'), 'utf8'));
    expect(manifest.quality).toMatchObject({
      judgeModel: 'gpt-4o-mini',
      minScore: 7,
      kept: atLeast7,
      dropped: { belowScore: judged - atLeast7, flagged: 0, unjudged: accepted - judged },
    });
    expect(Object.keys(manifest.quality.rubrics)).toHaveLength(1);
    expect(Object.values(manifest.quality.histogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(judged);
    expect(curated.stderr).toMatch(/judge\s+gpt-4o-mini, score ≥ 7: kept/);

    const dropped = await runCli([
      'export',
      '--db',
      db,
      '--out',
      out,
      '--format',
      'alpaca',
      '--since',
      'all',
      '--min-score',
      '7',
      '--drop-flags',
      'truncated,placeholder',
    ]);
    expect(dropped.code).toBe(0);
    expect(lines(dropped.stdout.trim())).toBe(atLeast7 - flaggedTruncated);

    const bad = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--drop-flags', 'boring']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--drop-flags: unknown flag "boring"/);
    const none = await runCli([
      'export',
      '--db',
      db,
      '--out',
      out,
      '--format',
      'alpaca',
      '--since',
      'all',
      '--min-score',
      '7',
      '--judge-model',
      'gpt-4o',
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no row passes the judge filter \(judge gpt-4o: 0 below --min-score, 0 with --drop-flags, \d+ not judged/);
  }, 240_000);
});

describe('generate --judge-model', () => {
  it("judges each reply's accepted tasks as they come, same run and --max-cost; examples only from well-judged tasks", async () => {
    const clean = await startSimulator({ port: 0, seed: 44, judgeFaults: { omit: 0, repeat: 0.1, extra: 0.1 } });
    try {
      const db = path.join(tempDir(), 'inline.db');
      const summary = await generate({ db, n: 120, judgeModel: 'gpt-4o-mini', concurrency: 1, maxCost: 5, env: env(clean) });
      expect(summary.status).toBe('completed');
      const conn = new Database(db, { readonly: true });
      try {
        const q = (sql: string) => conn.prepare(sql).pluck().get() as number;
        const accepted = q(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`);
        expect(accepted).toBe(120);
        expect(q('SELECT count(*) FROM judgments')).toBe(accepted);
        expect(q(`SELECT count(DISTINCT run_id) FROM requests`)).toBe(1);
        expect(q(`SELECT count(*) FROM runs WHERE mode = 'judge'`)).toBe(0);
        const judgeCost = q(`SELECT sum(cost_usd) FROM requests WHERE kind = 'judge'`);
        expect(judgeCost).toBeGreaterThan(0);
        expect(summary.requests.costUsd).toBeCloseTo(q('SELECT sum(cost_usd) FROM requests'), 4);

        // With one request at a time, every generation prompt after the first judged reply drew examples from tasks scored ≥ 7.
        const firstJudge = q(`SELECT min(id) FROM requests WHERE kind = 'judge'`);
        const prompts = (
          conn.prepare(`SELECT messages_json FROM requests WHERE kind = 'generate' AND id > ?`).pluck().all(firstJudge) as string[]
        ).join('\n');
        // Tasks whose instruction and output are each unique in the DB, so finding them in a prompt means they were shown.
        const shown = (op: string): string[] =>
          conn
            .prepare(
              `SELECT t.instruction || char(10) || t.output FROM tasks t JOIN judgments j ON j.task_id = t.id WHERE j.score ${op} 7
                 AND (SELECT count(*) FROM tasks u WHERE u.instruction = t.instruction) = 1
                 AND (SELECT count(*) FROM tasks u WHERE u.output = t.output) = 1`,
            )
            .pluck()
            .all()
            .filter((pair) =>
              (pair as string).split('\n', 2).every((part) => prompts.includes(JSON.stringify(part).slice(1, -1))),
            ) as string[];
        expect(q('SELECT count(*) FROM judgments WHERE score < 7')).toBeGreaterThan(0);
        expect(shown('<')).toEqual([]);
        expect(shown('>=').length).toBeGreaterThan(3);
      } finally {
        conn.close();
      }

      // A small --max-cost covers generation and judging together: exit 3, never above the cap.
      const capped = path.join(tempDir(), 'capped.db');
      const c = await generate({ db: capped, n: 5000, judgeModel: 'gpt-4o-mini', maxCost: 0.02, env: env(clean) });
      expect(c).toMatchObject({ status: 'interrupted', stopReason: 'max-cost' });
      const cc = new Database(capped, { readonly: true });
      const spent = cc.prepare('SELECT sum(cost_usd) FROM requests').pluck().get() as number;
      const judged = cc.prepare('SELECT count(*) FROM judgments').pluck().get() as number;
      cc.close();
      expect(spent).toBeLessThanOrEqual(0.02);
      expect(judged).toBeGreaterThan(0);

      const noPrice = await runCli(['generate', '--n', '5', '--db', capped, '--judge-model', 'my-judge', '--max-cost', '1'], env(clean));
      expect(noPrice.code).toBe(2);
      expect(noPrice.stderr).toMatch(/--max-cost: needs the price of the judge my-judge/);
    } finally {
      await clean.close();
    }
  }, 300_000);
});

describe('judge --batch', () => {
  it('submits, polls and collects batches until each task is judged once; unmatched go in the next batch; batch prices', async () => {
    const db = copyDb();
    const statuses: string[] = [];
    for (let i = 0; i < 25 && statuses.at(-1) !== 'completed'; i++) {
      statuses.push((await judgeTasks({ db, batch: true, tasksPerRequest: 20, env: env(sim) })).status);
    }
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses.filter((s) => s === 'waiting').length).toBeGreaterThanOrEqual(3);
    const s = state(db);
    expect(s.judgments).toBe(s.accepted);
    expect(s.judgedTasks).toBe(s.accepted);
    const conn = new Database(db, { readonly: true });
    try {
      const rows = conn
        .prepare(`SELECT prompt_tokens AS p, completion_tokens AS c, cost_usd AS cost FROM requests WHERE kind = 'judge' AND status = 'ok'`)
        .all() as { p: number; c: number; cost: number }[];
      expect(rows.length).toBeGreaterThan(0);
      // gpt-4o-mini at batch prices: half of 0.15 / 0.60 per 1M.
      for (const r of rows) expect(r.cost).toBeCloseTo((r.p * 0.075 + r.c * 0.3) / 1e6, 10);
      expect(conn.prepare(`SELECT count(*) FROM requests WHERE kind = 'judge' AND batch_id IS NULL`).pluck().get()).toBe(0);
      // With replies leaving ids out, more than one batch was needed.
      expect(conn.prepare(`SELECT count(*) FROM batches`).pluck().get()).toBeGreaterThan(1);
    } finally {
      conn.close();
    }
  }, 300_000);
});
