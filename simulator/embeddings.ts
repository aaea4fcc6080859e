/**
 * `/v1/embeddings` of the simulator: a deterministic vector per text, the character unigrams and bigrams
 * of the text (NFKC, lower case, no whitespace) hashed into `dimensions` buckets, then normalized. Texts
 * sharing most characters (the simulator's own near-duplicates and light edits) come out close; it is NOT
 * a semantic model: two paraphrases in different words are far apart. Enough to test the plumbing.
 */
import { errorResponse, type SimResponse } from './completions.ts';

/** Default dimension; a request's `dimensions` picks another (as OpenAI's text-embedding-3 models allow). */
export const SIM_EMBEDDING_DIMENSIONS = 256;

export function simEmbedding(text: string, dimensions = SIM_EMBEDDING_DIMENSIONS): number[] {
  const s = text.normalize('NFKC').toLowerCase().replace(/\s+/gu, '');
  const v = new Array<number>(dimensions).fill(0);
  const chars = [...s];
  const add = (gram: string, weight: number): void => {
    const h = fnv1a(gram);
    // The hash's top bit picks the sign, so unrelated grams cancel instead of piling up.
    v[h % dimensions]! += h & 0x80000000 ? -weight : weight;
  };
  for (let i = 0; i < chars.length; i++) {
    add(chars[i]!, 1);
    if (i + 1 < chars.length) add(chars[i]! + chars[i + 1]!, 1.5);
  }
  const norm = Math.sqrt(v.reduce((n, x) => n + x * x, 0));
  // An empty text still gets a direction of its own.
  if (norm === 0) v[0] = 1;
  else for (let i = 0; i < dimensions; i++) v[i] = Math.round((v[i]! / norm) * 1e6) / 1e6;
  return v;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function embeddingsResponse(body: unknown): SimResponse {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { input?: unknown; model?: unknown; dimensions?: unknown };
  const input = typeof b.input === 'string' ? [b.input] : b.input;
  if (!Array.isArray(input) || input.length === 0 || !input.every((x) => typeof x === 'string')) {
    return errorResponse(400, "'input' must be a string or a non-empty array of strings", 'invalid_request_error', null, 'bad_request');
  }
  const dims =
    typeof b.dimensions === 'number' && Number.isInteger(b.dimensions) && b.dimensions > 0 ? b.dimensions : SIM_EMBEDDING_DIMENSIONS;
  const tokens = input.reduce((n: number, t: string) => n + [...t].length, 0);
  return {
    status: 200,
    headers: {},
    outcome: 'ok',
    json: {
      object: 'list',
      model: typeof b.model === 'string' ? b.model : 'sim-embedding',
      data: input.map((t: string, index: number) => ({ object: 'embedding', index, embedding: simEmbedding(t, dims) })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  };
}
