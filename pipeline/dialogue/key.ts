/** The near-duplicate key of a conversation, comparable with task keys in the same index. */
import { normalize } from '../dedup/similarity.ts';
import type { Turn } from './types.ts';

/**
 * normalize(first user turn) + normalize(second user turn): a conversation is identified by how it opens
 * and where the user takes it next. With one user turn it is the task key of that turn with no input, so a
 * conversation opening like a stored task is its near-duplicate, and the other way round.
 */
export function dialogueKey(turns: readonly Turn[]): string {
  let key = '';
  let users = 0;
  for (const t of turns) {
    if (t.role !== 'user') continue;
    key += normalize(t.content);
    if (++users === 2) break;
  }
  return key;
}
