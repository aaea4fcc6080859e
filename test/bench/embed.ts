/**
 * Embedding index benchmark (issue 24), synthetic unit vectors of 1,024 dimensions around 2,000 cluster
 * centres (so nearest neighbours are meaningful, unlike uniform noise):
 *
 *   npm run bench:embed -- [--sizes 100000,1000000] [--dims 1024] [--configs f32,i8r]
 *                          [--queries 1000] [--exact-queries 20] [--recall-queries 300] [--select 50000]
 *
 * Each size runs in its own child process, so its peak RSS (maxRSS) is its own. Per size:
 * - baseline: exact search as the pipeline does it (ExactIndex's dot-product scan), query p50/p99 over
 *   --exact-queries queries;
 * - ground truth for recall@1: usearch's exact (brute-force) search, the nearest of --recall-queries queries;
 * - each usearch HNSW configuration of --configs (see CONFIGS): build time on both cores, single-query
 *   p50/p99 over --queries, batched queries per second (both cores), recall@1 against the ground truth,
 *   RSS growth while building;
 * - selection of --select from the N (judge order = id order), diversity 0.9, with the index export
 *   --select uses above 20,000 to keep (SELECT_INDEX in export/select.ts) and, as the baseline, with exact
 *   search on a prefix, its time scaled by the pairs compared (kept²).
 * Targets (issue 24): 1M vectors query p99 ≤ 10 ms with recall@1 ≥ 0.95; selection of 50k from 1M ≤ 60 s.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectDiverse } from '../../pipeline/embed/select.ts';
import { SELECT_INDEX } from '../../pipeline/export/select.ts';
import { ApproxIndex, dot, ExactIndex, loadUsearch, type ApproxOptions } from '../../pipeline/embed/vector-index.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    dims: { type: 'string', default: '1024' },
    configs: { type: 'string', default: 'f32,i8r' },
    queries: { type: 'string', default: '1000' },
    'exact-queries': { type: 'string', default: '20' },
    'recall-queries': { type: 'string', default: '300' },
    select: { type: 'string', default: '50000' },
    'near-copies': { type: 'string', default: '0' },
    'select-only': { type: 'boolean', default: false },
    /** Another selection index to measure: quantization:M:efAdd:efSearch:rerank. Default SELECT_INDEX. */
    'select-index': { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});

/** HNSW configurations for queries: f32 at ef 128/64; i8r the tuned one (i8 graph, exact re-rank of the 10 best). */
const CONFIGS: Record<string, { label: string; options: Omit<ApproxOptions, 'rerank'>; rerank?: number }> = {
  f32: { label: 'HNSW f32 M16 ef 128/64', options: { quantization: 'f32', connectivity: 16, expansionAdd: 128, expansionSearch: 64 } },
  i8r: {
    label: 'HNSW i8 M16 ef 64/64, re-rank 10',
    options: { quantization: 'i8', connectivity: 16, expansionAdd: 64, expansionSearch: 64 },
    rerank: 10,
  },
};

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

if (!values.child) {
  // The parent: one child per size, then the table.
  const rows: string[][] = [];
  for (const n of values.sizes.split(',')) {
    const args = process.argv.slice(2).filter((a, i, all) => a !== '--sizes' && all[i - 1] !== '--sizes');
    const r = spawnSync('npx', ['tsx', fileURLToPath(import.meta.url), '--child', '--sizes', n, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0) throw new Error(`the child for ${n} vectors failed (${r.status ?? r.signal})`);
    rows.push(...(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[][]));
  }
  const header = ['vectors', 'search', 'build', 'query p50 / p99', 'batched', 'recall@1 vs exact', 'memory'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    `dims ${values.dims}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg()[0]!.toFixed(1)} at the end`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  process.exit(0);
}

// -- the child: one size ----------------------------------------------------------------------------
const n = Number(values.sizes);
const d = Number(values.dims);
const nQueries = Number(values.queries);
const nExact = Number(values['exact-queries']);
const nRecall = Number(values['recall-queries']);
const nSelect = Number(values.select);
const nearCopies = Number(values['near-copies']);
const selectOnly = values['select-only'];
const [sq, sm, sea, ses, srr] = (values['select-index'] ?? '').split(':');
const selectIndex =
  values['select-index'] === undefined
    ? SELECT_INDEX
    : { quantization: sq as 'i8', connectivity: Number(sm), expansionAdd: Number(sea), expansionSearch: Number(ses), rerank: Number(srr) };
const usearch = await loadUsearch();
if (usearch === null) throw new Error('usearch did not load: only exact search is available on this machine');
const rss = (): number => process.memoryUsage().rss;
const log = (m: string): void => void process.stderr.write(`n=${n}: ${m}\n`);
const num = n.toLocaleString('en');

// xorshift32: fast enough to make 10⁹ values in seconds.
let state = 2024;
const rand = (): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32 - 0.5;
};
const CLUSTERS = 2000;
const centres = new Float32Array(CLUSTERS * d);
for (let i = 0; i < centres.length; i++) centres[i] = rand();
/**
 * Vector i (a unit vector near centre i·7919 mod 2,000) written into `out` at `at`. With --near-copies F,
 * that share of the vectors (every 1/F-th) is instead a paraphrase of the one before it: the same vector
 * plus a little noise (cosine about 0.998), so the selection has pairs above its threshold to find.
 */
function vectorInto(i: number, out: Float32Array, at: number): void {
  const copyOf = nearCopies > 0 && i > 0 && i % Math.round(1 / nearCopies) === 0 && at >= d;
  const c = ((i * 7919) % CLUSTERS) * d;
  let norm = 0;
  for (let j = 0; j < d; j++) {
    const x = copyOf ? out[at - d + j]! + 0.006 * rand() : centres[c + j]! + 0.6 * rand();
    out[at + j] = x;
    norm += x * x;
  }
  const s = 1 / Math.sqrt(norm);
  for (let j = 0; j < d; j++) out[at + j]! *= s;
}

const t0 = performance.now();
const CHUNK = 65_536;
const chunks: Float32Array[] = [];
for (let at = 0; at < n; at += CHUNK) {
  const m = Math.min(CHUNK, n - at);
  const block = new Float32Array(m * d);
  for (let i = 0; i < m; i++) vectorInto(at + i, block, i * d);
  chunks.push(block);
}
const vectorOf = (i: number): Float32Array => chunks[Math.floor(i / CHUNK)]!.subarray((i % CHUNK) * d, ((i % CHUNK) + 1) * d);
const queries = new Float32Array(nQueries * d);
for (let i = 0; i < nQueries; i++) vectorInto(n + i, queries, i * d);
const query = (i: number): Float32Array => queries.subarray(i * d, (i + 1) * d);
const dataRss = rss();
log(`data made in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mb(dataRss)}`);

// Baseline: ExactIndex's scan (dot over every stored vector), straight over the chunks (no copy).
const exactTimes: number[] = [];
for (let qi = 0; qi < (selectOnly ? 0 : Math.min(nExact, nQueries)); qi++) {
  const q = query(qi);
  const s = performance.now();
  let best = -Infinity;
  for (const c of chunks) for (let off = 0; off < c.length; off += d) best = Math.max(best, dot(q, c, off, d));
  exactTimes.push(performance.now() - s);
}
const rows: string[][] = selectOnly
  ? []
  : [
      [
        num,
        'exact scan (baseline)',
        '-',
        `${pct(exactTimes, 50).toFixed(0)} / ${pct(exactTimes, 99).toFixed(0)} ms`,
        '-',
        '1 (by definition)',
        `${mb(n * d * 4)} of vectors`,
      ],
    ];
if (!selectOnly) log(rows.at(-1)!.join(' | '));

// Ground truth for recall: usearch's brute-force search, chunk by chunk, on both cores.
const g0 = performance.now();
const truth = new Array<{ id: number; cosine: number }>(selectOnly ? 0 : Math.min(nRecall, nQueries)).fill({ id: -1, cosine: -Infinity });
if (truth.length > 0)
  chunks.forEach((c, ci) => {
    const m = usearch.exactSearch(c, queries.subarray(0, truth.length * d), d, 1, 'ip' as never, 2) as unknown as {
      keys: BigUint64Array;
      distances: Float32Array;
    };
    for (let i = 0; i < truth.length; i++) {
      const cosine = 1 - m.distances[i]!;
      if (cosine > truth[i]!.cosine) truth[i] = { id: ci * CHUNK + Number(m.keys[i]!), cosine };
    }
  });
log(`ground truth for ${truth.length} queries in ${((performance.now() - g0) / 1000).toFixed(1)} s`);

for (const name of selectOnly ? [] : values.configs.split(',')) {
  const config = CONFIGS[name];
  if (config === undefined) throw new Error(`unknown config ${name}: ${Object.keys(CONFIGS).join(', ')}`);
  const rssBefore = rss();
  const c0 = process.cpuUsage();
  const b0 = performance.now();
  const approx = new ApproxIndex(usearch, d, {
    ...config.options,
    ...(config.rerank !== undefined && { rerank: { k: config.rerank, vectorOf } }),
  });
  chunks.forEach((c, ci) => {
    approx.addMany(
      Array.from({ length: c.length / d }, (_, i) => ci * CHUNK + i),
      c,
      2,
    );
    if (ci % 4 === 3)
      log(`${config.label}: ${((ci + 1) * CHUNK).toLocaleString('en')} added, ${((performance.now() - b0) / 1000).toFixed(0)} s`);
  });
  const buildS = (performance.now() - b0) / 1000;
  const cpu = process.cpuUsage(c0);
  const indexBytes = rss() - rssBefore;
  const times: number[] = [];
  // CPU time of each query too: on a machine shared with other work, wall time includes waiting for a core.
  const cpuTimes: number[] = [];
  let hits = 0;
  for (let i = 0; i < nQueries; i++) {
    const s = performance.now();
    const c = process.cpuUsage();
    const r = approx.nearest(query(i));
    const used = process.cpuUsage(c);
    times.push(performance.now() - s);
    cpuTimes.push((used.user + used.system) / 1000);
    if (i < truth.length && r?.id === truth[i]!.id) hits++;
  }
  const bq0 = performance.now();
  approx.nearestMany(queries, nQueries, 2);
  const qps = nQueries / ((performance.now() - bq0) / 1000);
  rows.push([
    num,
    config.label,
    `${buildS.toFixed(0)} s (${((cpu.user + cpu.system) / 1e6).toFixed(0)} CPU s)`,
    `${pct(times, 50).toFixed(2)} / ${pct(times, 99).toFixed(2)} ms (CPU ${pct(cpuTimes, 50).toFixed(2)} / ${pct(cpuTimes, 99).toFixed(2)})`,
    `${qps.toFixed(0)} q/s`,
    `${(hits / truth.length).toFixed(3)} (${truth.length} q)`,
    `+${mb(indexBytes)}`,
  ]);
  log(rows.at(-1)!.join(' | '));
}

// Selection of nSelect from n at 0.9, with the index export --select uses above 20,000 to keep.
if (nSelect <= n) {
  const vectors = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) vectors.set(i, vectorOf(i));
  const ordered = Array.from({ length: n }, (_, i) => ({ taskId: i, score: null }));
  const s0 = performance.now();
  const sc0 = process.cpuUsage();
  const index = new ApproxIndex(usearch, d, { ...selectIndex, rerank: { k: selectIndex.rerank, vectorOf: (id) => vectors.get(id) } });
  const sel = selectDiverse(ordered, vectors, { n: nSelect, threshold: 0.9, index });
  const selS = (performance.now() - s0) / 1000;
  const selCpu = process.cpuUsage(sc0);
  // The guarantee, checked by brute force: a sample of 500 kept vectors against every other kept one.
  const probe = sel.kept.filter((_, i) => i % Math.max(1, Math.floor(sel.kept.length / 500)) === 0).slice(0, 500);
  const probed = new Set(probe);
  const others = sel.kept.filter((id) => !probed.has(id));
  const othersFlat = new Float32Array(others.length * d);
  others.forEach((id, i) => othersFlat.set(vectors.get(id)!, i * d));
  const probeFlat = new Float32Array(probe.length * d);
  probe.forEach((id, i) => probeFlat.set(vectors.get(id)!, i * d));
  let violations = 0;
  if (others.length > 0 && probe.length > 1) {
    const m = usearch.exactSearch(othersFlat, probeFlat, d, 1, 'ip' as never, 2) as unknown as { distances: Float32Array };
    for (let i = 0; i < probe.length; i++) if (1 - m.distances[i]! >= 0.9) violations++;
  }
  // Exact baseline on a prefix: pairs compared grow with kept², so scale by (N/k)² from k kept.
  const k = Math.min(nSelect, selectOnly ? 1000 : 2000);
  const e0 = performance.now();
  const exactSel = selectDiverse(ordered, vectors, { n: k, threshold: 0.9, index: new ExactIndex(d, k) });
  const exactS = (performance.now() - e0) / 1000;
  const scaled = exactS * (nSelect / exactSel.kept.length) ** 2;
  const cpuS = (selCpu.user + selCpu.system) / 1e6;
  rows.push([
    num,
    `select ${nSelect.toLocaleString('en')} @0.9: ${selectIndex.quantization} M${selectIndex.connectivity} ef ${selectIndex.expansionAdd}/${selectIndex.expansionSearch}, re-rank ${selectIndex.rerank}`,
    '-',
    `${selS.toFixed(1)} s (${cpuS.toFixed(0)} CPU s)`,
    `considered ${sel.considered.toLocaleString('en')}, kept ${sel.kept.length.toLocaleString('en')}, similar ${sel.similar.toLocaleString('en')}${nearCopies > 0 ? ` (${(nearCopies * 100).toFixed(0)}% near-copies planted)` : ''}`,
    `${violations} of ${probe.length} kept have another kept ≥ 0.9`,
    '-',
  ]);
  rows.push([
    num,
    `select, exact search (baseline)`,
    '-',
    `${exactS.toFixed(1)} s for ${exactSel.kept.length} kept → ~${scaled.toFixed(0)} s for ${nSelect.toLocaleString('en')} (×${(scaled / selS).toFixed(1)})`,
    '-',
    '0 by construction',
    '-',
  ]);
  log(rows.at(-1)!.join(' | '));
}
rows.push([num, 'peak RSS of this size', '-', '-', '-', '-', mb(process.resourceUsage().maxRSS * 1024)]);
console.log(JSON.stringify(rows));
