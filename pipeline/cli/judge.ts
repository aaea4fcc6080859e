/** `judge`: flags → `judgeTasks()` (or one batch step), with signals, progress and a summary. */
import { Command } from 'commander';
import { judgeTasks, JudgeFailed, DEFAULT_DB, type JudgeSummary, type JudgeSettings } from '../index.ts';
import { numberIn, positiveInt, positiveNumber, priceFlag, sinceFlag } from './args.ts';
import { givenFlags, collectEndpoint, ENDPOINT_HELP } from './given.ts';
import { runOutputOptions } from './given.ts';
import { runWithSummary, type OutputFlags } from './run.ts';

export function judgeCommand(): Command {
  return runOutputOptions(
    new Command('judge')
      .description('score accepted tasks with a judge model (rubric in templates/judge_rubric.txt); each task once per judge')
      .option('--dry-run', 'print the plan, a rendered prompt and an estimate of requests, tokens, cost and time; send nothing')
      .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
      .option('--model <name>', 'judge model (default gpt-4o-mini)')
      .option('--rubric <file>', 'rubric template with {{tasks}} (default templates/judge_rubric.txt)')
      .option('--tasks-per-request <k>', 'tasks judged in one request (default 10)', numberIn(1, 50))
      .option(
        '--since <last|all|RUN>',
        'which tasks: last = the last generation run, all, or one run id (default all: every task this judge has not scored)',
        sinceFlag,
      )
      .option('--source <names>', 'only these sources (comma-separated: generated, an import name)', (v: string) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .option('--concurrency <k>', 'requests in flight at once (default 4)', positiveInt)
      .option('--batch', 'Batch API (half price): each invocation collects a finished batch and submits the next')
      .option('--max-cost <usd>', 'stop cleanly before the judge run could spend more (USD, across invocations)', positiveNumber)
      .option('--max-requests <n>', 'stop cleanly after this many judge requests', positiveInt)
      .option('--prices <file>', 'JSON price table over the built-in one')
      .option('--price <in,out>', "the judge model's price, USD per 1M prompt and completion tokens", priceFlag)
      .option('--endpoint <url>', ENDPOINT_HELP, collectEndpoint)
      .option('--rpm <n>', 'requests per minute allowed', positiveInt)
      .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
      .option('--timeout <seconds>', 'per-request timeout (default 120)', positiveInt)
      .option('--retries <n>', 'retries on 429, 5xx, timeouts (default 3)', numberIn(0, 20))
      .option('--no-json-mode', 'do not send response_format json_object (it is dropped by itself after a 400 saying unsupported)'),
  ).action(async function (this: Command) {
    const { logFormat, logFile, quiet, dryRun, ...settings } = givenFlags(this) as JudgeSettings & OutputFlags & { dryRun?: boolean };
    if (dryRun === true) {
      const { planJudge, formatStagePlan } = await import('../index.ts');
      process.stdout.write(formatStagePlan(await planJudge(settings)));
      return;
    }
    const output = { logFormat, logFile, quiet };
    process.exitCode = await runWithSummary(
      'judge',
      settings.db ?? DEFAULT_DB,
      output,
      (hooks) => judgeTasks({ ...settings, ...hooks }),
      describe,
      JudgeFailed,
    );
  });
}

function describe(s: JudgeSummary): string[] {
  const hist = Object.entries(s.scores.histogram)
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');
  return [
    `judge run ${s.runId} ${s.status}: judged ${s.judgedNow} of ${s.pendingAtStart} pending (${s.left} left), ` +
      `${s.retried} re-sent after unmatched replies`,
    `judge ${s.model}, rubric ${s.rubricSha256.slice(0, 12)}: ${s.scores.judged} judged, ` +
      `mean ${s.scores.meanScore ?? '-'}, histogram ${hist}`,
    `requests ${s.requests} (${s.failedRequests} failed), tokens ${s.promptTokens} prompt + ${s.completionTokens} completion, ` +
      `$${s.costUsd.toFixed(4)} ($${s.runCostUsd.toFixed(4)} this judge run), ${s.seconds.toFixed(1)} s`,
  ];
}
