/**
 * The one-writer lock on its own: a kernel (fcntl) lock held by another process refuses at once and
 * names the holder; it is free the moment its holder dies, kill -9 included; old-style JSON lock files
 * are still honoured while their process lives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, holderFileFor, LockedError, lockFileFor, processStartTicks, type LockInfo } from '../../pipeline/lock.ts';
import { generate, UsageError } from '../../pipeline/index.ts';
import { Store } from '../../pipeline/store/store.ts';
import { ROOT } from '../cli.ts';
import { tempDir } from '../helpers.ts';

const hasProc = fs.existsSync('/proc/self/stat');
let other: ChildProcess | undefined;
afterEach(() => {
  other?.kill('SIGKILL');
  other = undefined;
});

/** Another process that takes the lock on `db` and holds it until killed (referenced, so a garbage collection cannot release it). */
async function holder(db: string): Promise<ChildProcess> {
  const code = `import { acquireLock } from ${JSON.stringify(path.join(ROOT, 'pipeline/lock.ts'))};
    globalThis.held = acquireLock(${JSON.stringify(db)}, 'generate --n 9'); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
  other = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    other!.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    other!.once('exit', () => reject(new Error('holder exited')));
  });
  return other;
}

describe('acquireLock', () => {
  it('holds the lock until released, then lets the next one in', () => {
    const db = path.join(tempDir(), 'a.db');
    const lock = acquireLock(db, 'generate');
    expect(lock.tookOverFrom).toBeUndefined();
    const held = JSON.parse(fs.readFileSync(holderFileFor(db), 'utf8')) as LockInfo;
    expect(held.pid).toBe(process.pid);
    if (hasProc) expect(held.procStart).toBe(processStartTicks(process.pid));
    // The same process asking again is refused too: SQLite tracks its own locks per file.
    expect(() => acquireLock(db, 'generate')).toThrow(LockedError);
    lock.release();
    expect(fs.existsSync(holderFileFor(db))).toBe(false);
    const next = acquireLock(db, 'generate');
    expect(next.tookOverFrom).toBeUndefined();
    next.release();
  });

  it('refuses at once while another process holds it, naming its pid and start time', async () => {
    const db = path.join(tempDir(), 'b.db');
    const child = await holder(db);
    const t = Date.now();
    expect(() => acquireLock(db, 'generate')).toThrow(
      new RegExp(`pid ${child.pid} on ${os.hostname()} \\(generate --n 9, started \\d{4}-`),
    );
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('is free the moment its holder is killed with SIGKILL, and says whose it was', async () => {
    const db = path.join(tempDir(), 'c.db');
    for (let i = 0; i < 3; i++) {
      const child = await holder(db);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // No waiting, no pid check: the kernel dropped the lock with the process.
      const lock = acquireLock(db, 'generate');
      expect(lock.tookOverFrom?.pid).toBe(child.pid);
      lock.release();
    }
  });

  it('honours an old-style JSON lock of a live process, and replaces one whose process is gone', async () => {
    const db = path.join(tempDir(), 'd.db');
    const write = (info: Partial<LockInfo>): void => {
      const old: LockInfo = { pid: 1, host: os.hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'generate', ...info };
      fs.writeFileSync(lockFileFor(db), JSON.stringify(old));
    };
    write({ pid: process.pid });
    expect(() => acquireLock(db, 'generate')).toThrow(new RegExp(`pid ${process.pid} on `));
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.once('exit', r));
    write({ pid: gone.pid! });
    const lock = acquireLock(db, 'generate');
    expect(lock.tookOverFrom?.pid).toBe(gone.pid);
    lock.release();
    if (hasProc) {
      // A reused pid (after a reboot): alive, but another process than the one that wrote the lock.
      other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      await new Promise((r) => other!.once('spawn', r));
      write({ pid: other.pid!, procStart: String(Number(processStartTicks(other.pid!)) - 1000) });
      const reused = acquireLock(db, 'generate');
      expect(reused.tookOverFrom?.pid).toBe(other.pid);
      reused.release();
    }
  });
});

describe('one lock per file, whatever name it is given by (issue 21)', () => {
  it('a symlink to the database, or to its folder, shares the lock of the file it points to', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'a.db');
    Store.open(db).close();
    const link = path.join(dir, 'link.db');
    fs.symlinkSync(db, link);
    const linkedDir = path.join(tempDir(), 'elsewhere');
    fs.symlinkSync(dir, linkedDir);

    const child = await holder(db);
    for (const name of [link, path.join(linkedDir, 'a.db'), path.join(linkedDir, 'link.db')]) {
      expect(() => acquireLock(name, 'generate'), name).toThrow(new RegExp(`in use by pid ${child.pid} `));
    }
    // The library's generate() is refused too, before it sends anything.
    await expect(generate({ db: link, n: 1, baseURL: 'http://127.0.0.1:9/v1', apiKey: 'lock-test-key', probe: false })).rejects.toThrow(
      LockedError,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // And the other way round: held through the link, refused by the file's own name.
    await holder(link);
    expect(() => acquireLock(db, 'generate')).toThrow(LockedError);
  });

  it('a dangling symlink locks the file SQLite would create through it', () => {
    const dir = tempDir();
    const link = path.join(dir, 'link.db');
    fs.symlinkSync('not-yet.db', link);
    const lock = acquireLock(link, 'generate');
    try {
      expect(lock.file).toBe(`${fs.realpathSync(dir)}/not-yet.db.lock`);
      expect(() => acquireLock(path.join(dir, 'not-yet.db'), 'generate')).toThrow(LockedError);
    } finally {
      lock.release();
    }
  });

  it('a database file with a hard link is refused under either name, saying why', () => {
    const dir = tempDir();
    const db = path.join(dir, 'a.db');
    Store.open(db).close();
    const second = path.join(dir, 'b.db');
    fs.linkSync(db, second);
    for (const name of [db, second]) {
      expect(() => acquireLock(name, 'generate')).toThrow(UsageError);
      expect(() => acquireLock(name, 'generate')).toThrow(/has 2 names \(hard links\)/);
    }
    fs.rmSync(second);
    acquireLock(db, 'generate').release();
  });
});
