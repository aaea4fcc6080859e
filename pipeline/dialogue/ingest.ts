/**
 * The accept/reject path of conversations: clean each turn → checks → near-duplicate check against the
 * same index as tasks → one transaction. Mirrors `Ingestor` for tasks.
 */
import type { NearDupIndex } from '../dedup/index.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import { DialogueStore } from '../store/dialogues.ts';
import type { Store } from '../store/store.ts';
import { cleanField } from '../text.ts';
import { checkDialogue, DEFAULT_DIALOGUE_CHECK_OPTIONS, type DialogueCheckOptions } from './checks.ts';
import { dialogueKey } from './key.ts';
import type { ParsedDialogue } from './parse.ts';
import type { Turn } from './types.ts';

export interface DialogueIngestOptions extends DialogueCheckOptions {
  /** Near-duplicate threshold, as for tasks. Default 0.7. */
  similarity: number;
}

export const DEFAULT_DIALOGUE_INGEST_OPTIONS: DialogueIngestOptions = { ...DEFAULT_DIALOGUE_CHECK_OPTIONS, similarity: 0.7 };

/** The source of conversations a dialogue-mode run generates. */
export const DIALOGUE_SOURCE = 'dialogue';

export interface DialogueBatch {
  runId: number | null;
  requestId: number | null;
  dialogues: readonly ParsedDialogue[];
  /** Accept at most this many; the rest are stored as rejected `target_reached`. Default: no limit. */
  maxAccept?: number;
  source?: string;
}

export interface DialogueIngestResult {
  accepted: Turn[][];
  rejected: Record<string, number>;
}

// Tokens are counted with cl100k whatever the model: one figure comparable across runs.
const counter = tokenCounterFor('gpt-3.5-turbo');

export class DialogueIngestor {
  private readonly dialogues: DialogueStore;

  constructor(
    private readonly store: Store,
    private readonly index: NearDupIndex,
    private readonly options: DialogueIngestOptions = DEFAULT_DIALOGUE_INGEST_OPTIONS,
  ) {
    this.dialogues = new DialogueStore(store);
  }

  /** Decides and stores a reply's conversations in one transaction (nested in the caller's). */
  ingest(batch: DialogueBatch): DialogueIngestResult {
    const result: DialogueIngestResult = { accepted: [], rejected: {} };
    const base = { source: batch.source ?? DIALOGUE_SOURCE, runId: batch.runId, requestId: batch.requestId };
    let room = batch.maxAccept ?? Infinity;
    this.store.transaction(() => {
      for (const parsed of batch.dialogues) {
        const turns = parsed.turns.map((t) => ({ role: t.role, content: cleanField(t.content) }));
        const row = { ...base, turns, tokens: turns.map((t) => counter.count(t.content)), dedupKey: dialogueKey(turns) };
        const reject = (reason: string, detail: string | null, nearest?: { id: number; similarity: number }): void => {
          this.dialogues.insert({
            ...row,
            status: 'rejected',
            reason,
            detail,
            nearestTaskId: nearest?.id ?? null,
            similarity: nearest?.similarity ?? null,
          });
          result.rejected[reason] = (result.rejected[reason] ?? 0) + 1;
        };
        const verdict = checkDialogue(turns, this.options);
        if (!verdict.ok) {
          reject(verdict.reason, verdict.detail);
          continue;
        }
        const nearest = this.index.findNearDuplicate(row.dedupKey, this.options.similarity);
        if (nearest !== undefined) {
          reject('near_duplicate', null, nearest);
          continue;
        }
        if (room <= 0) {
          reject('target_reached', 'the run had already reached its target');
          continue;
        }
        const id = this.dialogues.insert({ ...row, status: 'accepted' });
        this.index.add(row.dedupKey, id);
        result.accepted.push(turns);
        room--;
      }
    });
    return result;
  }
}
