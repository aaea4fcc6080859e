/**
 * `trainingTokens()`: the accepted tasks' training length in a trainer's tokens, for `stats --tokenizer`:
 * the alpaca prompt + output of an even sample of accepted rows (by task id), counted with a built-in
 * tokenizer or the trainer's tokenizer.json, as export's length filter counts them. Read-only.
 */
import { DEFAULT_TRAINING_TEMPLATE, loadTrainingTemplate } from './export/template.ts';
import { loadTokenizer, TokenHistogram, type TokenSummary } from './export/tokens.ts';
import { taskTokens } from './export/train-tokens.ts';
import { DEFAULT_DB } from './paths.ts';
import { ReportStore } from './store/report.ts';
import { Store } from './store/store.ts';

export interface TrainingTokensOptions {
  /** Default `data/pipeline.db`. */
  db?: string;
  /** A built-in tokenizer's name or a tokenizer.json path. */
  tokenizer: string;
  /** Rows counted at most (an even sample by task id above this). Default 20,000. */
  sample?: number;
}

export interface TrainingTokens extends TokenSummary {
  tokenizer: string;
  /** sha256 of the tokenizer's vocabulary file. */
  sha256: string;
  /** Accepted tasks (seeds excluded), of which `rows` were counted. */
  accepted: number;
  sampled: boolean;
}

export async function trainingTokens(options: TrainingTokensOptions): Promise<TrainingTokens> {
  const counter = await loadTokenizer(options.tokenizer);
  const template = loadTrainingTemplate(DEFAULT_TRAINING_TEMPLATE);
  const store = Store.open(options.db ?? DEFAULT_DB, { readonly: true });
  try {
    const rs = new ReportStore(store);
    const scope = { kind: 'all' } as const;
    const accepted = rs.countAccepted(scope);
    const stride = Math.max(1, Math.floor(accepted / Math.max(1, options.sample ?? 20_000)));
    const histogram = new TokenHistogram();
    for (const row of rs.scan(scope, stride)) {
      if (row.instruction === null || row.status !== 'accepted') continue;
      const task = { instruction: row.instruction, input: row.input ?? '', output: row.output ?? '' };
      histogram.add(taskTokens(counter, 'alpaca', task, { template, system: null }));
    }
    const summary = histogram.summary();
    return { tokenizer: counter.name, sha256: counter.sha256, accepted, sampled: summary.rows < accepted, ...summary };
  } finally {
    store.close();
  }
}
