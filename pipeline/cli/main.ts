#!/usr/bin/env node
/**
 * The command line: a thin layer that parses flags and calls the library. Each command's module is
 * loaded only when that command runs, so `--help` and `stats` start without the tokenizers, the
 * export code or the simulator.
 */
import type { Command } from 'commander';
import { EXIT } from './exit-codes.ts';

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
  decontaminate: {
    description: 'flag stored tasks that copy benchmark questions (C-Eval, CMMLU, GAOKAO-Bench); export leaves them out',
    load: async () => (await import('./decontaminate.ts')).decontaminateCommand(),
  },
  dedup: {
    description: "drop near-duplicates from JSON/JSONL datasets with the pipeline's exact rule",
    load: async () => (await import('./dedup.ts')).dedupCommand(),
  },
  judge: {
    description: 'score accepted tasks with a judge model (rubric in templates/judge_rubric.txt) for curated exports',
    load: async () => (await import('./judge.ts')).judgeCommand(),
  },
  embed: {
    description: 'embed accepted tasks for semantic near-duplicates and a quality-diversity export (--select)',
    load: async () => (await import('./embed.ts')).embedCommand(),
  },
  answer: {
    description: 'answer instructions you already have (a file, or a stored source) with the model you choose',
    load: async () => (await import('./answer.ts')).answerCommand(),
  },
  evolve: {
    description: 'rewrite accepted tasks deeper, harder and rarer over rounds (Evol-Instruct), answered, with lineage',
    load: async () => (await import('./evolve.ts')).evolveCommand(),
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

const DESCRIPTION = 'Chinese self-instruct data generation: seeds → chat model → parse → filter → dedup → SQLite → training JSONL';

/** The top-level help, written without loading commander: `--help` is the one call that must start at once. */
function topLevelHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([command, { description }]) => `  ${command.padEnd(width)}  ${description}`);
  return [
    'Usage: zh-self-instruct <command> [options]',
    '',
    DESCRIPTION,
    '',
    'Commands:',
    ...lines,
    '',
    "zh-self-instruct <command> --help shows the command's options.",
    '',
  ].join('\n');
}

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('-'));
const entry = name === undefined ? undefined : COMMANDS[name];
if (entry === undefined && (name === undefined || name === 'help')) {
  process.stdout.write(topLevelHelp());
} else if (entry === undefined) {
  process.stderr.write(`error: unknown command '${name}' (zh-self-instruct --help lists the commands)\n`);
  process.exitCode = EXIT.usage;
} else {
  const { Command, CommanderError } = await import('commander');
  const program = new Command('zh-self-instruct').description(DESCRIPTION).exitOverride().configureOutput({ outputError });
  try {
    program.addCommand((await entry.load()).exitOverride().configureOutput({ outputError }));
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help is not a failure; everything else commander rejects is bad usage.
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    } else {
      const { errorLine, exitCodeFor } = await import('./exit.ts');
      process.stderr.write(`error: ${errorLine(err)}\n`);
      process.exitCode = exitCodeFor(err);
    }
  }
}
