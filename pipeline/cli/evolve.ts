/** `evolve`: flags → `evolve()`, with signals, progress and a summary. */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DB, evolve, EVOLVE_OPS, EvolveFailed, type EvolveOp, type EvolveSettings, type EvolveSummary } from '../index.ts';
import { numberIn, positiveInt, positiveNumber, priceFlag, sinceFlag } from './args.ts';
import { collectEndpoint, ENDPOINT_HELP, givenFlags } from './given.ts';
import { runOutputOptions } from './given.ts';
import { runWithSummary, type OutputFlags } from './run.ts';

export function evolveCommand(): Command {
  return runOutputOptions(
    new Command('evolve')
      .description('rewrite accepted tasks deeper, harder and rarer over rounds (Evol-Instruct), answer them, with lineage')
      .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
      .option('--rounds <r>', "rounds 1..r, each round's survivors the next round's parents, 1 to 10 (default 3)", roundsFlag)
      .option('--ops <list>', `operations, comma-separated (default ${EVOLVE_OPS.join(',')})`, opsFlag)
      .option('--model <name>', 'the model that rewrites instructions (default gpt-3.5-turbo)')
      .option('--answer-model <name>', 'the model that answers evolved instructions (default: --model)')
      .option(
        '--check-model <name>',
        'a cheap model asked whether each rewrite adds anything; "no" eliminates it (evolve_no_gain) before it is answered',
      )
      .option('--n <count>', 'answered evolved tasks this run must add (default: evolve the whole pool)', positiveInt)
      .option('--since <which>', 'roots: all | last (the last generation run) | RUN_ID (default all)', sinceFlag)
      .option('--min-score <s>', 'roots need their latest judge score at least this (1 to 10)', numberIn(1, 10))
      .option('--templates <dir>', 'folder with evolve_<op>.txt (default the package templates/)')
      .option('--concurrency <k>', 'requests in flight at once (default 8)', positiveInt)
      .option('--batch', 'Batch API (half price): each invocation collects finished batches and submits the next')
      .option('--max-cost <usd>', 'stop cleanly before the run (both stages) could spend more (USD)', positiveNumber)
      .option('--max-requests <n>', 'stop cleanly after this many requests', positiveInt)
      .option('--prices <file>', 'JSON price table over the built-in one')
      .option('--price <in,out>', "the rewriting model's price, USD per 1M prompt and completion tokens", priceFlag)
      .option('--answer-price <in,out>', "the answer model's price, USD per 1M prompt and completion tokens", priceFlag)
      .option('--check-price <in,out>', "the check model's price, USD per 1M prompt and completion tokens", priceFlag)
      .option('--endpoint <url>', ENDPOINT_HELP, collectEndpoint)
      .option('--rpm <n>', 'requests per minute allowed', positiveInt)
      .option('--tpm <n>', 'tokens per minute allowed', positiveInt)
      .option('--timeout <seconds>', 'per-request timeout (default 120)', positiveInt)
      .option('--retries <n>', 'retries on 429, 5xx, timeouts (default 3)', numberIn(0, 20))
      .option('--new-run', 'start a new evolve run even if the last one is unfinished')
      .option('--dry-run', 'count the pool by round and the worst case of a request; send nothing'),
  ).action(async function (this: Command) {
    const { logFormat, logFile, quiet, ...settings } = givenFlags(this) as EvolveSettings & OutputFlags;
    const output = { logFormat, logFile, quiet };
    process.exitCode = await runWithSummary(
      'evolve',
      settings.db ?? DEFAULT_DB,
      output,
      (hooks) => evolve({ ...settings, ...hooks }),
      describe,
      EvolveFailed,
    );
  });
}

function roundsFlag(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 10)
    throw new InvalidArgumentError(`expected a whole number from 1 to 10, got "${value}"`);
  return n;
}

function opsFlag(value: string): EvolveOp[] {
  const ops = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ops.filter((op) => !(EVOLVE_OPS as readonly string[]).includes(op));
  if (unknown.length > 0 || ops.length === 0) {
    throw new InvalidArgumentError(
      `unknown operation ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}; expected ${EVOLVE_OPS.join(', ')}`,
    );
  }
  return ops as EvolveOp[];
}

function describe(s: EvolveSummary): string[] {
  const tally = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const lines: string[] = [];
  if (s.status === 'nothing') {
    lines.push(
      `nothing to evolve: no accepted, answered task is due in rounds 1..${s.rounds} of the selection, and no evolved task awaits an answer`,
    );
  } else if (s.status === 'dry-run') {
    const worst = s.worstCaseUsdPerRequest;
    const usd = (v: number | null | undefined): string => (v == null ? 'no price' : `$${v.toFixed(5)}`);
    lines.push(
      `dry run: parents due ${tally(Object.fromEntries(Object.entries(s.dueAtStart).map(([r, n]) => [`in round ${r}:`, n])))}; ${s.awaitingAtStart} evolved tasks await an answer; ` +
        `at most ${s.target} answered evolved tasks from this pool`,
      `worst case per request: evolve ${usd(worst?.evolve)}, answer ${usd(worst?.answer)}; nothing was sent`,
    );
  } else {
    lines.push(
      `evolve run ${s.runId} ${s.status}${s.resumed ? ' (resumed)' : ''}: ${s.evolvedNow} evolved (by round ${tally(s.evolvedByRound)}), ` +
        `${s.answeredNow} answered, target ${s.target}${s.poolExhausted ? ' — the pool ran out first' : ''}`,
      `eliminated: ${tally(s.eliminatedNow)}; rejected answers: ${tally(s.rejectedAnswers)}`,
      `requests ${s.requests} (${s.failedRequests} failed; evolve ${s.stages.evolve.requests}, ` +
        `${s.stages.check ? `check ${s.stages.check.requests}, ` : ''}answers ${s.stages.answers.requests}), ` +
        `tokens ${s.promptTokens} prompt + ${s.completionTokens} completion, $${s.costUsd.toFixed(4)}, ${s.seconds.toFixed(1)} s`,
    );
  }
  return lines;
}
