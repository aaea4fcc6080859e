/** `simulate`: the OpenAI-compatible stand-in model, for tests, benchmarks and trying the pipeline offline. */
import { commandLine } from '../index.ts';
import { Command } from 'commander';
import { startSimulator } from '../../simulator/server.ts';
import { REPLY_MODES, type ReplyMode } from '../../simulator/misbehaving.ts';
import { nonNegativeNumber, numberIn, oneOf, positiveInt } from './args.ts';

interface SimulateFlags {
  port: number;
  seed: number;
  latency: number;
  nearDuplicates: number;
  junk: number;
  fault429: number;
  fault500: number;
  faultHang: number;
  faultTruncate: number;
  faultGarbage: number;
  answerRefusal: number;
  answerPlaceholder: number;
  answerEmpty: number;
  rpm?: number;
  tpm?: number;
  batchStepMs?: number;
  batchStepPolls: number;
  replyMode: ReplyMode;
}

const probability = numberIn(0, 1);

export function simulateCommand(): Command {
  return new Command('simulate')
    .description(
      'TEST TOOL: an OpenAI-compatible server on 127.0.0.1 that answers with synthetic Chinese tasks, near-duplicates and junk. ' +
        'Its text is made up from word lists; never use it as training data.',
    )
    .option('--port <port>', 'port (0 picks a free one)', (v) => (v === '0' ? 0 : positiveInt(v)), 8787)
    .option('--seed <n>', 'random seed', positiveInt, 1)
    .option('--latency <ms>', 'mean reply latency', nonNegativeNumber, 0)
    .option('--near-duplicates <p>', 'share of tasks that are near-duplicates', probability, 0.1)
    .option('--junk <p>', 'share of tasks the filters must reject', probability, 0.1)
    .option('--fault-429 <p>', 'share of requests answered 429', probability, 0)
    .option('--fault-500 <p>', 'share of requests answered 500', probability, 0)
    .option('--fault-hang <p>', 'share of requests never answered', probability, 0)
    .option('--fault-truncate <p>', 'share of replies cut off (finish_reason length)', probability, 0)
    .option('--fault-garbage <p>', 'share of replies with no parseable tasks', probability, 0)
    .option('--answer-refusal <p>', 'share of answer prompts answered with a refusal (two-stage)', probability, 0)
    .option('--answer-placeholder <p>', 'share of answer prompts answered with a placeholder (two-stage)', probability, 0)
    .option('--answer-empty <p>', 'share of answer prompts answered with nothing (two-stage)', probability, 0)
    .option('--rpm <n>', 'enforce this many requests per minute (429 + x-ratelimit-* headers)', positiveInt)
    .option('--tpm <n>', 'enforce this many tokens per minute (prompt + max_tokens on arrival, real usage after)', positiveInt)
    .option('--batch-step-ms <ms>', 'a batch moves one status on every this many ms (default: per poll)', positiveInt)
    .option('--batch-step-polls <n>', 'a batch moves one status on every n-th poll', positiveInt, 1)
    .option(
      '--reply-mode <mode>',
      `${REPLY_MODES.join(' | ')}: degenerate = repetition loops until max_tokens, chatter = polite text without tasks`,
      oneOf(REPLY_MODES),
      'normal',
    )
    .action(async (f: SimulateFlags) => {
      const sim = await startSimulator({
        port: f.port,
        seed: f.seed,
        latencyMs: f.latency,
        nearDuplicateRate: f.nearDuplicates,
        junkRate: f.junk,
        faults: {
          rateLimit429: f.fault429,
          serverError500: f.fault500,
          hang: f.faultHang,
          truncate: f.faultTruncate,
          garbage: f.faultGarbage,
        },
        rateLimits: { rpm: f.rpm, tpm: f.tpm },
        replyMode: f.replyMode,
        answerFaults: { refusal: f.answerRefusal, placeholder: f.answerPlaceholder, empty: f.answerEmpty },
        batch: { stepPolls: f.batchStepPolls, ...(f.batchStepMs === undefined ? {} : { stepMs: f.batchStepMs }) },
      });
      process.stderr.write(
        `simulator (synthetic test data, not a model) listening on ${sim.url}\n` +
          `try: OPENAI_BASE_URL=${sim.url} OPENAI_API_KEY=test ${commandLine('generate', '--n', '100', '--db', 'data/sim.db')}\n`,
      );
      const stop = (): void => {
        void sim.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => {}); // serve until a signal
    });
}
