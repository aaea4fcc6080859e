/** `stats`: what the store holds, overall, per run or per day. Read-only: works while a run is going. */
import {
  commandLine,
  DEFAULT_DB,
  stats,
  TOKENIZERS,
  trainingTokens,
  type AnswerStats,
  type StageTotals,
  type TrainingTokens,
} from '../index.ts';
import { Command } from 'commander';

interface StatsFlags {
  db: string;
  json?: boolean;
  runs?: boolean;
  days?: boolean;
  tokenizer?: string;
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('counts of accepted and rejected tasks, rejection reasons, requests and tokens')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--runs', 'one line per run (newest first)')
    .option('--days', 'one line per day (UTC, newest first)')
    .option('--json', 'print one JSON object')
    .option(
      '--tokenizer <name|file>',
      `also the training length (alpaca prompt + output) of accepted tasks in this tokenizer: ${TOKENIZERS.join(' | ')} or the trainer's tokenizer.json`,
    )
    .action(async (flags: StatsFlags) => {
      const st = stats(flags);
      // Loads the tokenizer (seconds for a tokenizer.json): only when asked for.
      const training = flags.tokenizer === undefined ? undefined : await trainingTokens({ db: flags.db, tokenizer: flags.tokenizer });
      if (flags.json) {
        const { unjudged: _u, ...json } = st;
        process.stdout.write(JSON.stringify(training === undefined ? json : { ...json, trainingTokens: training }) + '\n');
        return;
      }
      {
        const s = st;
        const { spending, dialogues, judgeSpending } = st;
        const answers = st;
        const scores = {
          judged: st.judged,
          judge: st.judge,
          unjudged: st.unjudged,
          meanScore: st.meanScore,
          histogram: st.scoreHistogram,
          flags: st.judgeFlags,
        };
        const runs = st.runsView;
        const days = st.daysView;
        const { contaminated, benchmarks } = st;
        const lines = [
          `database  ${flags.db}`,
          `accepted  ${s.accepted}  (${Object.entries(s.acceptedBySource)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')})`,
          `rejected  ${s.rejected}`,
          ...Object.entries(s.rejectedByReason).map(([reason, n]) => `  ${reason.padEnd(24)} ${n}`),
          `judged    ${scores.judged}` +
            (scores.judge === null
              ? ` (run ${commandLine('judge')})`
              : ` by ${scores.judge.model} (rubric ${scores.judge.rubricSha256.slice(0, 12)}), ${scores.unjudged} not yet; mean score ${scores.meanScore}`),
          ...(scores.judge === null
            ? []
            : [
                `  scores  ${Object.entries(scores.histogram)
                  .map(([k, n]) => `${k}:${n}`)
                  .join(' ')}`,
                ...(Object.keys(scores.flags).length > 0
                  ? [
                      `  flags   ${Object.entries(scores.flags)
                        .map(([k, n]) => `${k} ${n}`)
                        .join(', ')}`,
                    ]
                  : []),
                `  judge requests ${judgeSpending.requests} (${judgeSpending.failed} failed), $${judgeSpending.costUsd.toFixed(4)}`,
              ]),
          ...(benchmarks.length === 0
            ? []
            : [
                `contaminated ${contaminated} accepted tasks copy a benchmark question (left out of exports): ${benchmarks
                  .map((b) => `${b.name} ${b.accepted} flagged, ${b.rejected} rejected at acceptance`)
                  .join('; ')}`,
              ]),
          `runs      ${s.runs}`,
          `requests  ${s.requests.total} (${s.requests.failed} failed)`,
          `tokens    ${s.requests.promptTokens} prompt + ${s.requests.completionTokens} completion`,
          `cost      $${spending.costUsd.toFixed(4)} (online $${spending.costByChannel.online.toFixed(4)}, batch $${spending.costByChannel.batch.toFixed(4)})` +
            (spending.unpricedRequests > 0 ? `; ${spending.unpricedRequests} requests of unpriced models not counted` : ''),
          `attempts  ${spending.attempts}` +
            (spending.attempts === 0
              ? ''
              : ` (${Object.entries(spending.attemptsByOutcome)
                  .map(([k, n]) => `${k} ${n}`)
                  .join(', ')})`),
          `time      ${spending.attemptSeconds.toFixed(1)} s in requests, ${spending.waitSeconds.toFixed(1)} s waiting (rate limit, back-off)` +
            (spending.latencyMs.p50 === null ? '' : `; latency p50 ${spending.latencyMs.p50} ms, p95 ${spending.latencyMs.p95} ms`),
          ...(answers.byStage.answers.requests === 0 ? [] : answerLines(answers)),
        ];
        // -- dialogues (issue 14)
        if (dialogues.accepted + dialogues.rejected > 0) {
          const t = dialogues.tokensPerDialogue;
          lines.push(
            `dialogues ${dialogues.accepted} accepted, ${dialogues.rejected} rejected (counted in the lines above too)`,
            `  exchanges per dialogue  ${
              Object.entries(dialogues.exchangesHistogram)
                .map(([k, n]) => `${k}: ${n}`)
                .join(', ') || '-'
            }`,
            `  tokens per dialogue     ${t === null ? '-' : `cl100k mean ${t.mean}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max}`}`,
          );
        }
        // -- end dialogues
        const evolved = st.evolved;
        if (evolved.total + Object.values(evolved.eliminated).reduce((a, b) => a + b, 0) > 0) {
          const list = (r: Record<string, number>) =>
            Object.entries(r)
              .map(([k, n]) => `${k}: ${n}`)
              .join(', ') || '-';
          lines.push(
            `evolved   ${evolved.total} accepted (counted in the lines above too); by round ${list(evolved.byRound)}`,
            `  by operation  ${list(evolved.byOperation)}`,
            `  eliminated    ${list(evolved.eliminated)}`,
          );
        }
        if (runs) {
          lines.push(
            '',
            table(
              ['run', 'status', 'started', 'accepted', 'rejected', 'requests', 'tokens'],
              runs.map((r) => [
                r.id,
                r.status,
                r.startedAt.slice(0, 19),
                `${r.accepted}/${r.target}`,
                r.rejected,
                r.requests,
                r.promptTokens + r.completionTokens,
              ]),
            ),
          );
        }
        if (days) {
          lines.push(
            '',
            table(
              ['day', 'accepted', 'rejected', 'requests', 'tokens'],
              days.map((d) => [d.day, d.accepted, d.rejected, d.requests, d.promptTokens + d.completionTokens]),
            ),
          );
        }
        for (const [name, t] of Object.entries(st.endpoints)) {
          lines.push(`  endpoint ${name}: ${t.total} requests (${t.failed} failed), ${t.promptTokens} + ${t.completionTokens} tokens`);
        }
        if (training !== undefined) lines.push(trainingLine(training));
        process.stdout.write(lines.join('\n') + '\n');
      }
    });
}

function answerLines(a: AnswerStats): string[] {
  const stage = (name: string, t: StageTotals): string =>
    `  ${name.padEnd(13)} ${t.requests} requests (${t.failed} failed), ${t.promptTokens} + ${t.completionTokens} tokens, $${t.costUsd.toFixed(4)}`;
  return [
    `answers   ${a.answered} answered, ${a.awaitingAnswer} awaiting, ${a.unanswerable} unanswerable` +
      ` (${Object.entries(a.answersByModel)
        .map(([m, n]) => `${m} ${n.accepted} accepted / ${n.rejected} rejected`)
        .join(', ')})`,
    ...Object.entries(a.rejectedAnswersByReason).map(([reason, n]) => `  answer ${reason.padEnd(17)} ${n}`),
    stage('instructions', a.byStage.instructions),
    stage('answers', a.byStage.answers),
  ];
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function trainingLine(t: TrainingTokens): string {
  return (
    `training  ${t.tokenizer} tokens of the alpaca prompt + output: mean ${t.mean}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max} ` +
    `(${t.sampled ? `even sample of ${t.rows} of ${t.accepted}` : `all ${t.rows}`} accepted tasks; tokenizer sha256 ${t.sha256.slice(0, 12)}…)`
  );
}
