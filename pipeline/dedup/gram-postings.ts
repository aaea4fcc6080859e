/**
 * Inverted lists for the q-gram index, laid out for millions of keys. A token is an integer pair
 * (hi ≠ 0, lo) held in an open-addressing table whose slot also carries the list's bookkeeping (one
 * cache miss per token); a list of key ordinals is either a single ordinal kept inline (most tokens)
 * or a chain of blocks in large shared Int32Array pages, so a million keys cost a few hundred
 * typed-array allocations rather than millions of JS arrays. A token is named by its slot, which
 * stays valid until the next `append` (appends may grow the table).
 */

const PAGE_BITS = 20;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Block header: [address of next block, capacity]. */
const HEADER = 2;
/** Chains start small (most lists stay short) and double up to a cap. */
const FIRST_BLOCK = 4;
const MAX_BLOCK = 1024;
/** Slot record: [hi (0 = empty), lo, count, head block (or the only ordinal while count is 1), tail block, tail fill]. */
const SLOT = 6;
/** `hits` value marking an ordinal seen in this query but outside its length window. */
export const OUT_OF_WINDOW = 0xffff;

function hashPair(hi: number, lo: number): number {
  let h = Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

export class GramPostings {
  private slots = new Int32Array(1024 * SLOT);
  private slotMask = 1023;
  private tokens = 0;
  private readonly pages: Int32Array[] = [];
  private pageUsed = PAGE_SIZE;

  /** Number of distinct tokens. */
  get tokenCount(): number {
    return this.tokens;
  }

  /** Bytes held by the table and posting pages (for memory reports). */
  get bytes(): number {
    return (this.slots.length + this.pages.length * PAGE_SIZE) * 4;
  }

  /** The token (slot) of (hi, lo), or -1 when no key has it. `hi` must not be 0. */
  lookup(hi: number, lo: number): number {
    const slots = this.slots;
    const mask = this.slotMask;
    for (let s = hashPair(hi, lo) & mask; ; s = (s + 1) & mask) {
      const at = s * SLOT;
      const h = slots[at]!;
      if (h === 0) return -1;
      if (h === hi && slots[at + 1] === lo) return s;
    }
  }

  /** Number of ordinals in a token's list. */
  size(token: number): number {
    return this.slots[token * SLOT + 2]!;
  }

  /** Appends `ordinal` to the list of token (hi, lo), creating the token if needed. `hi` must not be 0. */
  append(hi: number, lo: number, ordinal: number): void {
    const at = this.intern(hi, lo) * SLOT;
    const slots = this.slots;
    const count = slots[at + 2]!;
    if (count === 0) {
      slots[at + 3] = ordinal;
    } else {
      if (count === 1) {
        const block = this.allocate(FIRST_BLOCK);
        this.pages[block >>> PAGE_BITS]![(block & PAGE_MASK) + HEADER] = slots[at + 3]!;
        slots[at + 3] = block;
        slots[at + 4] = block;
        slots[at + 5] = 1;
      }
      let tail = slots[at + 4]!;
      let page = this.pages[tail >>> PAGE_BITS]!;
      let off = tail & PAGE_MASK;
      const cap = page[off + 1]!;
      if (slots[at + 5] === cap) {
        const block = this.allocate(Math.min(cap * 2, MAX_BLOCK));
        // `allocate` may add a page but never moves one, so `page` still holds the old tail.
        page[off] = block;
        tail = block;
        slots[at + 4] = block;
        slots[at + 5] = 0;
        page = this.pages[tail >>> PAGE_BITS]!;
        off = tail & PAGE_MASK;
      }
      page[off + HEADER + slots[at + 5]!] = ordinal;
      slots[at + 5]!++;
    }
    slots[at + 2] = count + 1;
  }

  /**
   * One ScanCount step: for every ordinal in the token's list, count a hit in `hits` when its key's
   * length (from `lengths`; null when every key of the list is known to be in the window) is within
   * [minLength, maxLength]; ordinals seen for the first time are recorded in `touched` (so the caller
   * can reset `hits`), and ones outside the window are marked OUT_OF_WINDOW so their length is read
   * once. Returns the new number of touched ordinals.
   */
  accumulate(
    token: number,
    hits: Uint16Array,
    lengths: Int32Array | null,
    minLength: number,
    maxLength: number,
    touched: Int32Array,
    touchedCount: number,
  ): number {
    const at = token * SLOT;
    let remaining = this.slots[at + 2]!;
    let nt = touchedCount;
    if (remaining === 1) {
      return countHit(this.slots[at + 3]!, hits, lengths, minLength, maxLength, touched, nt);
    }
    let block = this.slots[at + 3]!;
    while (remaining > 0) {
      const page = this.pages[block >>> PAGE_BITS]!;
      const off = block & PAGE_MASK;
      const entries = Math.min(page[off + 1]!, remaining);
      const end = off + HEADER + entries;
      for (let e = off + HEADER; e < end; e++) {
        nt = countHit(page[e]!, hits, lengths, minLength, maxLength, touched, nt);
      }
      remaining -= entries;
      block = page[off]!;
    }
    return nt;
  }

  /**
   * A later ScanCount step that only counts ordinals already touched and in their window (others can no
   * longer reach the required hits), keeping `histogram[c]` = number of such ordinals with c hits.
   */
  accumulateTouched(token: number, hits: Uint16Array, histogram: Int32Array): void {
    const at = token * SLOT;
    let remaining = this.slots[at + 2]!;
    if (remaining === 1) {
      const ord = this.slots[at + 3]!;
      const h = hits[ord]!;
      if (h !== 0 && h !== OUT_OF_WINDOW) {
        hits[ord] = h + 1;
        histogram[h]!--;
        histogram[h + 1]!++;
      }
      return;
    }
    let block = this.slots[at + 3]!;
    while (remaining > 0) {
      const page = this.pages[block >>> PAGE_BITS]!;
      const off = block & PAGE_MASK;
      const entries = Math.min(page[off + 1]!, remaining);
      const end = off + HEADER + entries;
      for (let e = off + HEADER; e < end; e++) {
        const ord = page[e]!;
        const h = hits[ord]!;
        if (h !== 0 && h !== OUT_OF_WINDOW) {
          hits[ord] = h + 1;
          histogram[h]!--;
          histogram[h + 1]!++;
        }
      }
      remaining -= entries;
      block = page[off]!;
    }
  }

  /** The slot of (hi, lo), claimed if new. */
  private intern(hi: number, lo: number): number {
    let slots = this.slots;
    let mask = this.slotMask;
    let s = hashPair(hi, lo) & mask;
    for (; ; s = (s + 1) & mask) {
      const at = s * SLOT;
      const h = slots[at]!;
      if (h === 0) break;
      if (h === hi && slots[at + 1] === lo) return s;
    }
    // Keep the load below 0.6 so probe sequences (also of failed lookups, common in queries) stay short.
    if ((this.tokens + 1) * 5 > (mask + 1) * 3) {
      this.rehash((mask + 1) * 2);
      slots = this.slots;
      mask = this.slotMask;
      for (s = hashPair(hi, lo) & mask; slots[s * SLOT] !== 0; s = (s + 1) & mask);
    }
    this.tokens++;
    slots[s * SLOT] = hi;
    slots[s * SLOT + 1] = lo;
    return s;
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    const slots = new Int32Array(capacity * SLOT);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at] === 0) continue;
      let s = hashPair(old[at]!, old[at + 1]!) & mask;
      while (slots[s * SLOT] !== 0) s = (s + 1) & mask;
      slots.set(old.subarray(at, at + SLOT), s * SLOT);
    }
    this.slots = slots;
    this.slotMask = mask;
  }

  private allocate(capacity: number): number {
    if (this.pageUsed + HEADER + capacity > PAGE_SIZE) {
      this.pages.push(new Int32Array(PAGE_SIZE));
      this.pageUsed = 0;
    }
    const block = (this.pages.length - 1) * PAGE_SIZE + this.pageUsed;
    const page = this.pages[this.pages.length - 1]!;
    page[this.pageUsed] = -1;
    page[this.pageUsed + 1] = capacity;
    this.pageUsed += HEADER + capacity;
    return block;
  }
}

/**
 * Numbers repeated grams within one string: `next(code)` returns 1 for the first occurrence of a code,
 * 2 for the second, and so on, so that (occurrence, code) pairs turn a multiset into a set.
 */
export class OccurrenceCounter {
  private keys = new Int32Array(512);
  private counts = new Int32Array(512);
  private stamps = new Int32Array(512);
  private stamp = 0;

  /** Starts a new string of up to `grams` grams. */
  reset(grams: number): void {
    const needed = 2 * grams + 2;
    if (needed > this.keys.length) {
      let size = this.keys.length;
      while (size < needed) size *= 2;
      this.keys = new Int32Array(size);
      this.counts = new Int32Array(size);
      this.stamps = new Int32Array(size);
      this.stamp = 0;
    }
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  next(code: number): number {
    const mask = this.keys.length - 1;
    for (let s = hashPair(0, code) & mask; ; s = (s + 1) & mask) {
      if (this.stamps[s] !== this.stamp) {
        this.stamps[s] = this.stamp;
        this.keys[s] = code;
        this.counts[s] = 1;
        return 1;
      }
      if (this.keys[s] === code) return ++this.counts[s]!;
    }
  }
}

/** `accumulate` for one ordinal (small enough for V8 to inline into the loop). */
function countHit(
  ord: number,
  hits: Uint16Array,
  lengths: Int32Array | null,
  minLength: number,
  maxLength: number,
  touched: Int32Array,
  touchedCount: number,
): number {
  const h = hits[ord]!;
  if (h === 0) {
    touched[touchedCount++] = ord;
    if (lengths === null) hits[ord] = 1;
    else {
      const len = lengths[ord]!;
      hits[ord] = len < minLength || len > maxLength ? OUT_OF_WINDOW : 1;
    }
  } else if (h !== OUT_OF_WINDOW) {
    hits[ord] = h + 1;
  }
  return touchedCount;
}
