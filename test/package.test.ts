/**
 * The package as a user gets it: `npm pack`, then `npm install ./zh-self-instruct-*.tgz` in an empty
 * folder. The installed `zh-self-instruct` command answers --help, and a plain ESM script that imports
 * `generate` from the package runs 20 tasks against the simulator and gets a summary back.
 * Slow (npm builds better-sqlite3 for the new folder), so it runs once, in the e2e project.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../simulator/server.ts';
import { ROOT } from './cli.ts';
import { tempDir } from './helpers.ts';

const INSTALL_TIMEOUT_MS = 15 * 60_000;
let sim: Simulator;
let app: string;

const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  OPENAI_API_KEY: '',
  OPENAI_BASE_URL: '',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  ...env,
});

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: INSTALL_TIMEOUT_MS,
    env: childEnv(env),
  });
}

/** Asynchronously, so the simulator in this process can answer the child's requests. */
async function runAsync(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { cwd, encoding: 'utf8', timeout: 120_000, env: childEnv(env) });
  return stdout;
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 5 });
  const dir = tempDir('zhsi-pack-');
  const packed = run('npm', ['pack', '--silent', '--pack-destination', dir], ROOT).trim().split('\n').pop()!;
  app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'orchestrator', private: true, type: 'module' }));
  run('npm', ['install', '--prefer-offline', '--no-package-lock', path.join(dir, packed)], app);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await sim?.close();
});

describe('the installed package', () => {
  it('ships only the build, templates, seeds and the schema', () => {
    const pkg = path.join(app, 'node_modules', 'zh-self-instruct');
    expect(fs.existsSync(path.join(pkg, 'dist/pipeline/index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist/pipeline/index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'templates/self_instruct.prompt.txt'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'seeds/zh_seed_tasks.jsonl'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'zh-self-instruct.schema.json'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'pipeline'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    // tsx is for development only.
    expect(fs.existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('npx zh-self-instruct --help lists the commands', () => {
    const help = run('npx', ['--no-install', 'zh-self-instruct', '--help'], app);
    for (const command of ['generate', 'stats', 'export', 'import', 'dedup']) expect(help).toContain(command);
  });

  it('import { generate } from "zh-self-instruct" runs 20 tasks against the simulator and returns the summary', async () => {
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
    const out = JSON.parse(await runAsync('node', ['run.mjs'], app, { SIM_URL: sim.url }));
    expect(out.summary.status).toBe('completed');
    expect(out.summary.acceptedNow).toBe(20);
    expect(out.summary.requests.total).toBeGreaterThan(0);
    expect(out.invalid).toEqual({ usage: true, option: 'concurrency' });
    expect(fs.existsSync(path.join(app, 'night.db'))).toBe(true);
  });
});
