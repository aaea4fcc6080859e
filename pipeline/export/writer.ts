/**
 * A JSON Lines file written through a stream with backpressure, hashed and counted as it goes, so an
 * export of any size holds one chunk in memory and never re-reads its files.
 */
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fsyncPath } from '../files.ts';
import type { ExportedFile } from '../store/exports.ts';

/** Where an export writes its records: JSON Lines here, Parquet in parquet.ts. */
export interface RecordSink {
  readonly file: string;
  records: number;
  /** Adds one record; call `flush` when `full` says so. */
  add(record: unknown): void;
  readonly full: boolean;
  flush(): Promise<void>;
  /** Flushes, closes and fsyncs the file: after this its bytes are on disk. */
  close(): Promise<ExportedFile>;
  /** Stops writing after a failure; the caller removes the file. */
  destroy(): void;
}

/** Lines are gathered into chunks of about this many UTF-16 units before each write. */
const CHUNK = 1 << 20;

export class JsonlSink implements RecordSink {
  records = 0;
  bytes = 0;
  private parts: string[] = [];
  private pending = 0;
  private readonly hash = crypto.createHash('sha256');
  private error: Error | undefined;

  private constructor(
    readonly file: string,
    private readonly stream: fs.WriteStream,
  ) {
    stream.on('error', (err) => (this.error ??= err));
  }

  /** Creates `file`, which must not exist yet. */
  static async open(file: string): Promise<JsonlSink> {
    const stream = fs.createWriteStream(file, { flags: 'wx', highWaterMark: CHUNK });
    await once(stream, 'open');
    return new JsonlSink(file, stream);
  }

  /** Adds one record; call `flush` when `full` says so. */
  add(record: unknown): void {
    const line = JSON.stringify(record);
    this.parts.push(line, '\n');
    this.pending += line.length + 1;
    this.records++;
  }

  get full(): boolean {
    return this.pending >= CHUNK;
  }

  /** Hands the gathered chunk to the stream, waiting for it to drain when the OS is behind. */
  async flush(): Promise<void> {
    if (this.error) throw this.error;
    if (this.parts.length === 0) return;
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Flushes, closes and fsyncs the file: after this its bytes are on disk. */
  async close(): Promise<ExportedFile> {
    await this.flush();
    this.stream.end();
    // Unlike waiting for an event, finished() also settles for a stream that already ended or failed.
    await finished(this.stream);
    if (this.error) throw this.error;
    fsyncPath(this.file);
    return { path: path.basename(this.file), records: this.records, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Stops writing after a failure; the caller removes the file. */
  destroy(): void {
    this.stream.destroy();
  }
}
