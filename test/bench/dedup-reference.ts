/**
 * An independent exact reference for `dedup`, the baseline of `bench:dedup`'s whole-command row. It
 * imports nothing from pipeline/: the rule is written again here from its definition, and the filters
 * are the textbook ones, so a bug shared with the project's index cannot hide.
 *
 *   node dedup-reference.mjs --in data.jsonl --out kept.jsonl [--similarity 0.7]
 *
 * The rule (as dedupKey / similarity define it): a record's key is its instruction and then its input
 * (an input that is only a "no input" marker counts as empty), each NFKC-normalised, lower-cased, with
 * all whitespace removed; two keys are near-duplicates when 1 − levenshtein / longer length (UTF-16
 * units) ≥ T. Records are taken in order; one is kept unless it is a near-duplicate of a kept one. Kept
 * records are written as JSON lines, in order.
 *
 * The filters: a length filter (|la − lb| ≤ d), a q-gram prefix filter (two strings within edit distance
 * k share at least max(|Ga|, |Gb|) − q·k q-grams, counted as multisets, so under one global order of
 * the grams their prefixes of length q·k + 1 meet; pairs where that bound is ≤ 0 are compared directly),
 * then a Levenshtein distance bounded by k, computed in a diagonal band.
 */
import fs from 'node:fs';

/** Inputs that mean "no input", compared trimmed and lower-cased (before and after NFKC). */
const NO_INPUT = new Set([
  '<无输入>',
  '＜无输入＞',
  '无输入',
  '无',
  '(无)',
  '（无）',
  '空',
  '<空>',
  '<noinput>',
  'noinput',
  'none',
  'n/a',
  'null',
  '<none>',
  '-',
]);

function norm(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/gu, '');
}

function keyOf(record: { instruction?: unknown; input?: unknown }): string {
  const instruction = typeof record.instruction === 'string' ? record.instruction : '';
  const rawInput = typeof record.input === 'string' ? record.input : '';
  const t = rawInput.trim().toLowerCase();
  const empty = NO_INPUT.has(t) || NO_INPUT.has(rawInput.normalize('NFKC').trim().toLowerCase());
  return norm(instruction) + (empty ? '' : norm(rawInput));
}

/** The largest edit distance at which two keys whose longer one has m units are still near-duplicates. */
function maxDistance(m: number, threshold: number): number {
  if (m === 0) return 0;
  let d = Math.min(m, Math.floor(m * (1 - threshold)) + 2);
  while (d >= 0 && !(1 - d / m >= threshold)) d--;
  return d; // −1: not even identical strings (cannot happen for threshold ≤ 1)
}

/** Levenshtein distance of a and b if it is ≤ k, else k + 1 (a band of width 2k + 1 around the diagonal). */
function boundedDistance(a: string, b: string, k: number, rowA: Int32Array, rowB: Int32Array): number {
  const la = a.length;
  const lb = b.length;
  const big = k + 1;
  if (Math.abs(la - lb) > k) return big;
  let prev = rowA;
  let cur = rowB;
  for (let j = 0; j <= lb; j++) prev[j] = j <= k ? j : big;
  for (let i = 1; i <= la; i++) {
    const from = Math.max(i - k, 1);
    const to = Math.min(i + k, lb);
    cur[from - 1] = from === 1 && i <= k ? i : big;
    let rowMin = cur[from - 1]!;
    const ca = a.charCodeAt(i - 1);
    for (let j = from; j <= to; j++) {
      let v = prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      const del = prev[j]! + 1;
      if (del < v) v = del;
      const ins = cur[j - 1]! + 1;
      if (ins < v) v = ins;
      if (v > big) v = big;
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (to < lb) cur[to + 1] = big;
    if (rowMin > k) return big;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[lb]!;
}

/** Tokens two sorted rank lists share, counted until `enough` (a merge). */
function shared(x: Int32Array, y: Int32Array, enough: number): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < x.length && j < y.length) {
    // Stop as soon as what is left of the shorter list cannot make up the difference.
    if (n + Math.min(x.length - i, y.length - j) < enough) return n;
    const a = x[i]!;
    const b = y[j]!;
    if (a === b) {
      if (++n >= enough) return n;
      i++;
      j++;
    } else if (a < b) i++;
    else j++;
  }
  return n;
}

export function referenceKept(keys: readonly string[], threshold: number, q: number): boolean[] {
  const maxLen = keys.reduce((m, k) => Math.max(m, k.length), 0);
  const dmax = new Int32Array(maxLen + 2);
  for (let m = 0; m <= maxLen + 1; m++) dmax[m] = maxDistance(m, threshold);
  // K[l]: the largest distance a key of length l may need against any partner the length filter allows.
  const K = new Int32Array(maxLen + 1);
  for (let l = 0; l <= maxLen; l++) {
    let best = dmax[l]!;
    for (let m = l + 1; m <= maxLen; m++) {
      if (m - dmax[m]! > l) break;
      best = Math.max(best, dmax[m]!);
    }
    K[l] = best;
  }
  const grams = (l: number): number => Math.max(0, l - q + 1);
  // Pairs whose longer key has m units need share no gram when max(|Ga|, |Gb|) − q·dmax(m) ≤ 0: compared directly.
  const direct = (m: number): boolean => grams(m) - q * dmax[m]! <= 0;
  // P[l]: the prefix a key of length l needs, over every partner length l' it may meet: the pair must
  // share t = max(|Ga|, |Gb|) − q·dmax(max) grams, so |G_l| − t + 1 of its rarest grams meet the other's.
  const P = new Int32Array(maxLen + 1);
  for (let l = 0; l <= maxLen; l++) {
    let need = 0;
    for (let o = Math.max(0, l - K[l]!); o <= Math.min(maxLen, l + K[l]!); o++) {
      const m = Math.max(l, o);
      if (Math.abs(l - o) > dmax[m]!) continue;
      const t = Math.max(grams(l), grams(o)) - q * dmax[m]!;
      if (t > 0) need = Math.max(need, grams(l) - t + 1);
    }
    P[l] = Math.min(grams(l), need);
  }

  // Grams as multiset tokens (the n-th occurrence of a gram is its own token), ordered rarest first.
  const tokenIds = new Map<string, number>();
  const keyTokens: Int32Array[] = [];
  const freq: number[] = [];
  for (const key of keys) {
    const seen = new Map<string, number>();
    const ids: number[] = [];
    for (let i = 0; i + q <= key.length; i++) {
      const gram = key.slice(i, i + q);
      const n = (seen.get(gram) ?? 0) + 1;
      seen.set(gram, n);
      const token = `${gram}\u0000${n}`;
      let id = tokenIds.get(token);
      if (id === undefined) {
        id = freq.length;
        tokenIds.set(token, id);
        freq.push(0);
      }
      freq[id]!++;
      ids.push(id);
    }
    keyTokens.push(Int32Array.from(ids));
  }
  // Each token replaced by its rank in the global order: a key's tokens sorted ascending are its prefix
  // first, and two keys' shared tokens are counted by a merge.
  const order = Array.from(freq.keys()).sort((x, y) => freq[x]! - freq[y]! || x - y);
  const rank = new Int32Array(freq.length);
  order.forEach((id, r) => {
    rank[id] = r;
  });
  for (const ids of keyTokens) {
    for (let i = 0; i < ids.length; i++) ids[i] = rank[ids[i]!]!;
    ids.sort();
  }

  // Postings of the indexed prefixes: the kept key, and the token's position in it.
  const postKey: number[][] = Array.from({ length: freq.length }, () => []);
  const postPos: number[][] = Array.from({ length: freq.length }, () => []);
  const byLength: number[][] = Array.from({ length: maxLen + 1 }, () => []);
  const kept = new Array<boolean>(keys.length).fill(false);
  const stamp = new Int32Array(keys.length).fill(-1);
  // Shared prefix tokens found so far with the key being probed; −1: ruled out by the positional filter.
  const overlap = new Int32Array(keys.length);
  const prev = new Int32Array(maxLen + 2);
  const cur = new Int32Array(maxLen + 2);
  const candidates: number[] = [];
  const lengthOf = Int32Array.from(keys, (k) => k.length);
  const gramsOf = Int32Array.from(keyTokens, (t) => t.length);

  for (let s = 0; s < keys.length; s++) {
    const a = keys[s]!;
    const la = a.length;
    const tokens = keyTokens[s]!;
    const gs = tokens.length;
    const verify = (r: number, need: number): boolean => {
      const b = keys[r]!;
      const k = dmax[Math.max(la, b.length)]!;
      if (need > 0 && shared(tokens, keyTokens[r]!, need) < need) return false;
      if (la === 0 && b.length === 0) return true;
      return boundedDistance(a, b, k, prev, cur) <= k;
    };
    candidates.length = 0;
    for (let i = 0; i < P[la]!; i++) {
      const rs = postKey[tokens[i]!]!;
      const js = postPos[tokens[i]!]!;
      for (let x = 0; x < rs.length; x++) {
        const r = rs[x]!;
        const lb = lengthOf[r]!;
        const k = dmax[Math.max(la, lb)]!;
        if (la - lb > k || lb - la > k) continue;
        const gr = gramsOf[r]!;
        const t = Math.max(gs, gr) - q * k;
        if (stamp[r] !== s) {
          stamp[r] = s;
          overlap[r] = 0;
          candidates.push(r);
        } else if (overlap[r]! < 0) continue;
        // Positional filter: what is shared so far, this token, and at most what both have left.
        const left = Math.min(gs - i - 1, gr - js[x]! - 1);
        overlap[r] = overlap[r]! + 1 + left >= t ? overlap[r]! + 1 : -1;
      }
    }
    let duplicate = false;
    for (const r of candidates) {
      if (overlap[r]! <= 0) continue;
      const gr = keyTokens[r]!.length;
      const t = Math.max(gs, gr) - q * dmax[Math.max(la, keys[r]!.length)]!;
      if (verify(r, t)) {
        duplicate = true;
        break;
      }
    }
    // Partners that need share no gram: every kept key of a length for which the bound is ≤ 0.
    for (let lb = Math.max(0, la - K[la]!); lb <= Math.min(maxLen, la + K[la]!) && !duplicate; lb++) {
      const m = Math.max(la, lb);
      if (!direct(m) || Math.abs(la - lb) > dmax[m]!) continue;
      for (const r of byLength[lb]!) {
        if (verify(r, 0)) {
          duplicate = true;
          break;
        }
      }
    }
    if (duplicate) continue;
    kept[s] = true;
    byLength[la]!.push(s);
    for (let i = 0; i < P[la]!; i++) {
      postKey[tokens[i]!]!.push(s);
      postPos[tokens[i]!]!.push(i);
    }
  }
  return kept;
}

function main(argv: string[]): void {
  let input: string | undefined;
  let out: string | undefined;
  let threshold = 0.7;
  let q = 0;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--in') input = value;
    else if (flag === '--out') out = value;
    else if (flag === '--similarity') threshold = Number(value);
    else if (flag === '--q') q = Number(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  if (input === undefined || out === undefined) throw new Error('usage: --in FILE --out FILE [--similarity T] [--q 1|2]');
  const records = fs
    .readFileSync(input, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Bigrams are more selective, but below T = 0.6 their bound is ≤ 0 for most pairs: unigrams there.
  const grams = q === 0 ? (threshold >= 0.6 ? 2 : 1) : q;
  const kept = referenceKept(
    records.map((r) => keyOf(r)),
    threshold,
    grams,
  );
  const lines: string[] = [];
  records.forEach((r, i) => kept[i] && lines.push(JSON.stringify(r)));
  fs.writeFileSync(out, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  process.stderr.write(`reference: total ${records.length}, kept ${lines.length}\n`);
}

if (process.argv[1] !== undefined && /dedup-reference\.(ts|mjs|js)$/.test(process.argv[1])) main(process.argv.slice(2));
