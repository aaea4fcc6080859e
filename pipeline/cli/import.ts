/** `import`: an existing dataset into the store as accepted tasks of a named source. */
import path from 'node:path';
import { Command } from 'commander';
import { DatasetError, readDatasetFile } from '../datasets.ts';
import { buildIndex } from '../dedup/qgram-index.ts';
import { importTasks } from '../import.ts';
import { acquireLock, LockedError, type Lock } from '../lock.ts';
import { Store, StoreError } from '../store/store.ts';
import { numberIn } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { DEFAULT_DB } from './generate.ts';

interface ImportFlags {
  in: string;
  db: string;
  source?: string;
  similarity: number;
  filter: boolean;
}

const RESERVED_SOURCES = new Set(['seed', 'generated']);

export function importCommand(): Command {
  return new Command('import')
    .description('add a dataset you already train on to the store, so new generations never near-duplicate it')
    .requiredOption('--in <file>', 'Alpaca, BELLE {input,target} or self-instruct JSON/JSONL')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--source <name>', 'source name stored with each task (default: the file name without extension)')
    .option('--similarity <t>', 'skip a record at least this similar to a stored one (0.5–1)', numberIn(0.5, 1), 0.7)
    .option('--filter', 'also apply the quality filters (default: near-duplicate check only)', false)
    .action((flags: ImportFlags) => {
      const started = performance.now();
      const source = flags.source ?? path.basename(flags.in).replace(/\.(jsonl|json)$/i, '');
      if (RESERVED_SOURCES.has(source) || source.trim() === '') {
        throw new CliError(`--source ${JSON.stringify(source)}: choose another name (seed and generated are the pipeline's own)`);
      }
      let tasks;
      try {
        tasks = readDatasetFile(flags.in, { allowEmptyInstruction: true });
      } catch (err) {
        if (err instanceof DatasetError) throw new CliError(err.message);
        throw err;
      }
      let lock: Lock | undefined;
      let store: Store | undefined;
      try {
        try {
          lock = acquireLock(flags.db, `import --in ${flags.in}`);
        } catch (err) {
          if (err instanceof LockedError) throw new CliError(err.message, EXIT.locked);
          throw new CliError(`${flags.db}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        try {
          store = Store.open(flags.db);
        } catch (err) {
          if (err instanceof StoreError) throw new CliError(err.message);
          throw err;
        }
        const index = buildIndex(store.acceptedKeys());
        const s = importTasks(store, index, tasks, { source, similarity: flags.similarity, filter: flags.filter });
        const rejected = Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
        const reasons = Object.entries(s.rejected).map(([r, n]) => `${r} ${n}`).join(', ');
        process.stderr.write(
          `import: ${s.total} records from ${flags.in} as source "${source}": accepted ${s.accepted}, ` +
            `rejected ${rejected}${reasons ? ` (${reasons})` : ''}, already imported ${s.alreadyImported}, ` +
            `${((performance.now() - started) / 1000).toFixed(1)} s → ${flags.db}\n`,
        );
      } finally {
        store?.close();
        lock?.release();
      }
    });
}
