/**
 * Preloaded into a benchmarked child (`node --import ./test/bench/max-rss.ts`): on exit, writes the
 * process's peak resident set size to the file named by BENCH_RSS_FILE (and its CPU seconds to that
 * name + ".cpu"), so no external `time` is needed.
 */
import fs from 'node:fs';

const file = process.env['BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    // maxRSS is in kilobytes.
    const usage = process.resourceUsage();
    fs.writeFileSync(file, String(usage.maxRSS * 1024));
    // CPU seconds (user + system) beside it: a figure a loaded machine does not inflate like wall time.
    fs.writeFileSync(`${file}.cpu`, String((usage.userCPUTime + usage.systemCPUTime) / 1e6));
  });
}
