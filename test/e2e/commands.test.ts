/**
 * Consistent, predictable commands (issue 22): one name per meaning (`--prompt-template`,
 * `--train-template`, `--answer-template`, `--max-train-tokens`, `--since last|all|RUN`, report's
 * `--from`) with the old spellings still working and one deprecation line each; "did you mean" for a
 * typo'd config key; `judge --dry-run` and `answer --dry-run`; the start-up probe's hint for a base URL
 * without /v1. The real CLI in a child process, the simulator or a small local HTTP server.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../pipeline/errors.ts';
import { resolveExportSettings, resolveGenerateSettings } from '../../pipeline/options.ts';
import { reportFigures } from '../../pipeline/report/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { ROOT, runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

let sim: Simulator;
let template: string;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 22 });
  template = path.join(tempDir(), 'gen.db');
  const r = await runCli(['generate', '--n', '40', '--db', template, '--log-format', 'json', '--quiet'], env());
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await sim.close();
});

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key' });
const copyDb = (): string => {
  const db = path.join(tempDir(), 'c.db');
  fs.copyFileSync(template, db);
  return db;
};
const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('warning:'));
const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const count = (db: string, sql: string): number => {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).pluck().get() as number;
  } finally {
    conn.close();
  }
};

/** The default self-instruct prompt with a marker line, to see which template a dry run rendered. */
function markedTemplate(dir: string): string {
  const text = fs.readFileSync(path.join(ROOT, 'templates/self_instruct.prompt.txt'), 'utf8');
  return writeTemp(dir, 'marked.prompt.txt', `【标记模板】\n${text}`);
}

describe('renamed flags: one name per meaning, old spellings with one deprecation line', () => {
  it('generate: --prompt-template; --template still works and says so once', async () => {
    const dir = tempDir();
    const file = markedTemplate(dir);
    const db = path.join(dir, 'g.db');
    const now = await runCli(['generate', '--n', '10', '--db', db, '--dry-run', '--prompt-template', file], env());
    expect(now.code, now.stderr).toBe(0);
    expect(now.stdout).toContain('【标记模板】');
    expect(warnings(now.stderr)).toEqual([]);
    const old = await runCli(['generate', '--n', '10', '--db', db, '--dry-run', '--template', file], env());
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toContain('【标记模板】');
    expect(warnings(old.stderr)).toEqual(['warning: --template is deprecated; use --prompt-template']);
    const both = await runCli(['generate', '--n', '10', '--db', db, '--dry-run', '--template', file, '--prompt-template', file], env());
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--prompt-template: give only one of "template" \(the old name\) and "promptTemplate"/);
    // The help names the new flags only.
    const help = (await runCli(['generate', '--help'])).stdout;
    expect(help).toContain('--prompt-template <file>');
    expect(help).not.toMatch(/--template\b/);
  }, 60_000);

  it('export: --max-train-tokens and --train-template; --max-tokens and --template still work, one line each', async () => {
    const db = copyDb();
    const out = tempDir();
    const now = await runCli(
      [
        'export',
        '--db',
        db,
        '--out',
        path.join(out, 'a'),
        '--format',
        'prompt-completion',
        '--max-train-tokens',
        '60',
        '--train-template',
        'alpaca',
      ],
      env(),
    );
    expect(now.code, now.stderr).toBe(0);
    expect(warnings(now.stderr)).toEqual([]);
    const old = await runCli(
      ['export', '--db', db, '--out', path.join(out, 'b'), '--format', 'prompt-completion', '--max-tokens', '60', '--template', 'alpaca'],
      env(),
    );
    expect(old.code, old.stderr).toBe(0);
    expect(warnings(old.stderr).sort()).toEqual([
      'warning: --max-tokens is deprecated; use --max-train-tokens',
      'warning: --template is deprecated; use --train-template',
    ]);
    const manifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir.trim(), 'manifest.json'), 'utf8'));
    const a = manifest(now.stdout);
    const b = manifest(old.stdout);
    // The same filter applied both ways: some rows are longer than 60 tokens and left out.
    expect(a.records.droppedForLength).toBeGreaterThan(0);
    expect(b.records.droppedForLength).toBe(a.records.droppedForLength);
    expect(b.records.total).toBe(a.records.total);
    const help = (await runCli(['export', '--help'])).stdout;
    expect(help).toContain('--max-train-tokens <n>');
    expect(help).toContain('--train-template <name|file>');
    expect(help).not.toMatch(/--max-tokens|--template\b/);
  }, 60_000);

  it('answer: --answer-template; --template still works (seen in the dry-run prompt)', async () => {
    const dir = tempDir();
    const user = writeTemp(dir, 'a.txt', '【标记】请回答：{{instruction}}\n{{input}}');
    const input = writeTemp(dir, 'in.jsonl', `${JSON.stringify({ instruction: '介绍一下长城。' })}\n`);
    const db = copyDb();
    for (const [flag, expected] of [
      ['--answer-template', []],
      ['--template', ['warning: --template is deprecated; use --answer-template']],
    ] as const) {
      const r = await runCli(['answer', '--db', db, '--in', input, '--dry-run', flag, user], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('【标记】请回答：介绍一下长城。');
      expect(warnings(r.stderr)).toEqual(expected);
    }
  }, 60_000);

  it('the library takes the old option names too, as a DeprecationWarning; both names at once is a UsageError', async () => {
    const seen: string[] = [];
    const onWarning = (w: Error): void => {
      seen.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const s = resolveExportSettings({ format: 'alpaca', maxTokens: 300, template: 'alpaca' });
      expect(s).toMatchObject({ maxTrainTokens: 300, trainTemplate: 'alpaca' });
      expect(s).not.toHaveProperty('maxTokens');
      expect(resolveGenerateSettings({ n: 1, template: 'x.txt' }).promptTemplate).toBe('x.txt');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([
        'DeprecationWarning: export(): option "template" is now "trainTemplate"',
        'DeprecationWarning: export(): option "maxTokens" is now "maxTrainTokens"',
        'DeprecationWarning: generate(): option "template" is now "promptTemplate"',
      ]);
    } finally {
      process.off('warning', onWarning);
    }
    expect(() => resolveGenerateSettings({ n: 1, template: 'a', promptTemplate: 'b' })).toThrow(UsageError);
  });
});

describe('--since means last | all | RUN everywhere', () => {
  it('export, judge and report show the same values with their default in --help', async () => {
    const help = async (cmd: string) => (await runCli([cmd, '--help'])).stdout.replace(/\s+/g, ' ');
    expect(await help('export')).toMatch(/--since <last\|all\|RUN> .*\(default last/);
    expect(await help('judge')).toMatch(/--since <last\|all\|RUN> .*\(default all/);
    expect(await help('report')).toMatch(/--since <last\|all\|RUN> .*\(default all\)/);
    expect(await help('report')).toMatch(/--from <date>/);
  }, 60_000);

  it('report: --since last and --since RUN pick a run; a date goes to --from, the old --since DATE with one deprecation line', async () => {
    const db = copyDb();
    const figures = async (...args: string[]) => {
      const r = await runCli(['report', '--db', db, '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return { scope: JSON.parse(r.stdout).scope, warnings: warnings(r.stderr) };
    };
    const last = await figures('--since', 'last');
    expect(last.scope).toMatchObject({ kind: 'run', runId: 1 });
    expect((await figures('--since', '1')).scope).toEqual(last.scope);
    expect((await figures('--since', 'all')).scope.kind).toBe('all');
    const from = await figures('--from', '2020-01-01');
    expect(from).toEqual({ scope: expect.objectContaining({ kind: 'since', since: '2020-01-01' }), warnings: [] });
    const old = await figures('--since', '2020-01-01');
    expect(old.scope).toEqual(from.scope);
    expect(old.warnings).toEqual(['warning: --since DATE is deprecated; use --from DATE (--since now takes last | all | RUN)']);
  }, 60_000);
});

describe('reportFigures(): the same since, and from', () => {
  it('since last | RUN | all; a date in since is from with a DeprecationWarning; a bad from names the option', async () => {
    const db = copyDb();
    expect((await reportFigures({ db, since: 'last' })).scope).toMatchObject({ kind: 'run', runId: 1 });
    expect((await reportFigures({ db })).scope.kind).toBe('all');
    const seen: string[] = [];
    const onWarning = (w: Error): void => {
      seen.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      expect((await reportFigures({ db, since: '2020-01-01' })).scope).toMatchObject({ kind: 'since', since: '2020-01-01' });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(seen).toEqual(['report: a date in "since" is deprecated; use "from"']);
    await expect(reportFigures({ db, from: 'yesterday' })).rejects.toThrow(/^from: expected a date YYYY-MM-DD/);
    await expect(reportFigures({ db, since: 'last', from: '2020-01-01' })).rejects.toThrow(/exclude each other/);
  });
});

describe('the config file', () => {
  it('a typo gets "did you mean", at the top level and in a section; exit 2', async () => {
    const dir = tempDir();
    const cases: [unknown, RegExp][] = [
      [{ generate: { n: 5, temprature: 0.5 } }, /unknown key generate\.temprature \(did you mean generate\.temperature\?\)/],
      [{ generate: { n: 5, maxtokens: 100 } }, /unknown key generate\.maxtokens \(did you mean generate\.maxTokens\?\)/],
      [{ exprot: { format: 'alpaca' } }, /unknown key exprot \(did you mean export\?\)/],
      [{ export: { formt: 'alpaca' } }, /unknown key export\.formt \(did you mean export\.format\?\)/],
    ];
    for (const [config, message] of cases) {
      const file = writeTemp(dir, 'c.json', JSON.stringify(config));
      const r = await runCli(['generate', '--config', file, '--dry-run', '--db', path.join(dir, 'x.db')], env());
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // Nothing near: no guess.
    const file = writeTemp(dir, 'c.json', JSON.stringify({ generate: { n: 5, zzzzzzzz: 1 } }));
    const r = await runCli(['generate', '--config', file, '--dry-run'], env());
    expect(r.stderr.trim()).toMatch(/unknown key generate\.zzzzzzzz$/);
  }, 60_000);

  it('old keys are read as the new ones with one deprecation line naming the file', async () => {
    const dir = tempDir();
    const file = writeTemp(dir, 'c.json', JSON.stringify({ generate: { n: 5, template: markedTemplate(dir) }, export: { maxTokens: 50 } }));
    const r = await runCli(['generate', '--config', file, '--dry-run', '--db', path.join(dir, 'x.db')], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('【标记模板】');
    expect(warnings(r.stderr)).toEqual([
      `warning: ${file}: generate.template is deprecated; use generate.promptTemplate`,
      `warning: ${file}: export.maxTokens is deprecated; use export.maxTrainTokens`,
    ]);
  }, 60_000);
});

/** A local HTTP server that counts what it is asked; `handle` answers, or 404. */
async function countingServer(handle: (url: string) => { status: number; body: string } | undefined) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const answer = handle(req.url ?? '') ?? { status: 404, body: '{"error":{"message":"not found"}}' };
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { root: `http://127.0.0.1:${port}`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('judge --dry-run and answer --dry-run', () => {
  it('judge: pending tasks, requests, tokens and cost; no key, nothing sent, nothing written', async () => {
    const db = copyDb();
    const server = await countingServer(() => undefined);
    try {
      const before = sha(db);
      const pending = count(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source <> 'seed' AND output <> ''`);
      const r = await runCli(['judge', '--db', db, '--dry-run', '--tasks-per-request', '7', '--max-cost', '1'], {
        OPENAI_BASE_URL: `${server.root}/v1`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^dry run: nothing is sent or written/);
      expect(r.stdout).toContain(`judge ${pending} outputs`);
      expect(r.stdout).toContain(`${Math.ceil(pending / 7)} requests`);
      expect(r.stdout).toMatch(/\$\d+\.\d\d/); // gpt-4o-mini has a built-in price
      expect(r.stdout).toMatch(/limits +maxCostUsd 1/);
      expect(r.stdout).toContain('--- first prompt ---');
      expect(server.hits).toEqual([]);
      expect(sha(db)).toBe(before);
      expect(count(db, `SELECT count(*) FROM runs WHERE mode = 'judge'`)).toBe(0);
      // After a real judge run the same command has nothing left, and estimates from the history.
      const judged = await runCli(['judge', '--db', db, '--tasks-per-request', '5', '--log-format', 'json', '--quiet'], env());
      expect(judged.code, judged.stderr).toBe(0);
      const again = await runCli(['judge', '--db', db, '--dry-run', '--since', 'last'], {});
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('judge 0 outputs');
      expect(again.stdout).toContain('nothing to judge');
      const other = await runCli(['judge', '--db', db, '--dry-run', '--model', 'gpt-4o'], {});
      expect(other.stdout).toMatch(/estimate +from this database's \d+ judge replies/);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('answer: a file of instructions or a stored source; no key, nothing sent, nothing written', async () => {
    const db = copyDb();
    const dir = tempDir();
    const lines = ['写一首关于秋天的短诗。', '解释什么是光合作用。', '把下面的句子翻译成英文。'].map((instruction) =>
      JSON.stringify({ instruction }),
    );
    const input = writeTemp(dir, 'mine.jsonl', `${lines.join('\n')}\n`);
    const before = sha(db);
    const r = await runCli(['answer', '--db', db, '--in', input, '--dry-run', '--model', 'gpt-4o', '--answer-retries', '0'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`answer up to 3 instructions from ${input} as source "mine"`);
    expect(r.stdout).toMatch(/ 3 requests, \d+ prompt \+ 1500 completion tokens, \$\d+\.\d\d/);
    expect(r.stdout).toContain('写一首关于秋天的短诗。');
    const stored = await runCli(['answer', '--db', db, '--source', 'generated', '--dry-run', '--model', 'gpt-4o-mini'], {});
    expect(stored.code, stored.stderr).toBe(0);
    const tasks = count(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`);
    expect(stored.stdout).toContain(`answer ${tasks} tasks of source "generated"`);
    expect(sha(db)).toBe(before);
    expect(count(db, `SELECT count(*) FROM tasks WHERE source = 'mine'`)).toBe(0);
    // Bad input is still caught by a dry run: exit 2, one line.
    const bad = await runCli(['answer', '--db', db, '--dry-run'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/give --in FILE .* or --source NAME/);
  }, 60_000);
});

describe('a base URL without /v1', () => {
  it('the start-up probe sees /models 404 while /v1/models answers, says to add /v1, exits 2 and sends no request', async () => {
    const server = await countingServer((url) =>
      url === '/v1/models' ? { status: 200, body: '{"object":"list","data":[{"id":"m","object":"model","owned_by":"me"}]}' } : undefined,
    );
    try {
      const dir = tempDir();
      for (const args of [
        ['generate', '--n', '5', '--db', path.join(dir, 'g.db')],
        ['judge', '--db', copyDb()],
        ['answer', '--db', copyDb(), '--source', 'generated'],
      ]) {
        server.hits.length = 0;
        const r = await runCli(args, { OPENAI_BASE_URL: server.root, OPENAI_API_KEY: 'test-key' });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(
          `the model API at ${server.root} answers 404 for /models, but ${server.root}/v1/models is there: add /v1 to the base URL (${server.root}/v1)`,
        );
        expect(server.hits).toEqual(['GET /models', 'GET /v1/models']);
      }
      expect(fs.existsSync(path.join(dir, 'g.db'))).toBe(false);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a server without /models at all is let through as before (its base URL may be right)', async () => {
    const server = await countingServer(() => undefined);
    try {
      const r = await runCli(['generate', '--n', '1', '--db', path.join(tempDir(), 'g.db'), '--max-requests', '1'], {
        OPENAI_BASE_URL: server.root,
        OPENAI_API_KEY: 'test-key',
      });
      expect(r.stderr).not.toContain('add /v1');
      expect(server.hits).toContain('POST /chat/completions');
    } finally {
      await server.close();
    }
  }, 60_000);
});
