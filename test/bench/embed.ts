/**
 * Embedding index benchmark (issue 24): synthetic unit vectors of 1,024 dimensions in two shapes.
 *
 *   npm run bench:embed -- [--sizes 100000,1000000] [--dims 1024] [--shapes clusters,latent]
 *                          [--graphs i8,f32] [--search 64/10,256/64,…] [--queries 1000] [--exact-queries 20]
 *                          [--select 50000] [--near-copies 0] [--cache DIR | --no-cache]
 *
 * Shapes (each its own rows):
 * - clusters: 2,000 random centres, each vector its centre plus uniform noise (cosine to a neighbour of the
 *   same centre ≈ 0.73 for all of them): at 1M, 500 near-equidistant vectors per centre, so the true 1-NN is
 *   a near tie. Harder than real sentence embeddings; kept as the stress case.
 * - latent: 2,000 topic centres in a 32-dimensional latent space, each vector its topic plus latent
 *   spread, through one fixed random 32 → 1,024 projection, plus 1,024-dimensional noise carrying 5% of the
 *   energy: low intrinsic dimension, as sentence embeddings have, so nearest neighbours stand out more.
 *
 * Each size × shape runs in its own child process (its peak RSS is its own). Per child:
 * - baseline: exact search as the pipeline does it (ExactIndex's dot-product scan), query p50/p99 over
 *   --exact-queries queries (0 skips it);
 * - ground truth: usearch's exact (brute-force) search for the --queries fresh queries and for
 *   --queries "paraphrase" queries (a stored vector moved to a cosine of 0.85 to 0.97 from it);
 * - each HNSW graph of --graphs (GRAPHS, or quantization:M:efAdd) is built once and saved under --cache
 *   (default: the OS temporary folder), keyed by shape, size, dimensions, seed and graph; a later run loads
 *   it and says so, its build time then read from the sidecar JSON the building run wrote. Each graph is
 *   searched at every --search point ef/k: usearch's search breadth ef (a setting of the loaded index, not
 *   of the file) and k candidates re-ranked by exact float32 cosine (k 0: no re-rank, f32/f16 graphs only;
 *   the breadth is then max(ef, k)). Per point: single-query p50/p99 (wall, and CPU: the machine is shared),
 *   batched queries per second on both cores, recall@1 against the ground truth, and the product's
 *   decision: of the paraphrase queries whose true nearest cosine is ≥ 0.9, how many the index answers
 *   with a neighbour ≥ 0.9 (semantic duplicate at acceptance, --select's diversity check);
 * - selection of --select from the N (judge order = id order), diversity 0.9, with the index export
 *   --select uses above 20,000 to keep (SELECT_INDEX in embed/index-choices.ts) and, as the baseline, with exact
 *   search on a prefix, its time scaled by the pairs compared (kept²), and the same prefix with usearch's
 *   exact scan in blocks (BruteForceIndex, what --select uses up to 20,000);
 * - --select-store: the N vectors written to a temporary SQLite store, and export/select.ts's selectRows
 *   timed over it (reading vectors as the selection reaches them), beside reading every candidate's vector
 *   up front (what selectRows did before).
 * Targets (issue 24): 1M vectors query p99 ≤ 10 ms with recall@1 ≥ 0.95; selection of 50k from 1M ≤ 60 s.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectDiverse } from '../../pipeline/embed/select.ts';
import {
  ApproxIndex,
  BruteForceIndex,
  dot,
  ExactIndex,
  usearchNow,
  unitVector,
  type ApproxOptions,
} from '../../pipeline/embed/vector-index.ts';
import { SELECT_INDEX, selectRows } from '../../pipeline/export/select.ts';
import { EmbeddingStore } from '../../pipeline/store/embeddings.ts';
import { Store } from '../../pipeline/store/store.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    dims: { type: 'string', default: '1024' },
    shapes: { type: 'string', default: 'clusters,latent' },
    graphs: { type: 'string', default: 'i8' },
    search: { type: 'string', default: '64/10,128/32,256/64,512/128' },
    queries: { type: 'string', default: '1000' },
    'exact-queries': { type: 'string', default: '20' },
    select: { type: 'string', default: '50000' },
    'near-copies': { type: 'string', default: '0' },
    'select-only': { type: 'boolean', default: false },
    /** Also the export's whole selection over a SQLite store of the N vectors (export/select.ts's selectRows). */
    'select-store': { type: 'boolean', default: false },
    /** Another selection index to measure: quantization:M:efAdd:efSearch:rerank. Default SELECT_INDEX. */
    'select-index': { type: 'string' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'zh-self-instruct-bench-embed') },
    'no-cache': { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

/** Named HNSW graphs (what is fixed at build time); any other as quantization:M:efAdd. */
const GRAPHS: Record<string, string> = { i8: 'i8:16:64', f32: 'f32:16:128', f16: 'f16:16:64', i8m32: 'i8:32:128' };
type Graph = Required<Pick<ApproxOptions, 'quantization' | 'connectivity' | 'expansionAdd'>>;
const graphOf = (spec: string): Graph => {
  const [q, m, ea] = (GRAPHS[spec] ?? spec).split(':');
  if (!['f32', 'f16', 'i8'].includes(q ?? '') || !(Number(m) > 0) || !(Number(ea) > 0)) {
    throw new Error(`--graphs: ${spec} is neither ${Object.keys(GRAPHS).join(', ')} nor quantization:M:efAdd`);
  }
  return { quantization: q as Graph['quantization'], connectivity: Number(m), expansionAdd: Number(ea) };
};
const graphLabel = (g: Graph): string => `${g.quantization} M${g.connectivity} efAdd ${g.expansionAdd}`;

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

if (!values.child) {
  // The parent: one child per size and shape, then the table.
  const rows: string[][] = [];
  const drop = new Set(['--sizes', '--shapes']);
  const args = process.argv.slice(2).filter((a, i, all) => !drop.has(a) && !drop.has(all[i - 1]!));
  for (const n of values.sizes.split(','))
    for (const shape of values.shapes.split(',')) {
      // --expose-gc: a loaded index's native memory is only returned when its wrapper is collected.
      const r = spawnSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--sizes', n, '--shapes', shape, ...args],
        { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
      );
      if (r.status !== 0) throw new Error(`the child for ${n} ${shape} vectors failed (${r.status ?? r.signal})`);
      rows.push(...(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[][]));
    }
  const header = ['vectors', 'data', 'search', 'build', 'query p50 / p99', 'batched', 'recall@1 vs exact', '≥ 0.9 found', 'memory'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    `dims ${values.dims}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  process.exit(0);
}

// -- the child: one size, one shape ------------------------------------------------------------------
const n = Number(values.sizes);
const d = Number(values.dims);
const shape = values.shapes;
if (shape !== 'clusters' && shape !== 'latent') throw new Error(`--shapes: ${shape} is neither clusters nor latent`);
const nQueries = Number(values.queries);
const nExact = Number(values['exact-queries']);
const nSelect = Number(values.select);
const nearCopies = Number(values['near-copies']);
const selectOnly = values['select-only'];
const points = values.search.split(',').map((p) => {
  const [ef, k] = p.split('/').map(Number);
  if (!(ef! > 0) || !(k! >= 0)) throw new Error(`--search: ${p} is not ef/k`);
  return { ef: ef!, k: k! };
});
const [sq, sm, sea, ses, srr] = (values['select-index'] ?? '').split(':');
const selectIndex =
  values['select-index'] === undefined
    ? SELECT_INDEX
    : { quantization: sq as 'i8', connectivity: Number(sm), expansionAdd: Number(sea), expansionSearch: Number(ses), rerank: Number(srr) };
const usearch = usearchNow();
if (usearch === null) throw new Error('usearch did not load: only exact search is available on this machine');
const rss = (): number => process.memoryUsage().rss;
const log = (m: string): void => void process.stderr.write(`n=${n} ${shape}: ${m}\n`);
const num = n.toLocaleString('en');
const gc = async (): Promise<void> => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setImmediate(r));
  (globalThis as { gc?: () => void }).gc?.();
};

// xorshift32: fast enough to make 10⁹ values in seconds.
const SEED = 2024;
let state = SEED;
const rand = (): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32 - 0.5;
};
const CLUSTERS = 2000;
const LATENT = 32;
/** clusters: the centres in d dimensions; latent: the topics in LATENT dimensions (variance 1 each). */
const centres = new Float32Array(CLUSTERS * (shape === 'clusters' ? d : LATENT));
for (let i = 0; i < centres.length; i++) centres[i] = shape === 'clusters' ? rand() : rand() * Math.sqrt(12);
/** latent: the fixed projection, row j = the weights of output dimension j. */
const projection = new Float32Array(shape === 'latent' ? d * LATENT : 0);
for (let i = 0; i < projection.length; i++) projection[i] = rand();
const z = new Float32Array(LATENT);
// Noise of 5% of the energy: the projection's rows have energy LATENT·2/12 per unit latent variance
// (topic and spread, 1 + 1), uniform noise of amplitude a has a²/12.
const latentNoise = Math.sqrt(0.05 * LATENT * 2);

/**
 * Vector i (of topic/centre i·7919 mod 2,000) written into `out` at `at`. With --near-copies F, that share
 * of the vectors (every 1/F-th) is instead a paraphrase of the one before it: the same vector plus a
 * little noise (cosine about 0.998), so the selection has pairs above its threshold to find.
 */
function vectorInto(i: number, out: Float32Array, at: number): void {
  const copyOf = nearCopies > 0 && i > 0 && i % Math.round(1 / nearCopies) === 0 && at >= d;
  const c = (i * 7919) % CLUSTERS;
  if (copyOf) for (let j = 0; j < d; j++) out[at + j] = out[at - d + j]! + 0.006 * rand();
  else if (shape === 'clusters') for (let j = 0; j < d; j++) out[at + j] = centres[c * d + j]! + 0.6 * rand();
  else {
    for (let l = 0; l < LATENT; l++) z[l] = centres[c * LATENT + l]! + rand() * Math.sqrt(12);
    for (let j = 0; j < d; j++) {
      let x = 0;
      for (let l = 0; l < LATENT; l++) x += projection[j * LATENT + l]! * z[l]!;
      out[at + j] = x + latentNoise * rand();
    }
  }
  normalise(out, at);
}

function normalise(out: Float32Array, at: number): void {
  let norm = 0;
  for (let j = 0; j < d; j++) norm += out[at + j]! * out[at + j]!;
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
// Fresh queries: vectors n, n+1, … of the same shape (recall@1, latency).
const queries = new Float32Array(nQueries * d);
for (let i = 0; i < nQueries; i++) vectorInto(n + i, queries, i * d);
const query = (i: number): Float32Array => queries.subarray(i * d, (i + 1) * d);
// Paraphrase queries: stored vector j plus a random direction, at a cosine spread evenly over 0.85–0.97.
const paraphrases = new Float32Array(nQueries * d);
for (let i = 0; i < nQueries; i++) {
  const base = vectorOf((i * 104_729 + 17) % n);
  const g = new Float32Array(d);
  for (let j = 0; j < d; j++) g[j] = rand();
  normalise(g, 0);
  const c = 0.85 + (0.12 * i) / Math.max(1, nQueries - 1);
  const sigma = Math.sqrt(1 / (c * c) - 1);
  for (let j = 0; j < d; j++) paraphrases[i * d + j] = base[j]! + sigma * g[j]!;
  normalise(paraphrases, i * d);
}
const dataRss = rss();
log(`data made in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mb(dataRss)}`);

// The cache: one file per built graph and a sidecar of how its build went; ground truth likewise.
// --no-cache: a folder of this run's own, removed at the end (the index is still searched from its file).
const cacheDir = values['no-cache'] ? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-embed-')) : values.cache;
fs.mkdirSync(cacheDir, { recursive: true });
const dataKey = `${shape}-n${n}-d${d}-seed${SEED}-copies${nearCopies}`;
const writeAtomically = (file: string, write: (tmp: string) => void): void => {
  const tmp = `${file}.${process.pid}.tmp`;
  write(tmp);
  fs.renameSync(tmp, file);
};

// Baseline: ExactIndex's scan (dot over every stored vector), straight over the chunks (no copy).
const exactTimes: number[] = [];
for (let qi = 0; qi < (selectOnly ? 0 : Math.min(nExact, nQueries)); qi++) {
  const q = query(qi);
  const s = performance.now();
  let best = -Infinity;
  for (const c of chunks) for (let off = 0; off < c.length; off += d) best = Math.max(best, dot(q, c, off, d));
  exactTimes.push(performance.now() - s);
}
const rows: string[][] = [];
/** A row of the table, also logged as it comes. */
const report = (row: string[]): void => {
  rows.push(row);
  log(row.join(' | '));
};
if (exactTimes.length > 0) {
  rows.push([
    num,
    shape,
    'exact scan (baseline)',
    '-',
    `${pct(exactTimes, 50).toFixed(0)} / ${pct(exactTimes, 99).toFixed(0)} ms`,
    '-',
    '1 (by definition)',
    'all',
    `${mb(n * d * 4)} of vectors`,
  ]);
  log(rows.at(-1)!.join(' | '));
}

// Ground truth: usearch's brute-force search, chunk by chunk, on both cores (cached: minutes at 1M).
interface Truth {
  ids: number[];
  cosines: number[];
}
function groundTruth(qs: Float32Array, count: number): Truth {
  const t: Truth = { ids: new Array<number>(count).fill(-1), cosines: new Array<number>(count).fill(-Infinity) };
  chunks.forEach((c, ci) => {
    const m = usearch!.exactSearch(c, qs.subarray(0, count * d), d, 1, 'ip' as never, 2) as unknown as {
      keys: BigUint64Array;
      distances: Float32Array;
    };
    for (let i = 0; i < count; i++) {
      const cosine = 1 - m.distances[i]!;
      if (cosine > t.cosines[i]!) {
        t.cosines[i] = cosine;
        t.ids[i] = ci * CHUNK + Number(m.keys[i]!);
      }
    }
  });
  return t;
}
const truthFile = path.join(cacheDir, `${dataKey}-truth-q${nQueries}.json`);
let truth: { fresh: Truth; paraphrase: Truth } | undefined;
if (!selectOnly) {
  if (fs.existsSync(truthFile)) truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as typeof truth;
  else {
    const g0 = performance.now();
    truth = { fresh: groundTruth(queries, nQueries), paraphrase: groundTruth(paraphrases, nQueries) };
    log(`ground truth for 2 × ${nQueries} queries in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    writeAtomically(truthFile, (tmp) => fs.writeFileSync(tmp, JSON.stringify(truth)));
  }
  const dup = truth!.paraphrase.cosines.filter((c) => c >= 0.9).length;
  log(`paraphrase queries with a true neighbour ≥ 0.9: ${dup} of ${nQueries}`);
}

interface BuildRecord {
  buildS: number;
  cpuS: number;
  rssGrowth: number;
  fileBytes: number;
  loadAverage: number[];
  at: string;
}

for (const spec of selectOnly ? [] : values.graphs.split(',')) {
  const graph = graphOf(spec);
  const file = path.join(cacheDir, `${dataKey}-${graph.quantization}-M${graph.connectivity}-efa${graph.expansionAdd}.usearch`);
  const sidecar = `${file}.json`;
  let record: BuildRecord;
  let cached = false;
  if (fs.existsSync(file) && fs.existsSync(sidecar)) {
    record = JSON.parse(fs.readFileSync(sidecar, 'utf8')) as BuildRecord;
    cached = true;
    log(`${graphLabel(graph)}: cached index ${file} (built ${record.at} in ${record.buildS.toFixed(0)} s)`);
  } else {
    const rssBefore = rss();
    const c0 = process.cpuUsage();
    const b0 = performance.now();
    // Re-rank with any k: only needed so an i8 index can be made; the search points set their own.
    const built = new ApproxIndex(usearch, d, { ...graph, rerank: { k: 1, vectorOf } });
    for (const [ci, c] of chunks.entries()) {
      built.addMany(
        Array.from({ length: c.length / d }, (_, i) => ci * CHUNK + i),
        c,
        2,
      );
      if (ci % 4 === 3)
        log(`${graphLabel(graph)}: ${((ci + 1) * CHUNK).toLocaleString('en')} added, ${((performance.now() - b0) / 1000).toFixed(0)} s`);
    }
    const cpu = process.cpuUsage(c0);
    record = {
      buildS: (performance.now() - b0) / 1000,
      cpuS: (cpu.user + cpu.system) / 1e6,
      rssGrowth: rss() - rssBefore,
      fileBytes: 0,
      loadAverage: os.loadavg(),
      at: new Date().toISOString(),
    };
    writeAtomically(file, (tmp) => built.save(tmp));
    record.fileBytes = fs.statSync(file).size;
    writeAtomically(sidecar, (tmp) => fs.writeFileSync(tmp, JSON.stringify(record, null, 2)));
  }
  const buildCell = `${record.buildS.toFixed(0)} s (${record.cpuS.toFixed(0)} CPU s, load ${record.loadAverage[0]!.toFixed(1)})${cached ? ', cached' : ''}`;
  const memoryCell = `+${mb(record.rssGrowth)} built, file ${mb(record.fileBytes)}`;

  for (const { ef, k } of points) {
    if (k === 0 && graph.quantization === 'i8') {
      log(`${graphLabel(graph)}: skipping ${ef}/0 (an i8 graph needs re-rank)`);
      continue;
    }
    const options: ApproxOptions = { ...graph, expansionSearch: ef, ...(k > 0 && { rerank: { k, vectorOf } }) };
    await gc();
    const index = ApproxIndex.open(usearch, d, file, options);
    // Warm-up, untimed: the first searches fault pages in.
    for (let i = 0; i < Math.min(100, nQueries); i++) index.nearest(paraphrases.subarray(i * d, (i + 1) * d));
    const times: number[] = [];
    // CPU time of each query too: on a machine shared with other work, wall time includes waiting for a core.
    const cpuTimes: number[] = [];
    let hits = 0;
    for (let i = 0; i < nQueries; i++) {
      const s = performance.now();
      const c = process.cpuUsage();
      const r = index.nearest(query(i));
      const used = process.cpuUsage(c);
      times.push(performance.now() - s);
      cpuTimes.push((used.user + used.system) / 1000);
      if (r?.id === truth!.fresh.ids[i]) hits++;
    }
    const bq0 = performance.now();
    index.nearestMany(queries, nQueries, 2);
    const qps = nQueries / ((performance.now() - bq0) / 1000);
    // The product's decision: a neighbour ≥ 0.9 exists → the index answers one ≥ 0.9.
    const found = index.nearestMany(paraphrases, nQueries, 2);
    let exists = 0;
    let caught = 0;
    let false09 = 0;
    found.forEach((r, i) => {
      const yes = truth!.paraphrase.cosines[i]! >= 0.9;
      if (yes) exists++;
      if (yes && (r?.cosine ?? -1) >= 0.9) caught++;
      if (!yes && (r?.cosine ?? -1) >= 0.9) false09++;
    });
    rows.push([
      num,
      shape,
      `HNSW ${graphLabel(graph)}, ef ${ef}, ${k > 0 ? `re-rank ${k}` : 'no re-rank'}`,
      buildCell,
      `${pct(times, 50).toFixed(2)} / ${pct(times, 99).toFixed(2)} ms (CPU ${pct(cpuTimes, 50).toFixed(2)} / ${pct(cpuTimes, 99).toFixed(2)})`,
      `${qps.toFixed(0)} q/s`,
      `${(hits / nQueries).toFixed(3)} (${nQueries} q)`,
      `${caught} of ${exists}${false09 > 0 ? `, ${false09} wrongly` : ''}`,
      memoryCell,
    ]);
    log(rows.at(-1)!.join(' | '));
  }
}
await gc();
if (values['no-cache']) fs.rmSync(cacheDir, { recursive: true, force: true });

// Selection of nSelect from n at 0.9, with the index export --select uses above 20,000 to keep.
if (nSelect > 0 && nSelect <= n) {
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
  const ec0 = process.cpuUsage();
  const exactSel = selectDiverse(ordered, vectors, { n: k, threshold: 0.9, index: new ExactIndex(d, k) });
  const exactS = (performance.now() - e0) / 1000;
  const exactCpu = process.cpuUsage(ec0);
  const scaled = exactS * (nSelect / exactSel.kept.length) ** 2;
  // The same prefix with usearch's exact scan in blocks (what --select uses up to 20,000 to keep).
  const b0 = performance.now();
  const bc0 = process.cpuUsage();
  const bruteSel = selectDiverse(ordered, vectors, { n: k, threshold: 0.9, index: new BruteForceIndex(usearch, d, k) });
  const bruteS = (performance.now() - b0) / 1000;
  const bruteCpu = process.cpuUsage(bc0);
  const same = bruteSel.kept.join() === exactSel.kept.join();
  const cpuS = (selCpu.user + selCpu.system) / 1e6;
  rows.push([
    num,
    shape,
    `select ${nSelect.toLocaleString('en')} @0.9: ${selectIndex.quantization} M${selectIndex.connectivity} ef ${selectIndex.expansionAdd}/${selectIndex.expansionSearch}, re-rank ${selectIndex.rerank}`,
    '-',
    `${selS.toFixed(1)} s (${cpuS.toFixed(0)} CPU s)`,
    `considered ${sel.considered.toLocaleString('en')}, kept ${sel.kept.length.toLocaleString('en')}, similar ${sel.similar.toLocaleString('en')}${nearCopies > 0 ? ` (${(nearCopies * 100).toFixed(0)}% near-copies planted)` : ''}`,
    `${violations} of ${probe.length} kept have another kept ≥ 0.9`,
    '-',
    '-',
  ]);
  const cpuOf = (u: NodeJS.CpuUsage): string => `${((u.user + u.system) / 1e6).toFixed(1)} CPU s`;
  rows.push([
    num,
    shape,
    `select, exact search (baseline)`,
    '-',
    `${exactS.toFixed(1)} s (${cpuOf(exactCpu)}) for ${exactSel.kept.length} kept → ~${scaled.toFixed(0)} s for ${nSelect.toLocaleString('en')} (×${(scaled / selS).toFixed(1)})`,
    '-',
    '0 by construction',
    '-',
    '-',
  ]);
  log(rows.at(-1)!.join(' | '));
  report([
    num,
    shape,
    `select, exact search by usearch's scan in blocks (--select up to 20,000)`,
    '-',
    `${bruteS.toFixed(1)} s (${cpuOf(bruteCpu)}) for ${bruteSel.kept.length} kept (${same ? 'the same rows' : 'OTHER ROWS than the baseline'}; ×${(exactS / bruteS).toFixed(1)} faster than the baseline)`,
    '-',
    '0 by construction',
    '-',
    '-',
  ]);
}
// The export's selection end to end: the N vectors in a store (as `embed` writes them), then selectRows, which
// reads the candidates' vectors as the selection reaches them. Baseline: reading every candidate's vector up
// front, as selectRows did before (the selection itself then comes on top).
if (values['select-store'] && nSelect > 0 && nSelect <= n) {
  await gc();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-embed-store-'));
  try {
    const store = Store.open(path.join(dir, 'bench.db'));
    const embeddings = new EmbeddingStore(store);
    const model = 'bench-embed';
    const w0 = performance.now();
    const ids: number[] = [];
    for (let at = 0; at < n; at += 10_000) {
      store.transaction(() => {
        for (let i = at; i < Math.min(n, at + 10_000); i++) {
          const id = store.insertTask({
            instruction: `t${i}`,
            input: '',
            output: 'o',
            source: 'generated',
            dedupKey: `k${i}`,
            status: 'accepted',
          });
          embeddings.insert(id, model, `sha${i}`, vectorOf(i), null);
          ids.push(id);
        }
      });
    }
    log(`store of ${num} vectors written in ${((performance.now() - w0) / 1000).toFixed(0)} s`);
    const candidates = ids.map((taskId) => ({ taskId, score: null }));
    const timed = async <T>(f: () => T | Promise<T>): Promise<{ value: T; s: number; cpu: number }> => {
      await gc();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const value = await f();
      const c = process.cpuUsage(c0);
      return { value, s: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
    };
    const selected = await timed(() => selectRows(store, candidates, { n: nSelect, threshold: 0.9, model }));
    const eager = await timed(() => embeddings.vectors(model, { taskIds: ids }).filter((e) => unitVector(e.vector) !== undefined).length);
    report([
      num,
      shape,
      `export selection from the store (selectRows), ${nSelect.toLocaleString('en')} @0.9`,
      '-',
      `${selected.s.toFixed(1)} s (${selected.cpu.toFixed(0)} CPU s)`,
      `considered ${selected.value.manifest.considered.toLocaleString('en')}, kept ${selected.value.manifest.kept.toLocaleString('en')}`,
      '-',
      '-',
      '-',
    ]);
    report([
      num,
      shape,
      `reading every candidate's vector up front (the former selectRows, before selecting)`,
      '-',
      `${eager.s.toFixed(1)} s (${eager.cpu.toFixed(0)} CPU s)`,
      `${eager.value.toLocaleString('en')} read`,
      '-',
      '-',
      `${mb(eager.value * d * 4)} of vectors held at once`,
    ]);
    store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
rows.push([num, shape, 'peak RSS of this child', '-', '-', '-', '-', '-', mb(process.resourceUsage().maxRSS * 1024)]);
console.log(JSON.stringify(rows));
