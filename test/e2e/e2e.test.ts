/**
 * End to end: the real CLI in a child process, the real `openai` client over HTTP to the simulator on
 * 127.0.0.1, a real SQLite file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarity } from '../../pipeline/dedup/similarity.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

const SECRET = 'test-key-e2e-secret-0123456789';
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 11, nearDuplicateRate: 0.15, junkRate: 0.15 });
});
afterAll(async () => {
  await sim.close();
});

describe('generate against the simulator', () => {
  it('accepts exactly N tasks, none near-duplicate, junk rejected with reasons, no key in the DB', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'e2e.db');
    const r = await runCli(['generate', '--n', '200', '--db', db, '--concurrency', '4'], {
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: SECRET,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/"event":"summary".*"status":"completed".*"accepted":200/);

    const conn = new Database(db, { readonly: true });
    const accepted = conn.prepare(`SELECT dedup_key AS key, source FROM tasks WHERE status = 'accepted' ORDER BY id`).all() as {
      key: string;
      source: string;
    }[];
    expect(accepted.filter((t) => t.source === 'generated')).toHaveLength(200);
    // Brute force over every accepted pair involving a generated task.
    for (let i = 0; i < accepted.length; i++) {
      if (accepted[i]!.source !== 'generated') continue;
      for (let j = 0; j < i; j++) expect(similarity(accepted[i]!.key, accepted[j]!.key)).toBeLessThan(0.7);
    }
    const reasons = Object.fromEntries(
      (
        conn.prepare(`SELECT reason, count(*) AS n FROM tasks WHERE status = 'rejected' GROUP BY reason`).all() as {
          reason: string;
          n: number;
        }[]
      ).map((x) => [x.reason, x.n]),
    );
    expect(reasons.near_duplicate).toBeGreaterThan(0);
    const filterReasons = Object.keys(reasons).filter((k) => k !== 'near_duplicate' && k !== 'target_reached');
    expect(filterReasons.length).toBeGreaterThanOrEqual(3);
    const nearest = conn
      .prepare(`SELECT count(*) FROM tasks WHERE reason = 'near_duplicate' AND (nearest_task_id IS NULL OR similarity < 0.7)`)
      .pluck()
      .get();
    expect(nearest).toBe(0);
    const requests = conn.prepare('SELECT count(*) AS n, count(DISTINCT template_id) AS templates FROM requests').get() as {
      n: number;
      templates: number;
    };
    expect(requests.n).toBeGreaterThan(0);
    expect(requests.templates).toBe(1);
    expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    conn.close();

    for (const file of fs.readdirSync(dir)) {
      expect(fs.readFileSync(path.join(dir, file)).includes(SECRET), file).toBe(false);
    }

    const stats = await runCli(['stats', '--db', db, '--json']);
    expect(stats.code).toBe(0);
    const s = JSON.parse(stats.stdout);
    expect(s.accepted).toBe(200);
    expect(s.rejected).toBeGreaterThan(0);
    expect(s.requests.total).toBe(requests.n);

    const views = await runCli(['stats', '--db', db, '--json', '--runs', '--days']);
    const v = JSON.parse(views.stdout);
    expect(v.runsView).toHaveLength(1);
    expect(v.runsView[0]).toMatchObject({ status: 'completed', target: 200, accepted: 200, requests: requests.n });
    expect(v.daysView[0].accepted).toBe(200);
    const text = await runCli(['stats', '--db', db, '--runs']);
    expect(text.stdout).toMatch(/completed\s+\S+\s+200\/200/);
  }, 120_000);

  it('takes a bare count (npm run generate --n 50 passes "50") and the topics mode', async () => {
    const db = path.join(tempDir(), 'bare.db');
    const r = await runCli(['generate', '30', '--db', db, '--mode', 'topics'], { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: SECRET });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/"event":"summary".*"accepted":30/);
  }, 60_000);
});

describe('bad usage', () => {
  const env = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'x' };
  it.each([
    [['generate', '--n', '0'], /--n.*positive integer/],
    [['generate', '--n', 'abc'], /--n.*positive integer/],
    [['generate', '--n', '5', '--concurrency', '-1'], /concurrency/],
    [['generate', '--n', '5', '--similarity', '2'], /similarity.*0\.5 to 1/],
    [['generate', '--n', '5', '--bogus'], /unknown option '--bogus'/],
    [['generate', '--n', '5', '--mode', 'poems'], /self-instruct, topics/],
    [['generate'], /how many tasks/],
    // What npm passes for `npm run generate --n 5 --db x.db`: the values without their flags.
    [['generate', '5', 'x.db'], /too many arguments.*npm run <command> -- --flag value/],
  ])('%j exits 2 with one line', async (args, message) => {
    const r = await runCli(args as string[], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a malformed seed file stops before any request, naming file and line, writing nothing', async () => {
    const dir = tempDir();
    const seeds = writeTemp(dir, 'seeds.jsonl', '{"instruction":"介绍长城","output":"长城……"}\n{"instruction": oops}\n');
    const db = path.join(dir, 'never.db');
    const before = sim.stats().requests;
    const r = await runCli(['generate', '--n', '5', '--db', db, '--seeds', seeds], { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: SECRET });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/seeds\.jsonl:2: not valid JSON/);
    expect(fs.existsSync(db)).toBe(false);
    expect(sim.stats().requests).toBe(before);
  });

  it('a missing API key for OpenAI says how to set it or run the demo', async () => {
    const r = await runCli(['generate', '--n', '5', '--db', path.join(tempDir(), 'k.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/OPENAI_API_KEY.*zh-self-instruct demo/);
  });
});
