/**
 * Embeddings end to end (issue 24): the `embed` stage against the simulator's /v1/embeddings (stored
 * once per task and model, never asked again), unusable vectors from a hostile server as failed attempts
 * that never reach the store, resume after kill -9, and `export --select` keeping no two rows at or above
 * the threshold (exit 2 naming `embed` when there are no embeddings).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { embed, EmbedFailed, exportDataset, generate, UsageError } from '../../pipeline/index.ts';
import { exitCodeFor } from '../../pipeline/cli/exit.ts';
import { blobVector } from '../../pipeline/store/embeddings.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { sendJson, startHostile, type HostileServer } from '../hostile-server.ts';
import { one, query, tempDir } from '../helpers.ts';

const sims: Simulator[] = [];
let hostile: HostileServer | undefined;
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close().catch(() => {})));
  await hostile?.close();
  hostile = undefined;
});

async function sim(latencyMs = 0): Promise<Simulator> {
  const s = await startSimulator({ seed: 24, latencyMs });
  sims.push(s);
  return s;
}

/** A store with `n` generated tasks (and the seeds), from the simulator. */
async function filled(s: Simulator, n: number): Promise<string> {
  const db = path.join(tempDir(), 'embed.db');
  await generate({ db, n, apiKey: 'k', baseURL: s.url, tasksPerRequest: 10, concurrency: 2 });
  return db;
}

const accepted = (db: string) => one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted'`);

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

describe('embed', () => {
  it('stores one float32 vector per accepted task and model, of the key text, and never asks again for it', async () => {
    const s = await sim();
    const db = await filled(s, 30);
    const first = await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed', perRequest: 16 });
    expect(first).toMatchObject({ status: 'completed', left: 0, dimensions: 256, failedRequests: 0 });
    expect(first.embeddedNow).toBe(accepted(db));
    expect(one(db, `SELECT count(*) FROM embeddings WHERE model = 'sim-embed' AND dimensions = 256 AND length(vector) = 1024`)).toBe(
      accepted(db),
    );
    // The embedded text is instruction + newline + input: the stored request's input says so.
    const [task] = query<{ id: number; instruction: string; input: string }>(
      db,
      `SELECT id, instruction, input FROM tasks WHERE source = 'generated' AND input <> '' AND status = 'accepted' LIMIT 1`,
    );
    const inputs = query<{ params_json: string }>(db, `SELECT params_json FROM requests WHERE model = 'sim-embed'`).flatMap(
      (r) => (JSON.parse(r.params_json) as { input: string[] }).input,
    );
    expect(inputs).toContain(`${task!.instruction}\n${task!.input}`);
    const again = await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    expect(again).toMatchObject({ status: 'completed', pendingAtStart: 0, requests: 0, embeddedNow: 0 });
    // Another model is another set of vectors.
    const other = await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed-2' });
    expect(other.embeddedNow).toBe(accepted(db));
  }, 120_000);

  it('--batch: the same vectors as online, through batches of the embeddings route, step by step', async () => {
    const s = await sim();
    const db = await filled(s, 30);
    const copy = path.join(tempDir(), 'online.db');
    fs.copyFileSync(db, copy);
    await embed({ db: copy, apiKey: 'k', baseURL: s.url, model: 'sim-embed', perRequest: 8 });
    const statuses: string[] = [];
    for (let i = 0; i < 20 && statuses.at(-1) !== 'completed'; i++) {
      statuses.push((await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed', perRequest: 8, batch: true })).status);
    }
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses).toContain('waiting');
    expect(one(db, `SELECT count(*) FROM embeddings WHERE model = 'sim-embed'`)).toBe(accepted(db));
    expect(one(db, `SELECT count(*) FROM requests WHERE model = 'sim-embed' AND batch_id IS NULL`)).toBe(0);
    expect(query<{ endpoint: string }>(db, `SELECT DISTINCT endpoint FROM batches`)).toEqual([{ endpoint: '/v1/embeddings' }]);
    const vectors = (file: string) =>
      new Map(query<{ id: number; v: Buffer }>(file, `SELECT task_id AS id, vector AS v FROM embeddings`).map((r) => [r.id, r.v]));
    const online = vectors(copy);
    const batched = vectors(db);
    expect(batched.size).toBe(online.size);
    for (const [id, v] of batched) expect(v.equals(online.get(id)!), `task ${id}`).toBe(true);
  }, 180_000);

  it('takes the vector stored for the same text and model instead of asking again', async () => {
    const s = await sim();
    const db = await filled(s, 10);
    await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    // A task whose text is stored already (its copy's embedding deleted, as after a lost write).
    const [t] = query<{ id: number }>(db, `SELECT task_id AS id FROM embeddings ORDER BY task_id DESC LIMIT 1`);
    const before = query<{ vector: Buffer }>(db, 'SELECT vector FROM embeddings WHERE task_id = ?', t!.id)[0]!.vector;
    const Database = (await import('better-sqlite3')).default;
    const w = new Database(db);
    // Another task's row made to hold the same text's vector: the only copy left once t's own row is gone.
    w.prepare(
      `UPDATE embeddings SET (text_sha256, vector) = (SELECT text_sha256, vector FROM embeddings WHERE task_id = @t)
       WHERE task_id = (SELECT min(task_id) FROM embeddings)`,
    ).run({ t: t!.id });
    w.prepare('DELETE FROM embeddings WHERE task_id = ?').run(t!.id);
    w.close();
    const r = await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    expect(r).toMatchObject({ reused: 1, requests: 0, left: 0 });
    expect(query<{ vector: Buffer }>(db, 'SELECT vector FROM embeddings WHERE task_id = ?', t!.id)[0]!.vector.equals(before)).toBe(true);
  }, 120_000);

  it('stores unusable vectors (no data, NaN, zero, another dimension) as failed attempts, never in the index', async () => {
    const s = await sim();
    const db = await filled(s, 10);
    const total = accepted(db);
    const good = (inputs: string[], dims: number) =>
      JSON.stringify({
        data: inputs.map((_, index) => ({ index, embedding: Array.from({ length: dims }, (_, j) => (((index + 1) * (j + 1)) % 7) + 1) })),
        usage: { prompt_tokens: 10, total_tokens: 10 },
      });
    const bad = [
      () => JSON.stringify({ object: 'list', usage: {} }),
      (inputs: string[]) => good(inputs, 8).replace(/\[(\d)/, '[null'),
      (inputs: string[]) => JSON.stringify({ data: inputs.map((_, index) => ({ index, embedding: new Array(8).fill(0) })) }),
      (inputs: string[]) => good(inputs, 4),
      // Finite in JSON, Infinity once stored as float32.
      (inputs: string[]) => good(inputs, 8).replace(/\[(\d)/, '[1e39'),
    ];
    let asked = 0;
    hostile = await startHostile((_n, _req, res, body) => {
      const inputs = (JSON.parse(body) as { input: string[] }).input;
      asked++;
      // The first reply sets the model's dimension (8); every fifth is good; the rest cycle through the bad kinds.
      if (asked === 1 || asked % 5 === 0) return sendJson(res, 200, good(inputs, 8));
      sendJson(res, 200, bad[asked % bad.length]!(inputs));
    });
    const r = await embed({ db, apiKey: 'k', baseURL: hostile.url, model: 'm', perRequest: 32, concurrency: 1, retries: 1, probe: false });
    expect(r.failedRequests).toBeGreaterThan(0);
    expect(r.left + r.embeddedNow).toBe(total);
    expect(one(db, `SELECT count(*) FROM embeddings WHERE model = 'm' AND dimensions <> 8`)).toBe(0);
    for (const row of query<{ vector: Buffer }>(db, `SELECT vector FROM embeddings WHERE model = 'm'`)) {
      const v = blobVector(row.vector);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(v.some((x) => x !== 0)).toBe(true);
    }
    expect(one(db, `SELECT count(*) FROM request_attempts WHERE error_kind = 'bad_reply'`)).toBeGreaterThan(3);
    expect(one(db, `SELECT count(*) FROM requests WHERE model = 'm' AND status = 'error' AND error LIKE 'bad_reply:%'`)).toBe(
      r.failedRequests,
    );
  }, 120_000);

  it('a later run whose model answers in another dimension than the one stored: failed attempts, nothing stored', async () => {
    const s = await sim();
    const db = await filled(s, 5);
    const vectors = (inputs: string[], dims: number) =>
      JSON.stringify({ data: inputs.map((_, index) => ({ index, embedding: Array.from({ length: dims }, (_, j) => index + j + 1) })) });
    hostile = await startHostile((_n, _req, res, body) => sendJson(res, 200, vectors((JSON.parse(body) as { input: string[] }).input, 8)));
    await embed({ db, apiKey: 'k', baseURL: hostile.url, model: 'm', probe: false });
    const stored = one(db, `SELECT count(*) FROM embeddings WHERE model = 'm' AND dimensions = 8`);
    expect(stored).toBe(accepted(db));
    await hostile.close();
    // More tasks, then the same model name served by something answering in 4 dimensions.
    await generate({ db, n: 5, apiKey: 'k', baseURL: s.url, tasksPerRequest: 10 });
    hostile = await startHostile((_n, _req, res, body) => sendJson(res, 200, vectors((JSON.parse(body) as { input: string[] }).input, 4)));
    const r = await embed({ db, apiKey: 'k', baseURL: hostile.url, model: 'm', probe: false, retries: 0 }).catch((e: unknown) => e);
    const summary = r instanceof EmbedFailed ? r.summary : (r as Awaited<ReturnType<typeof embed>>);
    expect(summary).toMatchObject({ embeddedNow: 0, dimensions: 8 });
    expect(summary.failedRequests).toBeGreaterThan(0);
    expect(summary.left).toBe(accepted(db) - stored);
    expect(one(db, `SELECT count(*) FROM embeddings WHERE model = 'm'`)).toBe(stored);
    expect(one(db, `SELECT count(*) FROM embeddings WHERE dimensions <> 8`)).toBe(0);
    expect(
      one(db, `SELECT count(*) FROM requests WHERE model = 'm' AND status = 'error' AND error LIKE '%4 dimensions, expected 8%'`),
    ).toBe(summary.failedRequests);
  }, 120_000);

  it('a server that only sends bad vectors fails the run (EmbedFailed, exit 1 path), storing nothing', async () => {
    hostile = await startHostile((_n, _req, res) => sendJson(res, 200, JSON.stringify({ data: null })));
    const s = await sim();
    const db = await filled(s, 5);
    const err = await embed({ db, apiKey: 'k', baseURL: hostile.url, model: 'm', retries: 0, probe: false, concurrency: 1 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(EmbedFailed);
    expect((err as EmbedFailed).summary).toMatchObject({ status: 'failed', embeddedNow: 0 });
    expect(one(db, 'SELECT count(*) FROM embeddings')).toBe(0);
  }, 120_000);

  it('kill -9 mid-way, then the same command: every task embedded exactly once', async () => {
    const s = await sim(150);
    const db = await filled(s, 40);
    const args = ['embed', '--db', db, '--model', 'sim-embed', '--per-request', '8', '--concurrency', '1', '--log-format', 'json'];
    const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: s.url };
    const run = startCli(args, env);
    await waitFor(() => one(db, 'SELECT count(*) FROM embeddings') >= 16, 60_000, 50);
    run.child.kill('SIGKILL');
    await run.done;
    const before = one(db, 'SELECT count(*) FROM embeddings');
    expect(before).toBeLessThan(accepted(db));
    const final = await runCli(args, env);
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stderr.trim().split('\n').at(-1)!) as { status: string; pendingAtStart: number };
    expect(summary.status).toBe('completed');
    expect(summary.pendingAtStart).toBe(accepted(db) - before);
    expect(one(db, 'SELECT count(*) FROM embeddings')).toBe(accepted(db));
    expect(
      one(db, `SELECT count(*) FROM tasks t WHERE status = 'accepted' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.task_id = t.id)`),
    ).toBe(0);
  }, 180_000);
});

describe('generate --embedding-model', () => {
  it('embeds what the run accepts as a follower: every accepted task of the run, exactly --n tasks', async () => {
    const s = await sim();
    const db = path.join(tempDir(), 'follow.db');
    const summary = await generate({ db, n: 30, apiKey: 'k', baseURL: s.url, tasksPerRequest: 10, embeddingModel: 'sim-embed' });
    expect(summary.status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(30);
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.status = 'accepted' AND t.run_id = ?
           AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.task_id = t.id AND e.model = 'sim-embed')`,
        summary.runId,
      ),
    ).toBe(0);
    // Then `embed` finds only the seeds (not part of the run) left.
    const rest = await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    expect(rest.pendingAtStart).toBe(one(db, `SELECT count(*) FROM tasks WHERE source = 'seed' AND status = 'accepted'`));
  }, 120_000);

  it('--semantic-threshold rejects a task at or above it to an accepted one (nearest stored), still exactly --n', async () => {
    const s = await sim();
    const db = path.join(tempDir(), 'semantic.db');
    const t = 0.6;
    const summary = await generate({
      db,
      n: 60,
      apiKey: 'k',
      baseURL: s.url,
      tasksPerRequest: 10,
      embeddingModel: 'sim-embed',
      semanticThreshold: t,
    });
    expect(summary.status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND run_id = ?`, summary.runId)).toBe(60);
    const dups = query<{ id: number; nearest: number; similarity: number }>(
      db,
      `SELECT id, nearest_task_id AS nearest, similarity FROM tasks WHERE reason = 'semantic_duplicate'`,
    );
    // The simulator's shared phrasing puts some tasks this close; the edit-distance rule let them in.
    expect(dups.length).toBeGreaterThan(0);
    const vec = (id: number) => blobVector(query<{ vector: Buffer }>(db, `SELECT vector FROM embeddings WHERE task_id = ?`, id)[0]!.vector);
    for (const d of dups) {
      expect(one(db, `SELECT count(*) FROM tasks WHERE id = ? AND status = 'accepted'`, d.nearest)).toBe(1);
      expect(d.similarity).toBeGreaterThanOrEqual(t);
      expect(cosine(vec(d.id), vec(d.nearest))).toBeCloseTo(d.similarity, 4);
    }
    // No two accepted tasks of the run are at or above the threshold.
    const ids = query<{ id: number }>(db, `SELECT id FROM tasks WHERE status = 'accepted' AND run_id = ?`, summary.runId).map((r) => r.id);
    const vs = ids.map(vec);
    for (let i = 0; i < vs.length; i++) for (let j = 0; j < i; j++) expect(cosine(vs[i]!, vs[j]!)).toBeLessThan(t);
  }, 120_000);

  it('with --batch too: the embedder follows the run in batches of its own, and a semantic duplicate is made up for, still exactly --n', async () => {
    const s = await sim();
    const db = path.join(tempDir(), 'semantic-batch.db');
    const t = 0.6;
    const statuses: string[] = [];
    for (let step = 0; step < 30 && statuses.at(-1) !== 'completed'; step++) {
      const summary = await generate({
        db,
        n: 60,
        apiKey: 'k',
        baseURL: s.url,
        tasksPerRequest: 10,
        batch: true,
        embeddingModel: 'sim-embed',
        semanticThreshold: t,
      });
      statuses.push(summary.status);
    }
    expect(statuses.at(-1)).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(60);
    expect(one(db, `SELECT count(*) FROM tasks WHERE reason = 'semantic_duplicate'`)).toBeGreaterThan(0);
    // Every request went through a batch; embeddings in batches of their own, on the embeddings route.
    expect(one(db, 'SELECT count(*) FROM requests WHERE batch_id IS NULL')).toBe(0);
    expect(one(db, `SELECT count(*) FROM batches WHERE stage = 'embed' AND endpoint = '/v1/embeddings'`)).toBeGreaterThan(0);
    // Each accepted task embedded once, and no two of them at or above the threshold.
    const ids = query<{ id: number }>(db, `SELECT id FROM tasks WHERE status = 'accepted' AND source = 'generated'`).map((r) => r.id);
    const vecs = ids.map((id) => query<{ vector: Buffer }>(db, 'SELECT vector FROM embeddings WHERE task_id = ?', id));
    expect(vecs.every((v) => v.length === 1)).toBe(true);
    const vs = vecs.map((v) => blobVector(v[0]!.vector));
    for (let i = 0; i < vs.length; i++) for (let j = 0; j < i; j++) expect(cosine(vs[i]!, vs[j]!)).toBeLessThan(t);
  }, 180_000);
});

describe('export --select', () => {
  it('keeps N rows, no two at or above the threshold, and says so in the manifest', async () => {
    const s = await sim();
    const db = await filled(s, 60);
    await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    const out = path.join(tempDir(), 'out');
    const threshold = 0.5;
    const r = await exportDataset({ db, out, format: 'alpaca', select: 25, diversity: threshold, since: 'all' });
    if (r.kind !== 'written') throw new Error('nothing written');
    const sel = r.manifest.selection!;
    expect(sel).toMatchObject({ embeddingModel: 'sim-embed', n: 25, threshold, search: 'exact', droppedNoEmbedding: 0 });
    const lines = fs.readFileSync(path.join(r.dir, 'train.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(sel.kept);
    expect(sel.kept).toBeLessThanOrEqual(25);
    // The simulator's near-duplicates and shared phrasing put some rows within the threshold.
    expect(sel.droppedSimilar).toBeGreaterThan(0);
    expect(sel.considered).toBe(sel.kept + sel.droppedSimilar);
    // The guarantee, checked from the stored vectors of the rows written.
    const rows = lines.map((l) => JSON.parse(l) as { instruction: string; input: string });
    const vectors = rows.map((row) => {
      const [e] = query<{ vector: Buffer }>(
        db,
        `SELECT e.vector FROM embeddings e JOIN tasks t ON t.id = e.task_id
         WHERE t.instruction = ? AND t.input = ? AND t.status = 'accepted' AND e.model = 'sim-embed'`,
        row.instruction,
        row.input,
      );
      return blobVector(e!.vector);
    });
    for (let i = 0; i < vectors.length; i++) for (let j = 0; j < i; j++) expect(cosine(vectors[i]!, vectors[j]!)).toBeLessThan(threshold);
  }, 120_000);

  it('with no embeddings for the model: exit 2, naming the command to run first', async () => {
    const s = await sim();
    const db = await filled(s, 5);
    const err = await exportDataset({ db, out: path.join(tempDir(), 'o'), format: 'alpaca', select: 5 }).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(String(err.message)).toContain(`zh-self-instruct embed --db ${db} --model text-embedding-3-small`);
    expect(exitCodeFor(err)).toBe(2);
    const cli = await runCli(['export', '--db', db, '--out', path.join(tempDir(), 'o2'), '--format', 'alpaca', '--select', '5']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('zh-self-instruct embed');
    // Embeddings by one model do not stand in for another named one.
    await embed({ db, apiKey: 'k', baseURL: s.url, model: 'sim-embed' });
    const named = await runCli([
      'export',
      '--db',
      db,
      '--out',
      path.join(tempDir(), 'o3'),
      '--format',
      'alpaca',
      '--select',
      '5',
      '--embedding-model',
      'other',
    ]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(`zh-self-instruct embed --db ${db} --model other`);
  }, 120_000);
});
