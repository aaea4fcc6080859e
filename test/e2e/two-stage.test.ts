/**
 * Two-stage generation end to end: the real CLI in a child process, the real `openai` client over HTTP
 * to the simulator (faults in both stages: 429, 500, truncation, garbage, refusals, placeholders, empty
 * answers), a real SQLite file; kill -9 at random moments, then the same command.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
let slow: Simulator;
beforeAll(async () => {
  const faults = { rateLimit429: 0.04, serverError500: 0.04, truncate: 0.06, garbage: 0.03 };
  const answerFaults = { refusal: 0.08, placeholder: 0.05, empty: 0.03 };
  sim = await startSimulator({ port: 0, seed: 31, faults, answerFaults, nearDuplicateRate: 0.15, junkRate: 0.1 });
  slow = await startSimulator({ port: 0, seed: 32, latencyMs: 150, faults: { truncate: 0.05 }, answerFaults });
});
afterAll(async () => {
  await sim.close();
  await slow.close();
});

const env = (s: Simulator) => ({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: 'test-key-two-stage' });

interface State {
  answeredInRun: number;
  doubleAnswers: number;
  answersOnNonEmptyTasks: number;
  rejectedWithoutReason: number;
  retriedThenAccepted: number;
  integrity: string;
  acceptedTasks: Set<number>;
  answeredTasks: Set<number>;
}

function state(db: string, model: string): State {
  const conn = new Database(db, { readonly: true });
  try {
    const n = (sql: string, ...params: unknown[]): number =>
      conn
        .prepare(sql)
        .pluck()
        .get(...params) as number;
    return {
      answeredInRun: n(
        `SELECT count(*) FROM answers WHERE status = 'accepted' AND model = ? AND run_id = (SELECT max(id) FROM runs)`,
        model,
      ),
      doubleAnswers: n(
        `SELECT count(*) FROM (SELECT task_id FROM answers WHERE status = 'accepted' GROUP BY task_id, model HAVING count(*) > 1)`,
      ),
      answersOnNonEmptyTasks: n(
        `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.output <> '' OR t.status <> 'accepted'`,
      ),
      rejectedWithoutReason: n(`SELECT count(*) FROM answers WHERE status = 'rejected' AND reason IS NULL`),
      retriedThenAccepted: n(`SELECT count(DISTINCT r.task_id) FROM answers r JOIN answers a ON a.task_id = r.task_id AND a.model = r.model
        WHERE r.status = 'rejected' AND a.status = 'accepted' AND a.id > r.id`),
      integrity: conn.pragma('integrity_check', { simple: true }) as string,
      acceptedTasks: new Set(
        conn.prepare(`SELECT id FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().all() as number[],
      ),
      answeredTasks: new Set(
        conn.prepare(`SELECT task_id FROM answers WHERE status = 'accepted' AND model = ?`).pluck().all(model) as number[],
      ),
    };
  } finally {
    conn.close();
  }
}

function answeredNow(db: string): number {
  if (!fs.existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(`SELECT count(*) FROM answers WHERE status = 'accepted'`).pluck().get() as number;
  } catch {
    return 0; // not migrated yet
  } finally {
    conn.close();
  }
}

describe('generate --answer-model', () => {
  it('ends at exactly --n answered tasks through faults in both stages, retrying rejected answers', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'two.db');
    const args = [
      'generate',
      '--n',
      '120',
      '--db',
      db,
      '--answer-model',
      'gpt-4o',
      '--concurrency',
      '6',
      '--retries',
      '2',
      '--log-format',
      'json',
    ];
    const r = await runCli(args, env(sim));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ event: 'summary', status: 'completed', accepted: 120, answers: { model: 'gpt-4o', answered: 120 } });
    const s = state(db, 'gpt-4o');
    expect(s.answeredInRun).toBe(120);
    expect(s.doubleAnswers).toBe(0);
    expect(s.answersOnNonEmptyTasks).toBe(0);
    expect(s.rejectedWithoutReason).toBe(0);
    expect(s.retriedThenAccepted).toBeGreaterThan(0);
    expect(s.integrity).toBe('ok');

    const conn = new Database(db, { readonly: true });
    const reasons = conn.prepare(`SELECT DISTINCT reason FROM answers WHERE status = 'rejected'`).pluck().all() as string[];
    expect(reasons).toEqual(expect.arrayContaining(['refusal', 'truncated', 'placeholder']));
    // Stage 1 asks for instructions only, 30 a request; stage 2 one task per request with a system prompt.
    const stage1 = conn.prepare(`SELECT messages_json FROM requests WHERE answer_task_id IS NULL LIMIT 1`).pluck().get() as string;
    expect(stage1).toMatch(/30 条新指令/);
    expect(stage1).not.toMatch(/\\"output\\"/);
    const answerRequest = JSON.parse(
      conn.prepare(`SELECT messages_json FROM requests WHERE answer_task_id IS NOT NULL LIMIT 1`).pluck().get() as string,
    );
    expect(answerRequest.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
    const orphan = conn
      .prepare(`SELECT count(*) FROM answers a JOIN requests q ON q.id = a.request_id WHERE q.answer_task_id IS NOT a.task_id`)
      .pluck()
      .get();
    expect(orphan).toBe(0);
    conn.close();

    const stats = JSON.parse((await runCli(['stats', '--db', db, '--json'])).stdout);
    expect(stats.answered).toBe(120);
    expect(stats.awaitingAnswer + stats.unanswerable + stats.answered).toBe(s.acceptedTasks.size);
    expect(stats.byStage.answers.requests).toBeGreaterThanOrEqual(120);
    expect(stats.byStage.instructions.requests).toBeGreaterThan(0);
    expect(stats.byStage.answers.costUsd).toBeGreaterThan(0);

    const out = path.join(dir, 'exports');
    const exported = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--valid-ratio', '0']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/\n {2}answers +gpt-4o 120\n/);
    const folder = exported.stdout.trim();
    const lines = fs
      .readFileSync(path.join(folder, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(120);
    for (const line of lines) expect(line.output.length).toBeGreaterThan(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    expect(manifest.answers.models).toEqual({ 'gpt-4o': 120 });
    expect(manifest.answers.templates[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 180_000);

  it('kill -9 at random moments, then the same command: exactly --n, no task answered twice, awaiting tasks first', async () => {
    const db = path.join(tempDir(), 'kill.db');
    const args = [
      'generate',
      '--n',
      '90',
      '--db',
      db,
      '--answer-model',
      'gpt-4o',
      '--concurrency',
      '4',
      '--tasks-per-request',
      '10',
      '--log-format',
      'json',
    ];
    let rng = 4242;
    const random = (): number => {
      rng = (rng * 48271) % 2147483647;
      return rng / 2147483647;
    };
    let answered = new Set<number>();
    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const run = startCli(args, env(slow));
      await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null, 60_000);
      // Every other kill waits for a new answer first, so some land after answers were stored.
      if (i % 2 === 1) await waitFor(() => run.child.exitCode !== null || answeredNow(db) > answered.size, 30_000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, (i % 2 === 1 ? 0 : 300) + random() * 1000));
      run.child.kill('SIGKILL');
      if ((await run.done).signal === 'SIGKILL') kills++;
      if (!fs.existsSync(db)) continue;
      const s = state(db, 'gpt-4o');
      expect(s.integrity).toBe('ok');
      expect(s.doubleAnswers).toBe(0);
      for (const id of answered) expect(s.answeredTasks.has(id)).toBe(true);
      answered = s.answeredTasks;
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(answered.size).toBeGreaterThan(0);
    expect(answered.size).toBeLessThan(90);

    const conn = new Database(db, { readonly: true });
    const lastRequestBefore = conn.prepare('SELECT coalesce(max(id), 0) FROM requests').pluck().get() as number;
    const awaitingBefore = new Set(
      conn
        .prepare(
          `SELECT t.id FROM tasks t WHERE t.status = 'accepted' AND t.source = 'generated' AND t.output = ''
         AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted')
         AND (SELECT count(*) FROM answers a WHERE a.task_id = t.id AND a.status = 'rejected') < 3`,
        )
        .pluck()
        .all() as number[],
    );
    conn.close();
    const final = await runCli(args, env(slow));
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ status: 'completed', accepted: 90, resumed: true });
    const after = state(db, 'gpt-4o');
    expect(after.answeredInRun).toBe(90);
    expect(after.doubleAnswers).toBe(0);
    for (const id of answered) expect(after.answeredTasks.has(id)).toBe(true);
    // Awaiting tasks go first: each one's first answer request starts no later than any new task's.
    const check = new Database(db, { readonly: true });
    const starts = check
      .prepare(
        `SELECT q.answer_task_id AS task, min(a.started_at) AS started FROM requests q JOIN request_attempts a ON a.request_id = q.id
       WHERE q.id > ? AND q.answer_task_id IS NOT NULL GROUP BY q.answer_task_id`,
      )
      .all(lastRequestBefore) as { task: number; started: string }[];
    check.close();
    const old = starts
      .filter((x) => awaitingBefore.has(x.task))
      .map((x) => x.started)
      .sort();
    const fresh = starts
      .filter((x) => !awaitingBefore.has(x.task))
      .map((x) => x.started)
      .sort();
    if (awaitingBefore.size > 0) expect(old.length).toBeGreaterThan(0);
    if (old.length > 0 && fresh.length > 0 && old.length === awaitingBefore.size) expect(old.at(-1)! <= fresh[0]!).toBe(true);
    expect(runsOf(db)).toBe(1);
  }, 300_000);

  it('without --answer-model nothing changes: one stage, no answers', async () => {
    const db = path.join(tempDir(), 'one.db');
    const r = await runCli(['generate', '--n', '20', '--db', db], env(sim));
    expect(r.code, r.stderr).toBe(0);
    const conn = new Database(db, { readonly: true });
    expect(conn.prepare('SELECT count(*) FROM answers').pluck().get()).toBe(0);
    expect(
      conn.prepare(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated' AND output <> ''`).pluck().get(),
    ).toBe(20);
    conn.close();
  }, 60_000);
});

function runsOf(db: string): number {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT count(*) FROM runs').pluck().get() as number;
  } finally {
    conn.close();
  }
}
