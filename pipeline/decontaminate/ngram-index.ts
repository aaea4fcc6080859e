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
 * Layout, for millions of lookups: every n-gram is a 32-bit hash; one open-addressing table maps a hash
 * to a run of postings (item × 4 + in-whole bit + in-stem bit) in one Int32Array. A task's repeated
 * n-grams count once, by stamping the table slot. Hash collisions can only add a stray hit now and then,
 * far below the half of an item's n-grams a match needs.
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

export class IndexBuilder {
  private readonly keys = new Growable();
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
    this.keys.push(key);
    this.postings.push(posting);
  }

  build(): BenchmarkIndex {
    // A stem several items share ("下列说法正确的是") says nothing about which item a task copied.
    for (let i = 0; i < this.items.length; i++) {
      const stem = this.stems[i];
      if (stem !== null && stem !== undefined && (this.stemCount.get(stem) ?? 0) > 1) this.items[i]!.stemGrams = 0;
    }
    return new BenchmarkIndex(this.normalizer, this.params, this.items, this.keys, this.postings, this.short, [...this.shortLengths]);
  }
}

export class BenchmarkIndex {
  private readonly mask: number;
  private readonly slotKeys: Int32Array;
  private readonly slotStart: Int32Array;
  private readonly slotCount: Int32Array;
  private readonly stamps: Int32Array;
  private readonly postings: Int32Array;
  private stamp = 0;
  private readonly wholeHits: Int32Array;
  private readonly stemHits: Int32Array;
  private readonly touched: number[] = [];
  /** Distinct n-grams in the index, and how many are too common to look up. */
  readonly grams: number;
  readonly commonGrams: number;

  constructor(
    private readonly normalizer: Normalizer,
    readonly params: IndexParams,
    readonly items: readonly IndexedItem[],
    keys: Growable,
    postings: Growable,
    private readonly short: ReadonlyMap<number, number[]>,
    private readonly shortLengths: readonly number[],
  ) {
    let cap = 16;
    while (cap < keys.length * 2) cap *= 2;
    this.mask = cap - 1;
    this.slotKeys = new Int32Array(cap);
    this.slotCount = new Int32Array(cap);
    this.slotStart = new Int32Array(cap);
    this.stamps = new Int32Array(cap);
    const slotOf = new Int32Array(keys.length);
    let grams = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys.data[i]!;
      let s = key & this.mask;
      while (this.slotKeys[s] !== 0 && this.slotKeys[s] !== key) s = (s + 1) & this.mask;
      if (this.slotKeys[s] === 0) {
        this.slotKeys[s] = key;
        grams++;
      }
      this.slotCount[s]!++;
      slotOf[i] = s;
    }
    let common = 0;
    let offset = 0;
    for (let s = 0; s < cap; s++) {
      if (this.slotCount[s]! > params.maxPostings) {
        this.slotCount[s] = 0;
        common++;
      }
      this.slotStart[s] = offset;
      offset += this.slotCount[s]!;
    }
    this.postings = new Int32Array(offset);
    const fill = new Int32Array(cap);
    for (let i = 0; i < keys.length; i++) {
      const s = slotOf[i]!;
      if (this.slotCount[s] === 0) continue;
      this.postings[this.slotStart[s]! + fill[s]!++] = postings.data[i]!;
    }
    this.grams = grams;
    this.commonGrams = common;
    this.wholeHits = new Int32Array(items.length);
    this.stemHits = new Int32Array(items.length);
  }

  /** The item the text overlaps most, if its coverage reaches `threshold`. */
  match(text: string, threshold: number): Match | undefined {
    return this.matchCodes(this.normalizer.codes(text), threshold);
  }

  matchCodes(text: NormalizedCodes, threshold: number): Match | undefined {
    const { codes, length } = text;
    const { n } = this.params;
    let best: Match | undefined;
    if (length >= n) {
      const stamp = ++this.stamp;
      // forEachGram inlined: this loop runs for every character of every task checked.
      let pow = 1;
      for (let i = 1; i < n; i++) pow = Math.imul(pow, SEED);
      let h = 0;
      for (let i = 0; i < n - 1; i++) h = (Math.imul(h, SEED) + codes[i]!) | 0;
      const { slotKeys, slotStart, slotCount, stamps, postings, wholeHits, stemHits, touched, mask } = this;
      for (let i = n - 1; i < length; i++) {
        if (i >= n) h = (h - Math.imul(codes[i - n]!, pow)) | 0;
        h = (Math.imul(h, SEED) + codes[i]!) | 0;
        const key = mix(h);
        let s = key & mask;
        let k = slotKeys[s]!;
        while (k !== key && k !== 0) {
          s = (s + 1) & mask;
          k = slotKeys[s]!;
        }
        if (k === 0 || stamps[s] === stamp) continue;
        stamps[s] = stamp;
        const end = slotStart[s]! + slotCount[s]!;
        for (let p = slotStart[s]!; p < end; p++) {
          const posting = postings[p]!;
          const item = posting >>> 2;
          if (wholeHits[item] === 0 && stemHits[item] === 0) touched.push(item);
          if (posting & 1) wholeHits[item]!++;
          if (posting & 2) stemHits[item]!++;
        }
      }
      for (const item of this.touched) {
        const it = this.items[item]!;
        const whole = this.wholeHits[item]! / it.wholeGrams;
        const stem = it.stemGrams > 0 ? this.stemHits[item]! / it.stemGrams : 0;
        const coverage = Math.max(whole, stem);
        if (coverage >= threshold && (best === undefined || coverage > best.coverage)) {
          best = { item, coverage, scope: stem > whole ? 'stem' : 'item' };
        }
        this.wholeHits[item] = 0;
        this.stemHits[item] = 0;
      }
      this.touched.length = 0;
    }
    if (best === undefined || best.coverage < 1) {
      const found = this.findShort(codes, length);
      if (found !== undefined) best = { item: found, coverage: 1, scope: 'short' };
    }
    return best;
  }

  private findShort(codes: Uint16Array, length: number): number | undefined {
    for (const len of this.shortLengths) {
      for (let i = 0; i + len <= length; i++) {
        const hit = this.short.get(wholeKey(codes, i, len));
        if (hit !== undefined) return hit[0];
      }
    }
    return undefined;
  }
}
