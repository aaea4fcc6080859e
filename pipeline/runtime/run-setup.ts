/**
 * What an online run and a batch step of `generate` both begin with: seeds stored, the near-duplicate
 * index loaded, and the latest unfinished run resumed (or a new one created); and the run's yield guard.
 */
import { buildIndex } from '../dedup/qgram-index.ts';
import type { NearDupIndex } from '../dedup/index.ts';
import { dedupKey } from '../dedup/similarity.ts';
import type { GenerationMode } from '../prompt.ts';
import type { Template } from '../templates.ts';
import type { ChatParams } from '../llm.ts';
import type { Store } from '../store/store.ts';
import type { SeedTask } from '../types.ts';
import { YieldGuard } from '../yield-guard.ts';

export interface RunSetup {
  seeds: readonly SeedTask[];
  template: Template;
  target: number;
  mode: GenerationMode;
  params: ChatParams;
  runOptions: Record<string, unknown>;
  resume: boolean;
}

export interface PreparedRun {
  index: NearDupIndex;
  templateId: number;
  runId: number;
  resumed: boolean;
}

export function prepareRun(options: RunSetup, store: Store, givenIndex?: NearDupIndex): PreparedRun {
  storeSeeds(store, options.seeds);
  // Exact, and fast enough for millions of stored tasks (see dedup/qgram-index.ts for why it cannot miss).
  const index = givenIndex ?? buildIndex(store.acceptedKeys());
  const templateId = store.templateId(options.template.name, options.template.sha256, options.template.content);
  const newRun = { target: options.target, mode: options.mode, model: options.params.model, options: options.runOptions };
  const latest = store.latestRun();
  // An unfinished `answer` or `evolve` run counts answers, not generated tasks: a generate never takes it over.
  const resumed =
    options.resume && latest !== undefined && latest.status !== 'completed' && latest.mode !== 'answer' && latest.mode !== 'evolve';
  let runId: number;
  if (resumed) {
    runId = latest.id;
    store.resumeRun(runId, newRun);
  } else {
    runId = store.createRun(newRun);
  }
  return { index, templateId, runId, resumed };
}

/** The yield guard of a run (online or one batch step), from its options. */
export function yieldGuardFor(options: {
  maxEmptyReplies?: number | undefined;
  minAcceptedPerReply?: number | undefined;
  similarity: number;
}): YieldGuard {
  return new YieldGuard({
    maxEmptyReplies: options.maxEmptyReplies,
    minAcceptedPerReply: options.minAcceptedPerReply,
    similarity: options.similarity,
  });
}

/** Seeds live in the store as accepted tasks of source `seed`, so the index and `nearest` can point at them. */
function storeSeeds(store: Store, seeds: readonly SeedTask[]): void {
  store.transaction(() => {
    for (const seed of seeds) {
      const key = dedupKey(seed);
      if (store.hasAcceptedKey(key)) continue;
      store.insertTask({ ...seed, source: 'seed', dedupKey: key, status: 'accepted' });
    }
  });
}
