/**
 * `npm run bench:throughput`: is the provider's allowance the only bound on a run?
 *
 * 1. Limits enforced (RPM 600, TPM 150k, ~800 ms latency): a real `generate` run with the rate limiter,
 *    then the same with the limiter off (each request only retries on its own when refused: the old
 *    client) as the baseline. Measured over a 60 s window after a warm-up (the server's buckets start
 *    full, so the first seconds may exceed the per-minute rate): requests and tokens per minute as a
 *    share of the limit that binds, and the share of attempts answered 429 (in the window, and over the
 *    whole run with its warm-up). Targets: ≥ 95%, ≤ 1%.
 * 2. No limits, no latency: accepted pairs per second and CPU ms per accepted pair of the pipeline
 *    process (process.cpuUsage; the simulator runs in its own process). Target ≤ 2 ms.
 *
 * Options (env): BENCH_WINDOW_S (default 120), BENCH_WARMUP_S (default 20), BENCH_PAIRS (default 3000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DEFAULT_RULE_OPTIONS as DEFAULT_FILTER_OPTIONS } from '../../pipeline/rules/index.ts';
import { runOnline, type OnlineOptions } from '../../pipeline/commands/generate-stages.ts';
import { createLlmClient, type LlmClientOptions } from '../../pipeline/llm.ts';
import { DEFAULT_TEMPLATE_FILES, loadTemplate } from '../../pipeline/prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../../pipeline/seeds.ts';
import { Store } from '../../pipeline/store/store.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 120);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 20);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3000);
const RPM = 600;
const TPM = 150_000;

interface Sim {
  url: string;
  child: ChildProcess;
}

/** The simulator as its own process, so its CPU is not the pipeline's. */
async function startSimulatorProcess(args: string[]): Promise<Sim> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'pipeline/cli/main.ts'), 'simulate', '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code}: ${err}`)));
  });
  return { url, child };
}

function stopSimulator(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    sim.child.once('exit', () => resolve());
    sim.child.kill('SIGTERM');
  });
}

function baseOptions(target: number, concurrency: number): OnlineOptions {
  const template = loadTemplate(DEFAULT_TEMPLATE_FILES['self-instruct'], 'self-instruct');
  return {
    target,
    mode: 'self-instruct',
    template,
    seeds: loadSeeds(DEFAULT_SEED_FILE),
    topics: [],
    taskTypes: [],
    params: { model: 'gpt-3.5-turbo', temperature: 1, top_p: 1, max_tokens: 4096 },
    concurrency,
    tasksPerRequest: 20,
    maxOutputChars: 300,
    similarity: 0.7,
    filters: DEFAULT_FILTER_OPTIONS,
    maxConsecutiveFailures: 1_000_000,
    resume: false,
    drainTimeoutMs: 0,
    runOptions: { bench: true },
  };
}

interface LimitedResult {
  label: string;
  rpmShare: number;
  tpmShare: number;
  binding: 'RPM' | 'TPM';
  share: number;
  /** In the window. */
  share429: number;
  attempts: number;
  /** The whole run, warm-up included (a limiter learning from headers meets the server's burst there). */
  share429All: number;
  attemptsAll: number;
  accepted: number;
}

/** Runs generate for warm-up + window seconds against a rate-limited simulator and measures the window. */
async function limitedRun(label: string, client: Partial<LlmClientOptions>): Promise<LimitedResult> {
  const sim = await startSimulatorProcess(['--latency', '800', '--rpm', String(RPM), '--tpm', String(TPM), '--seed', '5']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-bench-'));
  const db = path.join(dir, 'bench.db');
  const store = Store.open(db);
  const stop = new AbortController();
  const t0 = Date.now();
  const timer = setTimeout(() => stop.abort(), (WARMUP_S + WINDOW_S) * 1000 + 500);
  try {
    const llm = createLlmClient({ apiKey: 'bench', baseURL: sim.url, timeoutMs: 30_000, maxRetries: 10, ...client });
    await runOnline(baseOptions(1_000_000_000, 32), { store, llm, signal: stop.signal });
  } finally {
    clearTimeout(timer);
    store.close();
    await stopSimulator(sim);
  }
  const conn = new Database(db, { readonly: true });
  const from = new Date(t0 + WARMUP_S * 1000).toISOString();
  const to = new Date(t0 + (WARMUP_S + WINDOW_S) * 1000).toISOString();
  // Attempts the server admitted in the window (started then, not refused) and the tokens they used.
  const admitted = conn
    .prepare(
      `SELECT count(*) AS n, coalesce(sum(r.total_tokens), 0) AS tokens FROM request_attempts a JOIN requests r ON r.id = a.request_id
     WHERE a.started_at >= ? AND a.started_at < ? AND a.error_kind IS NULL`,
    )
    .get(from, to) as { n: number; tokens: number };
  const all = conn.prepare(`SELECT count(*) AS n, coalesce(sum(http_status = 429), 0) AS r429 FROM request_attempts`).get() as {
    n: number;
    r429: number;
  };
  const inWindow = conn
    .prepare(
      `SELECT count(*) AS n, coalesce(sum(http_status = 429), 0) AS r429 FROM request_attempts WHERE started_at >= ? AND started_at < ?`,
    )
    .get(from, to) as { n: number; r429: number };
  const accepted = conn.prepare(`SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().get() as number;
  conn.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const perMinute = 60 / WINDOW_S;
  const rpmShare = (admitted.n * perMinute) / RPM;
  const tpmShare = (admitted.tokens * perMinute) / TPM;
  const binding = tpmShare >= rpmShare ? 'TPM' : 'RPM';
  return {
    label,
    rpmShare,
    tpmShare,
    binding,
    share: Math.max(rpmShare, tpmShare),
    share429: inWindow.n === 0 ? 0 : inWindow.r429 / inWindow.n,
    attempts: inWindow.n,
    share429All: all.n === 0 ? 0 : all.r429 / all.n,
    attemptsAll: all.n,
    accepted,
  };
}

async function unlimitedRun(): Promise<{ pairsPerSecond: number; cpuMsPerPair: number; accepted: number; seconds: number }> {
  const sim = await startSimulatorProcess(['--latency', '0', '--seed', '9']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-bench-'));
  const store = Store.open(path.join(dir, 'bench.db'));
  try {
    const llm = createLlmClient({ apiKey: 'bench', baseURL: sim.url, timeoutMs: 30_000 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summary = await runOnline(baseOptions(PAIRS, 16), { store, llm });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      pairsPerSecond: summary.acceptedNow / seconds,
      cpuMsPerPair: (cpu.user + cpu.system) / 1000 / summary.acceptedNow,
      accepted: summary.acceptedNow,
      seconds,
    };
  } finally {
    store.close();
    await stopSimulator(sim);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

const ours = await limitedRun('rate limiter (--rpm 600 --tpm 150000)', { rateLimit: { rpm: RPM, tpm: TPM } });
const learned = await limitedRun('rate limiter, limits learned from headers', { rateLimit: {} });
const baseline = await limitedRun('baseline: no limiter, retry on 429 only', { rateLimit: false });
const free = await unlimitedRun();

const rows = [ours, learned, baseline];
const table = [
  ['client', 'binding', 'RPM share', 'TPM share', 'share of binding limit', '429 share', 'attempts', '429 share, whole run', 'target'],
  ...rows.map((r) => [
    r.label,
    r.binding,
    pct(r.rpmShare),
    pct(r.tpmShare),
    pct(r.share),
    pct(r.share429),
    String(r.attempts),
    `${pct(r.share429All)} of ${r.attemptsAll}`,
    '≥ 95%, ≤ 1% 429',
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
process.stdout.write(`\nlimits enforced: RPM ${RPM}, TPM ${TPM}, latency ~800 ms; window ${WINDOW_S} s after ${WARMUP_S} s warm-up\n\n`);
for (const r of table) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
process.stdout.write(
  `\nvs baseline: 429 share ${pct(ours.share429)} vs ${pct(baseline.share429)}; share of binding limit ${pct(ours.share)} vs ${pct(baseline.share)} (×${(ours.share / Math.max(1e-9, baseline.share)).toFixed(2)})\n`,
);
process.stdout.write(
  `\nno limits, zero latency: ${free.accepted} accepted pairs in ${free.seconds.toFixed(1)} s = ${free.pairsPerSecond.toFixed(0)} pairs/s; ` +
    `CPU ${free.cpuMsPerPair.toFixed(2)} ms per accepted pair (target ≤ 2 ms)\n`,
);
