/**
 * Batch mode end to end: one step per invocation, as cron would run it (the real CLI where its output or a
 * kill is tested, the library's generate() in process for the steps between), the real `openai` client's
 * files and batches calls, the simulator's Batch API, a real SQLite file; kills between steps.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBatch, type BatchOptions } from '../../pipeline/commands/generate-batch.ts';
import { generate } from '../../pipeline/index.ts';
import { DEFAULT_RULE_OPTIONS as DEFAULT_FILTER_OPTIONS } from '../../pipeline/rules/index.ts';
import { GenerationFailed } from '../../pipeline/runtime/progress.ts';
import { createBatchApi } from '../../pipeline/llm/batch-api.ts';
import { DEFAULT_TEMPLATE_FILES, loadTemplate } from '../../pipeline/prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../../pipeline/seeds.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { Store } from '../../pipeline/store/store.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { query, summaryOf, tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 41, batch: { stepPolls: 1 } });
});
afterAll(async () => {
  await sim.close();
});

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key' });
const args = (db: string, n = 120) => [
  'generate',
  '--batch',
  '--n',
  String(n),
  '--db',
  db,
  '--tasks-per-request',
  '10',
  '--log-format',
  'json',
];

interface DbState {
  batches: {
    status: string;
    providerStatus: string | null;
    inputFileId: string | null;
    providerBatchId: string | null;
    requestCount: number;
  }[];
  lines: number;
  answered: number;
  batchRequests: number;
  accepted: number;
  dupKeys: number;
}

function state(db: string): DbState {
  const conn = new Database(db, { readonly: true });
  try {
    return {
      batches: conn
        .prepare(
          `SELECT status, provider_status AS providerStatus, input_file_id AS inputFileId, provider_batch_id AS providerBatchId, request_count AS requestCount FROM batches ORDER BY id`,
        )
        .all() as DbState['batches'],
      lines: conn.prepare('SELECT count(*) FROM batch_requests').pluck().get() as number,
      answered: conn.prepare('SELECT count(*) FROM batch_requests WHERE request_id IS NOT NULL').pluck().get() as number,
      batchRequests: conn.prepare('SELECT count(*) FROM requests WHERE batch_id IS NOT NULL').pluck().get() as number,
      accepted: conn.prepare(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().get() as number,
      dupKeys: conn
        .prepare(`SELECT count(*) FROM (SELECT dedup_key FROM tasks WHERE status = 'accepted' GROUP BY dedup_key HAVING count(*) > 1)`)
        .pluck()
        .get() as number,
    };
  } finally {
    conn.close();
  }
}

/** One `generate --batch` step in process: what `args(db, n)` asks of the CLI. */
const step = (db: string, n = 120) => generate({ db, n, batch: true, tasksPerRequest: 10, env: env() });

/** Runs batch steps until the run completes (a failed step throws). */
async function untilDone(db: string, n = 120, limit = 8): Promise<void> {
  for (let i = 0; i < limit; i++) if ((await step(db, n)).status === 'completed') return;
  throw new Error('the run did not complete');
}

describe('generate --batch across invocations', () => {
  it('submits, waits, collects through the same filters and dedup, and stops at exactly the target', async () => {
    const db = path.join(tempDir(), 'batch.db');
    const batchesBefore = sim.batches.allBatches().length;
    const first = await runCli(args(db), env());
    expect(first.code).toBe(0);
    const s1 = summaryOf(first.stderr);
    expect(s1).toMatchObject({ status: 'waiting', accepted: 0 });
    expect((s1.openBatch as { providerBatchId: string }).providerBatchId).toMatch(/^batch_/);
    const after1 = state(db);
    expect(after1.batches).toHaveLength(1);
    expect(after1.batches[0]).toMatchObject({ status: 'submitted', providerStatus: 'in_progress' });
    // The simulator validated the uploaded JSONL (custom_id, method, url, body) or the batch would have failed.
    const provider = sim.batches.batch(after1.batches[0]!.providerBatchId!)!;
    expect(provider.metadata).toMatchObject({ zhsi_batch: '1' });
    expect(provider.request_counts.total).toBe(after1.lines);

    await untilDone(db);
    const done = state(db);
    expect(done.accepted).toBe(120);
    expect(done.dupKeys).toBe(0);
    expect(done.answered).toBe(done.lines);
    expect(done.batchRequests).toBe(done.lines);
    expect(done.batches.every((b) => b.status === 'ingested')).toBe(true);
    expect(sim.batches.allBatches().length - batchesBefore).toBe(done.batches.length);

    const conn = new Database(db, { readonly: true });
    try {
      // Each result is tied to the line it answers: same prompt, batch price (half of gpt-3.5-turbo's).
      const rows = conn
        .prepare(
          `SELECT r.messages_json AS stored, br.messages_json AS sent, r.cost_usd AS cost, r.prompt_tokens AS p, r.completion_tokens AS c
         FROM batch_requests br JOIN requests r ON r.id = br.request_id WHERE r.status = 'ok'`,
        )
        .all() as { stored: string; sent: string; cost: number; p: number; c: number }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.stored).toBe(r.sent);
        expect(r.cost).toBeCloseTo((r.p * 0.25 + r.c * 0.75) / 1e6, 12);
      }
    } finally {
      conn.close();
    }

    // Online mode refuses to take over a run whose batch is out; a finished run is not in the way.
    const next = await runCli(args(db, 30), env());
    expect(summaryOf(next.stderr)).toMatchObject({ status: 'waiting' });
    // The new run's first batch is sized by the first run's replies (good tasks per reply), not the default 5.
    const built = next.stderr
      .split('\n')
      .map((l) => (l.includes('"yieldPerRequest"') ? JSON.parse(l) : undefined))
      .find((e) => e !== undefined) as { yieldPerRequest: number; requests: number };
    const history = query<{ good: number; replies: number }>(
      db,
      `SELECT (SELECT count(*) FROM tasks WHERE run_id = 1 AND (status = 'accepted' OR reason = 'target_reached')) AS good,
              (SELECT count(*) FROM requests WHERE run_id = 1 AND status = 'ok') AS replies`,
    )[0]!;
    expect(built.yieldPerRequest).toBeCloseTo(history.good / history.replies, 6);
    expect(built.yieldPerRequest).not.toBeCloseTo(5, 1);
    expect(built.requests).toBe(Math.ceil((30 / built.yieldPerRequest) * 1.15) + 1);
    const online = await runCli(['generate', '--n', '30', '--db', db], env());
    expect(online.code).toBe(2);
    expect(online.stderr).toMatch(/has batch batch_\w+ out .*--batch/);
  }, 60_000);

  it('--mode batch is another spelling of --batch', async () => {
    const db = path.join(tempDir(), 'mode-batch.db');
    const r = await runCli(['generate', '--n', '40', '--db', db, '--mode', 'batch'], env());
    expect(r.code).toBe(0);
    expect(summaryOf(r.stderr)).toMatchObject({ status: 'waiting' });
    expect(state(db).batches).toHaveLength(1);
  });

  it('a kill after the upload and before the batch exists: the next invocation creates it from the same file', async () => {
    const db = path.join(tempDir(), 'kill-upload.db');
    const filesBefore = sim.batches.stats.files;
    const batchesBefore = sim.batches.allBatches().length;
    sim.batches.hold({ create: 'before' });
    const heldBefore = sim.batches.stats.held;
    const run = startCli(args(db), env());
    await waitFor(() => sim.batches.stats.held > heldBefore, 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    const killed = state(db);
    expect(killed.batches).toHaveLength(1);
    expect(killed.batches[0]).toMatchObject({ status: 'uploaded', providerBatchId: null });
    expect(killed.batches[0]!.inputFileId).toMatch(/^file-/);
    expect(sim.batches.allBatches().length).toBe(batchesBefore);

    expect((await step(db)).status).toBe('waiting');
    const after = state(db);
    expect(after.batches[0]!.status).toBe('submitted');
    expect(sim.batches.batch(after.batches[0]!.providerBatchId!)!.input_file_id).toBe(killed.batches[0]!.inputFileId);
    expect(sim.batches.stats.files - filesBefore).toBe(1); // uploaded once
    await untilDone(db);
    expect(state(db).accepted).toBe(120);
  }, 60_000);

  it('a kill after the batch was created but before its id was stored: it is found, not made twice', async () => {
    const db = path.join(tempDir(), 'kill-create.db');
    const batchesBefore = sim.batches.allBatches().length;
    sim.batches.hold({ create: 'after' });
    const heldBefore = sim.batches.stats.held;
    const run = startCli(args(db), env());
    await waitFor(() => sim.batches.stats.held > heldBefore, 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    expect(state(db).batches[0]).toMatchObject({ status: 'uploaded', providerBatchId: null });
    expect(sim.batches.allBatches().length).toBe(batchesBefore + 1);

    await untilDone(db);
    const done = state(db);
    expect(done.batches[0]!.providerBatchId).toBe(sim.batches.allBatches()[sim.batches.allBatches().length - batchesBefore - 1]!.id);
    expect(sim.batches.allBatches().length - batchesBefore).toBe(done.batches.length);
    expect(done.accepted).toBe(120);
  }, 60_000);

  it('a kill in the middle of ingesting: nothing is lost or stored twice', async () => {
    const db = path.join(tempDir(), 'kill-ingest.db');
    // Submit and bring the batch to finalizing.
    for (let i = 0; i < 2; i++) expect((await step(db)).status).toBe('waiting');
    expect(state(db).batches[0]!.providerStatus).toBe('finalizing');
    // The next poll completes it; its output file then arrives 6 lines and stalls.
    sim.batches.hold({ contentAfterLines: 6 });
    const run = startCli(args(db), env());
    await waitFor(() => state(db).answered >= 6, 30_000, 20);
    run.child.kill('SIGKILL');
    await run.done;
    const killed = state(db);
    expect(killed.answered).toBe(6);
    expect(killed.batches[0]!.status).toBe('submitted');
    const acceptedAtKill = killed.accepted;
    expect(acceptedAtKill).toBeGreaterThan(0);

    await untilDone(db);
    const done = state(db);
    expect(done.answered).toBe(done.lines);
    expect(done.batchRequests).toBe(done.lines); // one stored result per line, never two
    expect(done.accepted).toBe(120);
    expect(done.dupKeys).toBe(0);
  }, 60_000);
});

describe('batches that do not complete', () => {
  function options(target: number): BatchOptions {
    return {
      target,
      mode: 'self-instruct',
      template: loadTemplate(DEFAULT_TEMPLATE_FILES['self-instruct'], 'self-instruct'),
      seeds: loadSeeds(DEFAULT_SEED_FILE),
      topics: [],
      taskTypes: [],
      params: { model: 'gpt-4o-mini', temperature: 1, top_p: 1, max_tokens: 4096 },
      tasksPerRequest: 10,
      maxOutputChars: 300,
      similarity: 0.7,
      filters: DEFAULT_FILTER_OPTIONS,
      resume: true,
      runOptions: {},
    };
  }

  it('an expired batch keeps its partial results, records the rest as failed, and the next batch makes up the gap', async () => {
    const store = Store.open(path.join(tempDir(), 'expired.db'));
    const api = createBatchApi({ apiKey: 'test-key', baseURL: sim.url });
    try {
      const first = await generateBatch(options(300), { store, api });
      expect(first.status).toBe('waiting');
      sim.batches.setOutcome(first.openBatch!.providerBatchId!, 'expired');
      const second = await generateBatch(options(300), { store, api });
      // Expired: part of the requests ran; the others are failed requests with the reason.
      const failed = store.db
        .prepare(`SELECT count(*) FROM requests WHERE status = 'error' AND error LIKE '%batch_expired%'`)
        .pluck()
        .get() as number;
      expect(failed).toBeGreaterThan(0);
      expect(second.requests.failed).toBe(failed);
      expect(second.accepted).toBeGreaterThan(0);
      expect(second.accepted).toBeLessThan(300);
      // A new batch is out for the rest.
      expect(second.status).toBe('waiting');
      expect(second.openBatch!.id).toBe(2);
      let s = second;
      for (let i = 0; i < 6 && s.status !== 'completed'; i++) s = await generateBatch(options(300), { store, api });
      expect(s.status).toBe('completed');
      expect(s.accepted).toBe(300);
    } finally {
      store.close();
    }
  }, 30_000);

  it('a batch written before batches kept their stage and lines their unit (migration 13) is still collected, exactly', async () => {
    const store = Store.open(path.join(tempDir(), 'legacy.db'));
    const api = createBatchApi({ apiKey: 'test-key', baseURL: sim.url });
    try {
      const first = await generateBatch(options(60), { store, api });
      expect(first.status).toBe('waiting');
      // As an older version left it: no stage on the batch, no unit on its lines.
      store.db.exec('UPDATE batches SET stage = NULL; UPDATE batch_requests SET unit_json = NULL');
      let s = first;
      for (let i = 0; i < 8 && s.status !== 'completed'; i++) s = await generateBatch(options(60), { store, api });
      expect(s.status).toBe('completed');
      expect(s.accepted).toBe(60);
      const q = (sql: string): number => store.db.prepare(sql).pluck().get() as number;
      // Every line of the old batch was read as an instruction reply and stored once.
      expect(q('SELECT count(*) FROM batch_requests WHERE batch_id = 1 AND request_id IS NULL')).toBe(0);
      expect(q(`SELECT count(*) FROM requests WHERE batch_id = 1 AND status = 'ok'`)).toBe(first.openBatch!.requests);
      expect(q(`SELECT count(*) FROM tasks WHERE request_id IN (SELECT id FROM requests WHERE batch_id = 1)`)).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  }, 30_000);

  it('a run whose batches keep failing stops with an error after three in a row', async () => {
    const store = Store.open(path.join(tempDir(), 'failing.db'));
    const api = createBatchApi({ apiKey: 'test-key', baseURL: sim.url });
    try {
      let error: unknown;
      for (let i = 0; i < 5 && error === undefined; i++) {
        try {
          const s = await generateBatch(options(50), { store, api });
          if (s.openBatch?.providerBatchId)
            sim.batches.setOutcome(s.openBatch.providerBatchId, 'failed', 'line 1: simulated validation failure');
        } catch (err) {
          error = err;
        }
      }
      expect(error).toBeInstanceOf(GenerationFailed);
      expect((error as Error).message).toMatch(/3 batches in a row brought back no usable reply.*failed.*simulated validation failure/);
      const rows = store.db.prepare(`SELECT provider_status FROM batches`).pluck().all();
      expect(rows).toEqual(['failed', 'failed', 'failed']);
    } finally {
      store.close();
    }
  }, 30_000);
});

describe("the simulator's Files and Batch APIs, through the openai client", () => {
  const line = (id: string, over: Record<string, unknown> = {}) =>
    JSON.stringify({
      custom_id: id,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', max_tokens: 2000, messages: [{ role: 'user', content: '请写 3 个新任务，只输出一个 JSON 数组。' }] },
      ...over,
    });
  const upload = async (client: OpenAI, lines: string[]) =>
    client.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'in.jsonl'), purpose: 'batch' });

  it('files: upload, retrieve, content', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
    const text = [line('a'), line('b')].join('\n') + '\n';
    const file = await upload(client, [line('a'), line('b')]);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', bytes: Buffer.byteLength(text), filename: 'in.jsonl' });
    expect(file.id).toMatch(/^file-/);
    expect(await client.files.retrieve(file.id)).toMatchObject({ id: file.id, bytes: file.bytes });
    expect(await (await client.files.content(file.id)).text()).toBe(text);
    await expect(client.files.retrieve('file-nope')).rejects.toMatchObject({ status: 404 });
  });

  it('a batch goes validating → in_progress → finalizing → completed, with real output lines', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
    const file = await upload(client, [line('x-1'), line('x-2'), line('x-3')]);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { k: 'v' },
    });
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      input_file_id: file.id,
      completion_window: '24h',
      metadata: { k: 'v' },
    });
    const seen = [created.status];
    let b = created;
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(b.status)) seen.push((b = await client.batches.retrieve(b.id)).status);
    expect(seen).toEqual(['validating', 'in_progress', 'finalizing', 'completed']);
    expect(b.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect(b.completed_at).toBeGreaterThanOrEqual(b.created_at);
    const out = (await (await client.files.content(b.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => o.custom_id)).toEqual(['x-1', 'x-2', 'x-3']);
    for (const o of out) {
      expect(o.id).toMatch(/^batch_req_/);
      expect(o.error).toBeNull();
      expect(o.response.status_code).toBe(200);
      expect(o.response.request_id).toMatch(/^req_/);
      expect(o.response.body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini' });
      expect(o.response.body.usage.total_tokens).toBeGreaterThan(0);
    }
  });

  it('refuses a bad create, fails a bad input file with its line, and lists newest first with paging', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
    const good = await upload(client, [line('g')]);
    await expect(
      client.batches.create({ input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 400 });
    // A route the simulator does not serve in batches (it serves chat completions and embeddings).
    await expect(
      client.batches.create({ input_file_id: good.id, endpoint: '/v1/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 400 });
    // Chat lines in an embeddings batch: the batch fails, naming the line.
    let mixed = await client.batches.create({ input_file_id: good.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    mixed = await client.batches.retrieve(mixed.id);
    expect(mixed.status).toBe('failed');
    const bad = await upload(client, [line('d'), line('d')]);
    let b = await client.batches.create({ input_file_id: bad.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    b = await client.batches.retrieve(b.id);
    expect(b.status).toBe('failed');
    expect(b.errors?.data?.[0]).toMatchObject({ line: 2 });
    expect(b.errors?.data?.[0]?.message).toMatch(/duplicate custom_id/);

    const page = await client.batches.list({ limit: 1 });
    expect(page.data.map((x) => x.id)).toEqual([b.id]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const x of client.batches.list({ limit: 1 })) all.push(x.id);
    expect(all).toEqual(sim.batches.allBatches().map((x) => x.id));
  });

  it('cancel: cancelling, then cancelled with part of the work in the output', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: sim.url, maxRetries: 0 });
    const file = await upload(
      client,
      Array.from({ length: 10 }, (_, i) => line(`c-${i}`)),
    );
    const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await client.batches.retrieve(b.id); // in_progress
    expect((await client.batches.cancel(b.id)).status).toBe('cancelling');
    const done = await client.batches.retrieve(b.id);
    expect(done.status).toBe('cancelled');
    expect(done.request_counts!.completed).toBeGreaterThan(0);
    expect(done.request_counts!.completed).toBeLessThan(10);
    await expect(client.batches.cancel(b.id)).rejects.toMatchObject({ status: 409 });
  });

  it('progresses by time when stepMs is set', async () => {
    const timed = await startSimulator({ port: 0, seed: 42, batch: { stepMs: 40 } });
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: timed.url, maxRetries: 0 });
      const file = await upload(client, [line('t')]);
      const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      expect((await client.batches.retrieve(b.id)).status).toBe('validating');
      await new Promise((r) => setTimeout(r, 150));
      expect((await client.batches.retrieve(b.id)).status).toBe('completed');
    } finally {
      await timed.close();
    }
  });
});
