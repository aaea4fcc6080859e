/**
 * A disk that fills up in the middle of a run: the run stops by itself with one line
 * naming the database and the cause (exit 1), loses nothing it had stored, leaves a database that
 * passes integrity_check, and the next run on a healthy disk resumes it. Needs root to mount a small
 * tmpfs (CI runs as root); skipped with a message otherwise.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { asStorageError } from '../../pipeline/store/storage-errors.ts';
import { runCli } from '../cli.ts';
import { tempDir } from '../helpers.ts';

const canMount =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  (() => {
    const probe = tempDir('zhsi-mount-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!canMount) console.warn('disk-full.test.ts: skipped, it needs root and mount -t tmpfs to make a small or read-only disk');

let sim: Simulator;
const mounts: string[] = [];
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 41, latencyMs: 10 });
});
afterAll(async () => {
  await sim.close();
  for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
});

function mountTmpfs(size: string): string {
  const dir = tempDir('zhsi-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function state(db: string) {
  const conn = new Database(db, { readonly: true });
  try {
    return {
      integrity: conn.pragma('integrity_check', { simple: true }),
      ids: new Set(conn.prepare(`SELECT id FROM tasks WHERE status = 'accepted' AND source = 'generated'`).pluck().all() as number[]),
      runs: conn.prepare('SELECT id, status FROM runs').all() as { id: number; status: string }[],
    };
  } finally {
    conn.close();
  }
}

const env = () => ({ OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'test-key' });
const args = (db: string, n: number) => ['generate', '--n', String(n), '--db', db, '--concurrency', '4', '--log-format', 'json'];

describe('disk failures are told apart from bugs', () => {
  it('SQLite and fs codes for full, read-only and failing disks; nothing else', () => {
    const e = (code: string, extra = {}) => Object.assign(new Error('x'), { code, ...extra });
    expect(asStorageError(e('SQLITE_FULL'), 'a.db')?.message).toBe('a.db: the disk is full (SQLITE_FULL)');
    expect(asStorageError(e('SQLITE_READONLY_DBMOVED'), 'a.db')?.message).toBe(
      'a.db: the file system is read-only (SQLITE_READONLY_DBMOVED)',
    );
    expect(asStorageError(e('SQLITE_IOERR_WRITE'), 'a.db')?.message).toBe('a.db: the disk reported an I/O error (SQLITE_IOERR_WRITE)');
    expect(asStorageError(e('EROFS', { path: '/x/out/train.jsonl' }), 'a.db')?.message).toBe(
      '/x/out/train.jsonl: the file system is read-only (EROFS)',
    );
    expect(asStorageError(e('ENOSPC'), 'out')?.message).toBe('out: the disk is full (ENOSPC)');
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_BUSY', 'ENOENT']) expect(asStorageError(e(code), 'a.db')).toBeUndefined();
    expect(asStorageError(new Error('plain'), 'a.db')).toBeUndefined();
  });
});

describe.runIf(canMount)('a disk that fills up mid-run', () => {
  it('disk full: stops cleanly naming the file and the cause, exit 1; integrity ok; the next run resumes', async () => {
    const dir = mountTmpfs('1m');
    const db = path.join(dir, 'full.db');
    const result = await runCli(args(db, 100_000), env());
    expect(result.code).toBe(1);
    const error = result.stderr.trim().split('\n').at(-1)!;
    expect(error).toMatch(
      new RegExp(
        `^error: generate: run 1 stopped: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S*: the disk is full \\((SQLITE_FULL|ENOSPC)\\); nothing stored is lost: free space`,
      ),
    );
    const before = state(db);
    expect(before.integrity).toBe('ok');
    expect(before.ids.size).toBeGreaterThan(0);
    expect(['interrupted', 'running']).toContain(before.runs[0]!.status); // interrupted when the disk took that row

    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    const resumed = await runCli(args(db, before.ids.size + 30), env());
    expect(resumed.code, resumed.stderr.slice(-500)).toBe(0);
    const after = state(db);
    expect(after.integrity).toBe('ok');
    expect(after.runs).toEqual([{ id: 1, status: 'completed' }]);
    expect(after.ids.size).toBe(before.ids.size + 30);
    for (const id of before.ids) expect(after.ids.has(id)).toBe(true);
  }, 120_000);
});
