/**
 * Unattended runs: kill -9 at random moments then resume, one writer per DB, clean shutdown on signals.
 * The real CLI in a child process, the simulator over HTTP, a real SQLite file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
let hanging: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 21, latencyMs: 400 });
  hanging = await startSimulator({ port: 0, seed: 22, faults: { hang: 1 } });
});
afterAll(async () => {
  await sim.close();
  await hanging.close();
});

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key' });

function acceptedIds(db: string): { ids: Set<number>; runs: number; integrity: string; dupKeys: number } {
  const conn = new Database(db, { readonly: true });
  try {
    const ids = new Set(conn.prepare(`SELECT id FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().all() as number[]);
    const runs = conn.prepare('SELECT count(*) FROM runs').pluck().get() as number;
    const integrity = conn.pragma('integrity_check', { simple: true }) as string;
    const dupKeys = conn
      .prepare(`SELECT count(*) FROM (SELECT dedup_key FROM tasks WHERE status = 'accepted' GROUP BY dedup_key HAVING count(*) > 1)`)
      .pluck()
      .get() as number;
    return { ids, runs, integrity, dupKeys };
  } finally {
    conn.close();
  }
}

describe('kill -9 and resume', () => {
  it('loses nothing, duplicates nothing, and finishes the interrupted run', async () => {
    const db = path.join(tempDir(), 'kill.db');
    const args = ['generate', '--n', '400', '--db', db, '--concurrency', '2', '--tasks-per-request', '10', '--log-format', 'json'];
    let seen = new Set<number>();
    let rng = 12345;
    const random = () => (rng = (rng * 48271) % 2147483647) / 2147483647;
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      const run = startCli(args, env());
      // Some kills land during start-up, most at a random moment of the run itself.
      if (i % 4 === 0) await new Promise((r) => setTimeout(r, random() * 1000));
      else {
        await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null);
        // On a loaded machine the first reply can take seconds: let this run store something first.
        const before = seen.size;
        await waitFor(() => run.child.exitCode !== null || acceptedIds(db).ids.size > before, 20_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, random() * 800));
      }
      run.child.kill('SIGKILL');
      const result = await run.done;
      if (result.signal === 'SIGKILL') kills++;
      if (!fs.existsSync(db)) continue;
      const state = acceptedIds(db);
      expect(state.integrity).toBe('ok');
      expect(state.dupKeys).toBe(0);
      for (const id of seen) expect(state.ids.has(id)).toBe(true);
      expect(state.runs).toBe(1);
      seen = state.ids;
    }
    expect(kills).toBeGreaterThanOrEqual(7);
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThan(400);

    const final = await runCli(args, env());
    expect(final.code).toBe(0);
    expect(final.stderr).toMatch(/"event":"warning".*stale lock/);
    const state = acceptedIds(db);
    expect(state.ids.size).toBe(400);
    for (const id of seen) expect(state.ids.has(id)).toBe(true);
    expect(state.runs).toBe(1);
    expect(state.integrity).toBe('ok');
    expect(state.dupKeys).toBe(0);
    const summary = JSON.parse(final.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ event: 'summary', status: 'completed', accepted: 400, resumed: true });

    // A completed run is not resumed: the next invocation is a new run.
    const again = await runCli(['generate', '--n', '5', '--db', db, '--log-format', 'json'], env());
    expect(again.code).toBe(0);
    expect(acceptedIds(db).runs).toBe(2);
  }, 300_000);
});

describe('kill -9 and restart at once', () => {
  it('the same command started right after a kill -9 always gets the lock (never 75), and the run ends on its target', async () => {
    const db = path.join(tempDir(), 'restart.db');
    const args = ['generate', '--n', '80', '--db', db, '--concurrency', '2', '--tasks-per-request', '10', '--log-format', 'json'];
    const results: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>[] = [];
    let run = startCli(args, env());
    for (let i = 0; i < 6; i++) {
      await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null);
      await new Promise((r) => setTimeout(r, 100 + i * 150));
      run.child.kill('SIGKILL');
      results.push(run.done);
      // At once: not waiting for the killed process to be reaped, as a supervisor's restart does.
      run = startCli(args, env());
    }
    const last = await run.done;
    const killed = await Promise.all(results);
    for (const r of [...killed, last])
      expect(
        r.code,
        r.stderr.split('\n').find((l) => l.includes('error')),
      ).not.toBe(75);
    expect(killed.filter((r) => r.signal === 'SIGKILL').length).toBeGreaterThanOrEqual(5);
    expect(last.code).toBe(0);
    const state = acceptedIds(db);
    expect(state.ids.size).toBe(80);
    expect(state.runs).toBe(1);
    expect(state.integrity).toBe('ok');
    expect(state.dupKeys).toBe(0);
  }, 180_000);
});

describe('one run at a time, clean shutdown', () => {
  it('a second generate exits 75 naming the holder; stats still works; SIGINT stops the first cleanly', async () => {
    const db = path.join(tempDir(), 'lock.db');
    const first = startCli(['generate', '--n', '100000', '--db', db, '--concurrency', '2', '--log-format', 'json'], env());
    await waitFor(() => first.output().stderr.includes('"event":"start"'));
    await waitFor(() => fs.existsSync(db) && acceptedIds(db).ids.size > 0);

    const second = await runCli(['generate', '--n', '10', '--db', db], env());
    expect(second.code).toBe(75);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toMatch(/started \d{4}-\d\d-\d\dT/);

    const stats = await runCli(['stats', '--db', db, '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).accepted).toBeGreaterThan(0);

    first.child.kill('SIGINT');
    const result = await first.done;
    expect(result.code).toBe(130);
    const lines = result.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => l.event === 'stopping')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: 'summary', status: 'interrupted', database: db });
    expect(fs.existsSync(`${db}.lock.json`)).toBe(false); // released: the holder file goes with it
    const conn = new Database(db, { readonly: true });
    expect(conn.prepare('SELECT status FROM runs').pluck().get()).toBe('interrupted');
    conn.close();
  }, 60_000);

  it('SIGTERM exits 143; a second Ctrl-C during the drain exits at once', async () => {
    const dir = tempDir();
    const term = startCli(['generate', '--n', '100000', '--db', path.join(dir, 'term.db'), '--log-format', 'json'], env());
    await waitFor(() => term.output().stderr.includes('"event":"start"'));
    term.child.kill('SIGTERM');
    expect((await term.done).code).toBe(143);

    const db = path.join(dir, 'hang.db');
    const stuck = startCli(['generate', '--n', '50', '--db', db, '--drain-timeout', '60', '--timeout', '120', '--log-format', 'json'], {
      OPENAI_BASE_URL: hanging.url,
      OPENAI_API_KEY: 'test-key',
    });
    await waitFor(() => stuck.output().stderr.includes('"event":"start"'));
    stuck.child.kill('SIGINT');
    await waitFor(() => stuck.output().stderr.includes('"event":"stopping"'));
    const t = Date.now();
    stuck.child.kill('SIGINT');
    const result = await stuck.done;
    expect(result.code).toBe(130);
    expect(Date.now() - t).toBeLessThan(5000);
    const conn = new Database(db, { readonly: true });
    expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    conn.close();
  }, 60_000);

  it('a drain deadline cancels hanging requests and still records the run as interrupted', async () => {
    const db = path.join(tempDir(), 'drain.db');
    const run = startCli(['generate', '--n', '50', '--db', db, '--drain-timeout', '1', '--log-format', 'json'], {
      OPENAI_BASE_URL: hanging.url,
      OPENAI_API_KEY: 'test-key',
    });
    await waitFor(() => run.output().stderr.includes('"event":"start"'));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    const conn = new Database(db, { readonly: true });
    expect(conn.prepare('SELECT status FROM runs').pluck().get()).toBe('interrupted');
    expect(conn.prepare(`SELECT count(*) FROM requests WHERE error LIKE 'aborted%'`).pluck().get()).toBeGreaterThan(0);
    conn.close();
  }, 30_000);
});
