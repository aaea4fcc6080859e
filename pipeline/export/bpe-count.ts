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
 *   use_regex); the stages before it are Split (replicated) or any other library pre-tokenizer (called);
 * - model: BPE without end-of-word or continuing-subword suffixes, fuse_unk off, every byte's character
 *   and every merge's result in the vocabulary (so the model never emits an unknown token);
 * - post-processor: none, ByteLevel, TemplateProcessing or a Sequence of them (none adds tokens when
 *   special tokens are off).
 */

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

/** Checks the BPE model and builds its merge on integer symbols. */
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
  // Symbols are the strings the library merges, numbered here: bytes 0–255, then each new merge result.
  const symbolOf = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    if (!ids.has(byteEncoder[b]!)) return { unsupported: `byte ${b} has no token` };
    if (symbolOf.has(byteEncoder[b]!)) return { unsupported: 'the byte table maps two bytes to one character' };
    symbolOf.set(byteEncoder[b]!, b);
  }
  const intern = (s: string): number => {
    let id = symbolOf.get(s);
    if (id === undefined) symbolOf.set(s, (id = symbolOf.size));
    return id;
  };
  const merges = model.merges;
  const table = new PairTable(merges.length);
  const resultOf = new Int32Array(merges.length);
  for (let rank = 0; rank < merges.length; rank++) {
    const [a, b] = merges[rank]!;
    if (typeof a !== 'string' || typeof b !== 'string') return { unsupported: 'unknown library layout (merges)' };
    if (!ids.has(a + b)) return { unsupported: `merge ${rank} (${a} ${b}) makes a token outside the vocabulary` };
    // A later duplicate of a pair overrides the earlier rank, as in the library's Map.
    table.set(intern(a), intern(b), rank);
    resultOf[rank] = intern(a + b);
  }
  return { merge: new PairMerge(table, resultOf), ignoreMerges: Boolean(model.ignore_merges), tokensToIds: ids };
}

/**
 * (left, right) symbol pairs to merge ranks. Most lookups miss (pairs that never merge), and the table
 * is megabytes, so a 256 KB bit filter answers most misses from the CPU cache and a probe reads one
 * slot of interleaved [left, right, rank]; pairs of two bytes, the first lookups of every pre-token,
 * come from a direct 256 × 256 table.
 */
class PairTable {
  private readonly slots: Int32Array;
  private readonly filter = new Int32Array(1 << 16);
  private readonly bytePairs = new Int32Array(256 * 256).fill(-1);
  private readonly shift: number;
  private readonly mask: number;

  constructor(entries: number) {
    let bits = 10;
    while (1 << bits < entries * 2) bits++;
    this.slots = new Int32Array((1 << bits) * 3).fill(-1);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private slot(a: number, b: number): number {
    return Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca77) >>> this.shift;
  }

  private filterBit(a: number, b: number): number {
    return Math.imul(Math.imul(b, 0x9e3779b1) ^ a, 0xc2b2ae35) >>> 11;
  }

  set(a: number, b: number, rank: number): void {
    if (a < 256 && b < 256) this.bytePairs[a * 256 + b] = rank;
    const bit = this.filterBit(a, b);
    this.filter[bit >>> 5]! |= 1 << (bit & 31);
    const slots = this.slots;
    let i = this.slot(a, b);
    while (slots[i * 3] !== -1 && (slots[i * 3] !== a || slots[i * 3 + 1] !== b)) i = (i + 1) & this.mask;
    slots[i * 3] = a;
    slots[i * 3 + 1] = b;
    slots[i * 3 + 2] = rank;
  }

  /** The pair's rank, or -1 when it does not merge. */
  get(a: number, b: number): number {
    if (a < 256 && b < 256) return this.bytePairs[a * 256 + b]!;
    const bit = this.filterBit(a, b);
    if ((this.filter[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1;
    const slots = this.slots;
    let i = this.slot(a, b);
    for (;;) {
      const l = slots[i * 3]!;
      if (l === -1) return -1;
      if (l === a && slots[i * 3 + 1] === b) return slots[i * 3 + 2]!;
      i = (i + 1) & this.mask;
    }
  }
}

/** Pre-tokens up to this many bytes merge by linear scan, longer ones with the heap (the measured crossover on Chinese text). */
const SCAN_UP_TO = 16;
/** "No merge" in the scan's ranks: above every rank. */
const NONE = 0x7fffffff;

/** Heap keys are rank * POSITIONS + position: the lowest rank first, then the leftmost; exact in a double for any string. */
const POSITIONS = 2 ** 32;

/**
 * The merge loop over a linked list of symbols with a binary heap of candidate pairs, O(n log n) in the
 * pre-token's length. A popped pair whose left symbol died or now pairs differently is stale and
 * skipped; a rank names exactly one pair of symbols, so an entry whose rank still matches is valid.
 */
class PairMerge {
  private sym = new Int32Array(256);
  private next = new Int32Array(256);
  private prev = new Int32Array(256);
  private rank = new Int32Array(256);
  private dead = new Uint8Array(256);
  private heap = new Float64Array(512);
  private size = 0;

  constructor(
    private readonly table: PairTable,
    private readonly resultOf: Int32Array,
  ) {}

  /** Tokens the bytes `bytes[0..n)` merge into. */
  count(bytes: Uint8Array, n: number): number {
    return n <= SCAN_UP_TO ? this.scan(bytes, n) : this.heapCount(bytes, n);
  }

  /**
   * For short pre-tokens (most of them) a linear scan for the lowest rank beats the heap: the arrays
   * stay in cache and a merge shifts a few entries. Same rule: lowest rank, leftmost on ties.
   */
  private scan(bytes: Uint8Array, n: number): number {
    const sym = this.sym;
    const rank = this.rank;
    const table = this.table;
    for (let i = 0; i < n; i++) sym[i] = bytes[i]!;
    for (let i = 0; i < n - 1; i++) {
      const r = table.get(sym[i]!, sym[i + 1]!);
      rank[i] = r < 0 ? NONE : r;
    }
    let m = n;
    while (m > 1) {
      let best = NONE;
      let at = -1;
      for (let i = 0; i < m - 1; i++) {
        if (rank[i]! < best) {
          best = rank[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      sym[at] = this.resultOf[best]!;
      // Plain loops: TypedArray copyWithin is a C++ builtin, slow to call for a few entries.
      for (let i = at + 1; i < m - 1; i++) sym[i] = sym[i + 1]!;
      for (let i = at; i < m - 2; i++) rank[i] = rank[i + 1]!;
      m--;
      if (at < m - 1) {
        const r = table.get(sym[at]!, sym[at + 1]!);
        rank[at] = r < 0 ? NONE : r;
      }
      if (at > 0) {
        const r = table.get(sym[at - 1]!, sym[at]!);
        rank[at - 1] = r < 0 ? NONE : r;
      }
    }
    return m;
  }

  private heapCount(bytes: Uint8Array, n: number): number {
    if (n > this.sym.length) {
      const cap = n * 2;
      [this.sym, this.next, this.prev, this.rank, this.dead] = [
        new Int32Array(cap),
        new Int32Array(cap),
        new Int32Array(cap),
        new Int32Array(cap),
        new Uint8Array(cap),
      ];
    }
    const { sym, next, prev, rank, dead } = this;
    this.size = 0;
    for (let i = 0; i < n; i++) {
      sym[i] = bytes[i]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      dead[i] = 0;
    }
    for (let i = 0; i < n - 1; i++) this.update(i);
    rank[n - 1] = -1;
    let tokens = n;
    while (this.size > 0) {
      const key = this.pop();
      const r = Math.floor(key / POSITIONS);
      const i = key - r * POSITIONS;
      if (dead[i] === 1 || rank[i] !== r) continue;
      const j = next[i]!;
      sym[i] = this.resultOf[r]!;
      dead[j] = 1;
      tokens--;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (next[i]! >= 0) this.update(i);
      else rank[i] = -1;
      if (prev[i]! >= 0) this.update(prev[i]!);
    }
    return tokens;
  }

  /** Ranks the pair starting at i and queues it when it merges. */
  private update(i: number): void {
    const r = this.table.get(this.sym[i]!, this.sym[this.next[i]!]!);
    this.rank[i] = r;
    if (r >= 0) this.push(r * POSITIONS + i);
  }

  private push(key: number): void {
    if (this.size === this.heap.length) {
      const grown = new Float64Array(this.heap.length * 2);
      grown.set(this.heap);
      this.heap = grown;
    }
    const heap = this.heap;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = key;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap[--this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
