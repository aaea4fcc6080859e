/** `stats`: what the store holds, overall, per run or per day. Read-only: works while a run is going. */
import { Command } from 'commander';
import { AttemptStore } from '../store/attempts.ts';
import { JudgmentStore } from '../store/judgments.ts';
import { Store, StoreError } from '../store/store.ts';
import { DEFAULT_DB } from './generate.ts';
import { CliError } from './exit.ts';

interface StatsFlags {
  db: string;
  json?: boolean;
  runs?: boolean;
  days?: boolean;
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('counts of accepted and rejected tasks, rejection reasons, requests and tokens')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--runs', 'one line per run (newest first)')
    .option('--days', 'one line per day (UTC, newest first)')
    .option('--json', 'print one JSON object')
    .action((flags: StatsFlags) => {
      let store: Store;
      try {
        store = Store.open(flags.db, { readonly: true });
      } catch (err) {
        if (err instanceof StoreError) throw new CliError(err.message);
        throw err;
      }
      try {
        const s = store.stats();
        const runs = flags.runs ? store.runsView() : undefined;
        const days = flags.days ? store.daysView() : undefined;
        const spending = new AttemptStore(store).spending();
        // -- judge (issue 12): figures for the judge of the newest judgment --
        const judgments = new JudgmentStore(store);
        const scores = judgments.scoreSummary();
        const judgeSpending = judgments.spending('judge');
        const judgeJson = {
          judged: scores.judged, meanScore: scores.meanScore, scoreHistogram: scores.histogram, judge: scores.judge, judgeFlags: scores.flags,
          judgeSpending,
        };
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ...s, spending, ...judgeJson, ...(runs ? { runsView: runs } : {}), ...(days ? { daysView: days } : {}) }) + '\n');
          return;
        }
        const lines = [
          `database  ${flags.db}`,
          `accepted  ${s.accepted}  (${Object.entries(s.acceptedBySource).map(([k, n]) => `${k} ${n}`).join(', ')})`,
          `rejected  ${s.rejected}`,
          ...Object.entries(s.rejectedByReason).map(([reason, n]) => `  ${reason.padEnd(24)} ${n}`),
          `judged    ${scores.judged}` + (scores.judge === null ? ' (run npm run judge)' :
            ` by ${scores.judge.model} (rubric ${scores.judge.rubricSha256.slice(0, 12)}), ${scores.unjudged} not yet; mean score ${scores.meanScore}`),
          ...(scores.judge === null ? [] : [
            `  scores  ${Object.entries(scores.histogram).map(([k, n]) => `${k}:${n}`).join(' ')}`,
            ...(Object.keys(scores.flags).length > 0 ? [`  flags   ${Object.entries(scores.flags).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
            `  judge requests ${judgeSpending.requests} (${judgeSpending.failed} failed), $${judgeSpending.costUsd.toFixed(4)}`,
          ]),
          `runs      ${s.runs}`,
          `requests  ${s.requests.total} (${s.requests.failed} failed)`,
          `tokens    ${s.requests.promptTokens} prompt + ${s.requests.completionTokens} completion`,
          `cost      $${spending.costUsd.toFixed(4)} (online $${spending.costByChannel.online.toFixed(4)}, batch $${spending.costByChannel.batch.toFixed(4)})` +
            (spending.unpricedRequests > 0 ? `; ${spending.unpricedRequests} requests of unpriced models not counted` : ''),
          `attempts  ${spending.attempts}` +
            (spending.attempts === 0 ? '' : ` (${Object.entries(spending.attemptsByOutcome).map(([k, n]) => `${k} ${n}`).join(', ')})`),
          `time      ${spending.attemptSeconds.toFixed(1)} s in requests, ${spending.waitSeconds.toFixed(1)} s waiting (rate limit, back-off)` +
            (spending.latencyMs.p50 === null ? '' : `; latency p50 ${spending.latencyMs.p50} ms, p95 ${spending.latencyMs.p95} ms`),
        ];
        if (runs) {
          lines.push('', table(['run', 'status', 'started', 'accepted', 'rejected', 'requests', 'tokens'],
            runs.map((r) => [r.id, r.status, r.startedAt.slice(0, 19), `${r.accepted}/${r.target}`, r.rejected, r.requests, r.promptTokens + r.completionTokens])));
        }
        if (days) {
          lines.push('', table(['day', 'accepted', 'rejected', 'requests', 'tokens'],
            days.map((d) => [d.day, d.accepted, d.rejected, d.requests, d.promptTokens + d.completionTokens])));
        }
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        store.close();
      }
    });
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
