import { distance } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { BruteForceIndex } from '../pipeline/dedup/brute.ts';
import { boundedLevenshtein } from '../pipeline/dedup/bounded-levenshtein.ts';
import type { NearestMatch } from '../pipeline/dedup/index.ts';
import { buildIndex, MAX_TOKENIZED, maxEdits, QGramIndex } from '../pipeline/dedup/qgram-index.ts';
import { similarity } from '../pipeline/dedup/similarity.ts';
import { createRng, type Rng } from './bench/corpus.ts';

const TINY_CJK = [...'天地人你我他的是不了哈嘿山水'];
const ASCII = [...'abcdefgxyz0123456789,.(=:'];
const ASTRAL = ['𠀀', '𝄞', '😀', '𠮷', '🀄', '𝒜'];
const THRESHOLDS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99];

function cjkAlphabet(rng: Rng, size: number): string[] {
  const chars = new Set<string>();
  while (chars.size < size) chars.add(String.fromCharCode(0x4e00 + rng.int(0x5000)));
  return [...chars];
}

function randomText(rng: Rng, alphabet: readonly string[], length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += rng.pick(alphabet);
  return s;
}

/**
 * `edits` random substitutions, insertions and deletions. Half of the time they work on UTF-16 code
 * units, so surrogate pairs get split, as nothing in the rule forbids.
 */
function mutate(rng: Rng, key: string, edits: number, alphabet: readonly string[]): string {
  const units = rng.next() < 0.5 ? key.split('') : [...key];
  for (let e = 0; e < edits; e++) {
    const at = rng.int(units.length + 1);
    const op = rng.next();
    if (op < 0.4 && at < units.length) units[at] = rng.pick(alphabet);
    else if (op < 0.7 || units.length === 0) units.splice(at, 0, rng.pick(alphabet));
    else units.splice(Math.min(at, units.length - 1), 1);
  }
  return units.join('');
}

/** A stream of keys where about half are edits of earlier keys (0 to ~45% of their length). */
function keyStream(rng: Rng, count: number, fresh: () => string, alphabet: readonly string[]): string[] {
  const keys: string[] = [];
  while (keys.length < count) {
    if (keys.length === 0 || rng.next() < 0.45) {
      keys.push(fresh());
      continue;
    }
    const base = rng.pick(keys);
    const r = rng.next();
    const edits = r < 0.1 ? 0 : r < 0.35 ? 1 : r < 0.5 ? 2 : Math.round(base.length * rng.next() * 0.45);
    keys.push(mutate(rng, base, edits, alphabet));
  }
  return keys;
}

function sameMatch(a: NearestMatch | undefined, b: NearestMatch | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.id === b.id && Object.is(a.similarity, b.similarity);
}

interface GreedyOutcome {
  matched: number;
  kept: number;
  stats: QGramIndex['stats'];
}

/**
 * The sequential greedy rule with both indexes in lockstep: every answer (match or not, similarity,
 * id) must be identical at every step. Ids are not insertion order, so "first added" is what counts.
 */
function greedyAgrees(keys: readonly string[], threshold: number): GreedyOutcome {
  const fast = new QGramIndex();
  const brute = new BruteForceIndex();
  let matched = 0;
  const keyOf = new Map<number, string>();
  keys.forEach((key, i) => {
    const expected = brute.findNearDuplicate(key, threshold);
    // The first-match search answers the same yes/no with a real match, and leaves the index as it was.
    const any = fast.findAnyNearDuplicate(key, threshold);
    if (
      (any === undefined) !== (expected === undefined) ||
      (any !== undefined && !(any.similarity >= threshold && any.similarity === similarity(key, keyOf.get(any.id)!)))
    ) {
      throw new Error(
        `threshold ${threshold}, step ${i}, key ${JSON.stringify(key)}: first match ${JSON.stringify(any)}, brute force ${JSON.stringify(expected)}`,
      );
    }
    const actual = fast.findNearDuplicate(key, threshold);
    if (!sameMatch(actual, expected)) {
      throw new Error(
        `threshold ${threshold}, step ${i}, key ${JSON.stringify(key)}: index ${JSON.stringify(actual)}, brute force ${JSON.stringify(expected)}`,
      );
    }
    if (expected) matched++;
    else {
      const id = 1_000_000 - i * 7;
      keyOf.set(id, key);
      fast.add(key, id);
      brute.add(key, id);
    }
  });
  return { matched, kept: fast.size, stats: fast.stats };
}

describe('boundedLevenshtein', () => {
  it('equals min(distance, limit + 1) for every limit, including split surrogate pairs', () => {
    const rng = createRng(11);
    const alphabets = [TINY_CJK.slice(0, 4), [...TINY_CJK, ...ASCII], [...ASTRAL, ...TINY_CJK.slice(0, 3)]];
    let checked = 0;
    for (let trial = 0; trial < 1500; trial++) {
      const alphabet = rng.pick(alphabets);
      const a = randomText(rng, alphabet, rng.int(trial % 50 === 0 ? 300 : 30));
      const b = rng.next() < 0.6 ? mutate(rng, a, rng.int(8), alphabet) : randomText(rng, alphabet, rng.int(30));
      const d = distance(a, b);
      for (let limit = 0; limit <= d + 2; limit++) {
        expect(boundedLevenshtein(a, b, limit), `${JSON.stringify(a)} / ${JSON.stringify(b)} limit ${limit}`).toBe(Math.min(d, limit + 1));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('handles empty strings and rejects a bad limit', () => {
    expect(boundedLevenshtein('', '', 0)).toBe(0);
    expect(boundedLevenshtein('', '你好', 5)).toBe(2);
    expect(boundedLevenshtein('你好', '', 1)).toBe(2);
    expect(boundedLevenshtein('😀', '😁', 0)).toBe(1); // one code unit differs
    expect(() => boundedLevenshtein('a', 'b', -1)).toThrow(RangeError);
    expect(() => boundedLevenshtein('a', 'b', 1.5)).toThrow(RangeError);
  });
});

describe('maxEdits', () => {
  it('is the largest edit count whose similarity, computed as similarity() does, reaches the threshold', () => {
    const rng = createRng(5);
    const thresholds = [...THRESHOLDS, 2 / 3, 0.7 + 1e-12, 0.7 - 1e-12, 1, 0, -0.5, 1.01, Number.NaN];
    for (let i = 0; i < 40; i++) thresholds.push(0.5 + rng.next() * 0.49);
    for (const t of thresholds) {
      for (let m = 1; m <= 400; m++) {
        let expected = -1;
        for (let e = 0; e <= m; e++) if (1 - e / m >= t) expected = e;
        expect(maxEdits(m, t), `m ${m}, threshold ${t}`).toBe(expected);
      }
      expect(maxEdits(0, t)).toBe(1 >= t ? 0 : -1);
    }
  });
});

describe('QGramIndex gives exactly the brute-force answers under the greedy rule', () => {
  const scenarios: { name: string; seed: number; keys: (rng: Rng) => string[] }[] = [
    {
      name: 'short and empty keys over a tiny CJK alphabet',
      seed: 1,
      keys: (rng) => keyStream(rng, 260, () => randomText(rng, TINY_CJK, rng.int(9)), TINY_CJK),
    },
    {
      name: 'Chinese sentences with one-character edits, insertions and deletions',
      seed: 2,
      keys: (rng) => {
        const alphabet = [...TINY_CJK, ...cjkAlphabet(rng, 120)];
        return keyStream(rng, 300, () => randomText(rng, alphabet, 5 + rng.int(70)), alphabet);
      },
    },
    {
      name: 'mixed ASCII, CJK and astral-plane characters',
      seed: 3,
      keys: (rng) => {
        const alphabet = [...TINY_CJK, ...ASCII, ...ASTRAL];
        return keyStream(rng, 300, () => randomText(rng, alphabet, rng.int(50)), alphabet);
      },
    },
    {
      name: 'runs of repeated characters',
      seed: 4,
      keys: (rng) =>
        keyStream(rng, 220, () => '哈'.repeat(rng.int(30)) + randomText(rng, ['哈', '嘿', '啊'], rng.int(6)) + '哈'.repeat(rng.int(20)), [
          '哈',
          '嘿',
          '啊',
          '😀',
        ]),
    },
    {
      name: 'long inputs (500+ characters) with few edits',
      seed: 5,
      keys: (rng) => {
        const alphabet = cjkAlphabet(rng, 300);
        return keyStream(rng, 36, () => randomText(rng, alphabet, 500 + rng.int(100)), alphabet);
      },
    },
  ];

  for (const scenario of scenarios) {
    it(scenario.name, () => {
      const rng = createRng(scenario.seed);
      const keys = scenario.keys(rng);
      const thresholds = [...THRESHOLDS];
      for (let i = 0; i < 4; i++) thresholds.push(0.5 + rng.next() * 0.49);
      let matched = 0;
      let kept = 0;
      for (const t of thresholds) {
        const outcome = greedyAgrees(keys, t);
        matched += outcome.matched;
        kept += outcome.kept;
      }
      // Both outcomes must be common, or the scenario proves little.
      expect(matched).toBeGreaterThan(keys.length);
      expect(kept).toBeGreaterThan(keys.length);
    });
  }

  it('uses its filters, not only the key-by-key fallback', () => {
    const rng = createRng(9);
    const alphabet = cjkAlphabet(rng, 200);
    const keys = keyStream(rng, 400, () => randomText(rng, alphabet, 10 + rng.int(60)), alphabet);
    const { stats } = greedyAgrees(keys, 0.7);
    expect(stats.classes).toBeGreaterThan(0);
    expect(stats.disjointPlans).toBeGreaterThan(0);
    expect(stats.classes).toBeGreaterThan(stats.disjointPlans); // count plans too
    expect(stats.candidates).toBeLessThan(stats.queries * 50);
    const short = greedyAgrees(
      keyStream(rng, 100, () => randomText(rng, TINY_CJK, 1 + rng.int(3)), TINY_CJK),
      0.6,
    );
    expect(short.stats.classScans).toBeGreaterThan(0);
  });
});

describe('QGramIndex details', () => {
  it('breaks ties on similarity in favour of the key added first, whatever the ids', () => {
    const index = new QGramIndex();
    index.add('今天天气很好', 9);
    index.add('今天天气很好', 2);
    index.add('今天天气真好', 1);
    expect(index.findNearDuplicate('今天天气很好', 0.7)).toEqual({ id: 9, similarity: 1 });
    // '今天天气不好' is one substitution from all three keys.
    expect(index.findNearDuplicate('今天天气不好', 0.7)).toEqual({ id: 9, similarity: 1 - 1 / 6 });
  });

  it('treats empty keys as identical and thresholds outside [0.5, 0.99] like brute force', () => {
    const rng = createRng(21);
    const keys = keyStream(rng, 80, () => randomText(rng, TINY_CJK, rng.int(6)), TINY_CJK);
    keys.splice(10, 0, '', '');
    for (const t of [1, 1.5, 0, -1, 0.3, Number.NaN]) greedyAgrees(keys, t);
    const index = buildIndex([{ key: '', id: 4 }]);
    expect(index.findNearDuplicate('', 1)).toEqual({ id: 4, similarity: 1 });
    expect(index.findNearDuplicate('天', 0.5)).toBeUndefined();
    expect(new QGramIndex().findNearDuplicate('天', 0.5)).toBeUndefined();
  });

  it('buildIndex answers like an index built key by key', () => {
    const rng = createRng(31);
    const alphabet = cjkAlphabet(rng, 80);
    const keys = keyStream(rng, 200, () => randomText(rng, alphabet, 3 + rng.int(40)), alphabet);
    const built = buildIndex(keys.map((key, i) => ({ key, id: i })));
    const brute = new BruteForceIndex();
    keys.forEach((key, i) => brute.add(key, i));
    expect(built.size).toBe(keys.length);
    for (const query of keyStream(rng, 100, () => randomText(rng, alphabet, 3 + rng.int(40)), alphabet)) {
      for (const t of [0.5, 0.7, 0.9]) expect(built.findNearDuplicate(query, t)).toEqual(brute.findNearDuplicate(query, t));
    }
  });

  it('handles keys too long to tokenize', () => {
    const rng = createRng(41);
    const long = randomText(rng, TINY_CJK, MAX_TOKENIZED + 10);
    const index = new QGramIndex();
    index.add('天地人', 1);
    index.add(long, 2);
    // Inserting '😀' (two code units) costs two edits; the query itself is too long to tokenize.
    const edited = long.slice(0, 1000) + '😀' + long.slice(1000);
    expect(index.findNearDuplicate(edited, 0.9)).toEqual({ id: 2, similarity: 1 - 2 / edited.length });
    expect(index.findNearDuplicate(randomText(rng, ASCII, MAX_TOKENIZED + 30), 0.7)).toBeUndefined();
    // A short query never reaches the long key (length window), but an unrelated short one is found.
    expect(index.findNearDuplicate(long.slice(0, 50), 0.7)).toBeUndefined();
    expect(index.findNearDuplicate('天地人和', 0.7)).toEqual({ id: 1, similarity: 0.75 });
  });
});
