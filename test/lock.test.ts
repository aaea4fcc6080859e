/**
 * The one-writer lock on its own: held, released, taken over when its process is gone, including a
 * pid that another process has since been given (the usual state after a crash and a reboot).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, LockedError, lockFileFor, processStartTicks, type LockInfo } from '../pipeline/lock.ts';
import { tempDir } from './helpers.ts';

const hasProc = fs.existsSync('/proc/self/stat');
let other: ChildProcess | undefined;
afterEach(() => {
  other?.kill();
  other = undefined;
});

/** A live process that is not this one. */
async function livePid(): Promise<number> {
  other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await new Promise((r) => other!.once('spawn', r));
  return other.pid!;
}

function writeLock(db: string, info: Partial<LockInfo>): void {
  const holder: LockInfo = { pid: 1, host: os.hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'generate', ...info };
  fs.writeFileSync(lockFileFor(db), JSON.stringify(holder));
}

describe('acquireLock', () => {
  it('holds the lock until released, then lets the next one in', () => {
    const db = path.join(tempDir(), 'a.db');
    const lock = acquireLock(db, 'generate');
    expect(lock.tookOverFrom).toBeUndefined();
    const held = JSON.parse(fs.readFileSync(lockFileFor(db), 'utf8')) as LockInfo;
    expect(held.pid).toBe(process.pid);
    if (hasProc) expect(held.procStart).toBe(processStartTicks(process.pid));
    lock.release();
    expect(fs.existsSync(lockFileFor(db))).toBe(false);
    acquireLock(db, 'generate').release();
  });

  it('refuses while the holder runs', async () => {
    const db = path.join(tempDir(), 'b.db');
    const pid = await livePid();
    writeLock(db, { pid, procStart: processStartTicks(pid) });
    expect(() => acquireLock(db, 'generate')).toThrow(LockedError);
    expect(() => acquireLock(db, 'generate')).toThrow(new RegExp(`pid ${pid} on `));
  });

  it('takes over a lock whose process is gone', async () => {
    const db = path.join(tempDir(), 'c.db');
    const pid = await livePid();
    other!.kill('SIGKILL');
    await new Promise((r) => other!.once('exit', r));
    writeLock(db, { pid });
    const lock = acquireLock(db, 'generate');
    expect(lock.tookOverFrom?.pid).toBe(pid);
    lock.release();
  });

  it.runIf(hasProc)('takes over a lock whose pid now belongs to another process', async () => {
    const db = path.join(tempDir(), 'd.db');
    const pid = await livePid();
    const start = processStartTicks(pid)!;
    // The same pid, but a process that started at another moment than the one that wrote the lock.
    writeLock(db, { pid, procStart: String(Number(start) - 1000) });
    const lock = acquireLock(db, 'generate');
    expect(lock.tookOverFrom?.pid).toBe(pid);
    lock.release();
  });
});
