/**
 * Prompt token counts for OpenAI's encodings, fast enough to run on every request and to start with every
 * command. The text is split with the encoding's own pre-tokenizer pattern and each piece's count is
 * cached: tiktoken encodes pieces independently, so the sum is exactly the full encoding's length, while
 * the template and seed examples that recur in every prompt cost one Map lookup per piece.
 *
 * A piece is counted by tiktoken's own merge rule over the rank table js-tiktoken ships (test/cost.test.ts
 * holds the counts to js-tiktoken's encoder). The table is kept as its base64 keys, which takes about a
 * seventh of the time js-tiktoken's encoder spends decoding it into byte maps (0.6–0.9 s of CPU here, paid
 * by every command that sends a request).
 */
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import type { ChatMessage } from './types.ts';

export type EncodingName = 'cl100k_base' | 'o200k_base';

/** The encoding OpenAI uses for a model; cl100k for everything else (other providers: an estimate). */
export function encodingFor(model: string): EncodingName {
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

/** Tokens the chat format adds around each message and to prime the reply (OpenAI's documented 3 + 3). */
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
const MAX_CACHED_PIECES = 200_000;

export class TokenCounter {
  private ranks: Map<string, number> | undefined;
  private readonly pattern: RegExp;
  private readonly cache = new Map<string, number>();

  constructor(readonly encoding: EncodingName) {
    this.pattern = new RegExp(this.table().pat_str, 'gu');
  }

  private table(): { pat_str: string; bpe_ranks: string } {
    return this.encoding === 'o200k_base' ? o200k : cl100k;
  }

  count(text: string): number {
    this.ranks ??= rankTable(this.table().bpe_ranks);
    let n = 0;
    for (const match of text.matchAll(this.pattern)) {
      const piece = match[0];
      let c = this.cache.get(piece);
      if (c === undefined) {
        c = countPiece(Buffer.from(piece, 'utf8'), this.ranks);
        if (this.cache.size >= MAX_CACHED_PIECES) this.cache.clear();
        this.cache.set(piece, c);
      }
      n += c;
    }
    return n;
  }

  /** Prompt tokens of a chat request as OpenAI bills them. */
  countChat(messages: readonly ChatMessage[]): number {
    let n = REPLY_PRIMING;
    for (const m of messages) n += PER_MESSAGE + this.count(m.role) + this.count(m.content);
    return n;
  }
}

const counters = new Map<EncodingName, TokenCounter>();

/** One shared counter per encoding, so the piece cache is shared too. */
export function tokenCounterFor(model: string): TokenCounter {
  const name = encodingFor(model);
  let c = counters.get(name);
  if (c === undefined) {
    c = new TokenCounter(name);
    counters.set(name, c);
  }
  return c;
}

/** js-tiktoken's rank file: lines of `key offset token token …`, the tokens base64 and ranked from offset on. */
function rankTable(file: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const line of file.split('\n')) {
    const fields = line.split(' ');
    const offset = Number.parseInt(fields[1] ?? '', 10);
    for (let i = 2; i < fields.length; i++) ranks.set(fields[i]!, offset + i - 2);
  }
  return ranks;
}

/**
 * Tokens of one piece under tiktoken's byte-pair rule: start from single bytes and merge, again and again,
 * the adjacent pair whose joined bytes have the lowest rank (the leftmost on a tie) until no joined pair is
 * in the table. Quadratic in the piece's bytes, as tiktoken's own merge; pieces are short (the pattern
 * splits text into words, numbers and punctuation) and each is counted once per process.
 */
function countPiece(bytes: Buffer, ranks: Map<string, number>): number {
  if (bytes.length <= 1 || ranks.has(bytes.toString('base64'))) return 1;
  const rankOf = (from: number, to: number): number => ranks.get(bytes.toString('base64', from, to)) ?? Infinity;
  // starts[i] is where the i-th part begins; pairRank[i] the rank of parts i and i + 1 joined.
  const starts: number[] = [];
  for (let i = 0; i <= bytes.length; i++) starts.push(i);
  const pairRank: number[] = [];
  for (let i = 0; i + 2 < starts.length; i++) pairRank.push(rankOf(starts[i]!, starts[i + 2]!));
  for (;;) {
    let best = -1;
    let min = Infinity;
    for (let i = 0; i < pairRank.length; i++) {
      if (pairRank[i]! < min) {
        min = pairRank[i]!;
        best = i;
      }
    }
    if (best < 0) return starts.length - 1;
    starts.splice(best + 1, 1);
    pairRank.splice(best, 1);
    if (best + 2 < starts.length) pairRank[best] = rankOf(starts[best]!, starts[best + 2]!);
    if (best > 0) pairRank[best - 1] = rankOf(starts[best - 1]!, starts[best + 1]!);
  }
}
