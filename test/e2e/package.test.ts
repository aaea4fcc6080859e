/**
 * The package as a user gets it: `npm pack` (which builds dist/), then `npm install ./zh-self-instruct-*.tgz`
 * into an empty folder, and every command run from the installed bin, in that folder, against the
 * simulator started from the installed package (`simulate`, on 127.0.0.1): demo, generate, stats,
 * judge, answer, import, dedup, export in each format, report. Each command's output is checked (files,
 * row counts, JSON, what LLaMA-Factory would load), a consumer's `tsc` type-checks an import of the
 * package without skipLibCheck, and a plain ESM script calls the library.
 * It installs once, in the e2e project (see sqlitePrebuild for the one native addon).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cli.ts';
import { tempDir } from '../helpers.ts';
import { loadLlamaFactoryDataset } from '../llamafactory-loader.ts';

const INSTALL_TIMEOUT_MS = 15 * 60_000;
const COMMAND_TIMEOUT_MS = 120_000;
const FORMATS = ['alpaca', 'sharegpt', 'messages', 'prompt-completion'] as const;

let dir: string;
let app: string;
/** An empty folder under the app where the nightly commands run: default paths (data/…) are relative to it. */
let work: string;
let pkg: string;
let bin: string;
let simulator: ChildProcess;
let simURL: string;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  OPENAI_API_KEY: '',
  OPENAI_BASE_URL: '',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  ...env,
});

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = COMMAND_TIMEOUT_MS): Result {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: childEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The installed command, in the work folder, pointed at the simulator. */
function cli(args: string[], cwd = work): Result {
  return run(bin, args, cwd, { OPENAI_BASE_URL: simURL, OPENAI_API_KEY: 'pkg-test' });
}

/** A command that must succeed; its stdout. */
function ok(args: string[], cwd = work): string {
  const r = cli(args, cwd);
  if (r.status !== 0) throw new Error(`zh-self-instruct ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

const jsonl = (file: string): unknown[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

interface Stats {
  accepted: number;
  acceptedBySource: Record<string, number>;
  answered: number;
  judged: number;
  requests: { total: number };
}
const stats = (): Stats => JSON.parse(ok(['stats', '--json'])) as Stats;

/** `simulate` from the installed package, on a free port; resolves with its base URL. */
function startSimulate(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(bin, ['simulate', '--port', '0', '--seed', '5'], {
    cwd: app,
    env: childEnv({}),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`simulate did not start:\n${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('exit', (code) => reject(new Error(`simulate exited ${code}:\n${err}`)));
  });
}

/**
 * better-sqlite3's install fetches a prebuilt addon from GitHub, which this machine cannot reach, and
 * falls back to compiling SQLite (minutes of CPU). Its installer also takes the file from a local folder
 * (`npm_config_better_sqlite3_local_prebuilds`): the addon the checkout already has is packed there under
 * the name it would download, so the install takes the same path as on a user's machine online.
 */
function sqlitePrebuild(into: string): Record<string, string> {
  const module = path.join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = readJson<{ version: string }>(path.join(module, 'package.json'));
  const folder = path.join(into, 'prebuilds');
  fs.mkdirSync(folder);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const packed = run('tar', ['czf', path.join(folder, name), '-C', module, 'build/Release/better_sqlite3.node'], ROOT);
  if (packed.status !== 0) throw new Error(`tar failed:\n${packed.stderr}`);
  return { npm_config_better_sqlite3_local_prebuilds: folder };
}

beforeAll(async () => {
  dir = tempDir('zhsi-pack-');
  const packed = run('npm', ['pack', '--silent', '--pack-destination', dir], ROOT, {}, INSTALL_TIMEOUT_MS);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = packed.stdout.trim().split('\n').pop()!;
  app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'orchestrator', private: true, type: 'module' }));
  const installed = run(
    'npm',
    ['install', '--prefer-offline', '--no-package-lock', path.join(dir, tarball)],
    app,
    sqlitePrebuild(dir),
    INSTALL_TIMEOUT_MS,
  );
  if (installed.status !== 0) throw new Error(`npm install failed:\n${installed.stderr}`);
  work = path.join(app, 'nightly');
  fs.mkdirSync(work);
  pkg = path.join(app, 'node_modules', 'zh-self-instruct');
  bin = path.join(app, 'node_modules', '.bin', 'zh-self-instruct');
  ({ child: simulator, url: simURL } = await startSimulate());
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (simulator !== undefined && simulator.exitCode === null) {
    const exited = new Promise((resolve) => simulator.once('exit', resolve));
    simulator.kill('SIGTERM');
    await exited;
  }
});

describe('the installed package', () => {
  it('ships the build with its assets, templates, seeds and the schema; no sources, tests or dev tools', () => {
    for (const file of [
      'dist/pipeline/index.js',
      'dist/pipeline/index.d.ts',
      'dist/pipeline/cli/main.js',
      'dist/pipeline/report/page.browser.js',
      'dist/simulator/server.js',
      'templates/self_instruct.prompt.txt',
      'seeds/zh_seed_tasks.jsonl',
      'zh-self-instruct.schema.json',
    ]) {
      expect(fs.existsSync(path.join(pkg, file)), file).toBe(true);
    }
    expect(fs.existsSync(path.join(pkg, 'pipeline'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'scripts'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('npx zh-self-instruct --help lists every command', () => {
    const help = run('npx', ['--no-install', 'zh-self-instruct', '--help'], app).stdout;
    for (const command of ['generate', 'stats', 'export', 'import', 'dedup', 'report', 'judge', 'embed', 'answer', 'demo', 'simulate']) {
      expect(help).toContain(command);
    }
  });

  it('npx zh-self-instruct demo works where the package was installed (it makes data/)', () => {
    expect(fs.existsSync(path.join(app, 'data'))).toBe(false);
    const r = run('npx', ['--no-install', 'zh-self-instruct', 'demo', '--n', '10'], app);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(app, 'data', 'demo.db'))).toBe(true);
    const pairs = r.stdout.split('three accepted pairs:\n')[1]!.trim().split('\n').slice(0, 3);
    for (const line of pairs) expect(JSON.parse(line)).toMatchObject({ instruction: expect.any(String), output: expect.any(String) });
  });

  it('generate with the default database makes data/pipeline.db and accepts what it was asked for', () => {
    ok(['generate', '--n', '40', '--quiet']);
    expect(fs.existsSync(path.join(work, 'data', 'pipeline.db'))).toBe(true);
    const s = stats();
    expect(s.acceptedBySource.generated).toBe(40);
    expect(s.requests.total).toBeGreaterThan(0);
    expect(ok(['stats'])).toContain('(run npx zh-self-instruct judge)');
  });

  it('judge scores the accepted tasks', () => {
    ok(['judge', '--quiet']);
    expect(stats().judged).toBeGreaterThanOrEqual(40);
  });

  it('embed stores the vectors, and export --select keeps a subset none of whose rows are within the threshold', () => {
    ok(['embed', '--model', 'sim-embed', '--quiet']);
    const folder = ok([
      'export',
      '--format',
      'alpaca',
      '--out',
      'exports/selected',
      '--since',
      'all',
      '--select',
      '15',
      '--diversity',
      '0.6',
    ]).trim();
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as {
      selection: { kept: number; search: string };
    };
    expect(manifest.selection).toMatchObject({ search: 'exact' });
    expect(jsonl(path.join(folder, 'train.jsonl')).length).toBe(manifest.selection.kept);
  });

  it('answer answers instructions from a file', () => {
    const file = path.join(work, 'questions.jsonl');
    const questions = ['简单介绍一下二十四节气中的“惊蛰”。', '写一段提醒同事按时提交周报的消息。', '比较火车和飞机出行的优缺点。'];
    fs.writeFileSync(file, questions.map((instruction) => JSON.stringify({ instruction })).join('\n') + '\n');
    ok(['answer', '--in', file, '--quiet']);
    const s = stats();
    expect(s.acceptedBySource.questions).toBe(3);
    expect(s.answered).toBe(3);
  });

  it("import adds a dataset of one's own, and dedup drops near-duplicates from files", () => {
    const records = [
      { instruction: '把“画蛇添足”用在一个句子里。', input: '', output: '他写完报告又加了一段无关的话，真是画蛇添足。' },
      { instruction: '解释什么是复利。', input: '', output: '复利是把利息计入本金继续生息的计算方式，俗称利滚利。' },
      { instruction: '给下面的句子换一种说法。', input: '这家店的面条很好吃。', output: '这家店的面做得相当地道。' },
    ];
    const mine = path.join(work, 'mine.json');
    fs.writeFileSync(mine, JSON.stringify(records));
    ok(['import', '--in', mine]);
    expect(stats().acceptedBySource.mine).toBe(3);

    const input = path.join(work, 'to-dedup.jsonl');
    const near = { ...records[1]!, instruction: '解释一下什么是复利。' };
    fs.writeFileSync(input, [...records, near, records[0]].map((r) => JSON.stringify(r)).join('\n') + '\n');
    ok(['dedup', '--in', input, '--out', 'kept.jsonl', '--rejected', 'dropped.jsonl']);
    expect(jsonl(path.join(work, 'kept.jsonl'))).toEqual(records);
    expect(jsonl(path.join(work, 'dropped.jsonl'))).toHaveLength(2);
  });

  it.each(FORMATS)('export --format %s writes what its manifest and dataset_info.json say, and LLaMA-Factory loads it', (format) => {
    const out = path.join('exports', format);
    const extra = format === 'messages' ? ['--system', '你是一名认真负责的中文助手。'] : [];
    const folder = ok(['export', '--format', format, '--out', out, '--since', 'all', '--valid-ratio', '0.2', ...extra]).trim();
    const manifest = readJson<{
      records: { total: number; train: number; valid: number };
      files: { path: string; split: string; records: number }[];
    }>(path.join(folder, 'manifest.json'));
    // Every accepted row but the seeds: generated, answered questions, imported.
    expect(manifest.records.total).toBe(40 + 3 + 3);
    for (const file of manifest.files.filter((f) => f.split !== 'card')) {
      expect(jsonl(path.join(folder, file.path))).toHaveLength(file.records);
    }
    const own = readJson<Record<string, unknown>>(path.join(folder, 'dataset_info.json'));
    const loaded = Object.keys(own).map((name) => loadLlamaFactoryDataset(folder, name));
    for (const l of loaded) expect({ fatal: l.fatal, skipped: l.skipped }).toEqual({ fatal: [], skipped: [] });
    expect(loaded.reduce((n, l) => n + l.examples.length, 0)).toBe(manifest.records.total);
    // The stable name beside LATEST loads the same training rows.
    expect(fs.readFileSync(path.join(work, out, 'LATEST'), 'utf8').trim()).toBe(path.basename(folder));
    expect(loadLlamaFactoryDataset(path.join(work, out), 'zh_self_instruct').examples).toHaveLength(manifest.records.train);
    // The card: the runs were made against the simulator, with the built-in seeds.
    const card = fs.readFileSync(path.join(folder, 'README.md'), 'utf8');
    expect(card).toContain('**Made with the built-in simulator**');
    expect(card).toContain('zh_seed_tasks.jsonl (the 175 built-in seeds)');
    expect(card).toContain('npx zh-self-instruct report');
  });

  it('export --dataset-name names the dataset that follows LATEST', () => {
    ok(['export', '--format', 'alpaca', '--out', 'exports/alpaca', '--since', 'all', '--dataset-name', 'nightly']);
    const root = readJson<Record<string, { file_name: string }>>(path.join(work, 'exports/alpaca/dataset_info.json'));
    const latest = fs.readFileSync(path.join(work, 'exports/alpaca/LATEST'), 'utf8').trim();
    expect(root.nightly!.file_name).toBe(`${latest}/train.jsonl`);
    expect(root.zh_self_instruct!.file_name).not.toContain(latest);
  });

  it('report writes one self-contained HTML file, and --json the same figures', () => {
    const file = ok(['report']).trim();
    expect(file).toBe(path.join(fs.realpathSync(work), 'data', 'report.html'));
    const html = fs.readFileSync(file, 'utf8');
    const page = fs.readFileSync(path.join(pkg, 'dist/pipeline/report/page.browser.js'), 'utf8');
    // The page script is inlined (its first statement line stands for the whole).
    const line = page.split('\n').find((l) => /^\s*(const|function|let)\s/.test(l))!;
    expect(html).toContain(line.trim());
    expect(html.length).toBeGreaterThan(500_000); // ECharts inlined too: no network needed
    const figures = JSON.parse(ok(['report', '--json'])) as { overview: { accepted: number } };
    expect(figures.overview.accepted).toBeGreaterThanOrEqual(46);
  });

  it('report with a page asset missing from the install says which file, not --out', () => {
    const asset = path.join(pkg, 'dist/pipeline/report/page.browser.js');
    fs.renameSync(asset, `${asset}.away`);
    try {
      const r = cli(['report', '--out', 'data/again.html']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/page\.browser\.js is missing from the installed package/);
      expect(r.stderr).not.toContain('--out');
      expect(fs.existsSync(path.join(work, 'data', 'again.html'))).toBe(false);
    } finally {
      fs.renameSync(`${asset}.away`, asset);
    }
  });

  it("a consumer's tsc type-checks an import of the package without skipLibCheck", () => {
    // The consumer has its own @types/node (most do); nothing else is installed for it.
    fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(app, 'node_modules', '@types', 'node'));
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      [
        "import { exportDataset, generate, stats, UsageError, type ExportResult, type RunSummary } from 'zh-self-instruct';",
        "const summary: Promise<RunSummary> = generate({ db: 'data/pipeline.db', n: 10 });",
        "const exported: Promise<ExportResult> = exportDataset({ format: 'sharegpt', datasetName: 'nightly' });",
        "const accepted: number = stats({ db: 'data/pipeline.db' }).accepted;",
        'export { summary, exported, accepted, UsageError };',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, {}, 230_000);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // A whole tsc over the package's declarations: over a minute on a loaded 2-core machine.
  }, 240_000);

  it('import { generate } from "zh-self-instruct" runs against the simulator and returns the summary', () => {
    fs.writeFileSync(
      path.join(app, 'run.mjs'),
      [
        "import { generate, UsageError } from 'zh-self-instruct';",
        "const summary = await generate({ db: 'night.db', n: 20, baseURL: process.env.SIM_URL, apiKey: 'pkg-test', probe: false });",
        'let invalid;',
        'try { await generate({ n: 5, concurrency: 0 }); } catch (err) { invalid = { usage: err instanceof UsageError, option: err.option }; }',
        'console.log(JSON.stringify({ summary, invalid }));',
      ].join('\n'),
    );
    const r = run('node', ['run.mjs'], app, { SIM_URL: simURL });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { summary: { status: string; acceptedNow: number; requests: { total: number } }; invalid: unknown };
    expect(out.summary.status).toBe('completed');
    expect(out.summary.acceptedNow).toBe(20);
    expect(out.summary.requests.total).toBeGreaterThan(0);
    expect(out.invalid).toEqual({ usage: true, option: 'concurrency' });
    expect(fs.existsSync(path.join(app, 'night.db'))).toBe(true);
  });

  it('simulate stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => simulator.once('exit', (code) => resolve(code)));
    simulator.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
