/**
 * `--mode dialogue --answer-model M` (issue 20): conversations built turn by turn — openings and follow-ups
 * by the generation model, every reply by the answer model with the conversation so far as messages —
 * through the library against the simulator (faults included), and kill -9 through the CLI.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset, formatPlan, generate, planGenerate } from '../../pipeline/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { one, query, tempDir } from '../helpers.ts';

let sim: Simulator;
let slow: Simulator;
beforeAll(async () => {
  const faults = { rateLimit429: 0.03, serverError500: 0.03, truncate: 0.05, garbage: 0.04 };
  const answerFaults = { refusal: 0.06, placeholder: 0.04, empty: 0.03 };
  sim = await startSimulator({ port: 0, seed: 2020, faults, answerFaults, nearDuplicateRate: 0.1, junkRate: 0.1 });
  slow = await startSimulator({ port: 0, seed: 2021, latencyMs: 150, faults: { truncate: 0.04 }, answerFaults });
});
afterAll(async () => {
  await sim.close();
  await slow.close();
});

const GENERATOR = 'gpt-3.5-turbo';
const ANSWERER = 'gpt-4o';

/** Who wrote each turn of the accepted conversations: the model of the request stored with the turn. */
function authors(db: string): { role: string; turn: number; model: string | null }[] {
  return query(
    db,
    `SELECT d.role, d.turn, r.model FROM dialogue_turns d JOIN tasks t ON t.id = d.task_id
     LEFT JOIN requests r ON r.id = d.request_id WHERE t.kind = 'dialogue' AND t.status = 'accepted'`,
  );
}

describe('generate --mode dialogue --answer-model', () => {
  it('exactly --n whole conversations; every reply by the answer model, every user turn by the generation model; exported', async () => {
    const db = path.join(tempDir(), 'dialogue-answers.db');
    const summary = await generate({ db, n: 12, baseURL: sim.url, apiKey: 'k', mode: 'dialogue', answerModel: ANSWERER });
    expect(summary.status).toBe('completed');
    expect(summary.accepted).toBe(12);
    expect(one(db, `SELECT count(*) FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`)).toBe(12);
    // Nothing half-built is left over as accepted, and every accepted conversation is whole: 2–4 exchanges, alternating.
    const shapes = query<{ n: number; users: number; last: string }>(
      db,
      `SELECT count(*) AS n, sum(d.role = 'user') AS users,
         (SELECT role FROM dialogue_turns WHERE task_id = t.id ORDER BY turn DESC LIMIT 1) AS last
       FROM tasks t JOIN dialogue_turns d ON d.task_id = t.id WHERE t.kind = 'dialogue' AND t.status = 'accepted' GROUP BY t.id`,
    );
    expect(shapes).toHaveLength(12);
    for (const s of shapes) {
      expect(s.n % 2).toBe(0);
      expect(s.users * 2).toBe(s.n);
      expect(s.n / 2).toBeGreaterThanOrEqual(2);
      expect(s.n / 2).toBeLessThanOrEqual(4);
      expect(s.last).toBe('assistant');
    }
    // Each turn was written by its own request: replies by the answer model, user turns by the generation model.
    const turns = authors(db);
    expect(turns.length).toBe(shapes.reduce((a, s) => a + s.n, 0));
    for (const t of turns) expect(t.model).toBe(t.role === 'assistant' ? ANSWERER : GENERATOR);
    // Each reply's request was sent exactly the conversation before it, as chat messages after the system message.
    const sent = query<{ messages_json: string; turn: number; task_id: number }>(
      db,
      `SELECT r.messages_json, d.turn, d.task_id FROM dialogue_turns d JOIN requests r ON r.id = d.request_id
       JOIN tasks t ON t.id = d.task_id WHERE t.status = 'accepted' AND d.role = 'assistant'`,
    );
    expect(sent).toHaveLength(turns.length / 2);
    for (const s of sent) {
      const messages = (JSON.parse(s.messages_json) as { role: string; content: string }[]).filter((m) => m.role !== 'system');
      const before = query<{ role: string; content: string }>(
        db,
        'SELECT role, content FROM dialogue_turns WHERE task_id = ? AND turn < ? ORDER BY turn',
        s.task_id,
        s.turn,
      );
      expect(messages).toEqual(before);
    }
    expect(one(db, `SELECT count(DISTINCT run_id) FROM requests`)).toBe(1);

    for (const format of ['sharegpt', 'messages'] as const) {
      const result = await exportDataset({ db, out: tempDir(), format, since: 'all' });
      if (result.kind !== 'written') throw new Error('nothing exported');
      const lines = fs.readFileSync(path.join(result.dir, 'train.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(12);
      for (const line of lines) {
        const record = JSON.parse(line) as { conversations?: { from: string }[]; messages?: { role: string }[] };
        const roles = (record.conversations?.map((c) => c.from) ?? record.messages!.map((m) => m.role)).filter((r) => r !== 'system');
        expect(roles.length).toBeGreaterThanOrEqual(4);
        expect(roles.at(-1)).toMatch(/^(gpt|assistant)$/);
      }
    }
  }, 180_000);

  it('a generation model that never writes a usable follow-up stops the run (yield guard) instead of opening drafts without end', async () => {
    // Follow-up prompts get an English reply (rejected not_chinese); everything else goes to the simulator.
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && body.toString('utf8').includes('扮演这位用户')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'x',
              object: 'chat.completion',
              created: 0,
              model: GENERATOR,
              choices: [
                { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Sure! Could you tell me more about that?' } },
              ],
              usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 },
            }),
          );
          return;
        }
        void fetch(`${sim.url.replace(/\/v1\/?$/, '')}${req.url}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(req.method === 'POST' ? { body } : {}),
        }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(await r.text());
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/v1`;
      const db = path.join(tempDir(), 'guard.db');
      const err = await generate({ db, n: 10, baseURL: url, apiKey: 'k', mode: 'dialogue', answerModel: ANSWERER, retries: 0 }).catch(
        (e: Error) => e,
      );
      expect(String(err)).toMatch(/in a row/);
      expect(one(db, `SELECT count(*) FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`)).toBe(0);
      // Stopped after about 20 follow-ups, not after hundreds.
      expect(one(db, `SELECT count(*) FROM requests WHERE messages_json LIKE '%扮演这位用户%'`)).toBeLessThan(40);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }, 120_000);

  it('the dry run plans a reply per exchange and a follow-up per later user turn', async () => {
    const db = path.join(tempDir(), 'plan.db');
    const plan = await planGenerate({ db, n: 100, baseURL: sim.url, mode: 'dialogue', answerModel: ANSWERER, turns: { min: 2, max: 4 } });
    const c = plan.answers!.conversation!;
    expect(c.exchanges).toBe(3);
    // At least one reply per exchange of each wanted conversation, and a follow-up before each later one.
    expect(plan.answers!.requests).toBeGreaterThanOrEqual(300);
    expect(c.followUps.requests).toBeGreaterThanOrEqual(200);
    // Later replies carry the conversation so far: more prompt tokens per reply than a single-turn answer would.
    expect(plan.answers!.promptTokens / plan.answers!.requests).toBeGreaterThan(500);
    expect(formatPlan(plan)).toMatch(/100 conversations replied to by gpt-4o/);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('with --batch too: one batch round per turn, exactly --n whole conversations, every reply by the answer model, none left under way', async () => {
    const db = path.join(tempDir(), 'dialogue-batch.db');
    const statuses: string[] = [];
    for (let step = 0; step < 80 && statuses.at(-1) !== 'completed'; step++) {
      const s = await generate({ db, n: 6, baseURL: sim.url, apiKey: 'k', mode: 'dialogue', answerModel: ANSWERER, batch: true });
      statuses.push(s.status);
    }
    expect(statuses.at(-1)).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`)).toBe(6);
    expect(one(db, 'SELECT count(*) FROM requests WHERE batch_id IS NULL')).toBe(0);
    for (const t of authors(db)) expect(t.model).toBe(t.role === 'assistant' ? ANSWERER : GENERATOR);
    // Openings, replies and follow-ups went in batches of their own; drafts are deleted once finished or given up.
    expect(one(db, 'SELECT count(DISTINCT stage) FROM batches')).toBe(3);
    expect(one(db, 'SELECT count(*) FROM dialogue_drafts')).toBe(0);
  }, 240_000);

  it('refuses an answer template with this combination, with one clear line', async () => {
    const db = path.join(tempDir(), 'refused.db');
    const template = await generate({
      db,
      n: 5,
      baseURL: sim.url,
      apiKey: 'k',
      mode: 'dialogue',
      answerModel: ANSWERER,
      answerTemplate: 'templates/answer_user.txt',
    }).catch((e: Error) => e);
    expect(String(template)).toMatch(/answerTemplate.*answerSystem/);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('kill -9 at random moments, then the same command: exactly --n, half-built conversations carried on, none exported or duplicated', async () => {
    const db = path.join(tempDir(), 'kill.db');
    const args = [
      'generate',
      '--n',
      '20',
      '--db',
      db,
      '--mode',
      'dialogue',
      '--answer-model',
      ANSWERER,
      '--concurrency',
      '4',
      '--log-format',
      'json',
    ];
    const env = { OPENAI_BASE_URL: slow.url, OPENAI_API_KEY: 'test-key-dialogue-answers' };
    let rng = 777;
    const random = (): number => {
      rng = (rng * 48271) % 2147483647;
      return rng / 2147483647;
    };
    let kills = 0;
    let halfBuilt = 0;
    let accepted = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const run = startCli(args, env);
      await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null, 60_000);
      // Killed once it has stored some turns (a random number): mid-conversation, wherever that falls.
      const turns = 5 + Math.floor(random() * 30);
      const stored = (): number => (fs.existsSync(db) ? one(db, 'SELECT count(*) FROM requests WHERE status = ?', 'ok') : 0);
      const from = stored();
      await waitFor(() => stored() >= from + turns || run.child.exitCode !== null, 90_000, 100);
      run.child.kill('SIGKILL');
      if ((await run.done).signal === 'SIGKILL') kills++;
      if (!fs.existsSync(db)) continue;
      const conn = new Database(db, { readonly: true });
      try {
        expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
        halfBuilt = Math.max(
          halfBuilt,
          conn
            .prepare('SELECT count(*) FROM dialogue_drafts d WHERE (SELECT count(*) FROM dialogue_draft_turns WHERE draft_id = d.id) > 1')
            .pluck()
            .get() as number,
        );
        const now = new Set(conn.prepare(`SELECT id FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`).pluck().all() as number[]);
        for (const id of accepted) expect(now.has(id)).toBe(true);
        accepted = now;
      } finally {
        conn.close();
      }
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(halfBuilt).toBeGreaterThan(0);
    expect(accepted.size).toBeLessThan(20);
    // Drafts the kills left: each one's turns are carried on, not started again.
    const before = query<{ id: number; turns: number; first: string }>(
      db,
      `SELECT d.id, (SELECT count(*) FROM dialogue_draft_turns WHERE draft_id = d.id) AS turns,
         (SELECT content FROM dialogue_draft_turns WHERE draft_id = d.id AND turn = 0) AS first FROM dialogue_drafts d`,
    );
    const lastRequestBefore = one(db, 'SELECT coalesce(max(id), 0) FROM requests');

    const final = await runCli(args, env);
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ status: 'completed', accepted: 20, resumed: true });
    expect(one(db, `SELECT count(*) FROM tasks WHERE kind = 'dialogue' AND status = 'accepted'`)).toBe(20);
    for (const id of accepted) expect(one(db, 'SELECT count(*) FROM tasks WHERE id = ? AND status = ?', id, 'accepted')).toBe(1);
    // No conversation twice: accepted keys are distinct, and every turn after an opening was written by a
    // request of its own (a draft carried on twice would share them), each request's turn stored once.
    expect(
      one(db, `SELECT count(*) FROM (SELECT dedup_key FROM tasks WHERE status = 'accepted' GROUP BY dedup_key HAVING count(*) > 1)`),
    ).toBe(0);
    expect(
      one(db, 'SELECT count(*) FROM (SELECT request_id FROM dialogue_turns WHERE turn > 0 GROUP BY request_id HAVING count(*) > 1)'),
    ).toBe(0);
    expect(one(db, 'SELECT count(*) FROM dialogue_turns WHERE turn > 0 AND request_id IS NULL')).toBe(0);
    // A draft left by a kill went on from its stored turns: the first request of the resumed run for it
    // showed those turns (the turn that request wrote sits right after them).
    const carried = before.filter((d) => d.turns > 1);
    let resumedDrafts = 0;
    for (const d of carried) {
      const row = query<{ turn: number; request_id: number | null }>(
        db,
        `SELECT d.turn, d.request_id FROM dialogue_turns d JOIN tasks t ON t.id = d.task_id
         WHERE t.kind = 'dialogue' AND t.instruction = ? AND d.turn = ?`,
        d.first,
        d.turns,
      )[0];
      if (row?.request_id != null && row.request_id > lastRequestBefore) resumedDrafts++;
    }
    if (carried.length > 0) expect(resumedDrafts).toBeGreaterThan(0);
    // Every reply of every accepted conversation is the answer model's, before and after the kills.
    for (const t of authors(db)) expect(t.model).toBe(t.role === 'assistant' ? ANSWERER : GENERATOR);

    const out = tempDir();
    const r = await runCli(['export', '--format', 'sharegpt', '--db', db, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = fs.readFileSync(path.join(r.stdout.trim(), 'train.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20);
    // The export holds the accepted conversations whole, never a draft's turns.
    const exported = lines.map((l) => (JSON.parse(l) as { conversations: { value: string }[] }).conversations.length).sort();
    const whole = query<{ n: number }>(
      db,
      `SELECT count(*) AS n FROM dialogue_turns d JOIN tasks t ON t.id = d.task_id WHERE t.kind = 'dialogue' AND t.status = 'accepted' GROUP BY t.id`,
    )
      .map((r) => r.n)
      .sort();
    expect(exported).toEqual(whole);
  }, 300_000);
});
