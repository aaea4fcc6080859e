/**
 * Bad input, one case per row: a one-line message naming the flag, file or line, a documented exit
 * code, and nothing written.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('bad input', async () => {
  const dir = tempDir();
  const port = await closedPort();
  const env = { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: 'test-key-bad-input-000000' };
  const db = path.join(dir, 'never.db');
  const goodSeedLine = '{"instruction":"介绍一下长城","input":"","output":"长城是……"}';
  const notSqlite = writeTemp(dir, 'notsqlite.db', '这不是一个数据库文件，只是一些文字。'.repeat(50));
  const newer = path.join(dir, 'newer.db');
  const conn = new Database(newer);
  conn.pragma('user_version = 999');
  conn.close();
  const newerBytes = fs.readFileSync(newer);

  const cases: [string, string[], Record<string, string | undefined>, number, RegExp][] = [
    ['unknown flag', ['generate', '--n', '5', '--colour'], env, 2, /unknown option '--colour'/],
    ['--n 0', ['generate', '--n', '0'], env, 2, /--n.*positive integer, got "0"/],
    ['--n abc', ['generate', '--n', 'abc'], env, 2, /--n.*positive integer, got "abc"/],
    ['--concurrency -1', ['generate', '--n', '5', '--concurrency', '-1'], env, 2, /concurrency/],
    ['--similarity 2', ['generate', '--n', '5', '--similarity', '2'], env, 2, /similarity.*0\.5 to 1, got "2"/],
    [
      'unreadable seed file',
      ['generate', '--n', '5', '--db', db, '--seeds', path.join(dir, 'missing.jsonl')],
      env,
      2,
      /missing\.jsonl: cannot read \(no such file\)/,
    ],
    [
      'malformed seed file',
      [
        'generate',
        '--n',
        '5',
        '--db',
        db,
        '--seeds',
        writeTemp(dir, 'bad.jsonl', `${goodSeedLine}\n${goodSeedLine}\n{"instruction": "x", "output": 3}\n`),
      ],
      env,
      2,
      /bad\.jsonl:3: field "output" must be a string/,
    ],
    [
      'template missing a placeholder',
      ['generate', '--n', '5', '--db', db, '--prompt-template', writeTemp(dir, 't.prompt.txt', '请写 {{num_tasks}} 个任务。')],
      env,
      2,
      /t\.prompt\.txt: .*missing placeholder \{\{examples\}\}/,
    ],
    [
      'template with an unknown placeholder',
      ['generate', '--n', '5', '--db', db, '--prompt-template', writeTemp(dir, 'u.prompt.txt', '{{examples}}\n{{num_tasks}}\n{{topic}}')],
      env,
      2,
      /u\.prompt\.txt:3: unknown placeholder \{\{topic\}\}/,
    ],
    [
      'DB in a missing directory',
      ['generate', '--n', '5', '--db', path.join(dir, 'nope', 'x.db')],
      env,
      2,
      /--db: .*nope.* does not exist/,
    ],
    ['DB in a read-only directory', ['generate', '--n', '5', '--db', '/proc/zhsi-test.db'], env, 2, /proc.*(not writable|cannot create)/],
    [
      'DB file that is not SQLite',
      ['generate', '--n', '5', '--db', notSqlite, '--no-probe'],
      env,
      2,
      /notsqlite\.db: not a SQLite database/,
    ],
    [
      'DB from a newer schema',
      ['generate', '--n', '5', '--db', newer, '--no-probe'],
      env,
      2,
      /newer\.db: database schema version 999 is newer/,
    ],
    ['stats on a missing DB', ['stats', '--db', path.join(dir, 'absent.db')], {}, 2, /absent\.db: no such database/],
    ['missing API key', ['generate', '--n', '5', '--db', db], {}, 2, /OPENAI_API_KEY is not set/],
    ['unreachable base URL', ['generate', '--n', '5', '--db', db], env, 69, /does not answer/],
  ];

  it.each(cases)('%s', async (_name, args, caseEnv, code, message) => {
    const started = Date.now();
    const r = await runCli(args, caseEnv);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain(env.OPENAI_API_KEY);
    expect(Date.now() - started).toBeLessThan(15_000);
    // Nothing written: no DB, no lock left behind, bad DB files untouched.
    expect(fs.existsSync(db)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.lock') || f.endsWith('-wal'))).toEqual([]);
    expect(fs.readFileSync(newer).equals(newerBytes)).toBe(true);
  });
});
