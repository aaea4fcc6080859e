/** `demo`: the whole pipeline offline against the built-in simulator, into data/demo.db. */
import { commandLine, sampleAccepted } from '../index.ts';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { startSimulator } from '../../simulator/server.ts';
import { positiveInt } from './args.ts';
import { runGenerate } from './generate.ts';

export const DEMO_DB = 'data/demo.db';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the pipeline offline against the built-in simulator (synthetic text) into a fresh data/demo.db')
    .option('--n <count>', 'tasks to accept', positiveInt, 300)
    .option('--db <path>', 'database file (recreated)', DEMO_DB)
    .action(async (flags: { n: number; db: string }) => {
      // The demo is a new user's first command, often in an empty folder: its database's folder is made here.
      fs.mkdirSync(path.dirname(path.resolve(flags.db)), { recursive: true });
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(flags.db + suffix, { force: true });
      const sim = await startSimulator({ port: 0, seed: 7, latencyMs: 50 });
      process.stderr.write(`demo: simulator at ${sim.url} (synthetic tasks, near-duplicates and junk; not model data)\n`);
      try {
        process.exitCode = await runGenerate(
          {
            n: flags.n,
            db: flags.db,
            newRun: true,
            baseURL: sim.url,
            apiKey: 'demo',
            // Deliberately shorter than generate's 120 s / 10 s: the local simulator answers in ~50 ms, so a
            // stuck demo should fail, and a Ctrl-C'd one stop, quickly.
            timeout: 30,
            drainTimeout: 5,
          },
          {},
        );
        process.stdout.write('\nthree accepted pairs:\n');
        for (const t of sampleAccepted({ db: flags.db, source: 'generated', n: 3 })) {
          process.stdout.write(JSON.stringify({ instruction: t.instruction, input: t.input, output: t.output }) + '\n');
        }
        process.stdout.write(`\nlook inside: ${commandLine('stats', '--db', flags.db)}   or   sqlite3 ${flags.db}\n`);
      } finally {
        await sim.close();
      }
    });
}
