/** `sampleAccepted()`: a few accepted tasks of one source picked at random, to show what a run made. Read-only. */
import { DEFAULT_DB } from '../paths.ts';
import { Store } from '../store/store.ts';
import type { Task } from '../types.ts';

export interface SampleOptions {
  /** Default `data/pipeline.db`. */
  db?: string;
  /** Default `generated`. */
  source?: string;
  /** Default 3. */
  n?: number;
}

export function sampleAccepted(options: SampleOptions = {}): Task[] {
  const store = Store.open(options.db ?? DEFAULT_DB, { readonly: true });
  try {
    return store
      .sampleAccepted(options.source ?? 'generated', options.n ?? 3)
      .map((t) => ({ instruction: t.instruction, input: t.input, output: t.output }));
  } finally {
    store.close();
  }
}
