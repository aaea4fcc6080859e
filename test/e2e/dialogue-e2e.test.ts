/**
 * Dialogue mode end to end: the real CLI in a child process, the simulator over HTTP, a real SQLite file.
 * kill -9 at random moments, then resume to the exact count; export in every conversation format, read
 * back by the independent checker; bad dialogue flags.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { checkLine } from '../dialogue-checker.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 31, latencyMs: 300 });
});
afterAll(async () => {
  await sim.close();
});
const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key' });

function state(db: string) {
  const conn = new Database(db, { readonly: true });
  try {
    const ids = new Set(conn.prepare(`SELECT id FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`).pluck().all() as number[]);
    // A conversation is stored with all its turns or not at all.
    const badTurns = conn
      .prepare(
        `SELECT count(*) FROM tasks t WHERE t.kind = 'dialogue' AND t.status = 'accepted'
       AND (SELECT count(*) FROM dialogue_turns d WHERE d.task_id = t.id) NOT BETWEEN 4 AND 8`,
      )
      .pluck()
      .get() as number;
    const dupKeys = conn
      .prepare(`SELECT count(*) FROM (SELECT dedup_key FROM tasks WHERE status = 'accepted' GROUP BY dedup_key HAVING count(*) > 1)`)
      .pluck()
      .get() as number;
    const runs = conn.prepare('SELECT count(*) FROM runs').pluck().get() as number;
    return { ids, badTurns, dupKeys, runs, integrity: conn.pragma('integrity_check', { simple: true }) as string };
  } finally {
    conn.close();
  }
}

function acceptedNow(db: string): number {
  if (!fs.existsSync(db)) return 0;
  try {
    return state(db).ids.size;
  } catch {
    return 0; // not migrated yet
  }
}

/** Conversations the killed run is asked for: more than six short kills can finish, few enough to end soon. */
const N = 60;

describe('generate --mode dialogue', () => {
  it('kill -9 and resume: loses nothing, duplicates nothing, ends at exactly --n conversations; exports check out', async () => {
    const db = path.join(tempDir(), 'dialogue.db');
    const args = [
      'generate',
      '--mode',
      'dialogue',
      '--turns',
      '2-4',
      '--n',
      String(N),
      '--db',
      db,
      '--concurrency',
      '1',
      '--log-format',
      'json',
    ];
    let seen = new Set<number>();
    let rng = 777;
    const random = () => (rng = (rng * 48271) % 2147483647) / 2147483647;
    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const run = startCli(args, env());
      await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null, 60_000);
      // On a loaded machine the first reply can take seconds: every other kill waits for new replies, then
      // lands at a random moment; the others land at a random moment after start.
      if (i % 2 === 1) await waitFor(() => run.child.exitCode !== null || acceptedNow(db) > seen.size, 60_000);
      await new Promise((r) => setTimeout(r, random() * 1000));
      run.child.kill('SIGKILL');
      if ((await run.done).signal === 'SIGKILL') kills++;
      const s = state(db);
      expect(s).toMatchObject({ integrity: 'ok', dupKeys: 0, badTurns: 0, runs: 1 });
      for (const id of seen) expect(s.ids.has(id)).toBe(true);
      seen = s.ids;
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThan(N);

    const final = await runCli(args, env());
    expect(final.code).toBe(0);
    const summary = JSON.parse(final.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ event: 'summary', status: 'completed', accepted: N, resumed: true });
    const s = state(db);
    expect(s.ids.size).toBe(N);
    for (const id of seen) expect(s.ids.has(id)).toBe(true);
    expect(s).toMatchObject({ integrity: 'ok', dupKeys: 0, badTurns: 0, runs: 1 });

    const stats = await runCli(['stats', '--db', db, '--json']);
    const dialogues = JSON.parse(stats.stdout).dialogues;
    expect(dialogues.accepted).toBe(N);
    expect(Object.keys(dialogues.exchangesHistogram).every((k) => ['2', '3', '4'].includes(k))).toBe(true);

    for (const [format, system] of [
      ['sharegpt', '你是一个耐心的中文助手。'],
      ['messages', null],
      ['alpaca', null],
    ] as const) {
      const out = tempDir();
      const r = await runCli(['export', '--format', format, '--db', db, '--out', out, ...(system ? ['--system', system] : [])]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`dialogues +${N} conversations`));
      const lines = fs.readFileSync(path.join(r.stdout.trim(), 'train.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(N);
      const checked = lines.map((l) => checkLine(format, l, system));
      expect(checked.flatMap((c) => c.problems)).toEqual([]);
      expect(checked.every((c) => c.exchanges >= 2 && c.exchanges <= 4)).toBe(true);
    }
  }, 240_000);

  it('bad dialogue flags exit 2 with one line', async () => {
    const db = path.join(tempDir(), 'flags.db');
    for (const [args, message] of [
      [['--mode', 'dialogue', '--turns', '5-2'], /--turns.*expected MIN-MAX/],
      [['--turns', '2-3'], /--turns: is for the dialogue mode/],
    ] as const) {
      const r = await runCli(['generate', '--n', '5', '--db', db, ...args], env());
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(db)).toBe(false);
  }, 60_000);
});
