/**
 * A disk that is full, read-only or failing, as SQLite (SQLITE_FULL, SQLITE_READONLY*, SQLITE_IOERR*)
 * and Node's fs (ENOSPC, EDQUOT, EROFS, EIO) report it: a reason to stop cleanly, not a bug. SQLite
 * rolls the failed transaction back, so everything committed before it stays whole.
 */
import { PipelineError } from '../errors.ts';

export class StorageError extends PipelineError {
  override name = 'StorageError';
  constructor(
    readonly file: string,
    readonly code: string,
    options: { cause?: unknown } = {},
  ) {
    super('failed', `${file}: ${describe(code)} (${code})`, options);
  }
}

const CAUSES: [RegExp, string][] = [
  [/^(SQLITE_FULL|ENOSPC)$/, 'the disk is full'],
  [/^EDQUOT$/, 'the disk quota is used up'],
  [/^(SQLITE_READONLY.*|EROFS)$/, 'the file system is read-only'],
  [/^(SQLITE_IOERR.*|EIO)$/, 'the disk reported an I/O error'],
];

function describe(code: string): string {
  return CAUSES.find(([re]) => re.test(code))?.[1] ?? 'the disk failed';
}

/** `err` as a StorageError about `file` when it is a disk failure; undefined for anything else. */
export function asStorageError(err: unknown, file: string): StorageError | undefined {
  if (err instanceof StorageError) return err;
  const code = err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined || !CAUSES.some(([re]) => re.test(code))) return undefined;
  const where = err !== null && typeof err === 'object' && 'path' in err && typeof err.path === 'string' ? err.path : file;
  return new StorageError(where, code, { cause: err });
}
