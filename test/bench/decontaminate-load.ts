/**
 * A child of `bench:decontaminate` (memory of a huge benchmark): loads one benchmark file the way the
 * command does, or reads it whole as a non-streaming reader would, and prints as JSON how far its peak
 * RSS rose above what it held once the normalizer was built (building OpenCC's table peaks higher than
 * loading a file, so the process's own maxRSS would hide the load; Linux resets the peak on request).
 *
 *   node --expose-gc --import tsx test/bench/decontaminate-load.ts index|whole FILE
 *
 * `index` reads and indexes the file (loadBenchmarks), `whole` holds the file's text in memory at once.
 */
import fs from 'node:fs';
import { loadBenchmarks } from '../../pipeline/decontaminate/checker.ts';
import { loadNormalizer } from '../../pipeline/decontaminate/normalize.ts';

const [mode, file] = process.argv.slice(2);
if (file === undefined || !['index', 'whole'].includes(mode ?? '')) {
  console.error('usage: decontaminate-load.ts index|whole FILE');
  process.exit(2);
}
/** Peak RSS so far, in bytes (VmHWM). */
const peak = (): number => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
loadNormalizer();
(globalThis as { gc?: () => void }).gc?.();
fs.writeFileSync('/proc/self/clear_refs', '5');
const before = process.memoryUsage().rss;
let items = 0;
let chars = 0;
if (mode === 'index') items = loadBenchmarks([{ path: file }]).index.items.length;
if (mode === 'whole') chars = fs.readFileSync(file, 'utf8').length;
console.log(JSON.stringify({ riseBytes: peak() - before, items, chars }));
