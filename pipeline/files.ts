/** Writing output files so that a crash or an error never leaves a half-written one behind. */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Runs `write` on a temporary file beside `file`, fsyncs it, then renames it into place. On any error
 * the temporary file is removed and `file` is left as it was.
 */
function writeAtomic<T>(file: string, write: (fd: number) => T): T {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    let result: T;
    try {
      result = write(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return result;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes `lines` to a temporary file beside `file`, fsyncs, then renames it into place. */
export function writeLinesAtomic(file: string, lines: Iterable<string>): { bytes: number; lines: number } {
  return writeAtomic(file, (fd) => {
    let bytes = 0;
    let count = 0;
    let buffer = '';
    for (const line of lines) {
      buffer += line + '\n';
      count++;
      if (buffer.length > 1 << 20) {
        bytes += writeAll(fd, buffer);
        buffer = '';
      }
    }
    bytes += writeAll(fd, buffer);
    return { bytes, lines: count };
  });
}

/** Writes `content` to `file` atomically: a temporary sibling, fsync, rename over. */
export function writeFileAtomic(file: string, content: string): void {
  writeAtomic(file, (fd) => writeAll(fd, content));
}

/** fsync a file or directory by path (directories: so a rename inside them survives a power cut). */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of `text` (writeSync may write less than asked); returns its UTF-8 byte length. */
function writeAll(fd: number, text: string): number {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
  return data.length;
}
