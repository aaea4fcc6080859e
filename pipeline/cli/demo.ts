/** `demo`: the whole pipeline offline against the built-in simulator, into data/demo.db. */
import fs from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_SEED_FILE } from '../seeds.ts';
import { DEFAULT_TASK_TYPE_LIST, DEFAULT_TOPIC_LIST } from '../prompt.ts';
import { startSimulator } from '../simulator/server.ts';
import { Store } from '../store/store.ts';
import { positiveInt } from './args.ts';
import { runGenerate } from './generate.ts';

export const DEMO_DB = 'data/demo.db';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the pipeline offline against the built-in simulator (synthetic text) into a fresh data/demo.db')
    .option('--n <count>', 'tasks to accept', positiveInt, 300)
    .option('--db <path>', 'database file (recreated)', DEMO_DB)
    .action(async (flags: { n: number; db: string }) => {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(flags.db + suffix, { force: true });
      const sim = await startSimulator({ port: 0, seed: 7, latencyMs: 50 });
      process.stderr.write(`demo: simulator at ${sim.url} (synthetic tasks, near-duplicates and junk; not model data)\n`);
      try {
        await runGenerate(
          {
            n: flags.n, db: flags.db, mode: 'self-instruct', model: 'gpt-3.5-turbo', concurrency: 8, similarity: 0.7,
            temperature: 1, topP: 1, maxTokens: 4096, tasksPerRequest: 20, maxOutputChars: 300, seeds: DEFAULT_SEED_FILE,
            topics: DEFAULT_TOPIC_LIST, taskTypes: DEFAULT_TASK_TYPE_LIST, timeout: 30, retries: 3,
            newRun: true, drainTimeout: 5, probe: true, logFormat: 'auto', quiet: false,
          },
          { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'demo' },
        );
        const store = Store.open(flags.db, { readonly: true });
        try {
          process.stdout.write('\nthree accepted pairs:\n');
          for (const t of store.sampleAccepted('generated', 3)) {
            process.stdout.write(JSON.stringify({ instruction: t.instruction, input: t.input, output: t.output }) + '\n');
          }
        } finally {
          store.close();
        }
        process.stdout.write(`\nlook inside: npm run stats -- --db ${flags.db}   or   sqlite3 ${flags.db}\n`);
      } finally {
        await sim.close();
      }
    });
}
