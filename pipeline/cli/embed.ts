/** `embed`: flags → `embed()`, with signals, progress and a summary. */
import { Command } from 'commander';
import { DEFAULT_DB, embed, EmbedFailed, type EmbedSettings, type EmbedSummary } from '../index.ts';
import { numberIn, positiveInt, positiveNumber, priceFlag, sinceFlag } from './args.ts';
import { givenFlags, collectEndpoint, ENDPOINT_HELP } from './given.ts';
import { runOutputOptions } from './given.ts';
import { runWithSummary, type OutputFlags } from './run.ts';

export function embedCommand(): Command {
  return runOutputOptions(
    new Command('embed')
      .description('embed accepted tasks (instruction + input) for semantic near-duplicates and export --select; each text once per model')
      .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
      .option('--model <name>', 'embedding model (default text-embedding-3-small)')
      .option('--since <which>', 'all | last (the last generation run) | RUN_ID (default all)', sinceFlag)
      .option('--per-request <k>', 'texts embedded in one request (default 64)', numberIn(1, 2048))
      .option('--concurrency <k>', 'requests in flight at once (default 4)', positiveInt)
      .option('--batch', 'Batch API (half price): each invocation collects finished batches and submits the next')
      .option('--max-cost <usd>', 'stop cleanly before the embed run could spend more (USD, across invocations)', positiveNumber)
      .option('--max-requests <n>', 'stop cleanly after this many requests', positiveInt)
      .option('--prices <file>', 'JSON price table over the built-in one')
      .option('--price <in,out>', "the embedding model's price, USD per 1M input tokens (and 0)", priceFlag)
      .option('--endpoint <url>', ENDPOINT_HELP, collectEndpoint)
      .option('--rpm <n>', 'requests per minute allowed', positiveInt)
      .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
      .option('--timeout <seconds>', 'per-request timeout (default 120)', positiveInt)
      .option('--retries <n>', 'retries on 429, 5xx, timeouts, unusable vectors (default 3)', numberIn(0, 20)),
  ).action(async function (this: Command) {
    const { logFormat, logFile, quiet, ...settings } = givenFlags(this) as EmbedSettings & OutputFlags;
    const output = { logFormat, logFile, quiet };
    process.exitCode = await runWithSummary(
      'embed',
      settings.db ?? DEFAULT_DB,
      output,
      (hooks) => embed({ ...settings, ...hooks }),
      describe,
      EmbedFailed,
    );
  });
}

function describe(s: EmbedSummary): string[] {
  return [
    `embed run ${s.runId} ${s.status}: ${s.embeddedNow} embedded, ${s.reused} took a stored vector of the same text, ` +
      `${s.left} left of ${s.pendingAtStart} pending (model ${s.model}, ${s.dimensions ?? '-'} dimensions)`,
    `requests ${s.requests} (${s.failedRequests} failed), ${s.promptTokens} tokens, $${s.costUsd.toFixed(4)}, ${s.seconds.toFixed(1)} s`,
  ];
}
