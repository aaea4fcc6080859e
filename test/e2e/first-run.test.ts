/**
 * A new user's first commands, from an empty folder: the offline demo makes its own data/ folder, and
 * `generate` with the default database makes data/ too; a database path given on purpose in a missing
 * folder is refused with the command that makes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 4 });
});
afterAll(async () => {
  await sim?.close();
});

describe('first run in an empty folder', () => {
  it('demo writes data/demo.db, making data/', async () => {
    const cwd = tempDir('zhsi-empty-');
    const r = await runCli(['demo', '--n', '5'], {}, 120_000, cwd);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(cwd, 'data', 'demo.db'))).toBe(true);
    expect(r.stdout).toContain('look inside: npx zh-self-instruct stats --db data/demo.db');
  });

  it('generate with the default database makes data/; another missing folder is said, with how to make it', async () => {
    const cwd = tempDir('zhsi-empty-');
    const env = { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'first-run' };
    const r = await runCli(['generate', '--n', '5', '--quiet'], env, 120_000, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(cwd, 'data', 'pipeline.db'))).toBe(true);

    const other = await runCli(['generate', '--n', '5', '--db', 'nightly/x.db'], env, 120_000, cwd);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      `--db: nightly/x.db: directory ${path.join(fs.realpathSync(cwd), 'nightly')} does not exist (create it: mkdir -p`,
    );
    expect(fs.existsSync(path.join(cwd, 'nightly'))).toBe(false);
  });
});
