/**
 * One writer per database: `generate` (and `import`) hold `<db>.lock`. The lock is SQLite's own file
 * lock on a tiny lock database: an open transaction (BEGIN IMMEDIATE) takes its RESERVED lock, a POSIX
 * fcntl lock, for the life of the run. The kernel drops fcntl locks the moment their process dies, so
 * after `kill -9`, a crash or an OOM kill the very next run gets the lock: no pid to check, no zombie
 * or reused pid to mistake for the holder. A contender asks with busy timeout 0 and is refused at once.
 *
 * Who holds it is written next to it, in `<db>.lock.json` (pid, host, start time, command), so a
 * refused run can name the holder (exit 75). The holder removes that file when it releases the lock;
 * one still there when the lock is free belonged to a run that died, which is reported as a takeover.
 * The lock file itself is never removed: deleting a lock file races with a contender that opened it.
 *
 * The lock belongs to the file, not to the name it was given by. The path is resolved first (symlinks
 * of the file and of its folders), so `link.db -> a.db` locks `a.db.lock`. A folder reached through a
 * bind mount holds the same lock file inode, and fcntl locks are per inode, so that is one lock too.
 * A hard link is a second name no path resolution can see, so a database file with more than one link
 * is refused as a writer: SQLite itself names its `-wal` and `-shm` after the path, so two writers
 * through two names would each keep their own WAL and corrupt the file whatever our lock did. (Keying
 * the lock on device+inode instead would need a lock folder shared by every name, which only exists
 * per machine, not per file system, and would still leave SQLite's two WALs.) A single file bind-mounted
 * under a second name (`mount --bind a.db b.db`) is the one case neither check sees.
 *
 * Read-only commands (`stats`, `export` of the database) never lock. fcntl locks are unreliable on some
 * network file systems (NFS without a lock daemon): keep the database on a local disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { PipelineError, UsageError } from './errors.ts';

const LockInfoSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
  command: z.string(),
  /** Field 22 of /proc/<pid>/stat (start time since boot) where there is a /proc. */
  procStart: z.string().optional(),
});
export type LockInfo = z.infer<typeof LockInfoSchema>;

export class LockedError extends PipelineError {
  override name = 'LockedError';
  constructor(
    readonly file: string,
    readonly holder: LockInfo | undefined,
  ) {
    super(
      'locked',
      holder === undefined
        ? `${file} is in use by a process that is just starting (it has not written its pid yet)`
        : `${file} is in use by pid ${holder.pid} on ${holder.host} (${holder.command}, started ${holder.startedAt})`,
    );
  }
}

export interface Lock {
  readonly file: string;
  /** Set when the previous holder died without releasing the lock: whose it was. */
  readonly tookOverFrom: LockInfo | undefined;
  release(): void;
}

export function lockFileFor(dbPath: string): string {
  return `${realDbPath(dbPath)}.lock`;
}

/**
 * The path of the file `dbPath` names, symlinks resolved (of the file and of its folders), for a file
 * that does not exist yet as well: a dangling link is followed to where SQLite would create the file.
 */
export function realDbPath(dbPath: string): string {
  let p = path.resolve(dbPath);
  for (let hops = 0; hops < 40; hops++) {
    try {
      return fs.realpathSync(p);
    } catch {
      // Missing (or dangling): resolve the folder, then follow the name if it is a link.
    }
    let dir: string;
    try {
      dir = fs.realpathSync(path.dirname(p));
    } catch {
      return p; // no such folder: the caller's own check says so
    }
    const joined = path.join(dir, path.basename(p));
    let target: string;
    try {
      target = fs.readlinkSync(joined);
    } catch {
      return joined; // not a link: a file still to be created
    }
    p = path.resolve(dir, target);
  }
  return p;
}

/** Refuses a database file that has other names (hard links): see the top of this file for why. */
function refuseHardLinks(dbPath: string, real: string): void {
  let links: number;
  try {
    links = fs.statSync(real).nlink;
  } catch {
    return; // not created yet
  }
  if (links > 1) {
    throw new UsageError(
      `${dbPath}: the database file has ${links} names (hard links); two writers through two names would not see each other's lock or WAL. ` +
        'Remove the other links, or copy the file (cp) to make a separate database',
      { option: 'db' },
    );
  }
}

export function holderFileFor(dbPath: string): string {
  return `${lockFileFor(dbPath)}.json`;
}

export function acquireLock(dbPath: string, command: string): Lock {
  const real = realDbPath(dbPath);
  refuseHardLinks(dbPath, real);
  const file = `${real}.lock`;
  const infoFile = `${file}.json`;
  const legacy = takeLegacyLock(file);

  // Busy timeout 0: a held lock refuses at once instead of waiting for its holder to finish.
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      const holder = readHolder(infoFile);
      throw new LockedError(file, holder?.pid === process.pid ? undefined : holder);
    }
    throw err;
  }

  // Ours now. A holder file left behind names a run that died holding the lock.
  const tookOverFrom = readHolder(infoFile) ?? legacy;
  const me: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command };
  const procStart = processStartTicks(process.pid);
  if (procStart !== undefined) me.procStart = procStart;
  try {
    writeAtomically(infoFile, JSON.stringify(me));
  } catch (err) {
    db.close();
    throw err;
  }
  let released = false;
  return {
    file,
    tookOverFrom,
    release() {
      if (released) return;
      released = true;
      // The holder file first, while the lock is still ours: no successor's file can be removed.
      try {
        fs.rmSync(infoFile, { force: true });
      } catch {
        // A read-only disk: the file stays, and the next run reports it as a takeover. The lock still goes.
      }
      db.close(); // rolls the open transaction back, which drops the file lock
    },
  };
}

/** Who holds (or held) the lock, from `<db>.lock.json`; undefined when absent or unreadable. */
export function readHolder(infoFile: string): LockInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(infoFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = LockInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const SQLITE_HEADER = 'SQLite format 3\0';

/**
 * Versions before this one wrote `<db>.lock` as a JSON file (O_EXCL) and checked the pid. Such a file
 * left by a live process of the old version still refuses; one whose process is gone is removed, so
 * the SQLite lock database can take its place. Returns the dead holder's info, if any.
 */
function takeLegacyLock(file: string): LockInfo | undefined {
  // stat, not read: opening and closing the lock file would drop this process's own fcntl lock on it.
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return undefined; // no lock file yet
  }
  if (size === 0) return undefined; // the lock database (nothing is ever written to it)
  if (fs.readFileSync(file).subarray(0, 16).toString('latin1') === SQLITE_HEADER) return undefined;
  const holder = readHolder(file);
  if (holder !== undefined && isAlive(holder)) throw new LockedError(file, holder);
  fs.rmSync(file, { force: true });
  return holder ?? { pid: 0, host: '?', startedAt: '?', command: '?' };
}

/** For old-style locks only. A lock from another host cannot be checked, so it counts as alive. */
function isAlive(holder: LockInfo): boolean {
  if (holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is in use; by the holder only if it is the same process (a pid is reused after a reboot).
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
