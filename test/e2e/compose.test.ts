/**
 * Stages composed on the one runtime (issue 20): combinations that were refused with exit 2 now run end to
 * end through the library against the simulator over HTTP and a real SQLite file.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../pipeline/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { one, tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 20, batch: { stepPolls: 1 }, judgeFaults: { omit: 0.2 } });
});
afterAll(async () => {
  await sim.close();
});

describe('composed stages', () => {
  it('--answer-model with --judge-model: exactly --n answers, each accepted answer judged once as it is accepted, one budget', async () => {
    const db = path.join(tempDir(), 'answer-judge.db');
    const summary = await generate({ db, n: 25, baseURL: sim.url, apiKey: 'k', answerModel: 'gpt-4o', judgeModel: 'gpt-4o-mini' });
    expect(summary.status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM answers WHERE status = 'accepted'`)).toBe(25);
    // Every accepted answer has exactly one judgment by the judge (unmatched ones were sent again), none of a task's empty output.
    expect(
      one(
        db,
        `SELECT count(*) FROM answers a WHERE a.status = 'accepted'
           AND (SELECT count(*) FROM judgments j WHERE j.answer_id = a.id AND j.judge_model = 'gpt-4o-mini') <> 1`,
      ),
    ).toBe(0);
    expect(one(db, 'SELECT count(*) FROM judgments WHERE answer_id IS NULL')).toBe(0);
    // The judge's requests are the generate run's: one run, one --max-cost.
    expect(one(db, `SELECT count(DISTINCT run_id) FROM requests`)).toBe(1);
    expect(one(db, `SELECT count(*) FROM requests WHERE model = 'gpt-4o-mini'`)).toBeGreaterThan(0);
  }, 120_000);

  it('--mode dialogue with --batch: steps until exactly --n conversations, each reply stored with its batch', async () => {
    const db = path.join(tempDir(), 'dialogue-batch.db');
    let status = '';
    for (let step = 0; step < 30 && status !== 'completed'; step++) {
      const summary = await generate({ db, n: 12, baseURL: sim.url, apiKey: 'k', mode: 'dialogue', batch: true });
      status = summary.status;
    }
    expect(status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`)).toBe(12);
    expect(one(db, `SELECT count(*) FROM requests WHERE batch_id IS NULL AND status = 'ok'`)).toBe(0);
  }, 120_000);
});

describe('judging inside a batch run', () => {
  it('--judge-model with --batch: the run completes only once each accepted task is judged, in judge batches of its own', async () => {
    const db = path.join(tempDir(), 'batch-judge.db');
    let status = '';
    for (let step = 0; step < 30 && status !== 'completed'; step++) {
      const summary = await generate({ db, n: 20, baseURL: sim.url, apiKey: 'k', batch: true, judgeModel: 'gpt-4o-mini' });
      status = summary.status;
    }
    expect(status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(20);
    // Judged at most once each; those a reply left unmatched twice are left for the judge command.
    expect(one(db, 'SELECT count(*) FROM (SELECT task_id FROM judgments GROUP BY task_id HAVING count(*) > 1)')).toBe(0);
    expect(one(db, 'SELECT count(*) FROM judgments')).toBeGreaterThanOrEqual(15);
    // Judge requests came through batches and are the run's (one run, one --max-cost), kind judge.
    expect(one(db, `SELECT count(*) FROM requests WHERE kind = 'judge' AND batch_id IS NULL`)).toBe(0);
    expect(one(db, `SELECT count(DISTINCT run_id) FROM requests`)).toBe(1);
    // No batch mixes models: the Batch API takes one model per batch.
    expect(
      one(
        db,
        `SELECT count(*) FROM (SELECT batch_id FROM requests WHERE batch_id IS NOT NULL GROUP BY batch_id HAVING count(DISTINCT model) > 1)`,
      ),
    ).toBe(0);
  }, 180_000);
});

describe('the end of a run', () => {
  it('a small run asks only for what is missing at the yield seen', async () => {
    const db = path.join(tempDir(), 'small.db');
    const summary = await generate({ db, n: 5, baseURL: sim.url, apiKey: 'k' });
    expect(summary.status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(5);
    // The default asks 20 per request; the run's one request asked for about what 5 need, so few are turned away.
    expect(one(db, `SELECT count(*) FROM tasks WHERE reason = 'target_reached'`)).toBeLessThan(8);
    expect(one(db, `SELECT count(*) FROM requests WHERE messages_json LIKE '%20 条%'`)).toBe(0);
  });

  it('cancels requests the target no longer needs instead of waiting for them, and stores them as cancelled', async () => {
    // The second and third requests hang; the others are passed to the simulator.
    let n = 0;
    const hanging: http.ServerResponse[] = [];
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = `${sim.url.replace(/\/v1\/?$/, '')}${req.url}`;
        if (req.method === 'POST' && [1, 2].includes(n++)) {
          hanging.push(res);
          return;
        }
        void fetch(target, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(await r.text());
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/v1`;
    try {
      const db = path.join(tempDir(), 'cancel.db');
      const started = performance.now();
      const summary = await generate({ db, n: 30, baseURL: url, apiKey: 'k', tasksPerRequest: 5, concurrency: 4, timeout: 60, retries: 0 });
      expect(summary.status).toBe('completed');
      expect(performance.now() - started).toBeLessThan(20_000);
      expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(30);
      const cancelled = one(db, `SELECT count(*) FROM requests WHERE status = 'error' AND error LIKE 'cancelled:%'`);
      // The two hanging ones, and on a loaded machine a passed-through one still in flight at the target.
      expect(cancelled).toBeGreaterThanOrEqual(2);
      expect(cancelled).toBeLessThanOrEqual(4);
      expect(one(db, `SELECT count(*) FROM requests WHERE status = 'error'`)).toBe(cancelled);
    } finally {
      for (const r of hanging) r.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }, 60_000);
});

describe('a run plus its evolutions', () => {
  it('generate --evolve-rounds evolves the run’s own accepted tasks in the same call, with lineage', async () => {
    const db = path.join(tempDir(), 'gen-evolve.db');
    const summary = await generate({ db, n: 15, baseURL: sim.url, apiKey: 'k', evolveRounds: 1 });
    expect(summary.status).toBe('completed');
    expect(summary.evolved?.status).toBe('completed');
    const evolvedRun = summary.evolved!.runId!;
    // Every evolution's root is a task of the generate run, in round 1.
    expect(one(db, 'SELECT count(*) FROM evolutions WHERE run_id = ?', evolvedRun)).toBeGreaterThan(0);
    expect(
      one(
        db,
        'SELECT count(*) FROM evolutions e JOIN tasks t ON t.id = e.parent_task_id WHERE e.run_id = ? AND (t.run_id <> ? OR e.round <> 1)',
        evolvedRun,
        summary.runId,
      ),
    ).toBe(0);
  }, 120_000);
});
