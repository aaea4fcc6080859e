/**
 * The text both sides of a benchmark check are reduced to, designed for Chinese: NFKC (full-width
 * letters, digits and punctuation become half-width), question numbers, scores and option letters
 * stripped (`1．（4分）`, `A．`, `(B)`), traditional characters mapped to simplified, lower case, and
 * everything that is not a letter or a digit (whitespace, punctuation, symbols, marks) removed. What is
 * left is a string of characters to cut into n-grams. NFKC, lower case and traditional → simplified are
 * folded into one table per UTF-16 unit, built once, so normalizing is one pass of array lookups after
 * the marker patterns.
 *
 * Traditional → simplified comes from OpenCC (opencc-js), taken character by character: its phrase-level
 * converter runs at about 0.8 M characters/s, too slow for millions of tasks, while a per-character table
 * costs one array lookup. Both sides go through the same table, so a character OpenCC would convert
 * differently inside a phrase is still mapped the same way on both sides.
 */
import { createRequire } from 'node:module';

// Markers are stripped from the raw text, so each pattern takes the full-width forms too (NFKC comes after, in the table).
/** Line-start question numbers: `12.`, `12、`, `１２．`, `第3题`, `(4)`; not a decimal like `3.14`. */
const QUESTION_NUMBER =
  /^[ \t\u3000]*(?:第\s*[0-9０-９]{1,3}\s*题|[0-9０-９]{1,3}\s*[.．、:：)）](?![0-9０-９])|[(（][0-9０-９]{1,3}[)）])[ \t\u3000]*/gm;
/** Score marks anywhere: `(4分)`, `（本小题满分12分）`, `[5 分]`. */
const SCORE = /[([（［]\s*(?:本小?题)?\s*(?:满分|共)?\s*[0-9０-９]{1,3}(?:[.．][0-9０-９])?\s*分\s*[)\]）］]/g;
/** Option letters: `A.`, `A、`, `A:`, `A)`, `(A)` and full-width forms; kept unless they open a line or follow a separator. */
const OPTION_LABEL = /[(（]?[A-HＡ-Ｈ](?:[)）]|\s*[.．、:：)）])/g;
const OPENS_OPTION = /[\s,;。:、()[\]，；：（）［］【】]/;

/** Each marker pattern needs one of these characters: text without it skips that pattern's scan. */
const HAS_DIGIT = /[0-9０-９]/;
const HAS_OPTION_LETTER = /[A-HＡ-Ｈ]/;

/** Question numbers, scores and option labels out of the text. */
export function stripMarkers(text: string): string {
  let s = text;
  if (s.includes('分')) s = s.replace(SCORE, '');
  if (HAS_DIGIT.test(s)) s = s.replace(QUESTION_NUMBER, '');
  if (HAS_OPTION_LETTER.test(s)) {
    s = s.replace(OPTION_LABEL, (label: string, offset: number, all: string) =>
      offset === 0 || OPENS_OPTION.test(all[offset - 1]!) || label[0] === '(' || label[0] === '（' ? '' : label,
    );
  }
  return s;
}

/**
 * Per code unit: 0 drops it, EXPANDS looks it up in `expansions` (NFKC gives several characters), anything
 * else is what it becomes. Surrogate halves are kept as they are.
 */
export interface CharTable {
  table: Uint16Array;
  expansions: Map<number, Uint16Array>;
}
const EXPANDS = 0xffff;

/** Normalized text as UTF-16 code units in a reused buffer: `codes[0..length)`. */
export interface NormalizedCodes {
  codes: Uint16Array;
  length: number;
}

export class Normalizer {
  private buffer = new Uint16Array(4096);

  constructor(private readonly chars: CharTable) {}

  /** The normalized code units of `text`. The buffer is reused by the next call. */
  codes(text: string): NormalizedCodes {
    const s = stripMarkers(text);
    // An expansion (`①` → `1`, `㈠` → `一`) is at most a few units; 4 per unit is room enough.
    if (this.buffer.length < s.length * 4) this.buffer = new Uint16Array(Math.max(s.length * 4, this.buffer.length * 2));
    const out = this.buffer;
    const { table, expansions } = this.chars;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const m = table[s.charCodeAt(i)]!;
      if (m === 0) continue;
      if (m !== EXPANDS) out[n++] = m;
      else for (const e of expansions.get(s.charCodeAt(i))!) out[n++] = e;
    }
    return { codes: out, length: n };
  }

  text(text: string): string {
    const { codes, length } = this.codes(text);
    let s = '';
    for (let i = 0; i < length; i += 8192) s += String.fromCharCode(...codes.subarray(i, Math.min(length, i + 8192)));
    return s;
  }
}

const KEEP = /^[\p{L}\p{N}]$/u;

/**
 * The per-code-unit table: NFKC of the character (full-width → half-width, compatibility forms), then of
 * what that gives, letters and digits kept (lower-cased, traditional → simplified), the rest dropped.
 * NFKC per character equals NFKC of the text except where combining marks compose (Latin accents), which
 * are dropped here anyway.
 */
export function buildCharTable(toSimplified: ReadonlyMap<number, number>): CharTable {
  const table = new Uint16Array(0x10000);
  const expansions = new Map<number, Uint16Array>();
  const one = (ch: string): number => {
    if (!KEEP.test(ch)) return 0;
    const lower = ch.toLowerCase();
    const code = lower.length === 1 ? lower.charCodeAt(0) : ch.charCodeAt(0);
    return toSimplified.get(code) ?? code;
  };
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) {
      table[c] = c;
      continue;
    }
    const nfkc = String.fromCharCode(c).normalize('NFKC');
    if (nfkc.length === 1) {
      table[c] = one(nfkc);
      continue;
    }
    const kept = [...nfkc].map(one).filter((x) => x !== 0 && x !== EXPANDS);
    if (kept.length === 1) table[c] = kept[0]!;
    else if (kept.length > 1) {
      table[c] = EXPANDS;
      expansions.set(c, Uint16Array.from(kept));
    }
  }
  return { table, expansions };
}

/** CJK blocks whose characters OpenCC may convert (Extension A, Unified, Compatibility). */
const CJK_RANGES: readonly [number, number][] = [
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xf900, 0xfaff],
];

type Convert = (text: string) => string;

/**
 * Single-character traditional → simplified mappings of OpenCC's `t`, `tw` and `hk` converters (to
 * mainland simplified). Characters are converted one per line so no phrase rule applies across them.
 */
export function openccCharMap(): Map<number, number> {
  const require = createRequire(import.meta.url);
  const OpenCC = require('opencc-js/t2cn') as { Converter: (o: { from: string; to: string }) => Convert };
  const converters = ['t', 'tw', 'hk'].map((from) => OpenCC.Converter({ from, to: 'cn' }));
  const chars: string[] = [];
  for (const [lo, hi] of CJK_RANGES) for (let c = lo; c <= hi; c++) chars.push(String.fromCharCode(c));
  const joined = chars.join('\n');
  const map = new Map<number, number>();
  for (const convert of converters) {
    const out = convert(joined).split('\n');
    if (out.length !== chars.length) continue; // A converter that merged lines: not used, rather than misaligned.
    for (let i = 0; i < chars.length; i++) {
      const from = chars[i]!.charCodeAt(0);
      const to = out[i]!;
      if (to.length === 1 && to.charCodeAt(0) !== from && !map.has(from)) map.set(from, to.charCodeAt(0));
    }
  }
  return map;
}

let shared: { normalizer: Normalizer; loadMs: number } | undefined;

/** The normalizer with OpenCC's table, built once per process; `loadMs` is what building it took. */
export function loadNormalizer(): { normalizer: Normalizer; loadMs: number } {
  if (shared === undefined) {
    const started = performance.now();
    const normalizer = new Normalizer(buildCharTable(openccCharMap()));
    shared = { normalizer, loadMs: performance.now() - started };
  }
  return shared;
}
