/** `decontaminate`: flag stored tasks that copy benchmark questions (C-Eval, CMMLU, GAOKAO-Bench, …). */
import { Command } from 'commander';
import { decontaminate, describeMatch, DEFAULT_DB, type DecontaminateSettings } from '../index.ts';
import { numberIn } from './args.ts';
import { givenFlags } from './given.ts';

const repeat = (v: string, prev: string[] = []): string[] => [...prev, v];

export function decontaminateCommand(): Command {
  return new Command('decontaminate')
    .description('flag stored tasks that copy benchmark questions (C-Eval, CMMLU, GAOKAO-Bench, JSON/JSONL); export leaves them out')
    .requiredOption(
      '--benchmark <path>',
      'benchmark file or folder: C-Eval/CMMLU CSV, GAOKAO-Bench JSON, JSON/JSONL with question/instruction/prompt/input; repeatable',
      repeat,
    )
    .option('--db <path>', `SQLite database file (default ${DEFAULT_DB})`)
    .option(
      '--threshold <t>',
      "flag a task holding at least this share of an item's (or its stem's) character 6-grams, 0.05–1 (default 0.5)",
      numberIn(0.05, 1),
    )
    .option('--name <name>', 'name of the benchmark, one per --benchmark in order (default: the folder or file name); repeatable', repeat)
    .option('--field <name>', 'the question field or column, when it is not question/instruction/prompt/input')
    .action(function (this: Command) {
      const err = (line: string): boolean => process.stderr.write(`${line}\n`);
      const r = decontaminate({
        ...(givenFlags(this) as DecontaminateSettings),
        onNote: (m) => err(`note: ${m}`),
        onWarning: (m) => err(`warning: ${m}`),
      });
      err(
        `decontaminate: ${r.checked} accepted tasks checked against ${r.benchmarks.length} benchmark(s) ` +
          `(character ${r.n}-grams, threshold ${r.threshold}): ${r.contaminated} contaminated → ${r.db}`,
      );
      for (const b of r.benchmarks) {
        err(
          `  ${b.name.padEnd(16)} ${String(b.items).padStart(7)} items  ${String(b.contaminated).padStart(7)} tasks  sha256 ${b.sha256.slice(0, 16)}…`,
        );
      }
      if (r.tooShort > 0) err(`  ${r.tooShort} items are too short to match once normalized (under 5 characters)`);
      for (const c of r.closest) err(`  task ${c.taskId}  ${describeMatch(c.benchmark, c.itemId, c.coverage, c.scope)}`);
      err(
        `  ${r.seconds.total.toFixed(1)} s (character table ${r.seconds.normalizer.toFixed(2)} s, ` +
          `reading + indexing ${r.seconds.index.toFixed(2)} s, checking ${r.seconds.check.toFixed(2)} s); ` +
          `export leaves contaminated tasks out (--keep-contaminated keeps them)`,
      );
    });
}
