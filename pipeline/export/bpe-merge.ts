/**
 * Byte-pair merges on integer symbols, the rule of @lenml/tokenizers' BPE.bpe: repeatedly merge the
 * adjacent pair with the lowest merge rank, the leftmost on ties (a later duplicate of a merge wins, as in
 * the library's Map of ranks). Symbols are the strings the library would build, numbered once, so
 * a merge is a table lookup instead of JSON.stringify of a pair of strings; bpe-count.ts counts with it
 * and hf-tokenizer.ts's fastMerge patches the library's own merge with it.
 */

/** Numbered symbols and the merge over them; `seed` strings take the first numbers (bytes 0–255 for byte-level). */
export function buildMerges(
  merges: readonly (readonly [string, string])[],
  seed: readonly string[],
): { symbolOf: Map<string, number>; names: string[]; merge: PairMerge } | string {
  const symbolOf = new Map<string, number>();
  const names: string[] = [];
  const intern = (s: string): number => {
    let id = symbolOf.get(s);
    if (id === undefined) {
      id = names.length;
      symbolOf.set(s, id);
      names.push(s);
    }
    return id;
  };
  for (const s of seed) {
    if (symbolOf.has(s)) return `two seed symbols are one string (${s})`;
    intern(s);
  }
  const table = new PairTable(merges.length);
  const resultOf = new Int32Array(merges.length);
  for (let rank = 0; rank < merges.length; rank++) {
    const [a, b] = merges[rank]!;
    if (typeof a !== 'string' || typeof b !== 'string') return 'unknown library layout (merges)';
    // A later duplicate of a pair overrides the earlier rank, as in the library's Map.
    table.set(intern(a), intern(b), rank);
    resultOf[rank] = intern(a + b);
  }
  return { symbolOf, names, merge: new PairMerge(table, resultOf) };
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
export class PairMerge {
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

  private scanned = 0;

  /** How many symbols `input[0..n)` merges into; `symbols()` then lists them. */
  count(input: Uint8Array | Int32Array, n: number): number {
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
    if (n <= SCAN_UP_TO) return (this.scanned = this.scan(input, n));
    this.scanned = -1;
    return this.heapCount(input, n);
  }

  /** The symbols the last `count` merged into, in order. */
  symbols(): number[] {
    const out: number[] = [];
    if (this.scanned >= 0) for (let i = 0; i < this.scanned; i++) out.push(this.sym[i]!);
    else for (let i = 0; i >= 0; i = this.next[i]!) out.push(this.sym[i]!);
    return out;
  }

  /**
   * For short pre-tokens (most of them) a linear scan for the lowest rank beats the heap: the arrays
   * stay in cache and a merge shifts a few entries. Same rule: lowest rank, leftmost on ties.
   */
  private scan(bytes: Uint8Array | Int32Array, n: number): number {
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

  private heapCount(bytes: Uint8Array | Int32Array, n: number): number {
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
