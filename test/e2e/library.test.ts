/**
 * The library as a caller uses it: one options object, the documented defaults applied by the library,
 * a typed error naming the option before anything is opened, the config file and its schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configJsonSchema, loadConfig } from '../../pipeline/config.ts';
import {
  dedupFiles,
  exportDataset,
  generate,
  importTasks,
  planGenerate,
  stats,
  type PipelineError,
  UsageError,
} from '../../pipeline/index.ts';
import { Store } from '../../pipeline/store/store.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 3 });
});
afterAll(async () => {
  await sim.close();
});

describe('generate() as a library call', () => {
  it('runs with only db and n (every other option defaulted), then exports and re-imports', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'lib.db');
    const events: string[] = [];
    const summary = await generate({ db, n: 30, baseURL: sim.url, apiKey: 'lib-test', onEvent: (e) => events.push(e.type) });
    expect(summary.status).toBe('completed');
    expect(summary.acceptedNow).toBe(30);
    expect(events[0]).toBe('start');
    expect(events).toContain('reply');

    expect(stats({ db }).acceptedBySource.generated).toBe(30);

    const exported = await exportDataset({ db, out: path.join(dir, 'exports'), format: 'alpaca' });
    expect(exported.kind).toBe('written');
    const dataset = path.join(dir, 'data.jsonl');
    fs.copyFileSync(path.join(exported.kind === 'written' ? exported.dir : '', 'train.jsonl'), dataset);
    const deduped = dedupFiles({ in: [dataset], out: path.join(dir, 'kept.jsonl') });
    expect(deduped).toMatchObject({ total: 30, kept: 30, rejected: 0 });
    // Importing its own export adds nothing: every record is a near-duplicate of a stored task.
    const imported = importTasks({ db, in: dataset, source: 'mine' });
    expect(imported.accepted).toBe(0);
    expect(imported.rejected.near_duplicate).toBe(30);
  });

  it('an invalid option is a UsageError naming it, thrown before anything is created', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'never.db');
    for (const [options, option] of [
      [{ db, n: 5, concurrency: 0 }, 'concurrency'],
      [{ db, n: 5, similarity: 3 }, 'similarity'],
      [{ db, n: 0 }, 'n'],
      [{ db }, 'n'],
      [{ db, n: 5, mode: 'poetry' }, 'mode'],
      [{ db, n: 5, colour: 'red' }, ''],
    ] as const) {
      const err = await generate({ ...(options as object), baseURL: sim.url, apiKey: 'x' } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as PipelineError).category).toBe('usage');
      if (option !== '') expect((err as PipelineError).option).toBe(option);
      else expect((err as Error).message).toMatch(/unknown option "colour"/);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a missing key for OpenAI is a usage error naming apiKey, not a request', async () => {
    const err = await generate({ db: path.join(tempDir(), 'x.db'), n: 1, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).option).toBe('apiKey');
  });
});

describe('generate --dry-run', () => {
  it('prints a rendered prompt, the plan and an estimate from defaults, then from the database history; sends nothing', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'plan.db');
    const before = sim.stats().requests;
    const first = await runCli(['generate', '--n', '1000', '--db', db, '--dry-run', '--max-cost', '5'], { OPENAI_BASE_URL: sim.url });
    expect(first.code).toBe(0);
    expect(sim.stats().requests).toBe(before);
    expect(first.stdout).toMatch(/estimate +from defaults/);
    expect(first.stdout).toMatch(/100 requests/);
    expect(first.stdout).toContain('--- first prompt ---');
    expect(first.stdout).toMatch(/\[user\]\n[\s\S]*请/);
    expect(fs.existsSync(db)).toBe(false);

    await generate({ db, n: 150, baseURL: sim.url, apiKey: 'k' });
    const plan = await planGenerate({ db, n: 1000, baseURL: sim.url });
    expect(plan.estimate.basis).toBe('history');
    expect(plan.estimate.requests).toBe(Math.ceil(1000 / plan.estimate.acceptedPerRequest));
    expect(plan.estimate.costUsd).toBeGreaterThan(0);
  });

  it('two-stage: the instruction-only prompt (examples without outputs) and stage 2 estimated apart', async () => {
    const db = path.join(tempDir(), 'plan-two.db');
    const plan = await planGenerate({ db, n: 900, baseURL: sim.url, answerModel: 'gpt-4o' });
    expect(plan.prompt[0]!.content).toMatch(/30 条新指令/);
    expect(plan.prompt[0]!.content).not.toMatch(/"output"/);
    // 900 answers at the assumed 90% → 1,000 answer requests and 1,000 instructions, 21 kept per request.
    expect(plan.answers).toMatchObject({ model: 'gpt-4o', basis: 'defaults', acceptedShare: 0.9, requests: 1000 });
    expect(plan.answers!.costUsd).toBeGreaterThan(plan.estimate.costUsd!);
    expect(plan.estimate.requests).toBe(Math.ceil(1000 / 21));
    expect(fs.existsSync(db)).toBe(false);

    // From a two-stage database's history: stage 1 from instruction requests only, stage 2 from answers.
    await generate({ db, n: 20, baseURL: sim.url, apiKey: 'k', answerModel: 'gpt-4o-mini' });
    const again = await planGenerate({ db, n: 900, baseURL: sim.url, answerModel: 'gpt-4o-mini' });
    expect(again.estimate.basis).toBe('defaults'); // fewer than 5 instruction replies yet
    expect(again.answers!.basis).toBe('history');
    expect(again.answers!.requests).toBe(Math.ceil(900 / again.answers!.acceptedShare));
  });
});

describe('the config file', () => {
  it('holds generate options; flags override it', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'cfg.db');
    const config = writeTemp(dir, 'night.json', JSON.stringify({ generate: { db, n: 12, concurrency: 2, model: 'gpt-4o-mini' } }));
    const r = await runCli(['generate', '--config', config, '--n', '15'], { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'k' });
    expect(r.code).toBe(0);
    const store = Store.open(db, { readonly: true });
    const runs = store.runsView();
    store.close();
    expect(runs[0]).toMatchObject({ accepted: 15, target: 15 });
  });

  it('unknown key, wrong type, unreadable file: one line naming the file and key, exit 2, nothing written', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'never.db');
    const cases: [string, RegExp][] = [
      [JSON.stringify({ generate: { db, n: 5, concurency: 2 } }), /bad\.json: unknown key generate\.concurency/],
      [JSON.stringify({ generate: { db, n: 'five' } }), /bad\.json: generate\.n: /],
      [JSON.stringify({ exprt: {} }), /bad\.json: unknown key exprt/],
      ['{ not json', /bad\.json: not valid JSON/],
    ];
    for (const [text, message] of cases) {
      const file = writeTemp(dir, 'bad.json', text);
      const r = await runCli(['generate', '--config', file], { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'k' });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    const missing = await runCli(['export', '--config', path.join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: cannot read the config file \(ENOENT\)/);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('the published schema is the one the code checks with', () => {
    const published = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'zh-self-instruct.schema.json'), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
    expect(() =>
      loadConfig(
        writeTemp(tempDir(), 'ok.json', JSON.stringify({ $schema: './zh-self-instruct.schema.json', export: { format: 'sharegpt' } })),
      ),
    ).not.toThrow();
  });
});
