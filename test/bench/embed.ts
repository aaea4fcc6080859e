/**
 * Embedding index benchmark (issue 24), synthetic unit vectors of 1,024 dimensions around 2,000
 * cluster centres (so nearest neighbours are meaningful, unlike uniform noise):
 *
 *   npx tsx test/bench/embed.ts [--sizes 100000,1000000] [--dims 1024] [--queries 1000] [--exact-queries 50]
 *                               [--select 50000]
 *
 * Per size, in this process (peak RSS read before and after):
 * - baseline: exact search (ExactIndex's dot-product scan), query p50/p99 over --exact-queries queries;
 * - usearch HNSW (f32, inner product, M=16, ef_add 128, ef_search 64): build time on both cores, query
 *   p50/p99 over --queries, recall@1 against the exact answers of the same queries, RSS growth;
 * - selection of --select from the N (judge order = id order here), diversity 0.9: with the HNSW index
 *   (what export --select uses above 20,000 to keep) and, as a baseline, with exact search on a prefix
 *   whose time is scaled by the pairs compared.
 * Targets (issue 24): 1M vectors query p99 ≤ 10 ms with recall@1 ≥ 0.95; selection of 50k from 1M ≤ 60 s.
 */
import { parseArgs } from 'node:util';
import { selectDiverse } from '../../pipeline/embed/select.ts';
import { ApproxIndex, ExactIndex, loadUsearch, unitVector, type VectorIndex } from '../../pipeline/embed/vector-index.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    dims: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '1000' },
    'exact-queries': { type: 'string', default: '50' },
    select: { type: 'string', default: '50000' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const d = Number(values.dims);
const nQueries = Number(values.queries);
const nExact = Number(values['exact-queries']);
const nSelect = Number(values.select);

let seed = 2024;
const rand = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const CLUSTERS = 2000;
const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: d }, rand));
function vector(i: number): Float32Array {
  const c = centres[(i * 7919) % CLUSTERS]!;
  return unitVector(Float32Array.from(c, (x) => x + 0.6 * rand()))!;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
const rss = (): number => process.memoryUsage().rss;

const rows: string[][] = [];
const usearch = await loadUsearch();
if (usearch === null) throw new Error('usearch did not load: only exact search is available on this machine');

for (const n of sizes) {
  const t0 = performance.now();
  const rssStart = rss();
  // One flat block of 64k vectors per chunk: a 1M × 1024 set is 4 GB, over one typed array's comfort.
  const CHUNK = 65_536;
  const chunks: Float32Array[] = [];
  for (let at = 0; at < n; at += CHUNK) {
    const m = Math.min(CHUNK, n - at);
    const block = new Float32Array(m * d);
    for (let i = 0; i < m; i++) block.set(vector(at + i), i * d);
    chunks.push(block);
  }
  const at = (i: number): Float32Array => chunks[Math.floor(i / CHUNK)]!.subarray((i % CHUNK) * d, ((i % CHUNK) + 1) * d);
  const queries = Array.from({ length: nQueries }, (_, i) => vector(n + i));
  console.error(`n=${n}: data made in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mb(rss())}`);

  // Baseline: exact scan over every chunk.
  const exactAnswers: number[] = [];
  const exactTimes: number[] = [];
  // One ExactIndex per chunk (a copy, made before timing starts).
  const chunkIndexes = chunks.map((c, ci) => {
    const m = c.length / d;
    const e = new ExactIndex(d, m);
    for (let i = 0; i < m; i++) e.add(ci * CHUNK + i, c.subarray(i * d, (i + 1) * d));
    return e;
  });
  for (const q of queries.slice(0, nExact)) {
    const s = performance.now();
    let best = { id: -1, cosine: -Infinity };
    for (const e of chunkIndexes) {
      const r = e.nearest(q)!;
      if (r.cosine > best.cosine) best = r;
    }
    exactTimes.push(performance.now() - s);
    exactAnswers.push(best.id);
  }
  chunkIndexes.length = 0;
  const rssBeforeIndex = rss();

  // usearch HNSW.
  const c0 = process.cpuUsage();
  const b0 = performance.now();
  const approx = new ApproxIndex(usearch, d);
  for (let ci = 0; ci < chunks.length; ci++) {
    const c = chunks[ci]!;
    const m = c.length / d;
    approx.addMany(
      Array.from({ length: m }, (_, i) => ci * CHUNK + i),
      c,
      2,
    );
  }
  const buildS = (performance.now() - b0) / 1000;
  const cpu = process.cpuUsage(c0);
  const buildCpuS = (cpu.user + cpu.system) / 1e6;
  const indexBytes = rss() - rssBeforeIndex;
  const approxTimes: number[] = [];
  let hits = 0;
  queries.forEach((q, i) => {
    const s = performance.now();
    const r = approx.nearest(q)!;
    approxTimes.push(performance.now() - s);
    if (i < nExact && r.id === exactAnswers[i]) hits++;
  });
  const recall = hits / Math.min(nExact, queries.length);
  rows.push([
    `${n.toLocaleString('en')}`,
    `exact scan (baseline)`,
    '-',
    `${pct(exactTimes, 50).toFixed(1)} / ${pct(exactTimes, 99).toFixed(1)} ms`,
    '1 (by definition)',
    mb(n * d * 4),
  ]);
  rows.push([
    `${n.toLocaleString('en')}`,
    'usearch HNSW f32',
    `${buildS.toFixed(1)} s (${buildCpuS.toFixed(0)} CPU s)`,
    `${pct(approxTimes, 50).toFixed(2)} / ${pct(approxTimes, 99).toFixed(2)} ms`,
    `${recall.toFixed(3)} (${nExact} q)`,
    `+${mb(indexBytes)} (RSS ${mb(rss() - rssStart)} total)`,
  ]);
  console.error(`n=${n}: ${rows.at(-1)!.join(' | ')}`);

  // Selection of nSelect from n at 0.9.
  if (nSelect <= n) {
    const vectors = new Map<number, Float32Array>();
    for (let i = 0; i < n; i++) vectors.set(i, at(i));
    const ordered = Array.from({ length: n }, (_, i) => ({ taskId: i, score: null }));
    const s0 = performance.now();
    const sel = selectDiverse(ordered, vectors, { n: nSelect, threshold: 0.9, index: new ApproxIndex(usearch, d) as VectorIndex });
    const selS = (performance.now() - s0) / 1000;
    // Exact baseline on a prefix: pairs compared grow with kept², so scale by (N/k)² from k kept.
    const k = Math.min(nSelect, 3000);
    const e0 = performance.now();
    const exactSel = selectDiverse(ordered, vectors, { n: k, threshold: 0.9 });
    const exactS = (performance.now() - e0) / 1000;
    const scaled = exactS * (nSelect / exactSel.kept.length) ** 2;
    rows.push([
      `${n.toLocaleString('en')}`,
      `select ${nSelect.toLocaleString('en')} @0.9`,
      '-',
      `HNSW ${selS.toFixed(1)} s (considered ${sel.considered.toLocaleString('en')}, kept ${sel.kept.length.toLocaleString('en')})`,
      `exact: ${exactS.toFixed(1)} s for ${exactSel.kept.length} kept → ~${scaled.toFixed(0)} s for ${nSelect.toLocaleString('en')} (×${(scaled / selS).toFixed(0)})`,
      '-',
    ]);
    console.error(`n=${n}: ${rows.at(-1)!.join(' | ')}`);
  }
  chunks.length = 0;
}

const header = ['vectors', 'search', 'build', 'query p50 / p99', 'recall@1 vs exact', 'memory'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
const [load1] = (await import('node:os')).loadavg();
console.log(`dims ${d}; queries ${nQueries} (exact baseline ${nExact}); usearch loaded; load average ${load1!.toFixed(1)} on this machine`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
