/**
 * bench:parse — time per KB of parseReply on normal replies and on degenerate ones (repetition loops,
 * cut-off nesting, noise), against a baseline from the same run: JSON.parse of a valid JSON array of the
 * same size. Bound stated and checked: at most BOUND_MS_PER_64KB ms of CPU per 64 KB of reply, whatever the text.
 */
import { performance } from 'node:perf_hooks';
import { parseReply } from '../../pipeline/parse.ts';
import { adversarialReplies, normalReplies } from '../adversarial-replies.ts';

const BOUND_MS_PER_64KB = 50;
const sizes = process.argv.includes('--quick') ? [64 * 1024] : [64 * 1024, 1024 * 1024];

/**
 * Best CPU time (user + system) of `fn` in ms over enough runs to fill ~150 ms of wall time (at least
 * 3). CPU time, not wall time: the machine is shared, and other processes' load would be counted.
 */
function time(fn: () => unknown): number {
  const runs: number[] = [];
  const until = performance.now() + 150;
  while (runs.length < 3 || (performance.now() < until && runs.length < 50)) {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    runs.push((d.user + d.system) / 1000);
  }
  return Math.min(...runs);
}

interface Row {
  kind: string;
  name: string;
  kb: number;
  ms: number;
  tasks: number;
}
const rows: Row[] = [];
for (const size of sizes) {
  const baseline = normalReplies(size)['json array']!;
  rows.push({
    kind: 'baseline',
    name: 'JSON.parse, valid array',
    kb: baseline.length / 1024,
    ms: time(() => JSON.parse(baseline)),
    tasks: NaN,
  });
  for (const [kind, set] of [
    ['normal', normalReplies(size)],
    ['adversarial', adversarialReplies(size)],
  ] as const) {
    for (const [name, text] of Object.entries(set)) {
      const ms = time(() => parseReply(text, 'length'));
      rows.push({ kind, name, kb: text.length / 1024, ms, tasks: parseReply(text, 'length').tasks.length });
    }
  }
}

const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`${pad('kind', 12)}${pad('reply', 28)}${pad('KB', 8)}${pad('ms', 10)}${pad('ms/KB', 9)}${pad('×JSON.parse', 12)}tasks`);
let worstPer64 = 0;
for (const r of rows) {
  const base = rows.find((b) => b.kind === 'baseline' && Math.abs(b.kb - r.kb) / r.kb < 0.2);
  const perKb = r.ms / r.kb;
  if (r.kind !== 'baseline') worstPer64 = Math.max(worstPer64, perKb * 64);
  console.log(
    `${pad(r.kind, 12)}${pad(r.name, 28)}${pad(r.kb.toFixed(0), 8)}${pad(r.ms.toFixed(2), 10)}${pad(perKb.toFixed(3), 9)}` +
      `${pad(base === undefined ? '' : (perKb / (base.ms / base.kb)).toFixed(1), 12)}${Number.isNaN(r.tasks) ? '' : r.tasks}`,
  );
}
const ok = worstPer64 <= BOUND_MS_PER_64KB;
console.log(`\nworst case: ${worstPer64.toFixed(1)} ms per 64 KB; bound ${BOUND_MS_PER_64KB} ms per 64 KB: ${ok ? 'met' : 'EXCEEDED'}`);
if (!ok) process.exitCode = 1;
