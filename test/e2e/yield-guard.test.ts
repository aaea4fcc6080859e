/**
 * The yield guard: the pure rule on its own, then the real CLI against simulators whose model never
 * gives a task (repetition loops until max_tokens; polite chatter). Each run must stop by itself
 * within the guard, exit 1 with the documented one-line message, and have stored every reply.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { YieldGuard, type ReplyOutcome } from '../../pipeline/yield-guard.ts';
import { runCli, type CliResult } from '../cli.ts';
import { tempDir } from '../helpers.ts';

const reply = (o: Partial<ReplyOutcome>): ReplyOutcome => ({ content: '好的', accepted: 0, rejected: {}, ...o });

describe('YieldGuard', () => {
  it('stops after maxEmptyReplies empty replies in a row, quoting the last reply', () => {
    const g = new YieldGuard({ maxEmptyReplies: 3 });
    expect(g.record(reply({ parseProblems: ['no tasks found in reply'] }))).toBeUndefined();
    expect(g.record(reply({ rejected: { not_chinese: 4 } }))).toBeUndefined();
    const stop = g.record(reply({ content: `抱歉${'，'.repeat(200)}\n第二行`, parseProblems: ['no tasks found in reply'] }));
    expect(stop?.guard).toBe('empty-replies');
    expect(stop?.message).toMatch(
      /^3 replies in a row gave no usable task; the last one, "抱歉，+"…: no task could be read from it \(no tasks found in reply\)\. Check the model/,
    );
    expect(stop?.message).not.toContain('\n');
    expect(g.state().stop).toEqual(stop);
  });

  it('an accepted task, a near-duplicate or a target already reached breaks the streak', () => {
    const g = new YieldGuard({ maxEmptyReplies: 2, minAcceptedPerReply: 0 });
    for (const breaker of [{ accepted: 1 }, { rejected: { near_duplicate: 5 } }, { rejected: { target_reached: 2 } }]) {
      expect(g.record(reply({}))).toBeUndefined();
      expect(g.record(reply(breaker))).toBeUndefined();
    }
    expect(g.record(reply({}))).toBeUndefined();
    expect(g.record(reply({}))?.guard).toBe('empty-replies');
  });

  it('the acceptance floor over the window; saturation gets its own message', () => {
    const low = new YieldGuard({ maxEmptyReplies: 0, window: 10, minAcceptedPerReply: 0.5 });
    for (let i = 0; i < 9; i++) expect(low.record(reply({ accepted: i % 3 === 0 ? 1 : 0, rejected: { too_long: 3 } }))).toBeUndefined();
    const stop = low.record(reply({ rejected: { too_long: 3 } }));
    expect(stop?.guard).toBe('acceptance-floor');
    expect(stop?.message).toMatch(
      /3 accepted task\(s\) in the last 10 replies, under the floor of 0.5 per reply; rejected mostly as too_long ×/,
    );

    const sat = new YieldGuard({ maxEmptyReplies: 0, window: 10, similarity: 0.7 });
    for (let i = 0; i < 9; i++) sat.record(reply({ rejected: { near_duplicate: 19, too_long: 1 } }));
    const s = sat.record(reply({ rejected: { near_duplicate: 20 } }));
    expect(s?.guard).toBe('saturation');
    expect(s?.message).toMatch(/^saturated: 191 of the 200 tasks .*Try `mode` topics, new seeds \(`seeds`\) or a `similarity` above 0.7$/);

    // Replies in flight at the stop arrive after it: the window shown with the message is still its own.
    for (let i = 0; i < 5; i++) sat.record(reply({ rejected: { near_duplicate: 20 } }));
    expect(sat.state().window).toEqual({ replies: 10, accepted: 0, tasks: 200, nearDuplicates: 191 });
    expect(sat.state().stop?.message).toMatch(/^saturated: 191 of the 200 tasks in the last 10 replies/);
    expect(sat.state().replies).toBe(15);

    const fine = new YieldGuard({ window: 10 });
    for (let i = 0; i < 100; i++)
      expect(fine.record(reply({ accepted: i % 5 === 0 ? 1 : 0, rejected: { near_duplicate: 1 } }))).toBeUndefined();
  });
});

let degenerate: Simulator;
let chatter: Simulator;
beforeAll(async () => {
  degenerate = await startSimulator({ port: 0, seed: 31, replyMode: 'degenerate' });
  chatter = await startSimulator({ port: 0, seed: 32, replyMode: 'chatter', latencyMs: 20 });
});
afterAll(async () => {
  await degenerate.close();
  await chatter.close();
});

function stored(db: string) {
  const conn = new Database(db, { readonly: true });
  try {
    return {
      status: conn.prepare('SELECT status FROM runs').pluck().get(),
      ok: conn.prepare(`SELECT count(*) FROM requests WHERE status = 'ok'`).pluck().get() as number,
      withReply: conn
        .prepare(`SELECT count(*) FROM requests WHERE status = 'ok' AND length(raw_reply) > 0 AND reply_shape = 'none'`)
        .pluck()
        .get() as number,
      accepted: conn.prepare(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().get() as number,
    };
  } finally {
    conn.close();
  }
}

describe('generate against a model that never gives a task', () => {
  for (const [name, sim, quoted] of [
    ['degenerate (nested brackets until max_tokens)', () => degenerate, /the last one, "(Sure! Here are the tasks:\\n)?[[{`"]/],
    ['chatter (polite text, no task)', () => chatter, /the last one, "[^"]*[好没感明]/],
  ] as const) {
    it(`${name}: stops by itself after --max-empty-replies, exit 1, one-line reason, every reply stored`, async () => {
      const db = path.join(tempDir(), 'guard.db');
      const before = sim().stats().requests;
      const result = await runCli(
        [
          'generate',
          '--n',
          '5',
          '--db',
          db,
          '--concurrency',
          '4',
          '--max-tokens',
          '2048',
          '--max-empty-replies',
          '12',
          '--log-format',
          'json',
        ],
        { OPENAI_BASE_URL: sim().url, OPENAI_API_KEY: 'test-key' },
      );
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      const error = lines.at(-1)!;
      expect(error).toMatch(/^error: generate: run 1 failed: 12 replies in a row gave no usable task; the last one, /);
      expect(error).toMatch(quoted);
      expect(error).toMatch(/Check the model \(--model, OPENAI_BASE_URL\), the prompt template \(--prompt-template\) and --mode$/);
      const summary = JSON.parse(lines.at(-2)!);
      expect(summary).toMatchObject({
        event: 'summary',
        status: 'failed',
        yieldGuard: { emptyStreak: expect.any(Number), stop: { guard: 'empty-replies' } },
      });
      expect(lines.some((l) => l.includes('"event":"stopping"') && l.includes('replies in a row'))).toBe(true);

      const s = stored(db);
      const sent = sim().stats().requests - before - 1; // minus the start-up probe (GET /v1/models)
      expect(s.status).toBe('failed');
      expect(s.ok).toBe(sent); // every reply the server sent is stored
      expect(s.withReply).toBe(sent); // with its raw text, as a reply with no task
      expect(sent).toBeGreaterThanOrEqual(12);
      expect(sent).toBeLessThanOrEqual(12 + 4); // the guard, plus what was in flight when it tripped
      expect(s.accepted).toBe(0);
    }, 60_000);
  }

  it('batch mode applies the same rule to a finished batch', async () => {
    const db = path.join(tempDir(), 'guard-batch.db');
    const env = { OPENAI_BASE_URL: degenerate.url, OPENAI_API_KEY: 'test-key' };
    let result: CliResult | undefined;
    for (let step = 0; step < 8; step++) {
      result = await runCli(['generate', '--batch', '--n', '100', '--db', db, '--tasks-per-request', '10', '--log-format', 'json'], env);
      if (result.code !== 0) break;
    }
    expect(result!.code).toBe(1);
    expect(result!.stderr.trim().split('\n').at(-1)).toMatch(
      /^error: generate: run 1 failed: 20 replies in a row gave no usable task; the last one, /,
    );
    const conn = new Database(db, { readonly: true });
    const lines = conn.prepare('SELECT count(*) FROM batch_requests').pluck().get() as number;
    const replies = conn
      .prepare(`SELECT count(*) FROM requests WHERE status = 'ok' AND batch_id IS NOT NULL AND length(raw_reply) > 0`)
      .pluck()
      .get();
    const batches = conn.prepare('SELECT count(*) FROM batches').pluck().get();
    conn.close();
    expect(lines).toBeGreaterThanOrEqual(20);
    expect(replies).toBe(lines);
    expect(batches).toBe(1); // 24 lines, all empty: no second batch is sent after the first brought nothing
  }, 120_000);
});
