/**
 * The commands that run model work besides generate (judge, evolve, embed) share the CLI's run wrapper
 * (pipeline/cli/run.ts): Ctrl-C / SIGTERM stop them cleanly with their exit codes, a second signal leaves
 * at once, and a log file is written and closed once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../pipeline/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
let hanging: Simulator;
let seeded: string;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 41 });
  hanging = await startSimulator({ port: 0, seed: 42, faults: { hang: 1 } });
  seeded = path.join(tempDir(), 'seeded.db');
  await generate({ db: seeded, n: 12, baseURL: sim.url, apiKey: 'k' });
}, 120_000);
afterAll(async () => {
  await sim.close();
  await hanging.close();
});

/** A copy of the seeded database (each command takes its own lock). */
function copy(name: string): string {
  const db = path.join(tempDir(), name);
  fs.copyFileSync(seeded, db);
  return db;
}

const env = (s: Simulator) => ({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: 'test-key-signals' });
const lastLine = (stderr: string): Record<string, unknown> => JSON.parse(stderr.trim().split('\n').at(-1)!);

describe('stop signals of judge, evolve and embed', () => {
  it('judge: SIGTERM drains, prints the summary as interrupted and exits 143', async () => {
    const db = copy('judge.db');
    const run = startCli(['judge', '--db', db, '--drain-timeout', '1', '--log-format', 'json'], env(hanging));
    await waitFor(() => run.output().stderr.includes('"event":"start"'), 60_000);
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(143);
    expect(lastLine(result.stderr)).toMatchObject({ event: 'summary', status: 'interrupted', database: db });
  }, 90_000);

  it('evolve: a second Ctrl-C during the drain leaves at once with 130', async () => {
    const db = copy('evolve.db');
    const run = startCli(['evolve', '--db', db, '--rounds', '1', '--drain-timeout', '60', '--log-format', 'json'], env(hanging));
    await waitFor(() => run.output().stderr.includes('"event":"start"'), 60_000);
    run.child.kill('SIGINT');
    await waitFor(() => run.output().stderr.includes('"event":"stopping"'));
    const t = Date.now();
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(Date.now() - t).toBeLessThan(5000);
  }, 90_000);

  it('embed with --log-file: completes with 0 and the log file holds its events', async () => {
    const db = copy('embed.db');
    const log = path.join(tempDir(), 'embed.log');
    const result = await runCli(['embed', '--db', db, '--log-file', log, '--log-format', 'json'], env(sim));
    expect(result.code, result.stderr).toBe(0);
    expect(lastLine(result.stderr)).toMatchObject({ event: 'summary', status: 'completed' });
    const events = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toContain('start');
  }, 90_000);
});
