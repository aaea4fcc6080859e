/**
 * Exact near-duplicate index: the same answers as `BruteForceIndex` (match or not, best similarity,
 * and the id of the first-added key among the best), found through bigram postings instead of a
 * comparison with every key.
 *
 * Why it cannot miss. q is the query (n = |q|), x an indexed key (L = |x|), m = max(n, L), d =
 * lev(q, x), all in UTF-16 code units like `similarity()`; a surrogate pair is simply two units.
 *
 * 1. Exact edit budget. For m ≥ 1, similarity = fl(1 − fl(d/m)). Correctly rounded division and
 *    subtraction are monotone, so `1 − e/m ≥ T`, evaluated in doubles exactly as `similarity()` does,
 *    holds for e = 0..E(m) and fails above: sim ≥ T ⇔ d ≤ E(m). `maxEdits` finds E(m) by evaluating
 *    that very expression (floor((1 − T)·m) is only its first guess), so no epsilon is involved. Two
 *    empty keys have similarity 1: E(0) = 0 if 1 ≥ T, else −1. E(m) ≤ E(m + 1) ≤ E(m) + 1, both by
 *    the same monotonicity ((e − 1)/m ≤ e/(m + 1) for e ≤ m + 1).
 * 2. Length window. d ≥ |n − L|, so a match needs n − L ≤ E(n) for L ≤ n and L − n ≤ E(L) for
 *    L > n; as L − E(L) never decreases, the window is one interval [minL, maxL]. Postings are kept
 *    per length bucket, and each bucket ∩ window (a "class" [a, z]) is searched on its own, with
 *    budget E_c = E(max(n, z)), the largest in the class.
 * 3. Count plan. With B(s) the multiset of the |s| − 1 bigrams of s, take an optimal alignment: a
 *    bigram of x survives into q unless it holds a substituted or inserted unit (≤ 2 bigrams per such
 *    edit) or a deleted unit of q falls between its units (1 bigram), and survivors at distinct
 *    positions map to distinct positions of q. So |B(q) ∩ B(x)| ≥ L − 1 − 2d, likewise ≥ n − 1 − 2d:
 *    a match shares s(L) = m − 1 − 2E(m) bigrams or more. The j-th occurrence of bigram g in a key is
 *    token (j, g), whose list holds every key (of the bucket) with ≥ j copies of g, so the number of
 *    q's K = n − 1 tokens whose lists hold x is exactly |B(q) ∩ B(x)|. Scanning any P ≥ K − s_c + 1
 *    of them (s_c = min s(L) over the class; the shortest lists; a token with no list is free), a
 *    match is counted at least s(L) − (K − P) ≥ 1 times.
 * 4. Disjoint plan. Choose k ≥ E_c + 1 bigrams of q at positions sharing no unit. An edit breaks at
 *    most one of them (a substituted or deleted unit lies in at most one; an insertion sits between
 *    two adjacent units, inside at most one), so at least k − d survive intact, at distinct
 *    non-overlapping places of x. If c copies of g are chosen they are probed as tokens (1, g)…(c, g),
 *    which hold x min(c, copies of g in x) times ≥ the surviving copies. A match is counted at least
 *    k − E(m) ≥ 1 times. Each class uses whichever plan scans fewer entries (disjoint bigrams are
 *    taken shortest list first, with a DP when that leaves too few), and may scan further tokens,
 *    each raising the required count by one (for the disjoint plan, further disjoint bigrams).
 * 5. Fallback. A class where neither plan applies (s_c ≤ 0 and 2(E_c + 1) > n: short keys,
 *    thresholds near 0.5) is verified key by key, as are queries and keys longer than MAX_TOKENIZED
 *    (such keys are in no list). A class none of whose lists exist has no match (steps 3, 4).
 * 6. Verification. A candidate must pass: a 128-bit signature of its units (a unit value of x absent
 *    from q sits at an inserted or substituted place, so at most d distinct bits of x are missing from
 *    q's signature, and vice versa); the unit multiset intersection ≥ m − d (each copied unit is
 *    shared, and there are at least m − d); `boundedLevenshtein` with limit E(m), exact when d ≤ E(m).
 *    The similarity reported is `similarity()`'s value, 1 − d/m from that exact distance. Steps 2–6
 *    only drop keys with d > E(m), so every key with similarity ≥ T is verified; keeping the highest
 *    similarity, ties to the lowest insertion ordinal, reproduces brute force's first-best `>` scan.
 *    Once a best is known the limit becomes E computed for the best's similarity, which still admits
 *    every key that equals it.
 */
import { boundedLevenshtein } from './bounded-levenshtein.ts';
import { GramPostings, OccurrenceCounter, OUT_OF_WINDOW } from './gram-postings.ts';
import type { NearDupIndex, NearestMatch } from './index.ts';

/** Longest key that is tokenized; per-query hit counts then fit in a Uint16 (below OUT_OF_WINDOW). */
export const MAX_TOKENIZED = 0xfffe;

/** Posting entries scanned in about the time one candidate takes to check (measured, roughly). */
const SCAN_PER_CANDIDATE = 16;
/** Largest DP table (positions × chosen bigrams) for the disjoint plan's fallback search. */
const MAX_DP_CELLS = 1 << 22;
/** Per-key record in `records`: 4 signature words (128 bits), unit page, unit offset. */
const RECORD = 6;
const SIG_WORDS = 4;
/** Key code units live in pages of this many units (keys never straddle pages). */
const UNIT_PAGE = 1 << 22;

/** Length buckets: one per length below 24, then each a third wider than the previous lengths. */
const BUCKET_OF = new Uint16Array(MAX_TOKENIZED + 1);
const BUCKET_START: number[] = [];
const BUCKET_END: number[] = [];
for (let start = 0; start <= MAX_TOKENIZED; ) {
  const end = Math.min(MAX_TOKENIZED, start + (start < 24 ? 0 : Math.floor(start / 3)));
  BUCKET_OF.fill(BUCKET_START.length, start, end + 1);
  BUCKET_START.push(start);
  BUCKET_END.push(end);
  start = end + 1;
}

/**
 * E(m): the most edits two keys whose longer length is m may differ by and still be ≥ `threshold`
 * similar under `similarity()`, or -1 when none (threshold above 1 or NaN).
 */
export function maxEdits(m: number, threshold: number): number {
  if (m === 0) return 1 >= threshold ? 0 : -1;
  let e = Math.floor((1 - threshold) * m);
  if (!(e >= -1)) e = -1;
  if (e > m) e = m;
  while (e < m && 1 - (e + 1) / m >= threshold) e++;
  while (e >= 0 && !(1 - e / m >= threshold)) e--;
  return e;
}

/** Bigram code of the two UTF-16 units at i, i + 1. */
function bigramAt(s: string, i: number): number {
  return (s.charCodeAt(i) << 16) | s.charCodeAt(i + 1);
}

/** Token key: length bucket and occurrence number share the high word. */
function tokenHi(bucket: number, occurrence: number): number {
  return (bucket << 16) | occurrence;
}

function signatureBit(unit: number): number {
  return Math.imul(unit, 0x9e3779b1) >>> 25;
}

const POPCOUNT16 = new Uint8Array(0x10000);
for (let i = 1; i < 0x10000; i++) POPCOUNT16[i] = (i & 1) + POPCOUNT16[i >>> 1]!;

function popcount(v: number): number {
  return POPCOUNT16[v & 0xffff]! + POPCOUNT16[v >>> 16]!;
}

/** Sorts a[0..count) ascending: insertion sort for the usual few dozen, the built-in sort beyond. */
function sortPrefix(a: Float64Array, count: number): void {
  if (count > 80) {
    a.subarray(0, count).sort();
    return;
  }
  for (let i = 1; i < count; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

function grownInt32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** Counters of the work queries did, for benchmarks and tuning. */
export interface QueryStats {
  queries: number;
  /** Length classes searched through postings. */
  classes: number;
  /** Classes that used the disjoint plan. */
  disjointPlans: number;
  /** Classes verified key by key (no plan applied). */
  classScans: number;
  /** Posting entries scanned. */
  scanned: number;
  /** Keys that reached the signature check. */
  candidates: number;
  /** Keys that passed the signature check. */
  signaturePassed: number;
  /** Keys that reached the bounded Levenshtein. */
  verified: number;
}

export class QGramIndex implements NearDupIndex {
  private count = 0;
  private ids = new Float64Array(1024);
  private lengths = new Int32Array(1024);
  private records = new Int32Array(1024 * RECORD);
  /** Code units of the keys, packed; typed pages keep a million keys out of the garbage collector's way. */
  private readonly unitPages: Uint16Array[] = [];
  private unitUsed = UNIT_PAGE;
  /** Keys longer than MAX_TOKENIZED, kept as strings. */
  private readonly longKeys = new Map<number, string>();
  /** Ordinals by key length, for classes verified key by key. */
  private readonly byLength = new Map<number, number[]>();
  /** Ordinals of keys longer than MAX_TOKENIZED (in no list). */
  private readonly untokenized: number[] = [];
  private maxLength = 0;
  private readonly postings = new GramPostings();
  private readonly occurrences = new OccurrenceCounter();

  // Per-query scratch, reused so that a query allocates nothing in proportion to the index.
  private hits = new Uint16Array(1024);
  private touched = new Int32Array(1024);
  private readonly unitCounts = new Int32Array(0x10000);
  private readonly unitUndo: number[] = [];
  private budgets = new Int32Array(256);
  private required = new Int32Array(256);
  private histogram = new Int32Array(256);
  private codes = new Int32Array(256);
  private occ = new Int32Array(256);
  private sizes = new Int32Array(256);
  private tokenIds = new Int32Array(256);
  private order = new Float64Array(256);
  private planTokens = new Int32Array(256);
  private positions = new Int32Array(256);
  private covered = new Uint8Array(256);
  private dpRows = new Float64Array(3 * 256);
  private dpTook = new Uint8Array(1024);
  private dpCost = new Float64Array(256);

  readonly stats: QueryStats = {
    queries: 0,
    classes: 0,
    disjointPlans: 0,
    classScans: 0,
    scanned: 0,
    candidates: 0,
    signaturePassed: 0,
    verified: 0,
  };

  /** Builds an index holding `entries` in iteration order (the order decides ties). */
  static from(entries: Iterable<{ key: string; id: number }>): QGramIndex {
    const index = new QGramIndex();
    for (const { key, id } of entries) index.add(key, id);
    return index;
  }

  get size(): number {
    return this.count;
  }

  /** Distinct tokens and bytes held by the postings, for memory reports. */
  get footprint(): { tokens: number; postingBytes: number } {
    return { tokens: this.postings.tokenCount, postingBytes: this.postings.bytes };
  }

  add(key: string, id: number): void {
    const ord = this.count++;
    const n = key.length;
    if (ord >= this.lengths.length) {
      const size = this.lengths.length * 2;
      this.lengths = grownInt32(this.lengths, size);
      this.records = grownInt32(this.records, size * RECORD);
      const ids = new Float64Array(size);
      ids.set(this.ids);
      this.ids = ids;
      const hits = new Uint16Array(size);
      hits.set(this.hits);
      this.hits = hits;
      this.touched = new Int32Array(size);
    }
    this.ids[ord] = id;
    this.lengths[ord] = n;
    const rec = ord * RECORD;
    for (let i = 0; i < n; i++) {
      const bit = signatureBit(key.charCodeAt(i));
      this.records[rec + (bit >>> 5)]! |= 1 << (bit & 31);
    }
    if (n > MAX_TOKENIZED) this.longKeys.set(ord, key);
    else {
      if (this.unitPages.length === 0 || this.unitUsed + n > UNIT_PAGE) {
        this.unitPages.push(new Uint16Array(UNIT_PAGE));
        this.unitUsed = 0;
      }
      const page = this.unitPages[this.unitPages.length - 1]!;
      for (let i = 0; i < n; i++) page[this.unitUsed + i] = key.charCodeAt(i);
      this.records[rec + SIG_WORDS] = this.unitPages.length - 1;
      this.records[rec + SIG_WORDS + 1] = this.unitUsed;
      this.unitUsed += n;
    }
    if (n > this.maxLength) this.maxLength = n;
    const sameLength = this.byLength.get(n);
    if (sameLength) sameLength.push(ord);
    else this.byLength.set(n, [ord]);

    if (n > MAX_TOKENIZED) {
      this.untokenized.push(ord);
      return;
    }
    const bucket = BUCKET_OF[n]!;
    this.occurrences.reset(n);
    for (let i = 0; i + 1 < n; i++) {
      const code = bigramAt(key, i);
      this.postings.append(tokenHi(bucket, this.occurrences.next(code)), code, ord);
    }
  }

  findNearDuplicate(key: string, threshold: number): NearestMatch | undefined {
    return this.search(key, threshold, false);
  }

  /**
   * Some key with similarity ≥ threshold (not necessarily the nearest), or undefined when there is
   * none: the same yes/no as findNearDuplicate, stopping at the first key verified. For callers that
   * only keep or drop (`dedup` without a rejection report).
   */
  findAnyNearDuplicate(key: string, threshold: number): NearestMatch | undefined {
    return this.search(key, threshold, true);
  }

  private search(key: string, threshold: number, firstMatch: boolean): NearestMatch | undefined {
    this.stats.queries++;
    if (this.count === 0) return undefined;
    const n = key.length;
    const ownBudget = maxEdits(n, threshold);
    if (ownBudget < 0) return undefined; // threshold above 1 (or NaN): nothing can match
    const minLength = n - ownBudget;
    let maxLength = n;
    while (maxLength < this.maxLength && maxLength + 1 - n <= maxEdits(maxLength + 1, threshold)) maxLength++;

    // budgets[m − n] = E(m) for m in [n, maxLength]; m = max(n, L) is never below n.
    const span = maxLength - n + 1;
    if (this.budgets.length < span) this.budgets = new Int32Array(span * 2);
    for (let m = n; m <= maxLength; m++) this.budgets[m - n] = maxEdits(m, threshold);

    const search = new Search(key, this.budgets, firstMatch);
    if (n > MAX_TOKENIZED) {
      for (let len = minLength; len <= maxLength && !search.done; len++) this.verifyLength(search, len);
    } else {
      this.prepareQuery(key);
      const lastBucket = BUCKET_OF[Math.min(maxLength, MAX_TOKENIZED)]!;
      for (let b = BUCKET_OF[minLength]!; b <= lastBucket && !search.done; b++) {
        this.searchClass(search, b, Math.max(minLength, BUCKET_START[b]!), Math.min(maxLength, BUCKET_END[b]!));
      }
      for (const ord of this.untokenized) {
        if (search.done) break;
        const len = this.lengths[ord]!;
        if (len >= minLength && len <= maxLength) this.verify(search, ord);
      }
    }
    this.clearUnitCounts(search);
    if (search.bestOrd < 0) return undefined;
    return { id: this.ids[search.bestOrd]!, similarity: search.bestSimilarity };
  }

  /** The query's bigram codes and their occurrence numbers, shared by all classes. */
  private prepareQuery(key: string): void {
    const tokenCount = Math.max(0, key.length - 1);
    if (this.codes.length < tokenCount + 2) {
      const size = 2 * tokenCount + 2;
      this.codes = new Int32Array(size);
      this.occ = new Int32Array(size);
      this.sizes = new Int32Array(size);
      this.tokenIds = new Int32Array(size);
      this.order = new Float64Array(size);
      this.dpCost = new Float64Array(size);
      this.planTokens = new Int32Array(size);
      this.positions = new Int32Array(size);
      this.covered = new Uint8Array(size + 2);
      this.histogram = new Int32Array(size + 2);
    }
    this.occurrences.reset(tokenCount);
    for (let i = 0; i < tokenCount; i++) {
      const code = bigramAt(key, i);
      this.codes[i] = code;
      this.occ[i] = this.occurrences.next(code);
    }
  }

  /** Steps 3–5 for the keys of one length bucket whose lengths are in [a, z]. */
  private searchClass(search: Search, bucket: number, a: number, z: number): void {
    const n = search.key.length;
    const tokenCount = n - 1;
    const budgets = search.budgets;
    const budgetAt = (len: number): number => budgets[Math.max(n, len) - n]!;
    const classBudget = budgetAt(z);
    let leastShared = Infinity;
    for (let len = a; len <= z; len++) leastShared = Math.min(leastShared, Math.max(n, len) - 1 - 2 * budgetAt(len));
    const pick = classBudget + 1;
    const countPlan = leastShared >= 1;
    const disjointPlan = 2 * pick <= n; // bigrams at 0, 2, 4, … always fit
    if (!countPlan && !disjointPlan) {
      this.stats.classScans++;
      for (let len = a; len <= z; len++) this.verifyLength(search, len);
      return;
    }
    this.stats.classes++;

    const sizes = this.sizes;
    const tokenIds = this.tokenIds;
    const codes = this.codes;
    const occ = this.occ;
    let allEmpty = true;
    for (let i = 0; i < tokenCount; i++) {
      const t = this.postings.lookup(tokenHi(bucket, occ[i]!), codes[i]!);
      tokenIds[i] = t;
      sizes[i] = t < 0 ? 0 : this.postings.size(t);
      if (t >= 0) allEmpty = false;
    }
    if (allEmpty) return; // no key of the bucket shares a bigram with q, so none can match (steps 3, 4)

    // One ordering of the query's tokens by list size serves both plans.
    const order = this.order;
    for (let i = 0; i < tokenCount; i++) order[i] = sizes[i]! * 0x10000 + i;
    sortPrefix(order, tokenCount);

    // Count plan: the K − s_c + 1 shortest lists.
    let countCost = Infinity;
    if (countPlan) {
      countCost = 0;
      for (let p = 0; p < tokenCount - leastShared + 1; p++) countCost += sizes[order[p]! % 0x10000]!;
    }
    // Disjoint plan: shortest lists first, skipping bigrams that share a unit with one already taken;
    // the ones after the first `pick` are the optional further lists. If that runs out before `pick`,
    // a DP finds a set when one exists.
    let disjointCost = Infinity;
    let picked = 0;
    if (disjointPlan) {
      const covered = this.covered;
      const positions = this.positions;
      covered.fill(0, 0, n + 1);
      let cost = 0;
      for (let p = 0; p < tokenCount; p++) {
        const i = order[p]! % 0x10000;
        if (covered[i] !== 0 || covered[i + 1] !== 0) continue;
        covered[i] = 1;
        covered[i + 1] = 1;
        if (picked < pick) cost += sizes[i]!;
        positions[picked++] = i;
      }
      if (picked >= pick) disjointCost = cost;
      else if ((n + 1) * (pick + 1) <= MAX_DP_CELLS) {
        disjointCost = this.cheapestDisjoint(bucket, tokenCount, pick);
        picked = -1; // positions come from the DP
      }
    }
    if (countCost === Infinity && disjointCost === Infinity) {
      this.stats.classScans++;
      for (let len = a; len <= z; len++) this.verifyLength(search, len);
      return;
    }

    const planTokens = this.planTokens;
    let mandatory: number;
    let planned: number;
    if (this.required.length < z - a + 1) this.required = new Int32Array(2 * (z - a + 1));
    if (countCost <= disjointCost) {
      mandatory = tokenCount - leastShared + 1;
      planned = tokenCount;
      for (let p = 0; p < tokenCount; p++) planTokens[p] = tokenIds[order[p]! % 0x10000]!;
      // h(L) = s(L) − (K − P) with P = mandatory + extra lists.
      for (let len = a; len <= z; len++) {
        this.required[len - a] = Math.max(n, len) - 1 - 2 * budgetAt(len) - (tokenCount - mandatory);
      }
    } else {
      this.stats.disjointPlans++;
      if (picked < 0) planned = this.disjointTokens(bucket, tokenCount, pick);
      else {
        // Copies of a bigram are numbered 1, 2, … in the order they were taken (step 4).
        this.occurrences.reset(tokenCount);
        for (let p = 0; p < picked; p++) {
          const i = this.positions[p]!;
          planTokens[p] = this.tokenFor(bucket, i, this.occurrences.next(codes[i]!));
        }
        planned = picked;
      }
      mandatory = pick;
      // h(L) = k − E(m) with k = pick + extra bigrams.
      for (let len = a; len <= z; len++) this.required[len - a] = pick - budgetAt(len);
    }
    const wholeBucket = a === BUCKET_START[bucket] && z === BUCKET_END[bucket];
    this.scanAndVerify(search, a, z, wholeBucket, mandatory, planned);
  }

  /**
   * Fills order[0..pick) with the positions of `pick` bigrams sharing no unit whose lists (first
   * occurrence, in this bucket) are shortest in total, and returns that total. DP over prefixes:
   * best[i][j] = cheapest j bigrams within units [0, i).
   */
  private cheapestDisjoint(bucket: number, tokenCount: number, pick: number): number {
    const n = tokenCount + 1;
    const width = pick + 1;
    if (this.dpRows.length < 3 * width) this.dpRows = new Float64Array(6 * width);
    if (this.dpTook.length < (n + 1) * width) this.dpTook = new Uint8Array(2 * (n + 1) * width);
    const rows = this.dpRows;
    const took = this.dpTook;
    // cost[i]: list size of the bigram at i as a first occurrence (what tokens (1, g)… cost at most).
    const cost = this.dpCost;
    for (let i = 0; i < tokenCount; i++) {
      if (this.occ[i] === 1) cost[i] = this.sizes[i]!;
      else {
        const t = this.postings.lookup(tokenHi(bucket, 1), this.codes[i]!);
        cost[i] = t < 0 ? 0 : this.postings.size(t);
      }
    }
    // Three rolling rows: i − 2, i − 1, i.
    let r2 = 0;
    let r1 = width;
    let r0 = 2 * width;
    for (let j = 0; j < width; j++) {
      rows[r2 + j] = j === 0 ? 0 : Infinity; // i = 0
      rows[r1 + j] = j === 0 ? 0 : Infinity; // i = 1
    }
    took.fill(0, 0, (n + 1) * width);
    for (let i = 2; i <= n; i++) {
      const c = cost[i - 2]!;
      rows[r0] = 0;
      for (let j = 1; j < width; j++) {
        const skip = rows[r1 + j]!;
        const take = rows[r2 + j - 1]! + c;
        if (take < skip) {
          rows[r0 + j] = take;
          took[i * width + j] = 1;
        } else rows[r0 + j] = skip;
      }
      const spare = r2;
      r2 = r1;
      r1 = r0;
      r0 = spare;
    }
    const total = rows[r1 + pick]!;
    if (total === Infinity) return Infinity;
    // Walk back to the chosen positions; mark the units they cover.
    const covered = this.covered;
    covered.fill(0, 0, n + 1);
    let chosen = 0;
    for (let i = n, j = pick; j > 0; ) {
      if (took[i * width + j] === 1) {
        this.planTokens[chosen++] = i - 2;
        covered[i - 2] = 1;
        covered[i - 1] = 1;
        i -= 2;
        j--;
      } else i--;
    }
    return total;
  }

  /**
   * After the DP: turns the disjoint positions in planTokens[0..pick) into tokens, then appends further
   * positions disjoint from all chosen ones, cheapest first (each raises the required count by one).
   * Copies of a bigram are numbered 1, 2, … in choice order (step 4). Returns the number planned.
   */
  private disjointTokens(bucket: number, tokenCount: number, pick: number): number {
    const planTokens = this.planTokens;
    const covered = this.covered;
    const order = this.order;
    this.occurrences.reset(tokenCount);
    for (let p = 0; p < pick; p++) {
      const i = planTokens[p]!;
      planTokens[p] = this.tokenFor(bucket, i, this.occurrences.next(this.codes[i]!));
    }
    let count = 0;
    for (let i = 0; i < tokenCount; i++) {
      if (covered[i] === 0 && covered[i + 1] === 0) order[count++] = this.sizes[i]! * 0x10000 + i;
    }
    const extra = order.subarray(0, count).sort();
    let planned = pick;
    for (let e = 0; e < count; e++) {
      const i = extra[e]! % 0x10000;
      if (covered[i] !== 0 || covered[i + 1] !== 0) continue;
      covered[i] = 1;
      covered[i + 1] = 1;
      planTokens[planned++] = this.tokenFor(bucket, i, this.occurrences.next(this.codes[i]!));
    }
    return planned;
  }

  /** Token (occurrence, bigram at i) of the bucket; the class's lookup already has the usual case. */
  private tokenFor(bucket: number, i: number, occurrence: number): number {
    if (occurrence === this.occ[i]) return this.tokenIds[i]!;
    return this.postings.lookup(tokenHi(bucket, occurrence), this.codes[i]!);
  }

  /**
   * ScanCount over planTokens: the first `mandatory` lists in full, then further lists (counting only
   * keys already touched) while they are cheap next to the candidates they may prune; then verifies
   * every key of [a, z] with at least required[L − a] + (extra lists) hits. `wholeBucket`: the class
   * is the whole bucket, so no length needs checking.
   */
  private scanAndVerify(search: Search, a: number, z: number, wholeBucket: boolean, mandatory: number, planned: number): void {
    const lengthsToCheck = wholeBucket ? null : this.lengths;
    const hits = this.hits;
    const touched = this.touched;
    const planTokens = this.planTokens;
    let touchedCount = 0;
    for (let p = 0; p < mandatory; p++) {
      const t = planTokens[p]!;
      if (t < 0) continue;
      this.stats.scanned += this.postings.size(t);
      touchedCount = this.postings.accumulate(t, hits, lengthsToCheck, a, z, touched, touchedCount);
    }
    let extra = 0;
    if (mandatory < planned && touchedCount > 0) {
      let need = Infinity;
      for (let len = a; len <= z; len++) need = Math.min(need, this.required[len - a]!);
      const histogram = this.histogram;
      let candidates = 0;
      for (let i = 0; i < touchedCount; i++) {
        const h = hits[touched[i]!]!;
        if (h !== OUT_OF_WINDOW) {
          histogram[h]!++;
          if (h >= need) candidates++;
        }
      }
      for (let p = mandatory; p < planned && candidates > 0; p++) {
        const t = planTokens[p]!;
        if (t >= 0) {
          // A token with no list in this bucket raises the bar for free.
          const size = this.postings.size(t);
          if (size > SCAN_PER_CANDIDATE * candidates) break;
          this.stats.scanned += size;
          this.postings.accumulateTouched(t, hits, histogram);
        }
        extra++;
        candidates -= histogram[need]!;
        need++;
      }
      histogram.fill(0, 0, mandatory + extra + 2);
    }
    const required = this.required;
    const lengths = this.lengths;
    let least = Infinity;
    for (let len = a; len <= z; len++) least = Math.min(least, required[len - a]!);
    least += extra;
    for (let i = 0; i < touchedCount; i++) {
      const ord = touched[i]!;
      const h = hits[ord]!;
      hits[ord] = 0;
      // Most keys fall short of even the least requirement; their length need not be read. Every hit
      // count is cleared, even after a first match ends the search.
      if (h >= least && h !== OUT_OF_WINDOW && !search.done && h >= required[lengths[ord]! - a]! + extra) this.verify(search, ord);
    }
  }

  private verifyLength(search: Search, len: number): void {
    const ords = this.byLength.get(len);
    if (ords === undefined) return;
    for (const ord of ords) {
      if (search.done) return;
      this.verify(search, ord);
    }
  }

  /** Step 6 for one key. */
  private verify(search: Search, ord: number): void {
    const key = search.key;
    const n = key.length;
    const len = this.lengths[ord]!;
    const m = Math.max(n, len);
    let limit = search.budgets[m - n]!;
    if (search.bestOrd >= 0) limit = Math.min(limit, maxEdits(m, search.bestSimilarity));
    if (limit < 0 || Math.abs(n - len) > limit) return;
    this.stats.candidates++;
    const records = this.records;
    const rec = ord * RECORD;
    const qs = search.signature;
    let missingFromQuery = 0;
    let missingFromKey = 0;
    for (let w = 0; w < SIG_WORDS; w++) {
      missingFromQuery += popcount(records[rec + w]! & ~qs[w]!);
      missingFromKey += popcount(qs[w]! & ~records[rec + w]!);
    }
    if (missingFromQuery > limit || missingFromKey > limit) return;
    this.stats.signaturePassed++;
    if (len <= MAX_TOKENIZED && this.sharedUnits(search, ord, len, m - limit) < m - limit) return;
    this.stats.verified++;
    const other = this.keyAt(ord);
    const d = boundedLevenshtein(key, other, limit);
    if (d > limit) return;
    // d is exact here, so this is `similarity(key, other)` without a second full distance.
    const s = m === 0 ? 1 : 1 - d / m;
    if (s > search.bestSimilarity || (s === search.bestSimilarity && ord < search.bestOrd)) {
      search.bestSimilarity = s;
      search.bestOrd = ord;
    }
    if (search.firstMatch) search.done = true;
  }

  /** The key stored under an ordinal. */
  private keyAt(ord: number): string {
    const len = this.lengths[ord]!;
    if (len > MAX_TOKENIZED) return this.longKeys.get(ord)!;
    const rec = ord * RECORD;
    const off = this.records[rec + SIG_WORDS + 1]!;
    const units = this.unitPages[this.records[rec + SIG_WORDS]!]!.subarray(off, off + len);
    return String.fromCharCode.apply(null, units as unknown as number[]);
  }

  /** Size of the multiset intersection of the query's code units with a stored key's, counted up to `enough`. */
  private sharedUnits(search: Search, ord: number, len: number, enough: number): number {
    const counts = this.unitCounts;
    if (!search.unitsCounted) {
      for (let i = 0; i < search.key.length; i++) counts[search.key.charCodeAt(i)]!++;
      search.unitsCounted = true;
    }
    const rec = ord * RECORD;
    const page = this.unitPages[this.records[rec + SIG_WORDS]!]!;
    const off = this.records[rec + SIG_WORDS + 1]!;
    const undo = this.unitUndo;
    let shared = 0;
    for (let i = off, end = off + len; i < end && shared < enough; i++) {
      const c = page[i]!;
      if (counts[c]! > 0) {
        counts[c]!--;
        undo.push(c);
        shared++;
      }
    }
    for (const c of undo) counts[c]!++;
    undo.length = 0;
    return shared;
  }

  private clearUnitCounts(search: Search): void {
    if (!search.unitsCounted) return;
    for (let i = 0; i < search.key.length; i++) this.unitCounts[search.key.charCodeAt(i)] = 0;
  }
}

/** State of one query. */
class Search {
  bestOrd = -1;
  bestSimilarity = -Infinity;
  unitsCounted = false;
  /** Set once a key is verified when any match will do: nothing more is verified. */
  done = false;
  readonly signature = new Int32Array(SIG_WORDS);
  constructor(
    readonly key: string,
    /** budgets[m − key.length] = E(m). */
    readonly budgets: Int32Array,
    /** Stop at the first key verified (findAnyNearDuplicate). */
    readonly firstMatch: boolean,
  ) {
    for (let i = 0; i < key.length; i++) {
      const bit = signatureBit(key.charCodeAt(i));
      this.signature[bit >>> 5]! |= 1 << (bit & 31);
    }
  }
}

/** Builds the index the pipeline uses from existing keys (seeds, accepted and imported tasks). */
export function buildIndex(entries: Iterable<{ key: string; id: number }>): QGramIndex {
  return QGramIndex.from(entries);
}
