/** Test helpers: temporary folders and files, a run's summary line, read-only queries of a test DB. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

export function tempDir(prefix = 'zhsi-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeTemp(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** The last `summary` event of a `--log-format json` run's stderr. */
export function summaryOf(stderr: string): Record<string, unknown> {
  return JSON.parse(
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.includes('"event":"summary"'))
      .at(-1)!,
  );
}

/** Rows of one query on a database file, opened read-only for it. */
export function query<T>(db: string, sql: string, ...params: unknown[]): T[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).all(...params) as T[];
  } finally {
    conn.close();
  }
}

/** The first column of a one-row query (a count, usually). */
export const one = (db: string, sql: string, ...params: unknown[]): number =>
  Object.values(query<Record<string, number>>(db, sql, ...params)[0]!)[0]!;
