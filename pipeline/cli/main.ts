#!/usr/bin/env node
/**
 * The command line: a thin layer that parses flags and calls the library. Each command's module is
 * loaded only when that command runs, so `--help` and `stats` start without the tokenizers, the
 * export code or the simulator.
 */
import { Command, CommanderError } from 'commander';
import { errorLine, EXIT, exitCodeFor } from './exit.ts';

/** Every command: its one-line description (for --help) and how to load it. */
const COMMANDS: Record<string, { description: string; load: () => Promise<Command> }> = {
  generate: {
    description: 'generate new Chinese instruction tasks with a chat model into the SQLite store',
    load: async () => (await import('./generate.ts')).generateCommand(),
  },
  stats: {
    description: 'counts of accepted and rejected tasks, rejection reasons, requests and tokens',
    load: async () => (await import('./stats.ts')).statsCommand(),
  },
  export: {
    description: 'write accepted tasks as training JSONL (alpaca, sharegpt, messages, prompt-completion) with a manifest',
    load: async () => (await import('./export.ts')).exportCommand(),
  },
  import: {
    description: 'add a dataset you already train on to the store, so new generations never near-duplicate it',
    load: async () => (await import('./import.ts')).importCommand(),
  },
  dedup: {
    description: "drop near-duplicates from JSON/JSONL datasets with the pipeline's exact rule",
    load: async () => (await import('./dedup.ts')).dedupCommand(),
  },
  judge: {
    description: 'score accepted tasks with a judge model (rubric in templates/judge_rubric.txt) for curated exports',
    load: async () => (await import('./judge.ts')).judgeCommand(),
  },
  answer: {
    description: 'answer instructions you already have (a file, or a stored source) with the model you choose',
    load: async () => (await import('./answer.ts')).answerCommand(),
  },
  report: {
    description: 'an HTML report of the dataset (charts, diversity, rejections, cost) or its figures as JSON',
    load: async () => (await import('./report.ts')).reportCommand(),
  },
  demo: {
    description: 'run the pipeline offline against the built-in simulator (synthetic text) into a fresh data/demo.db',
    load: async () => (await import('./demo.ts')).demoCommand(),
  },
  simulate: {
    description: 'start the OpenAI-compatible test simulator on 127.0.0.1',
    load: async () => (await import('./simulate.ts')).simulateCommand(),
  },
};

/**
 * Commander's errors on one line. `npm run generate --n 5 --db x.db` hands npm both flags and us only
 * their values ("5 x.db"), which commander reports as too many arguments: say how to pass flags.
 */
function outputError(text: string, write: (s: string) => void): void {
  let line = text.trim().replace(/\n+/g, ' ');
  if (/too many arguments/.test(line)) {
    line += ' (npm run keeps flags written before "--" for itself and passes only their values: write npm run <command> -- --flag value)';
  }
  write(`${line}\n`);
}

const program = new Command('zh-self-instruct')
  .description('Chinese self-instruct data generation: seeds → chat model → parse → filter → dedup → SQLite → training JSONL')
  .exitOverride()
  .configureOutput({ outputError });

const name = process.argv.slice(2).find((a) => !a.startsWith('-'));
try {
  const entry = name === undefined ? undefined : COMMANDS[name];
  if (entry !== undefined) {
    program.addCommand((await entry.load()).exitOverride().configureOutput({ outputError }));
  } else {
    // Help, or an unknown command: describe every command without loading any.
    for (const [command, { description }] of Object.entries(COMMANDS)) program.command(command).description(description);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeOf(err);
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not failures; everything else commander rejects is bad usage.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
      ? EXIT.ok
      : EXIT.usage;
  }
  process.stderr.write(`error: ${errorLine(err)}\n`);
  return exitCodeFor(err);
}
