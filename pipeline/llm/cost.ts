/**
 * What requests cost: a price table in USD per million tokens, per model, with the Batch API's own
 * (half) prices. The built-in table holds OpenAI's list prices for common chat models; a JSON file or
 * a flag overrides or extends it, and a model with no price has no cost (unless a budget needs one).
 */
import { UsageError } from '../errors.ts';
import fs from 'node:fs';
import { z } from 'zod';

export interface Price {
  /** USD per 1M prompt tokens. */
  input: number;
  /** USD per 1M completion tokens. */
  output: number;
  /** Batch API prices; default half of the online ones. */
  batchInput?: number | undefined;
  batchOutput?: number | undefined;
}

export type PriceTable = Record<string, Price>;

/** OpenAI list prices (standard tier, USD per 1M tokens). Prices change: override with --prices or --price. */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  // Embedding models: input only.
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
};

export class PriceError extends UsageError {
  override name = 'PriceError';
}

const priceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  batchInput: z.number().nonnegative().optional(),
  batchOutput: z.number().nonnegative().optional(),
});
const tableSchema = z.record(z.string().min(1), priceSchema);

/** A JSON file `{"model": {"input": 0.15, "output": 0.6, "batchInput"?: …, "batchOutput"?: …}}`. */
export function loadPriceFile(file: string): PriceTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PriceError(`${file}: cannot read price file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PriceError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = tableSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PriceError(
      `${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected {"model": {"input": USD per 1M, "output": USD per 1M}}`,
    );
  }
  return parsed.data as PriceTable;
}

/** `"0.27,1.10"` (input,output USD per 1M tokens) → a Price. */
export function parsePriceFlag(value: string): Price {
  const m = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m) throw new PriceError(`expected INPUT,OUTPUT in USD per 1M tokens (e.g. 0.15,0.60), got "${value}"`);
  return { input: Number(m[1]), output: Number(m[2]) };
}

/** The model's price: an exact entry, else the longest entry the name extends (`gpt-4o-2024-08-06` → `gpt-4o`). */
export function priceFor(model: string, table: PriceTable): Price | undefined {
  const exact = table[model];
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : table[best];
}

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
}

/** USD for the given tokens; `batch` uses the Batch API prices. */
export function costUsd(tokens: TokenCounts, price: Price, batch = false): number {
  const input = batch ? (price.batchInput ?? price.input / 2) : price.input;
  const output = batch ? (price.batchOutput ?? price.output / 2) : price.output;
  return (tokens.promptTokens * input + tokens.completionTokens * output) / 1e6;
}
