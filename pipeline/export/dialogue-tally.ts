/** Conversations in an export: their turns read back from the row, and the manifest's counts of them. */
import { z } from 'zod';
import type { Turn } from '../dialogue/types.ts';
import type { ExportRow } from '../store/exports.ts';
import { TokenHistogram, type TokenSummary } from './tokens.ts';

const TURNS = z.array(z.object({ turn: z.number().int(), role: z.enum(['user', 'assistant']), content: z.string() }));

/** A conversation row's turns in order, or a problem naming the row (the database is a file: checked). */
export function rowTurns(row: ExportRow): Turn[] | string {
  let json: unknown;
  try {
    json = JSON.parse(row.turnsJson ?? 'null');
  } catch {
    return `task ${row.id}: its turns are not JSON`;
  }
  const parsed = TURNS.safeParse(json);
  if (!parsed.success) return `task ${row.id}: its turns are malformed (${parsed.error.issues[0]!.message})`;
  return parsed.data.sort((a, b) => a.turn - b.turn).map(({ role, content }) => ({ role, content }));
}

export interface DialogueCounts {
  records: number;
  /** Conversations by exchanges (user turn + reply). */
  exchangesHistogram: Record<string, number>;
  turns: number;
  /** cl100k tokens per conversation, as counted when they were stored. */
  tokensPerDialogue: TokenSummary & { tokenizer: 'cl100k' };
}

export class DialogueTally {
  private readonly histogram: Record<string, number> = {};
  private readonly tokens = new TokenHistogram();
  private records = 0;
  private turns = 0;

  add(turns: readonly Turn[], tokens: number | null): void {
    this.records++;
    this.turns += turns.length;
    const exchanges = String(Math.floor(turns.length / 2));
    this.histogram[exchanges] = (this.histogram[exchanges] ?? 0) + 1;
    this.tokens.add(tokens ?? 0);
  }

  result(): DialogueCounts | null {
    if (this.records === 0) return null;
    return {
      records: this.records,
      exchangesHistogram: this.histogram,
      turns: this.turns,
      tokensPerDialogue: { tokenizer: 'cl100k', ...this.tokens.summary() },
    };
  }
}
