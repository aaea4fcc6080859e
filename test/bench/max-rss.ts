/**
 * Preloaded into a benchmarked child (`node --import ./test/bench/max-rss.ts`): on exit, writes the
 * process's peak resident set size to the file named by BENCH_RSS_FILE, so no external `time` is needed.
 */
import fs from 'node:fs';

const file = process.env['BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    // maxRSS is in kilobytes.
    fs.writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
  });
}
