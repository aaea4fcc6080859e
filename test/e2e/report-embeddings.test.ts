/**
 * The report's embedding section (issue 24) through the real CLI, on a database embedded by the library's
 * `embed()` against the simulator's /v1/embeddings: the data map (a point per embedded task, groups that add
 * up) and the nearest-neighbour distribution, checked against a brute-force scan of the stored vectors;
 * the same figures in the HTML; the model chosen by --embedding-model; exit 2 for a model with none.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embed, generate } from '../../pipeline/index.ts';
import { blobVector } from '../../pipeline/store/embeddings.ts';
import type { ReportData } from '../../pipeline/report/types.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { query, tempDir } from '../helpers.ts';

let sim: Simulator;
let db: string;
let before: ReportData;

beforeAll(async () => {
  sim = await startSimulator({ seed: 7 });
  db = path.join(tempDir(), 'map.db');
  await generate({ db, n: 80, apiKey: 'k', baseURL: sim.url, tasksPerRequest: 10, concurrency: 2 });
  before = await figures([]);
  await embed({ db, apiKey: 'k', baseURL: sim.url, model: 'sim-embed' });
  // A planted paraphrase: one generated task given another's vector (cosine 1 to it).
  const w = new Database(db);
  const [a, b] = w
    .prepare(`SELECT id FROM tasks WHERE source = 'generated' AND status = 'accepted' ORDER BY id LIMIT 2`)
    .pluck()
    .all() as number[];
  w.prepare(`UPDATE embeddings SET vector = (SELECT vector FROM embeddings WHERE task_id = ?) WHERE task_id = ?`).run(a, b);
  w.close();
}, 180_000);

afterAll(async () => {
  await sim?.close();
});

async function figures(extra: string[]): Promise<ReportData> {
  const r = await runCli(['report', '--db', db, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReportData;
}

/** The stored unit vectors of the report's scope (accepted, not seeds) by model. */
function scopeVectors(model: string): Map<number, Float32Array> {
  const rows = query<{ id: number; vector: Buffer }>(
    db,
    `SELECT t.id, e.vector FROM tasks t JOIN embeddings e ON e.task_id = t.id
     WHERE e.model = ? AND t.status = 'accepted' AND t.source <> 'seed' ORDER BY t.id`,
    model,
  );
  return new Map(
    rows.map((r) => {
      const v = blobVector(r.vector);
      const norm = Math.hypot(...v);
      return [r.id, v.map((x) => x / norm)];
    }),
  );
}

describe('report: embeddings', () => {
  it('has no embedding section before anything is embedded', () => {
    expect(before.embeddings).toBeUndefined();
  });

  it('--json: a map point per embedded task and the nearest-neighbour cosines a brute-force scan finds', async () => {
    const data = await figures(['--embedding-model', 'sim-embed']);
    const e = data.embeddings!;
    const vectors = scopeVectors('sim-embed');
    expect(e).toMatchObject({ model: 'sim-embed', dimensions: 256, embedded: vectors.size, of: data.overview.accepted });
    // Every embedded task is in the text sample here (fewer than 20,000), so every one is a point.
    expect(e.map.points).toBe(vectors.size);
    expect(new Set(e.map.taskId)).toEqual(new Set(vectors.keys()));
    for (const k of ['x', 'y', 'group'] as const) expect(e.map[k].length).toBe(e.map.points);
    expect(e.map.groups.reduce((s, g) => s + g.n, 0)).toBe(e.map.points);
    e.map.groups.forEach((g, i) => expect(e.map.group.filter((x) => x === i).length).toBe(g.n));
    expect(e.map.explained[0]).toBeGreaterThan(0);
    expect(e.map.explained[0]).toBeGreaterThanOrEqual(e.map.explained[1]);
    expect(e.map.explained[0] + e.map.explained[1]).toBeLessThan(1);
    // The x coordinates spread out (a projection, not a constant).
    expect(Math.max(...e.map.x) - Math.min(...e.map.x)).toBeGreaterThan(0.1);

    // Brute force: each task's highest cosine to another task of the scope.
    const ids = [...vectors.keys()];
    const best = ids.map((id) => {
      let m = -Infinity;
      for (const other of ids) {
        if (other === id) continue;
        let s = 0;
        const a = vectors.get(id)!;
        const b = vectors.get(other)!;
        for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
        m = Math.max(m, s);
      }
      return m;
    });
    const n = e.neighbours;
    expect(n).toMatchObject({ queries: ids.length, reference: ids.length, rows: ids.length });
    expect(n.counts.reduce((s, c) => s + c, 0)).toBe(ids.length);
    const at = (t: number) => best.filter((c) => c >= t - 1e-6).length;
    expect(n.atOrAbove).toEqual([
      { threshold: 0.9, n: at(0.9) },
      { threshold: 0.95, n: at(0.95) },
    ]);
    // The planted pair: each is the other's nearest at cosine 1.
    expect(at(0.95)).toBeGreaterThanOrEqual(2);
    expect(n.counts.at(-1)).toBeGreaterThanOrEqual(2);
    const sorted = [...best].sort((a, b) => a - b);
    expect(n.p50).toBeCloseTo(sorted[Math.ceil(sorted.length / 2) - 1]!, 3);
    expect(n.examples[0]!.cosine).toBeCloseTo(1, 4);
    expect(n.reading.en).toContain(`${((at(0.9) / ids.length) * 100).toFixed(1)}% have another task at cosine ≥ 0.9`);
  }, 120_000);

  it('the HTML draws the map (one circle per point, a legend entry per group) and the histogram', async () => {
    const data = await figures([]);
    const out = path.join(tempDir(), 'r.html');
    const r = await runCli(['report', '--db', db, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    const mapSvg = html.slice(html.indexOf('<svg id="embedding-map-svg"'), html.indexOf('</svg>', html.indexOf('id="embedding-map-svg"')));
    expect(mapSvg.match(/<circle /g)?.length).toBe(data.embeddings!.map.points);
    for (const g of data.embeddings!.map.groups) expect(html).toContain(`</span>${g.name} <span class="note">${g.n}</span>`);
    expect(html).toContain('id="embedding-neighbours-svg"');
    expect(html).toContain(data.embeddings!.neighbours.reading.zh);
    expect(html).toMatch(/≥ 0\.9: \d+ \(\d+\.\d%\) · ≥ 0\.95: \d+/);
    expect(html).toContain('orthogonal power iteration');
  }, 120_000);

  it('takes the newest model by default, another with --embedding-model, and exits 2 for one with none', async () => {
    await embed({ db, apiKey: 'k', baseURL: sim.url, model: 'sim-embed-2' });
    expect((await figures([])).embeddings!.model).toBe('sim-embed-2');
    expect((await figures(['--embedding-model', 'sim-embed'])).embeddings!.model).toBe('sim-embed');
    const r = await runCli(['report', '--db', db, '--json', '--embedding-model', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`zh-self-instruct embed --db ${db} --model nope`);
  }, 120_000);
});
