/** `stats`: what the store holds. */
import { Command } from 'commander';
import { Store, StoreError } from '../store/store.ts';
import { DEFAULT_DB } from './generate.ts';
import { CliError } from './exit.ts';

export function statsCommand(): Command {
  return new Command('stats')
    .description('counts of accepted and rejected tasks, rejection reasons, requests and tokens')
    .option('--db <path>', 'SQLite database file', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((flags: { db: string; json?: boolean }) => {
      let store: Store;
      try {
        store = Store.open(flags.db, { readonly: true });
      } catch (err) {
        if (err instanceof StoreError) throw new CliError(err.message);
        throw err;
      }
      try {
        const s = store.stats();
        if (flags.json) {
          process.stdout.write(JSON.stringify(s) + '\n');
          return;
        }
        const lines = [
          `database  ${flags.db}`,
          `accepted  ${s.accepted}  (${Object.entries(s.acceptedBySource).map(([k, n]) => `${k} ${n}`).join(', ')})`,
          `rejected  ${s.rejected}`,
          ...Object.entries(s.rejectedByReason).map(([reason, n]) => `  ${reason.padEnd(24)} ${n}`),
          `runs      ${s.runs}`,
          `requests  ${s.requests.total} (${s.requests.failed} failed)`,
          `tokens    ${s.requests.promptTokens} prompt + ${s.requests.completionTokens} completion`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        store.close();
      }
    });
}
