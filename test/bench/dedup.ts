/**
 * Near-duplicate benchmark: the q-gram index against brute force under the greedy rule (query each
 * candidate in order, keep it unless it is ≥ T similar to a kept one).
 *
 *   npx tsx test/bench/dedup.ts [--sizes 10000,50000,200000,1000000] [--threshold 0.7] [--queries 2000]
 *                               [--pairs 5] [--commands-only]
 *
 * First, with the real data present, the whole `dedup` command against an independent exact reference
 * (dedup-commands.ts, dedup-reference.ts): wall time paired, start-up included, kept sets asserted equal.
 *
 * Each size runs in a child process of its own, so its peak RSS is its own. Per size:
 * - dedup: the greedy run over N synthetic candidates with the index, in one process; from
 *   SHARDED_FROM keys up, on two shard processes (both cores): each holds half of the kept keys and
 *   answers batches of candidates, the driver combines their answers with those of the batch's own
 *   earlier keys (best similarity, ties to the earliest key), which is the sequential rule exactly;
 * - build/query: an index built as `generate` builds it at start-up, from a SQLite store holding the N
 *   keys, then queried with fresh candidates (time per candidate: median and p99);
 * - brute force: the full greedy run up to BRUTE_FULL_MAX keys; at 50k every BRUTE_SAMPLE_EVERY-th
 *   candidate is timed against the kept set at its turn and the sum scaled up;
 * - decisions = brute force: every candidate's answer (match or not, id, similarity) is compared with
 *   brute force's — from the full run, or at 50k by recomputing brute force's answer for each
 *   candidate over the kept keys before it in two processes (by induction, equal answers mean equal
 *   kept sets). That recomputation skips a pair only when a textbook lower bound on its distance
 *   (length difference; units not shared as multisets) already puts similarity below T, evaluated
 *   with the rounding of `similarity()`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BruteForceIndex } from '../../pipeline/dedup/brute.ts';
import { buildIndex, QGramIndex } from '../../pipeline/dedup/qgram-index.ts';
import { dedupKey, similarity } from '../../pipeline/dedup/similarity.ts';
import { Store } from '../../pipeline/store/store.ts';
import { corpus } from './corpus.ts';
import { compareCommands, printCommandTable } from './dedup-commands.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '../..');
const REAL_DATA = path.resolve(REPO, '../shared/data/alpaca_zh_translated_20k.jsonl');
const BRUTE_FULL_MAX = 21_000; // covers the real data's 20,277 records
const BRUTE_SAMPLED_MAX = 50_000;
const BRUTE_SAMPLE_EVERY = 25;
const SHARDED_FROM = 500_000;
const SHARDS = 2;
const SHARD_BATCH = 512;
const CHECK_PROCESSES = 2;
/** Set when the child runs with --expose-gc, so a size's phases do not stack up in the RSS figure. */
const gc = (globalThis as { gc?: () => void }).gc;

interface Args {
  sizes: number[];
  threshold: number;
  queries: number;
  child?: string;
  check?: string;
  part?: string;
  shard?: boolean;
  pairs: number;
  commandsOnly?: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizes: [10_000, 50_000, 200_000, 1_000_000], threshold: 0.7, queries: 2000, pairs: 5 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--sizes')
      args.sizes = value()
        .split(',')
        .map((s) => Number(s.trim()));
    else if (flag === '--threshold') args.threshold = Number(value());
    else if (flag === '--queries') args.queries = Number(value());
    else if (flag === '--child') args.child = value();
    else if (flag === '--check') args.check = value();
    else if (flag === '--part') args.part = value();
    else if (flag === '--shard') args.shard = true;
    else if (flag === '--pairs') args.pairs = Number(value());
    else if (flag === '--commands-only') args.commandsOnly = true;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (args.sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--sizes takes positive integers, e.g. 10000,50000');
  if (!(args.threshold > 0 && args.threshold <= 1)) throw new Error('--threshold must be in (0, 1]');
  if (!Number.isInteger(args.queries) || args.queries <= 0) throw new Error('--queries must be a positive integer');
  return args;
}

/** The greedy run's answer per candidate: ordinal of its match (-1 = kept) and the similarity. */
interface Decisions {
  match: Int32Array;
  similarity: Float64Array;
  kept: number;
}

interface SizeResult {
  label: string;
  n: number;
  kept: number;
  dedupMs: number;
  sharded: boolean;
  buildMs: number;
  /** Distinct keys in the store the start-up index was built from. */
  storedKeys: number;
  queryP50Ms: number;
  queryP99Ms: number;
  rssMb: number;
  bruteMs?: number;
  bruteMode?: 'full' | 'sampled';
  checked?: number;
  mismatches?: number;
}

function greedyInProcess(keys: readonly string[], threshold: number): Decisions {
  const index = new QGramIndex();
  const match = new Int32Array(keys.length);
  const sims = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const found = index.findNearDuplicate(keys[i]!, threshold);
    match[i] = found ? found.id : -1;
    sims[i] = found ? found.similarity : 0;
    if (!found) index.add(keys[i]!, i);
  }
  return { match, similarity: sims, kept: index.size };
}

type ShardRequest = { type: 'query'; keys: string[]; threshold: number } | { type: 'add'; keys: string[]; ords: number[] };
interface ShardAnswer {
  ords: number[];
  sims: number[];
}

/** A shard process: an index over its share of the kept keys, ids = global ordinals. */
function shardMain(): void {
  const index = new QGramIndex();
  process.on('message', (m: ShardRequest) => {
    if (m.type === 'add') {
      m.keys.forEach((key, i) => index.add(key, m.ords[i]!));
      return;
    }
    const answer: ShardAnswer = { ords: [], sims: [] };
    for (const key of m.keys) {
      const found = index.findNearDuplicate(key, m.threshold);
      answer.ords.push(found ? found.id : -1);
      answer.sims.push(found ? found.similarity : 0);
    }
    process.send!(answer);
  });
  process.on('disconnect', () => process.exit(0));
}

/** The greedy rule on SHARDS processes; see the header for why the answers are the sequential ones. */
async function greedySharded(keys: readonly string[], threshold: number): Promise<Decisions> {
  const shards: ChildProcess[] = Array.from({ length: SHARDS }, () =>
    spawn(process.execPath, [...process.execArgv, SELF, '--shard'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  // One query batch is in flight per shard at a time; its answer resolves `waiting`.
  const waiting = shards.map(() => ({ resolve: (_: ShardAnswer) => {}, reject: (_: Error) => {} }));
  shards.forEach((shard, k) => {
    shard.on('message', (m) => waiting[k]!.resolve(m as ShardAnswer));
    shard.on('error', (e) => waiting[k]!.reject(e));
    shard.on('exit', (code) => code !== 0 && waiting[k]!.reject(new Error(`shard exited ${code}`)));
  });
  const ask = (k: number, request: ShardRequest): Promise<ShardAnswer> =>
    new Promise((resolve, reject) => {
      waiting[k] = { resolve, reject };
      shards[k]!.send(request);
    });
  const held = new Array<number>(SHARDS).fill(0);
  const match = new Int32Array(keys.length);
  const sims = new Float64Array(keys.length);
  let kept = 0;
  try {
    for (let start = 0; start < keys.length; start += SHARD_BATCH) {
      const batch = keys.slice(start, start + SHARD_BATCH);
      const answers = await Promise.all(shards.map((_, k) => ask(k, { type: 'query', keys: batch, threshold })));
      const local = new QGramIndex(); // this batch's kept keys, ids = global ordinals
      const adds = shards.map(() => ({ keys: [] as string[], ords: [] as number[] }));
      batch.forEach((key, j) => {
        let bestOrd = -1;
        let best = -Infinity;
        const consider = (ord: number, s: number): void => {
          if (ord >= 0 && (s > best || (s === best && ord < bestOrd))) {
            best = s;
            bestOrd = ord;
          }
        };
        for (const a of answers) consider(a.ords[j]!, a.sims[j]!);
        const inBatch = local.findNearDuplicate(key, threshold);
        if (inBatch) consider(inBatch.id, inBatch.similarity);
        const i = start + j;
        match[i] = bestOrd;
        sims[i] = bestOrd >= 0 ? best : 0;
        if (bestOrd < 0) {
          local.add(key, i);
          const target = held.indexOf(Math.min(...held));
          held[target]!++;
          adds[target]!.keys.push(key);
          adds[target]!.ords.push(i);
          kept++;
        }
      });
      shards.forEach((s, k) => s.send({ type: 'add', ...adds[k]! } satisfies ShardRequest));
    }
  } finally {
    for (const s of shards) s.disconnect();
  }
  return { match, similarity: sims, kept };
}

/** Sequential brute force over every candidate, compared decision by decision. */
function bruteFull(keys: readonly string[], threshold: number, decisions: Decisions): { ms: number; mismatches: number } {
  const brute = new BruteForceIndex();
  let mismatches = 0;
  const start = performance.now();
  for (let i = 0; i < keys.length; i++) {
    const found = brute.findNearDuplicate(keys[i]!, threshold);
    if ((found?.id ?? -1) !== decisions.match[i] || (found && found.similarity !== decisions.similarity[i])) mismatches++;
    if (!found) brute.add(keys[i]!, i);
  }
  return { ms: performance.now() - start, mismatches };
}

/** Brute force timed on every `every`-th candidate against the kept set at its turn, scaled up. */
function bruteSampled(keys: readonly string[], threshold: number, decisions: Decisions, every: number): number {
  const brute = new BruteForceIndex();
  let sampledMs = 0;
  for (let i = 0; i < keys.length; i++) {
    if (i % every === 0) {
      const t = performance.now();
      brute.findNearDuplicate(keys[i]!, threshold);
      sampledMs += performance.now() - t;
    }
    if (decisions.match[i] === -1) brute.add(keys[i]!, i);
  }
  return sampledMs * every;
}

interface CheckTask {
  keys: string[];
  match: number[];
  similarity: number[];
  threshold: number;
}

/**
 * Brute force's answer for every `parts`-th candidate (from `part`) over the kept keys before it,
 * compared with the decisions; returns the number that differ. Pairs are skipped only when
 * similarity ≤ 1 − bound/m < T for a lower bound on the distance: |n − L|, or m minus the size of
 * the multiset intersection of units (an alignment copies at least m − d units).
 */
function checkPart(task: CheckTask, part: number, parts: number): number {
  const { keys, match, similarity: sims, threshold } = task;
  const counts = new Int32Array(0x10000);
  const undo: number[] = [];
  const kept: number[] = [];
  let mismatches = 0;
  for (let i = 0; i < keys.length; i++) {
    if (i % parts === part) {
      const key = keys[i]!;
      for (let u = 0; u < key.length; u++) counts[key.charCodeAt(u)]!++;
      let bestOrd = -1;
      let best = -Infinity;
      for (const j of kept) {
        const other = keys[j]!;
        const m = Math.max(key.length, other.length);
        if (m > 0 && 1 - Math.abs(key.length - other.length) / m < threshold) continue;
        let shared = 0;
        for (let u = 0; u < other.length; u++) {
          const c = other.charCodeAt(u);
          if (counts[c]! > 0) {
            counts[c]!--;
            undo.push(c);
            shared++;
          }
        }
        for (const c of undo) counts[c]!++;
        undo.length = 0;
        if (m > 0 && 1 - (m - shared) / m < threshold) continue;
        const s = similarity(key, other);
        if (s >= threshold && s > best) {
          best = s;
          bestOrd = j;
        }
      }
      for (let u = 0; u < key.length; u++) counts[key.charCodeAt(u)] = 0;
      if (bestOrd !== match[i] || (bestOrd >= 0 && best !== sims[i])) mismatches++;
    }
    if (match[i] === -1) kept.push(i);
  }
  return mismatches;
}

/** checkPart on CHECK_PROCESSES processes; the sum of their mismatches. */
async function checkAll(keys: string[], threshold: number, decisions: Decisions): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dedup-bench-'));
  const file = path.join(dir, 'task.json');
  const task: CheckTask = { keys, match: [...decisions.match], similarity: [...decisions.similarity], threshold };
  fs.writeFileSync(file, JSON.stringify(task));
  try {
    const runs = Array.from({ length: CHECK_PROCESSES }, (_, part) => {
      const proc = spawn(process.execPath, [...process.execArgv, SELF, '--check', file, '--part', `${part}/${CHECK_PROCESSES}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return new Promise<number>((resolve, reject) => {
        proc.on('error', reject);
        proc.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`check process exited ${code}`))));
      });
    });
    return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The start-up path of `generate`: `stored` (exact repeats dropped: the store's unique index allows one
 * accepted task per key) written to a real store file as accepted tasks, untimed; then
 * `buildIndex(store.acceptedKeys())` timed, reading the keys back from SQLite.
 */
function buildFromStore(stored: readonly string[]): { built: QGramIndex; buildMs: number; storedKeys: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dedup-bench-db-'));
  const store = Store.open(path.join(dir, 'bench.db'));
  try {
    const distinct = [...new Set(stored)];
    store.transaction(() => {
      for (const key of distinct)
        store.insertTask({ source: 'generated', instruction: key, input: '', output: '（略）', dedupKey: key, status: 'accepted' });
    });
    gc?.();
    const started = performance.now();
    const built = buildIndex(store.acceptedKeys());
    return { built, buildMs: performance.now() - started, storedKeys: distinct.length };
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One row. `stored` are the keys the start-up index is built from (the N synthetic keys; for the real
 * data all records but the last `fresh` ones).
 */
async function runSize(label: string, keys: string[], stored: string[], fresh: string[], threshold: number): Promise<SizeResult> {
  const n = keys.length;
  const sharded = n >= SHARDED_FROM;
  const dedupStart = performance.now();
  const decisions = sharded ? await greedySharded(keys, threshold) : greedyInProcess(keys, threshold);
  const dedupMs = performance.now() - dedupStart;
  gc?.();

  const { built, buildMs, storedKeys } = buildFromStore(stored);
  const queryTimes = new Float64Array(fresh.length);
  fresh.forEach((key, i) => {
    const t = performance.now();
    built.findNearDuplicate(key, threshold);
    queryTimes[i] = performance.now() - t;
  });
  queryTimes.sort();
  const at = (p: number): number => queryTimes[Math.min(queryTimes.length - 1, Math.floor(p * queryTimes.length))]!;
  const result: SizeResult = {
    label,
    n,
    kept: decisions.kept,
    dedupMs,
    sharded,
    buildMs,
    storedKeys,
    queryP50Ms: at(0.5),
    queryP99Ms: at(0.99),
    rssMb: process.resourceUsage().maxRSS / 1024,
  };
  gc?.();

  if (n <= BRUTE_FULL_MAX) {
    const brute = bruteFull(keys, threshold, decisions);
    Object.assign(result, { bruteMs: brute.ms, bruteMode: 'full', checked: n, mismatches: brute.mismatches });
  } else if (n <= BRUTE_SAMPLED_MAX) {
    const bruteMs = bruteSampled(keys, threshold, decisions, BRUTE_SAMPLE_EVERY);
    const mismatches = await checkAll(keys, threshold, decisions);
    Object.assign(result, { bruteMs, bruteMode: 'sampled', checked: n, mismatches });
  }
  return result;
}

function realKeys(): string[] {
  const keys: string[] = [];
  for (const line of fs.readFileSync(REAL_DATA, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { instruction?: string; input?: string };
    keys.push(dedupKey({ instruction: r.instruction ?? '', input: r.input ?? '' }));
  }
  return keys;
}

async function child(args: Args, what: string): Promise<void> {
  let result: SizeResult;
  if (what === 'real') {
    const keys = realKeys();
    result = await runSize(`alpaca_zh (real)`, keys, keys.slice(0, -args.queries), keys.slice(-args.queries), args.threshold);
  } else {
    const n = Number(what);
    const keys = corpus(n + args.queries).map((item) => item.key);
    const stored = keys.slice(0, n);
    result = await runSize(`synthetic`, stored, stored, keys.slice(n), args.threshold);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const fmtMs = (ms: number): string =>
  ms >= 100_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
const fmtQuery = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));
const count = (n: number): string => n.toLocaleString('en-US');

function printTable(results: SizeResult[], args: Args): void {
  const header = [
    'corpus',
    'N',
    'kept',
    'dedup N (index)',
    'brute force',
    'ratio',
    'decisions = brute',
    'build from DB',
    'query p50 / p99',
    'peak RSS',
  ];
  const rows = results.map((r) => [
    r.label,
    count(r.n),
    count(r.kept),
    `${fmtMs(r.dedupMs)}${r.sharded ? ` (${SHARDS} shards)` : ''}`,
    r.bruteMs === undefined ? '—' : `${fmtMs(r.bruteMs)}${r.bruteMode === 'sampled' ? ' (est.)' : ''}`,
    r.bruteMs === undefined ? '—' : `${(r.bruteMs / r.dedupMs).toFixed(0)}×`,
    r.mismatches === undefined ? '—' : r.mismatches === 0 ? `yes, all ${count(r.checked!)}` : `NO: ${r.mismatches} differ`,
    fmtMs(r.buildMs),
    `${fmtQuery(r.queryP50Ms)} / ${fmtQuery(r.queryP99Ms)} ms`,
    `${r.rssMb.toFixed(0)} MB`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(`\nNear-duplicate dedup, similarity ≥ ${args.threshold}, greedy rule (${os.cpus().length} CPUs, Node ${process.version})\n`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log(`
dedup N: greedy run over N candidates (one process; from ${count(SHARDED_FROM)} on ${SHARDS} shard processes).
brute force: the full greedy run with BruteForceIndex up to ${count(BRUTE_FULL_MAX)} keys; at 50,000 every
  ${BRUTE_SAMPLE_EVERY}th candidate timed against the kept set at its turn, sum × ${BRUTE_SAMPLE_EVERY} (est.).
decisions = brute: each candidate's answer (match or not, id, similarity) equals brute force's: from the
  full run, or at 50,000 recomputed per candidate over the kept keys before it in ${CHECK_PROCESSES} processes.
build from DB: generate's start-up, buildIndex(store.acceptedKeys()) over a SQLite store holding the N keys
  (exact repeats once); query: ${count(args.queries)} fresh candidates against that index (real data: built
  from all records but the last ${count(args.queries)}, queried with those).
peak RSS: that row's process (corpus, index run, built index), before any brute-force step.`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.shard) return shardMain();
  if (args.child) return child(args, args.child);
  if (args.check) {
    const [part, parts] = (args.part ?? '0/1').split('/').map(Number);
    const task = JSON.parse(fs.readFileSync(args.check, 'utf8')) as CheckTask;
    process.stdout.write(`${checkPart(task, part!, parts!)}\n`);
    return;
  }
  if (fs.existsSync(REAL_DATA)) {
    printCommandTable(compareCommands(REPO, REAL_DATA, args.threshold, args.pairs), args.threshold, args.pairs);
    if (args.commandsOnly) return;
  }
  const jobs = args.sizes.map(String);
  if (fs.existsSync(REAL_DATA)) jobs.push('real');
  else console.error(`(${REAL_DATA} not found: skipping the real-data run)`);
  const results: SizeResult[] = [];
  for (const job of jobs) {
    const started = performance.now();
    const run = spawnSync(
      process.execPath,
      [...process.execArgv, '--expose-gc', SELF, '--child', job, '--threshold', String(args.threshold), '--queries', String(args.queries)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (run.status !== 0) throw new Error(`benchmark child for ${job} failed (exit ${run.status})`);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as SizeResult;
    results.push(result);
    console.error(`${result.label} ${count(result.n)}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  printTable(results, args);
}

await main();
