/**
 * The online client end to end under faults and caps: the real CLI in a child process, the real
 * `openai` client over HTTP to the simulator, a real SQLite file.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarity } from '../../pipeline/dedup/similarity.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { summaryOf, tempDir } from '../helpers.ts';

let faulty: Simulator;
let clean: Simulator;
beforeAll(async () => {
  faulty = await startSimulator({
    port: 0,
    seed: 31,
    latencyMs: 20,
    faults: { rateLimit429: 0.05, serverError500: 0.05, hang: 0.02, truncate: 0.03 },
  });
  clean = await startSimulator({ port: 0, seed: 32 });
});
afterAll(async () => {
  await faulty.close();
  await clean.close();
});

describe('faults on: 5% 429, 5% 500, 2% hangs, 3% truncated', () => {
  it('still reaches exactly the target, with no duplicate, and every fault shows up as one retried attempt', async () => {
    const db = path.join(tempDir(), 'faults.db');
    const before = faulty.stats().outcomes;
    const r = await runCli(
      [
        'generate',
        '--n',
        '400',
        '--db',
        db,
        '--tasks-per-request',
        '5',
        '--concurrency',
        '16',
        // Long enough that a slow answer on a loaded machine is not taken for a hang (the timeout bounds the whole body).
        '--timeout',
        '8',
        '--retries',
        '6',
        '--log-format',
        'json',
      ],
      { OPENAI_BASE_URL: faulty.url, OPENAI_API_KEY: 'test-key' },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const after = faulty.stats().outcomes;
    const served = (k: keyof typeof after): number => after[k] - before[k];
    expect(served('rate_limited') + served('server_error')).toBeGreaterThan(0);

    const conn = new Database(db, { readonly: true });
    try {
      const accepted = conn.prepare(`SELECT dedup_key FROM tasks WHERE status = 'accepted' ORDER BY id`).pluck().all() as string[];
      const generated = conn.prepare(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().get();
      expect(generated).toBe(400);
      expect(new Set(accepted).size).toBe(accepted.length);
      for (let i = 0; i < accepted.length; i++) {
        for (let j = 0; j < i; j++) expect(similarity(accepted[i]!, accepted[j]!)).toBeLessThan(0.7);
      }
      // Every fault the server dealt is one attempt on our side, classified, and then retried.
      const attempts = Object.fromEntries(
        (
          conn.prepare(`SELECT coalesce(error_kind, 'ok') AS k, count(*) AS n FROM request_attempts GROUP BY k`).all() as {
            k: string;
            n: number;
          }[]
        ).map((x) => [x.k, x.n]),
      );
      expect(attempts.rate_limit ?? 0).toBe(served('rate_limited'));
      expect(attempts.server ?? 0).toBe(served('server_error'));
      // A hang is a timeout, unless the run reached its target first and cancelled the hung request.
      expect(attempts.timeout ?? 0).toBeLessThanOrEqual(served('hang'));
      expect((attempts.timeout ?? 0) + (attempts.aborted ?? 0)).toBeGreaterThanOrEqual(served('hang'));
      const requests = conn
        .prepare(`SELECT count(*) AS n, coalesce(sum(status = 'ok'), 0) AS ok, coalesce(sum(attempts), 0) AS attempts FROM requests`)
        .get() as { n: number; ok: number; attempts: number };
      expect(requests.attempts).toBe(Object.values(attempts).reduce((a, b) => a + b, 0));
      expect(attempts.ok).toBe(requests.ok);
      // Cut-off replies were stored as such and their whole items kept.
      expect(conn.prepare(`SELECT count(*) FROM requests WHERE finish_reason = 'length'`).pluck().get()).toBeGreaterThanOrEqual(
        served('truncated') > 0 ? 1 : 0,
      );
      // The retried requests record the waits they took.
      if (served('rate_limited') + served('server_error') > 0) {
        expect(conn.prepare(`SELECT count(*) FROM request_attempts WHERE attempt > 1 AND wait_ms > 0`).pluck().get()).toBeGreaterThan(0);
      }
    } finally {
      conn.close();
    }
    expect(summaryOf(r.stderr)).toMatchObject({ status: 'completed', accepted: 400 });

    const stats = await runCli(['stats', '--db', db, '--json']);
    const s = JSON.parse(stats.stdout) as { spending: { attempts: number; attemptsByOutcome: Record<string, number>; costUsd: number } };
    expect(s.spending.attemptsByOutcome.ok).toBeGreaterThan(0);
    expect(s.spending.costUsd).toBeGreaterThan(0); // gpt-3.5-turbo has a list price
  }, 90_000);
});

describe('budget caps', () => {
  const env = () => ({ OPENAI_BASE_URL: clean.url, OPENAI_API_KEY: 'test-key' });

  it('--max-requests stops the run cleanly with exit code 3, counting the whole run across invocations', async () => {
    const db = path.join(tempDir(), 'requests.db');
    const args = ['generate', '--n', '5000', '--db', db, '--concurrency', '4', '--tasks-per-request', '5', '--log-format', 'json'];
    const first = await runCli([...args, '--max-requests', '6'], env());
    expect(first.code).toBe(3);
    expect(first.stderr).toMatch(/reached --max-requests 6/);
    expect(summaryOf(first.stderr)).toMatchObject({ status: 'interrupted', stopReason: 'max-requests' });

    const again = await runCli([...args, '--max-requests', '9'], env());
    expect(again.code).toBe(3);
    const conn = new Database(db, { readonly: true });
    try {
      expect(conn.prepare('SELECT count(*) FROM requests').pluck().get()).toBe(9);
      expect(conn.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(1);
      expect(conn.prepare('SELECT status FROM runs').pluck().get()).toBe('interrupted');
    } finally {
      conn.close();
    }
  }, 60_000);

  it('--max-cost never lets the run spend past the cap, even with requests in flight', async () => {
    const db = path.join(tempDir(), 'cost.db');
    const r = await runCli(
      [
        'generate',
        '--n',
        '5000',
        '--db',
        db,
        '--concurrency',
        '8',
        '--tasks-per-request',
        '5',
        '--max-tokens',
        '1500',
        '--price',
        '2,8',
        '--max-cost',
        '0.1',
        '--log-format',
        'json',
      ],
      env(),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/reached --max-cost \$0\.1/);
    const conn = new Database(db, { readonly: true });
    try {
      const spent = conn.prepare('SELECT sum(cost_usd) FROM requests').pluck().get() as number;
      const n = conn.prepare('SELECT count(*) FROM requests').pluck().get() as number;
      expect(spent).toBeLessThanOrEqual(0.1);
      // Worst case per request here is about (1300 × $2 + 1500 × $8) / 1M ≈ $0.015; it stops within a few of those.
      expect(spent).toBeGreaterThan(0.1 - 8 * 0.016);
      expect(n).toBeGreaterThanOrEqual(3);
      // The price is the one given: cost = tokens × price.
      const tokens = conn.prepare('SELECT sum(prompt_tokens) AS p, sum(completion_tokens) AS c FROM requests').get() as {
        p: number;
        c: number;
      };
      expect(spent).toBeCloseTo((tokens.p * 2 + tokens.c * 8) / 1e6, 9);
    } finally {
      conn.close();
    }
    expect(summaryOf(r.stderr)).toMatchObject({ stopReason: 'max-cost' });
  }, 60_000);

  it('--max-cost for a model with no known price is refused before anything is sent', async () => {
    const db = path.join(tempDir(), 'noprice.db');
    const before = clean.stats().requests;
    const r = await runCli(['generate', '--n', '10', '--db', db, '--model', 'qwen-max', '--max-cost', '1'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-cost: needs the price of qwen-max.*--price/);
    expect(clean.stats().requests).toBe(before);
  });
});
