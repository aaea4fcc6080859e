/**
 * `npm run bench:two-stage`: what two-stage generation costs against one-stage, under the same limits.
 *
 * The simulator runs as its own process with limits enforced (RPM 600, TPM 150k) and ~800 ms mean
 * latency (0.5–1.5×, the same for short and long replies: the simulator does not model generation speed,
 * which favours the long one-stage replies). Each mode runs for BENCH_SECONDS (default 60) against a
 * target it cannot reach, then stops; the table gives accepted tasks with an answer per minute, cost per
 * 1,000 of them at list prices (both stages gpt-4o-mini; and answers re-priced as gpt-4o from the same
 * token counts), tokens per task, and the pipeline process's CPU ms per answered task (the simulator's
 * CPU is its own). One-stage (20 tasks per request, outputs ≤ 300 characters) is the baseline.
 *
 * All figures come from the simulator: synthetic text, synthetic token counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAnswerTemplate } from '../../pipeline/answer/prompt.ts';
import { DEFAULT_RULE_OPTIONS as DEFAULT_FILTER_OPTIONS } from '../../pipeline/rules/index.ts';
import { createLlmClient } from '../../pipeline/llm.ts';
import { costUsd, DEFAULT_PRICES } from '../../pipeline/llm/cost.ts';
import { runOnline, type OnlineOptions } from '../../pipeline/commands/generate-stages.ts';
import { DEFAULT_INSTRUCTION_TEMPLATE_FILES, DEFAULT_TEMPLATE_FILES, loadTemplate } from '../../pipeline/prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../../pipeline/seeds.ts';
import { AnswerStore } from '../../pipeline/store/answers.ts';
import { Store } from '../../pipeline/store/store.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MINI = DEFAULT_PRICES['gpt-4o-mini']!;
const BIG = DEFAULT_PRICES['gpt-4o']!;

async function startSimulatorProcess(args: string[]): Promise<{ url: string; child: ChildProcess }> {
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

interface Row {
  mode: string;
  answered: number;
  perMinute: number;
  requests: number;
  costPer1000: number;
  costPer1000BigAnswers: number | null;
  tokensPerTask: number;
  cpuMsPerTask: number;
}

function options(mode: 'one' | 'two'): OnlineOptions {
  const file = mode === 'one' ? DEFAULT_TEMPLATE_FILES['self-instruct'] : DEFAULT_INSTRUCTION_TEMPLATE_FILES['self-instruct'];
  return {
    target: 1_000_000,
    mode: 'self-instruct',
    template: loadTemplate(file, 'self-instruct'),
    seeds: loadSeeds(DEFAULT_SEED_FILE),
    topics: [],
    taskTypes: [],
    params: { model: 'gpt-4o-mini', temperature: 1, top_p: 1, max_tokens: 4096 },
    concurrency: CONCURRENCY,
    tasksPerRequest: mode === 'one' ? 20 : 30,
    maxOutputChars: 300,
    similarity: 0.7,
    filters: DEFAULT_FILTER_OPTIONS,
    maxConsecutiveFailures: 1_000_000,
    resume: false,
    drainTimeoutMs: 0,
    runOptions: { bench: true },
    price: MINI,
  };
}

async function measure(mode: 'one' | 'two', url: string): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-bench-'));
  const store = Store.open(path.join(dir, 'bench.db'));
  try {
    const llm = createLlmClient({
      apiKey: 'bench',
      baseURL: url,
      timeoutMs: 60_000,
      maxRetries: 10,
      rateLimit: { rpm: 600, tpm: 150_000 },
    });
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), SECONDS * 1000);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deps = { store, llm, signal: stop.signal };
    const summary =
      mode === 'one'
        ? await runOnline(options('one'), deps)
        : await runOnline({ ...options('two'), answer: { model: 'gpt-4o-mini', template: loadAnswerTemplate(), price: MINI } }, deps);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearTimeout(timer);
    const answered = summary.accepted;
    const stages = new AnswerStore(store).stats(3).byStage;
    const tokens = summary.requests.promptTokens + summary.requests.completionTokens;
    const bigAnswers =
      mode === 'one'
        ? null
        : ((costUsd({ promptTokens: stages.instructions.promptTokens, completionTokens: stages.instructions.completionTokens }, MINI) +
            costUsd({ promptTokens: stages.answers.promptTokens, completionTokens: stages.answers.completionTokens }, BIG)) /
            answered) *
          1000;
    return {
      mode: mode === 'one' ? 'one-stage (20/request)' : 'two-stage (30 instructions/request + 1 answer/request)',
      answered,
      perMinute: answered / (seconds / 60),
      requests: summary.requests.total,
      costPer1000: (summary.requests.costUsd / answered) * 1000,
      costPer1000BigAnswers: bigAnswers,
      tokensPerTask: tokens / answered,
      cpuMsPerTask: (cpu.user + cpu.system) / 1000 / answered,
    };
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const sim = await startSimulatorProcess(['--latency', '800', '--rpm', '600', '--tpm', '150000', '--seed', '7']);
try {
  const rows: Row[] = [];
  for (const mode of ['one', 'two'] as const) {
    process.stderr.write(`measuring ${mode}-stage for ${SECONDS} s …\n`);
    rows.push(await measure(mode, sim.url));
  }
  const f = (x: number, d = 1): string => x.toFixed(d);
  const lines = [
    `bench:two-stage — simulator, RPM 600, TPM 150k, ~800 ms latency, concurrency ${CONCURRENCY}, ${SECONDS} s per mode`,
    '| mode | answered tasks | per minute | requests | $ / 1,000 (gpt-4o-mini) | $ / 1,000 (answers by gpt-4o) | tokens / task | CPU ms / task |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.answered} | ${f(r.perMinute)} | ${r.requests} | ${f(r.costPer1000, 3)} | ` +
        `${r.costPer1000BigAnswers === null ? '—' : f(r.costPer1000BigAnswers, 3)} | ${f(r.tokensPerTask, 0)} | ${f(r.cpuMsPerTask, 2)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  sim.child.kill('SIGTERM');
}
