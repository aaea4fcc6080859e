/**
 * Token counts for byte-level BPE tokenizer.json files (GPT-2, Qwen, DeepSeek, LLaMA-3 style) without
 * @lenml/tokenizers' per-call overhead. The library's encode builds, for every pre-token, a TextEncoder
 * buffer, an array of mapped characters, a joined string, a linked list of node objects and a string key
 * per candidate pair, then an id array and an attention mask: ~0.6 ms a 150-character Chinese row. Here a
 * pre-token's count is read from a bounded cache or computed once by mapping its UTF-8 bytes to integer
 * symbols and merging them with the library's rule (lowest rank first, leftmost on ties).
 *
 * Exact by construction for the shapes handled, anything else is left to the library (`unsupported`
 * says why). The library's own objects still do every step not replicated here: the added-token
 * splitter, the normalizer (any type), pre-tokenizers other than Split and ByteLevel; Split and
 * ByteLevel reuse the library's compiled patterns and byte table. Handled:
 * - tokenizer classes that keep PreTrainedTokenizer's encode (not LLaMA's legacy SentencePiece prefix,
 *   Marian's language codes, …), without `remove_space` or `do_lowercase_and_remove_accent`;
 * - pre-tokenizer: ByteLevel alone, or a Sequence ending in one ByteLevel (any add_prefix_space and
 *   use_regex); the stages before it are Split (Qwen2's and LLaMA-3's pattern by bpe-split.ts's scanner,
 *   any other through the library's compiled regex) or any other library pre-tokenizer (called);
 * - model: BPE without end-of-word or continuing-subword suffixes, fuse_unk off, every byte's character
 *   and every merge's result in the vocabulary (so the model never emits an unknown token);
 * - post-processor: none, ByteLevel, TemplateProcessing whose single template is one sequence among
 *   special tokens, or a Sequence of them (none adds tokens when special tokens are off).
 */

import { buildMerges, type PairMerge } from './bpe-merge.ts';
import { patternSplitter, type Splitter } from './bpe-split.ts';

/** The parts of the library's tokenizer this module reads (checked at run time: a library update may rename them). */
interface Library {
  added_tokens_splitter: { split(text: string): string[] };
  added_tokens: { content: string; lstrip: boolean; rstrip: boolean }[];
  added_tokens_map: Map<string, unknown>;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: unknown;
  model: {
    merges: [string, string][];
    tokens_to_ids: Map<string, number>;
    end_of_word_suffix?: unknown;
    continuing_subword_suffix?: unknown;
    fuse_unk?: unknown;
    ignore_merges?: unknown;
  };
  remove_space?: unknown;
  do_lowercase_and_remove_accent?: unknown;
}

export type ByteLevelCount = { count: (text: string) => number } | { unsupported: string };

/** A pre-tokenizer stage before ByteLevel: pieces in, pieces out. */
type Stage = (pieces: string[], options: { section_index: number }) => string[];

/** Pre-token counts kept per cache generation (two generations: bounded memory, frequent pieces stay). */
const CACHE_ENTRIES = 100_000;
/** Longer pre-tokens rarely repeat: not cached. */
const CACHE_LENGTH = 256;

/**
 * Builds the counter for `library` (built from `json`), or says why the library must count.
 * `base` is PreTrainedTokenizer's prototype: a class that overrides how text is encoded is not handled.
 */
export function byteLevelCounter(library: unknown, json: Record<string, unknown>, base: object): ByteLevelCount {
  const lib = library as Library;
  const proto = base as Record<string, unknown>;
  for (const method of ['encode', '_encode_plus', '_tokenize_helper', '_encode_text']) {
    if ((lib as unknown as Record<string, unknown>)[method] !== proto[method])
      return { unsupported: `the tokenizer class overrides ${method}` };
  }
  if (lib.remove_space === true || lib.do_lowercase_and_remove_accent)
    return { unsupported: 'remove_space or lowercase-and-remove-accent' };
  if (typeof lib.added_tokens_splitter?.split !== 'function' || !(lib.added_tokens_map instanceof Map) || !Array.isArray(lib.added_tokens))
    return { unsupported: 'unknown library layout (added tokens)' };
  if (lib.normalizer !== null && typeof lib.normalizer !== 'function') return { unsupported: 'unknown library layout (normalizer)' };
  const post = postProcessorAddsNothing(json.post_processor);
  if (post !== null) return { unsupported: post };
  const stages = preTokenizerShape(json.pre_tokenizer, lib.pre_tokenizer);
  if ('unsupported' in stages) return stages;
  const model = modelShape(json.model, lib.model, stages.byteEncoder);
  if ('unsupported' in model) return model;

  const { before, byteLevel } = stages;
  const { merge, ignoreMerges, tokensToIds } = model;
  const bytes = new Uint8Array(1024);
  let buffer = bytes;
  const encoder = new TextEncoder();
  const byteChars = stages.byteEncoder;

  /** Tokens of one byte-level pre-token: its UTF-8 bytes (lone surrogates as U+FFFD, as TextEncoder writes them) merged. */
  const bpeCount = (piece: string): number => {
    if (buffer.length < piece.length * 3) buffer = new Uint8Array(piece.length * 3);
    const n = encoder.encodeInto(piece, buffer).written;
    if (ignoreMerges) {
      let mapped = '';
      for (let i = 0; i < n; i++) mapped += byteChars[buffer[i]!]!;
      if (tokensToIds.has(mapped)) return 1;
    }
    return n < 2 ? n : merge.count(buffer, n);
  };
  const pattern = byteLevel.pattern === null ? null : new RegExp(byteLevel.pattern.source, byteLevel.pattern.flags);
  const pieceCount = (piece: string): number => {
    const text = byteLevel.addPrefixSpace && !piece.startsWith(' ') ? ` ${piece}` : piece;
    if (pattern === null) return bpeCount(text);
    let total = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m[0].length === 0) pattern.lastIndex = advance(text, pattern.lastIndex);
      else total += bpeCount(m[0]);
    }
    return total;
  };
  // Two generations: when the young one is full it becomes the old one, so pieces seen in both stay.
  let young = new Map<string, number>();
  let old = new Map<string, number>();
  const cachedCount = (piece: string): number => {
    let n = young.get(piece);
    if (n !== undefined) return n;
    n = old.get(piece) ?? pieceCount(piece);
    if (piece.length <= CACHE_LENGTH) {
      if (young.size >= CACHE_ENTRIES) [old, young] = [young, new Map()];
      young.set(piece, n);
    }
    return n;
  };

  const firstChars = [...new Set(lib.added_tokens.map((t) => t.content[0] ?? ''))].filter((c) => c !== '');
  const strips = lib.added_tokens.some((t) => t.lstrip || t.rstrip);
  const mayHoldAddedToken = (text: string): boolean => firstChars.length > 16 || firstChars.some((c) => text.includes(c));
  const normalizer = lib.normalizer;
  const single = [''];
  const direct = stages.direct;
  let ends = new Int32Array(1024);

  /** PreTrainedTokenizer._encode_text, counting instead of collecting. */
  return {
    count(text: string): number {
      let sections: string[];
      if (mayHoldAddedToken(text)) {
        sections = lib.added_tokens_splitter.split(text);
        if (strips) stripAround(sections, lib);
      } else {
        single[0] = text;
        sections = single;
      }
      let total = 0;
      for (let s = 0; s < sections.length; s++) {
        let x = sections[s]!;
        if (x.length === 0) continue;
        if (lib.added_tokens_map.has(x)) {
          total++;
          continue;
        }
        if (normalizer !== null) x = normalizer(x);
        if (x.length === 0) continue;
        if (direct !== null) {
          // The one stage is a known Split pattern: no piece array.
          if (ends.length < x.length) ends = new Int32Array(x.length * 2);
          const n = direct(x, ends);
          for (let i = 0, start = 0; i < n; start = ends[i++]!) total += cachedCount(x.slice(start, ends[i]!));
          continue;
        }
        let pieces = [x];
        for (const stage of before) pieces = stage(pieces, { section_index: s });
        for (const piece of pieces) total += cachedCount(piece);
      }
      return total;
    },
  };
}

/** The library's lstrip/rstrip of the sections around an added token. */
function stripAround(sections: string[], lib: Library): void {
  for (let i = 0; i < sections.length; ++i) {
    const token = lib.added_tokens_map.get(sections[i]!) as { lstrip?: boolean; rstrip?: boolean } | undefined;
    if (token) {
      if (token.lstrip && i > 0) sections[i - 1] = sections[i - 1]!.trimEnd();
      if (token.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1]!.trimStart();
    }
  }
}

/** Where a global unicode regex continues after an empty match (String.prototype.match/matchAll's rule). */
function advance(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
    const low = text.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return index + 2;
  }
  return index + 1;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Null when the post-processor adds nothing with special tokens off, else why not handled. */
function postProcessorAddsNothing(config: unknown): string | null {
  if (config === null || config === undefined) return null;
  if (!isObject(config)) return 'unknown post-processor';
  if (config.type === 'ByteLevel') return null;
  if (config.type === 'TemplateProcessing') {
    // With special tokens off only the "A" sequence is kept: exactly one in the single template.
    const single = config.single;
    if (!Array.isArray(single)) return 'TemplateProcessing without a single template';
    const sequences = single.filter((item) => isObject(item) && 'Sequence' in item);
    const ok =
      sequences.length === 1 &&
      (sequences[0] as { Sequence: { id?: unknown } }).Sequence?.id === 'A' &&
      single.every((item) => isObject(item) && ('Sequence' in item || 'SpecialToken' in item));
    return ok ? null : 'TemplateProcessing whose single template is not one sequence among special tokens';
  }
  if (config.type === 'Sequence' && Array.isArray(config.processors)) {
    for (const p of config.processors) {
      const why = postProcessorAddsNothing(p);
      if (why !== null) return why;
    }
    return null;
  }
  return `post-processor ${String(config.type)}`;
}

interface ByteLevelShape {
  addPrefixSpace: boolean;
  pattern: RegExp | null;
}

/** The stages before ByteLevel and ByteLevel's options, from the JSON's shape and the library's objects. */
function preTokenizerShape(
  config: unknown,
  instance: unknown,
): { before: Stage[]; direct: Splitter | null; byteLevel: ByteLevelShape; byteEncoder: string[] } | { unsupported: string } {
  if (!isObject(config)) return { unsupported: 'no pre-tokenizer' };
  let configs: unknown[];
  let instances: unknown[];
  if (config.type === 'Sequence') {
    const inner = (instance as { tokenizers?: unknown } | null)?.tokenizers;
    if (!Array.isArray(config.pretokenizers) || !Array.isArray(inner) || inner.length !== config.pretokenizers.length)
      return { unsupported: 'unknown library layout (pre-tokenizer sequence)' };
    configs = config.pretokenizers;
    instances = inner;
  } else {
    configs = [config];
    instances = [instance];
  }
  const last = configs.length - 1;
  const types = configs.map((c) => (isObject(c) ? c.type : undefined));
  if (types[last] !== 'ByteLevel' || types.indexOf('ByteLevel') !== last)
    return { unsupported: `pre-tokenizer ${types.join(', ')} (handled: ByteLevel, last and once)` };
  const bl = instances[last] as { add_prefix_space?: unknown; use_regex?: unknown; pattern?: unknown; byte_encoder?: unknown };
  const byteEncoder = bl.byte_encoder;
  if (
    !isObject(byteEncoder) ||
    !(bl.pattern instanceof RegExp) ||
    typeof bl.use_regex !== 'boolean' ||
    Array.from({ length: 256 }, (_, b) => (byteEncoder as Record<number, unknown>)[b]).some((c) => typeof c !== 'string' || c.length !== 1)
  )
    return { unsupported: 'unknown library layout (ByteLevel)' };
  const before: Stage[] = [];
  let direct: Splitter | null = null;
  for (let i = 0; i < last; i++) {
    const c = configs[i] as Record<string, unknown>;
    const inst = instances[i] as { pattern?: unknown; pre_tokenize?: unknown } | null;
    if (typeof inst?.pre_tokenize !== 'function') return { unsupported: 'unknown library layout (pre-tokenizer)' };
    const behavior = typeof c.behavior === 'string' ? c.behavior.toLowerCase() : '';
    if (c.type === 'Split' && c.invert !== true && behavior !== 'removed' && inst.pattern instanceof RegExp && inst.pattern.global) {
      const known = isObject(c.pattern) && typeof c.pattern.Regex === 'string' ? patternSplitter(c.pattern.Regex) : null;
      if (known !== null && last === 1) direct = known;
      before.push(regexSplitStage(inst.pattern));
    } else {
      const call = inst.pre_tokenize as (pieces: string[], options: { section_index: number }) => string[];
      before.push((pieces, options) => call.call(inst, pieces, options));
    }
  }
  return {
    before,
    direct,
    byteLevel: { addPrefixSpace: Boolean(bl.add_prefix_space), pattern: bl.use_regex ? bl.pattern : null },
    byteEncoder: Array.from({ length: 256 }, (_, b) => (byteEncoder as Record<number, string>)[b]!),
  };
}

/** The library's regexSplit: matches and the text between them, empty strings dropped. */
function regexSplitStage(source: RegExp): Stage {
  const re = new RegExp(source.source, source.flags);
  return (pieces) => {
    const out: string[] = [];
    for (const text of pieces) {
      let prev = 0;
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (prev < m.index) out.push(text.slice(prev, m.index));
        if (m[0].length > 0) out.push(m[0]);
        else re.lastIndex = advance(text, re.lastIndex);
        prev = m.index + m[0].length;
      }
      if (prev < text.length) out.push(text.slice(prev));
    }
    return out;
  };
}

/** Checks the BPE model and builds its merge on integer symbols (bytes are symbols 0–255). */
function modelShape(
  config: unknown,
  model: Library['model'],
  byteEncoder: string[],
): { merge: PairMerge; ignoreMerges: boolean; tokensToIds: Map<string, number> } | { unsupported: string } {
  if (!isObject(config) || config.type !== 'BPE')
    return { unsupported: `model ${isObject(config) ? String(config.type) : '?'} (handled: BPE)` };
  if (!Array.isArray(model?.merges) || !(model.tokens_to_ids instanceof Map)) return { unsupported: 'unknown library layout (BPE model)' };
  if (model.end_of_word_suffix || model.continuing_subword_suffix) return { unsupported: 'BPE with word suffixes' };
  if (model.fuse_unk) return { unsupported: 'BPE with fuse_unk' };
  const ids = model.tokens_to_ids;
  for (let b = 0; b < 256; b++) if (!ids.has(byteEncoder[b]!)) return { unsupported: `byte ${b} has no token` };
  for (let rank = 0; rank < model.merges.length; rank++) {
    const [a, b] = model.merges[rank]!;
    if (!ids.has(a + b)) return { unsupported: `merge ${rank} (${a} ${b}) makes a token outside the vocabulary` };
  }
  const built = buildMerges(model.merges, byteEncoder);
  if (typeof built === 'string') return { unsupported: built };
  return { merge: built.merge, ignoreMerges: Boolean(model.ignore_merges), tokensToIds: ids };
}
