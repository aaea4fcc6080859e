/**
 * One writer per database: `generate` holds `<db>.lock`, a small JSON file created with O_EXCL. A lock
 * whose process is gone (killed, crashed) is taken over with a warning. Read-only commands never lock.
 *
 * "Gone" includes a pid that now belongs to another process: after a crash and a reboot, the nightly
 * job's old pid is often reused, and a plain "is the pid alive" check would refuse every run after.
 * On Linux the lock records the process's start time in clock ticks since boot (/proc/<pid>/stat),
 * which differs for any later process with the same pid.
 */
import { PipelineError, UsageError } from './errors.ts';
import fs from 'node:fs';
import os from 'node:os';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** Field 22 of /proc/<pid>/stat (start time since boot) where there is a /proc; absent elsewhere. */
  procStart?: string | undefined;
}

export class LockedError extends PipelineError {
  override name = 'LockedError';
  constructor(readonly file: string, readonly holder: LockInfo) {
    super('locked', `${file} is in use by pid ${holder.pid} on ${holder.host} (${holder.command}, started ${holder.startedAt})`);
  }
}

export interface Lock {
  readonly file: string;
  /** Set when a stale lock was taken over: whose it was. */
  readonly tookOverFrom: LockInfo | undefined;
  release(): void;
}

export function lockFileFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

export function acquireLock(dbPath: string, command: string): Lock {
  const file = lockFileFor(dbPath);
  const me: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command };
  const procStart = processStartTicks(process.pid);
  if (procStart !== undefined) me.procStart = procStart;
  let tookOverFrom: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      let released = false;
      return {
        file,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          // Only remove our own lock: a crashed run's successor may hold it by now.
          if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(file);
    if (holder !== undefined && isAlive(holder)) throw new LockedError(file, holder);
    if (holder === undefined && isFresh(file)) {
      // Empty and new: its owner is most likely between creating and writing it.
      throw new LockedError(file, { pid: 0, host: '?', startedAt: 'just now', command: 'unknown' });
    }
    // Stale (its process is gone) or unreadable (killed while writing it): take it over.
    tookOverFrom = holder ?? { pid: 0, host: '?', startedAt: '?', command: '?' };
    fs.rmSync(file, { force: true });
  }
  throw new Error(`${file}: could not take the lock (another process keeps creating it)`);
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

function isFresh(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 2000;
  } catch {
    return false;
  }
}

/** A lock from another host cannot be checked, so it counts as alive. */
function isAlive(holder: LockInfo): boolean {
  if (holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is in use; by the holder only if it is the same process (see the header).
  if (holder.procStart === undefined) return true;
  const now = processStartTicks(holder.pid);
  return now === undefined || now === holder.procStart;
}

/** A process's start time since boot in clock ticks, from /proc; undefined without /proc. */
export function processStartTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  // The fields after it start at field 3; the start time is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[22 - 3];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
}

/** Takes the database's one-writer lock, or says who holds it (LockedError, category `locked`). */
export function takeLock(db: string, command: string, onWarning?: (message: string) => void): Lock {
  let lock: Lock;
  try {
    lock = acquireLock(db, command);
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`${db}: cannot create the lock file (${code}); is the directory writable?`, { option: 'db', cause: err });
  }
  if (lock.tookOverFrom !== undefined) onWarning?.(tookOverMessage(lock.tookOverFrom));
  return lock;
}

function tookOverMessage(from: LockInfo): string {
  return `took over a stale lock from pid ${from.pid} (started ${from.startedAt}), which is no longer running`;
}
