#!/usr/bin/env node
/** The command line: a thin layer that parses flags and calls the library. */
import { Command, CommanderError } from 'commander';
import { dedupCommand } from './dedup.ts';
import { demoCommand } from './demo.ts';
import { CliError, EXIT } from './exit.ts';
import { exportCommand } from './export.ts';
import { generateCommand } from './generate.ts';
import { importCommand } from './import.ts';
import { judgeCommand } from './judge.ts';
import { simulateCommand } from './simulate.ts';
import { statsCommand } from './stats.ts';

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
  .description('Chinese self-instruct data generation: seeds → chat model → parse → filter → dedup → SQLite')
  .exitOverride()
  .configureOutput({ outputError });

for (const command of [generateCommand(), statsCommand(), simulateCommand(), demoCommand(), exportCommand(), dedupCommand(), importCommand(), judgeCommand()]) {
  program.addCommand(command.exitOverride().configureOutput({ outputError }));
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeOf(err);
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not failures; everything else commander rejects is bad usage.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    return err.code;
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.failure;
}
