/**
 * The character n-gram index of benchmark items and the coverage score (pure: no files, no SQL).
 *
 * A task overlaps an item when the item's distinct n-grams that also occur in the task cover at least
 * the threshold share of the item's n-grams: of the whole item (question + options), or of its stem
 * alone (a task that copies the question without its options). An item shorter than n counts when it
 * appears whole in the task. Generic stems are no evidence: the stem rule applies only to stems of at
 * least `minStemChars` characters that no other item shares, and the short-item rule only to items of at
 * least `minShortChars` characters.
 *
 * Layout, for millions of lookups (`npm run bench:decontaminate` measures it): every n-gram is a 32-bit
 * hash. Nearly every n-gram of a task is in no item, so a bit filter (one bit per hash, about 8 bits per
 * indexed n-gram: a few MB, cache-resident) answers most lookups alone; no false negatives, so the
 * result is the table's. Behind it one open-addressing table of (hash, n-gram number) pairs, side by
 * side so a probe reads one cache line, and the postings (item × 4 + in-whole bit + in-stem bit) of
 * n-gram g at `postings[start[g]..start[g + 1])`. A task's repeated n-grams count once, by stamping the
 * n-gram number. Hash collisions can only add a stray hit now and then, far below the half of an
 * item's n-grams a match needs.
 *
 * Tasks are checked in batches (`matchMany`): the n-grams of a few thousand tasks are hashed, put in the
 * order of their hashes' top bits (one counting-sort pass), and looked up in that order, so the filter
 * and the table are read front to back rather than at random; then each task's hits are counted in
 * its own order, as one task alone would count them.
 */
import { wholeText, type BenchmarkItem } from './items.ts';
import type { Normalizer, NormalizedCodes } from './normalize.ts';

export interface IndexParams {
  /** Characters per n-gram. */
  n: number;
  /** Items shorter than n count when they appear whole, if at least this long. */
  minShortChars: number;
  /** The stem is scored on its own only if it has at least this many characters. */
  minStemChars: number;
  /** An n-gram in more items than this is too common to look up (it still counts in each item's total). */
  maxPostings: number;
}

/** n = 6 chosen by measurement: `npm run bench:decontaminate` sweeps n and prints recall and false positives. */
export const DEFAULT_INDEX_PARAMS: IndexParams = { n: 6, minShortChars: 5, minStemChars: 12, maxPostings: 1000 };

export type MatchScope = 'item' | 'stem' | 'short';

export interface Match {
  /** Index into `BenchmarkIndex.items`. */
  item: number;
  /** Share of the item's (or its stem's) n-grams found in the task, 0–1; 1 for a short item found whole. */
  coverage: number;
  scope: MatchScope;
}

export interface IndexedItem {
  benchmark: number;
  id: string;
  /** Distinct n-grams of the whole item, and of the stem (0: the stem rule does not apply). */
  wholeGrams: number;
  stemGrams: number;
}

const SEED = 0x01000193;

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

/** Calls `each` with the hash of every window of `n` code units of `codes[0..length)`. */
function forEachGram(codes: Uint16Array, length: number, n: number, each: (key: number) => void): void {
  if (length < n) return;
  let pow = 1;
  for (let i = 1; i < n; i++) pow = Math.imul(pow, SEED);
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, SEED) + codes[i]!) | 0;
  each(mix(h));
  for (let i = n; i < length; i++) {
    h = (Math.imul(h - Math.imul(codes[i - n]!, pow), SEED) + codes[i]!) | 0;
    each(mix(h));
  }
}

function distinctGrams(codes: NormalizedCodes, n: number): Set<number> {
  const set = new Set<number>();
  forEachGram(codes.codes, codes.length, n, (k) => set.add(k));
  return set;
}

/** The whole normalized text as one key (short items), with its length in the hash. */
function wholeKey(codes: Uint16Array, from: number, length: number): number {
  let h = length;
  for (let i = from; i < from + length; i++) h = (Math.imul(h, SEED) + codes[i]!) | 0;
  return mix(h);
}

class Growable {
  data = new Int32Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
}

/**
 * Open addressing, linear probing: slot s holds the hash at `pairs[2s]` (0: empty) and its number at
 * `pairs[2s + 1]`. A hash's home slot is its top bits, so lookups in hash order walk the table in order.
 */
class GramTable {
  pairs = new Int32Array(2 << 16);
  mask = (1 << 16) - 1;
  shift = 16;
  size = 0;

  /** The number of `key`, given the next free number if the key is new. */
  intern(key: number): number {
    let s = key >>> this.shift;
    for (;;) {
      const k = this.pairs[2 * s]!;
      if (k === key) return this.pairs[2 * s + 1]!;
      if (k === 0) break;
      s = (s + 1) & this.mask;
    }
    this.pairs[2 * s] = key;
    this.pairs[2 * s + 1] = this.size;
    // Grown at 3/4 full: lookups that reach the table are few (the bit filter answers the rest).
    if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
    return this.size - 1;
  }

  private grow(): void {
    const old = this.pairs;
    this.pairs = new Int32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    this.shift--;
    for (let i = 0; i < old.length; i += 2) {
      const key = old[i]!;
      if (key === 0) continue;
      let s = key >>> this.shift;
      while (this.pairs[2 * s] !== 0) s = (s + 1) & this.mask;
      this.pairs[2 * s] = key;
      this.pairs[2 * s + 1] = old[i + 1]!;
    }
  }
}

export class IndexBuilder {
  private readonly grams = new GramTable();
  /** One entry per (n-gram, item) pair: the n-gram's number and the posting. */
  private readonly pairGrams = new Growable();
  private readonly postings = new Growable();
  readonly items: IndexedItem[] = [];
  private readonly stems: (string | null)[] = [];
  private readonly stemCount = new Map<string, number>();
  private readonly short = new Map<number, number[]>();
  private readonly shortLengths = new Set<number>();
  /** Items too short for any rule (under minShortChars once normalized): never matched. */
  tooShort = 0;

  constructor(
    private readonly normalizer: Normalizer,
    readonly params: IndexParams = DEFAULT_INDEX_PARAMS,
  ) {}

  add(benchmark: number, item: BenchmarkItem): void {
    const { n, minShortChars, minStemChars } = this.params;
    const index = this.items.length;
    const whole = this.normalizer.codes(wholeText(item));
    const entry: IndexedItem = { benchmark, id: item.id, wholeGrams: 0, stemGrams: 0 };
    this.items.push(entry);
    if (whole.length < n) {
      this.stems.push(null);
      if (whole.length < minShortChars) {
        this.tooShort++;
        return;
      }
      const key = wholeKey(whole.codes, 0, whole.length);
      const list = this.short.get(key);
      if (list === undefined) this.short.set(key, [index]);
      else list.push(index);
      this.shortLengths.add(whole.length);
      return;
    }
    const wholeSet = distinctGrams(whole, n);
    const stemText = this.normalizer.text(item.stem);
    const stemSet = stemText.length >= Math.max(minStemChars, n) ? distinctGrams(this.normalizer.codes(item.stem), n) : new Set<number>();
    entry.wholeGrams = wholeSet.size;
    entry.stemGrams = stemSet.size;
    this.stems.push(stemSet.size > 0 ? stemText : null);
    if (stemSet.size > 0) this.stemCount.set(stemText, (this.stemCount.get(stemText) ?? 0) + 1);
    for (const k of wholeSet) this.addPosting(k, index * 4 + 1 + (stemSet.has(k) ? 2 : 0));
    for (const k of stemSet) if (!wholeSet.has(k)) this.addPosting(k, index * 4 + 2);
  }

  private addPosting(key: number, posting: number): void {
    this.pairGrams.push(this.grams.intern(key));
    this.postings.push(posting);
  }

  build(): BenchmarkIndex {
    // A stem several items share ("下列说法正确的是") says nothing about which item a task copied.
    for (let i = 0; i < this.items.length; i++) {
      const stem = this.stems[i];
      if (stem !== null && stem !== undefined && (this.stemCount.get(stem) ?? 0) > 1) this.items[i]!.stemGrams = 0;
    }
    return new BenchmarkIndex(this.normalizer, this.params, this.items, this.grams, this.pairGrams, this.postings, this.short, [
      ...this.shortLengths,
    ]);
  }
}

/** Lookups are sorted by this many top bits of the hash. */
const BUCKET_BITS = 12;
const BUCKET_SHIFT = 32 - BUCKET_BITS;
/** Fewer n-grams than this (a task or two) are looked up as they come: sorting them would not pay. */
const SORT_FROM = 1 << 14;

/** Buffers reused from batch to batch (grown as needed). */
class BatchBuffers {
  codes = new Uint16Array(1 << 16);
  keys = new Int32Array(1 << 16);
  sorted = new Int32Array(1 << 16);
  order = new Int32Array(1 << 16);
  found = new Int32Array(1 << 16);
  buckets = new Int32Array((1 << BUCKET_BITS) + 1);

  reserve(units: number, grams: number): void {
    if (this.codes.length < units) {
      const next = new Uint16Array(Math.max(units, this.codes.length * 2));
      next.set(this.codes);
      this.codes = next;
    }
    if (this.keys.length < grams) {
      const size = Math.max(grams, this.keys.length * 2);
      const keys = new Int32Array(size);
      keys.set(this.keys);
      this.keys = keys;
      this.sorted = new Int32Array(size);
      this.order = new Int32Array(size);
      this.found = new Int32Array(size);
    }
  }
}

export class BenchmarkIndex {
  private readonly mask: number;
  private readonly shift: number;
  private readonly pairs: Int32Array;
  /** One bit per value of a hash's top `32 - filterShift` bits: set when an n-gram with postings has it. */
  private readonly filter: Int32Array;
  private readonly filterShift: number;
  private readonly start: Int32Array;
  private readonly stamps: Int32Array;
  private readonly postings: Int32Array;
  private stamp = 0;
  private readonly wholeHits: Int32Array;
  private readonly stemHits: Int32Array;
  private readonly touched: number[] = [];
  private readonly batch = new BatchBuffers();
  /** Distinct n-grams in the index, and how many are too common to look up. */
  readonly grams: number;
  readonly commonGrams: number;

  constructor(
    private readonly normalizer: Normalizer,
    readonly params: IndexParams,
    readonly items: readonly IndexedItem[],
    table: GramTable,
    pairGrams: Growable,
    postings: Growable,
    private readonly short: ReadonlyMap<number, number[]>,
    private readonly shortLengths: readonly number[],
  ) {
    const grams = table.size;
    this.pairs = table.pairs;
    this.mask = table.mask;
    this.shift = table.shift;
    // Postings grouped by n-gram (a counting sort); an n-gram in too many items keeps none.
    const count = new Int32Array(grams + 1);
    for (let i = 0; i < pairGrams.length; i++) count[pairGrams.data[i]!]!++;
    let common = 0;
    for (let g = 0; g < grams; g++) {
      if (count[g]! > params.maxPostings) {
        count[g] = 0;
        common++;
      }
    }
    this.start = new Int32Array(grams + 1);
    for (let g = 0; g < grams; g++) this.start[g + 1] = this.start[g]! + count[g]!;
    this.postings = new Int32Array(this.start[grams]!);
    const fill = count; // reused: how many of each n-gram's postings are placed
    fill.fill(0);
    for (let i = 0; i < pairGrams.length; i++) {
      const g = pairGrams.data[i]!;
      const at = this.start[g]! + fill[g]!;
      if (at < this.start[g + 1]!) {
        this.postings[at] = postings.data[i]!;
        fill[g]!++;
      }
    }
    // About 8 filter bits per n-gram (at least 2^16): a few MB for millions of n-grams.
    let bits = 16;
    while (bits < 31 && 2 ** bits < grams * 8) bits++;
    this.filterShift = 32 - bits;
    this.filter = new Int32Array(2 ** (bits - 5));
    for (let s = 0; s <= this.mask; s++) {
      const key = this.pairs[2 * s]!;
      if (key === 0) continue;
      const g = this.pairs[2 * s + 1]!;
      if (this.start[g + 1] === this.start[g]) continue; // no postings: nothing to find
      const bit = key >>> this.filterShift;
      this.filter[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.stamps = new Int32Array(grams);
    this.grams = grams;
    this.commonGrams = common;
    this.wholeHits = new Int32Array(items.length);
    this.stemHits = new Int32Array(items.length);
  }

  /** The item the text overlaps most, if its coverage reaches `threshold`. */
  match(text: string, threshold: number): Match | undefined {
    return this.matchMany([text], threshold)[0];
  }

  /** `match` of each text, in one batch (faster for many texts: see the header). */
  matchMany(texts: readonly string[], threshold: number): (Match | undefined)[] {
    const { n } = this.params;
    const count = texts.length;
    const batch = this.batch;
    // 1. Normalize every text into one buffer and hash its n-grams: text t's units are
    //    codes[unitStart[t]..unitStart[t + 1]), its n-grams keys[gramStart[t]..gramStart[t + 1]).
    const unitStart = new Int32Array(count + 1);
    const gramStart = new Int32Array(count + 1);
    let pow = 1;
    for (let i = 1; i < n; i++) pow = Math.imul(pow, SEED);
    for (let t = 0; t < count; t++) {
      const { codes, length } = this.normalizer.codes(texts[t]!);
      const grams = length >= n ? length - n + 1 : 0;
      const from = unitStart[t]!;
      const at = gramStart[t]!;
      unitStart[t + 1] = from + length;
      gramStart[t + 1] = at + grams;
      batch.reserve(from + length, at + grams);
      batch.codes.set(codes.subarray(0, length), from);
      if (grams === 0) continue;
      const keys = batch.keys;
      let h = 0;
      for (let i = 0; i < n - 1; i++) h = (Math.imul(h, SEED) + codes[i]!) | 0;
      for (let i = n - 1; i < length; i++) {
        if (i >= n) h = (h - Math.imul(codes[i - n]!, pow)) | 0;
        h = (Math.imul(h, SEED) + codes[i]!) | 0;
        keys[at + i - n + 1] = mix(h);
      }
    }
    const total = gramStart[count]!;
    const { keys, sorted, order, found, buckets } = batch;
    // 2. The n-grams in the order of their hashes' top bits (a stable counting sort of positions).
    if (total < SORT_FROM) {
      for (let p = 0; p < total; p++) {
        order[p] = p;
        sorted[p] = keys[p]!;
      }
    } else {
      buckets.fill(0);
      for (let p = 0; p < total; p++) buckets[(keys[p]! >>> BUCKET_SHIFT) + 1]!++;
      for (let b = 1; b < buckets.length; b++) buckets[b]! += buckets[b - 1]!;
      for (let p = 0; p < total; p++) {
        const key = keys[p]!;
        const at = buckets[key >>> BUCKET_SHIFT]!++;
        order[at] = p;
        sorted[at] = key;
      }
    }
    // 3. Look each up in that order, reading `sorted` front to back: found[p] is the n-gram's number, or -1.
    const { pairs, filter, filterShift, mask, shift } = this;
    found.fill(-1, 0, total);
    for (let i = 0; i < total; i++) {
      const key = sorted[i]!;
      const bit = key >>> filterShift;
      if ((filter[bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
      let s = key >>> shift;
      let k = pairs[2 * s]!;
      while (k !== key && k !== 0) {
        s = (s + 1) & mask;
        k = pairs[2 * s]!;
      }
      if (k !== 0) found[order[i]!] = pairs[2 * s + 1]!;
    }
    // 4. Each text's hits, counted in its own order (a repeated n-gram once), and its best item.
    const results: (Match | undefined)[] = new Array(count);
    const { start, stamps, postings, wholeHits, stemHits, touched } = this;
    for (let t = 0; t < count; t++) {
      let best: Match | undefined;
      const from = gramStart[t]!;
      const end = gramStart[t + 1]!;
      if (end > from) {
        const stamp = ++this.stamp;
        for (let p = from; p < end; p++) {
          const g = found[p]!;
          if (g < 0 || stamps[g] === stamp) continue;
          stamps[g] = stamp;
          const last = start[g + 1]!;
          for (let q = start[g]!; q < last; q++) {
            const posting = postings[q]!;
            const item = posting >>> 2;
            if (wholeHits[item] === 0 && stemHits[item] === 0) touched.push(item);
            if (posting & 1) wholeHits[item]!++;
            if (posting & 2) stemHits[item]!++;
          }
        }
        for (const item of touched) {
          const it = this.items[item]!;
          const whole = wholeHits[item]! / it.wholeGrams;
          const stem = it.stemGrams > 0 ? stemHits[item]! / it.stemGrams : 0;
          const coverage = Math.max(whole, stem);
          if (coverage >= threshold && (best === undefined || coverage > best.coverage)) {
            best = { item, coverage, scope: stem > whole ? 'stem' : 'item' };
          }
          wholeHits[item] = 0;
          stemHits[item] = 0;
        }
        touched.length = 0;
      }
      if (this.shortLengths.length > 0 && (best === undefined || best.coverage < 1)) {
        const short = this.findShort(batch.codes, unitStart[t]!, unitStart[t + 1]!);
        if (short !== undefined) best = { item: short, coverage: 1, scope: 'short' };
      }
      results[t] = best;
    }
    return results;
  }

  /** A short item appearing whole in `codes[from..end)`. */
  private findShort(codes: Uint16Array, from: number, end: number): number | undefined {
    for (const len of this.shortLengths) {
      for (let i = from; i + len <= end; i++) {
        const hit = this.short.get(wholeKey(codes, i, len));
        if (hit !== undefined) return hit[0];
      }
    }
    return undefined;
  }
}
