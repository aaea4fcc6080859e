/** Writing output files so that a crash or an error never leaves a half-written one behind. */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `lines` to a temporary file beside `file`, fsyncs, then renames it into place. */
export function writeLinesAtomic(file: string, lines: Iterable<string>): { bytes: number; lines: number } {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  let bytes = 0;
  let count = 0;
  try {
    let buffer = '';
    for (const line of lines) {
      buffer += line + '\n';
      count++;
      if (buffer.length > 1 << 20) {
        bytes += fs.writeSync(fd, buffer);
        buffer = '';
      }
    }
    bytes += fs.writeSync(fd, buffer);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return { bytes, lines: count };
}
