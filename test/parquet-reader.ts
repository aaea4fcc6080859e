/**
 * Reads a Parquet file with parquet-wasm (Rust's arrow-rs Parquet reader, compiled to WebAssembly) through
 * apache-arrow: an implementation independent of the writer under test (hyparquet-writer), as the
 * `datasets` library or pandas would read it. Rows come back as plain JSON values.
 */
import fs from 'node:fs';
import { tableFromIPC, Vector } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';

/** Arrow values as plain JSON: lists → arrays, structs → objects. */
function plain(value: unknown): unknown {
  if (value instanceof Vector) return [...value].map(plain);
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return Object.fromEntries(Object.entries((value as { toJSON(): Record<string, unknown> }).toJSON()).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The file's rows and its columns (a table has every column on every row, null where a value is absent). */
export function readParquetTable(file: string): { columns: string[]; rows: Record<string, unknown>[] } {
  const table = tableFromIPC(readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
  return { columns: table.schema.fields.map((f) => f.name), rows: table.toArray().map((row) => plain(row) as Record<string, unknown>) };
}

export function readParquetRows(file: string): Record<string, unknown>[] {
  return readParquetTable(file).rows;
}
