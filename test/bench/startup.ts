/**
 * `npm run bench:startup`: start-up and whole-process cost of the built CLI (`npm run build` first).
 *
 * 1. `--help` and `stats` as whole processes, against `node -e 0` (the floor any Node CLI pays) and the
 *    old way of running the source through tsx. Target: `--help` under 150 ms wall.
 * 2. `dedup` of a dataset job as a whole process, against a standalone script that does the same work
 *    with the library (read the files, apply the rule, write the kept records): the CLI's own overhead.
 *    Target: within 1.1× of the script. The job is the real data in ../shared/data when it is there
 *    (20,277 + 1,000 records), and a synthetic 38,000-record corpus always.
 * Runs are paired and interleaved (A, B, A, B, …) and the median is reported, since this machine is noisy.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpus } from './corpus.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'dist/pipeline/cli/main.js');
const REPS = Number(process.env.REPS ?? 9);
const SHARED = path.resolve(REPO, '../shared/data');

if (!fs.existsSync(CLI)) {
  console.error(`${CLI} not found: run npm run build first`);
  process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-startup-'));

function wallMs(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 300)}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs every command REPS times, interleaved; returns each one's median wall time. */
function paired(commands: [string, string, string[]][]): Map<string, number> {
  const times = new Map<string, number[]>(commands.map(([name]) => [name, []]));
  for (const [, cmd, args] of commands) wallMs(cmd, args); // warm the page cache
  for (let i = 0; i < REPS; i++) for (const [name, cmd, args] of commands) times.get(name)!.push(wallMs(cmd, args));
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

function table(title: string, rows: [string, number][], baseline: string): void {
  const base = rows.find(([name]) => name === baseline)![1];
  console.log(`\n${title} (median of ${REPS}, ms wall; ratio to ${baseline})`);
  for (const [name, ms] of rows) console.log(`  ${name.padEnd(44)} ${ms.toFixed(0).padStart(7)}  ${(ms / base).toFixed(2)}×`);
}

// 1. start-up
const db = path.join(tmp, 'stats.db');
spawnSync('node', [CLI, 'import', '--in', path.join(REPO, 'seeds/zh_seed_tasks.jsonl'), '--db', db, '--source', 'bench'], { cwd: REPO });
const startup = paired([
  ['node -e 0', 'node', ['-e', '0']],
  ['zh-self-instruct --help', 'node', [CLI, '--help']],
  ['zh-self-instruct stats', 'node', [CLI, 'stats', '--db', db]],
  ['tsx pipeline/cli/main.ts --help (before)', 'node', ['--import', 'tsx', path.join(REPO, 'pipeline/cli/main.ts'), '--help']],
]);
table('start-up', [...startup], 'node -e 0');
const help = startup.get('zh-self-instruct --help')!;
console.log(`  --help: ${help.toFixed(0)} ms (target < 150 ms): ${help < 150 ? 'met' : 'NOT met'}`);

// 2. dedup as a whole process vs a standalone script using the library
const script = path.join(tmp, 'standalone.mjs');
fs.writeFileSync(
  script,
  [
    `import { dedupFiles } from ${JSON.stringify(path.join(REPO, 'dist/pipeline/commands/dedup-files.js'))};`,
    'const [out, ...files] = process.argv.slice(2);',
    'const r = dedupFiles({ in: files, out });',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text of the script, a template literal there
    'process.stderr.write(`kept ${r.kept} of ${r.total}\\n`);',
  ].join('\n'),
);

const jobs: [string, string[]][] = [];
const synthetic = path.join(tmp, 'synthetic.jsonl');
fs.writeFileSync(
  synthetic,
  corpus(38_000, { seed: 9 })
    .map((c) => JSON.stringify({ instruction: c.key, input: '', output: '好的。' }))
    .join('\n') + '\n',
);
jobs.push(['synthetic 38,000 records', [synthetic]]);
const real = ['alpaca_zh_translated_20k.jsonl', 'alpaca_zh_demo.json'].map((f) => path.join(SHARED, f));
if (real.every((f) => fs.existsSync(f))) jobs.push(['real 21,277 records (../shared/data)', real]);
else console.log(`\n(${SHARED} not found: the real-data job is skipped)`);

for (const [name, files] of jobs) {
  const out = path.join(tmp, 'kept.jsonl');
  const times = paired([
    ['standalone script (library dedupFiles)', 'node', [script, out, ...files]],
    ['zh-self-instruct dedup', 'node', [CLI, 'dedup', ...files.flatMap((f) => ['--in', f]), '--out', out]],
  ]);
  table(`dedup, ${name}`, [...times], 'standalone script (library dedupFiles)');
  const ratio = times.get('zh-self-instruct dedup')! / times.get('standalone script (library dedupFiles)')!;
  console.log(`  ratio ${ratio.toFixed(3)} (target ≤ 1.1): ${ratio <= 1.1 ? 'met' : 'NOT met'}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
