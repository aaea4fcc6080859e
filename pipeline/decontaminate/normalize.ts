/**
 * The text both sides of a benchmark check are reduced to, designed for Chinese: NFKC (full-width
 * letters, digits and punctuation become half-width), question numbers, scores and option letters
 * stripped (`1．（4分）`, `A．`, `(B)`), traditional characters mapped to simplified, lower case, and
 * everything that is not a letter or a digit (whitespace, punctuation, symbols, marks) removed. What is
 * left is a string of characters to cut into n-grams.
 *
 * Traditional → simplified comes from OpenCC (opencc-js), taken character by character: its phrase-level
 * converter runs at about 0.8 M characters/s, too slow for millions of tasks, while a per-character table
 * costs one array lookup. Both sides go through the same table, so a character OpenCC would convert
 * differently inside a phrase is still mapped the same way on both sides.
 */
import { createRequire } from 'node:module';

/** Line-start question numbers: `12.`, `12、`, `第3题`, `(4)`; not a decimal like `3.14`. */
const QUESTION_NUMBER = /(^|\n)[ \t]*(?:第\s*\d{1,3}\s*题|\d{1,3}\s*[.、:)](?!\d)|\(\d{1,3}\))[ \t]*/g;
/** Score marks anywhere: `(4分)`, `(本小题满分12分)`, `[5 分]`. */
const SCORE = /[([]\s*(?:本小?题)?\s*(?:满分|共)?\s*\d{1,3}(?:\.\d)?\s*分\s*[)\]]/g;
/** Option letters where options start: line start, after a space or a separator; `A.`, `A、`, `A:`, `A)`, `(A)`. */
const OPTION_LABEL = /(^|[\s,;。:、()[\]])(?:\(([A-H])\)|([A-H])\s*[.、:)])/g;

/** Question numbers, scores and option labels out of NFKC text (so `．（` already read `.(`). */
export function stripMarkers(nfkc: string): string {
  return nfkc.replace(SCORE, '').replace(QUESTION_NUMBER, '$1').replace(OPTION_LABEL, '$1');
}

/** 0 drops the code unit; anything else is what it becomes. Surrogate halves are kept as they are. */
export type CharTable = Uint16Array;

/** Normalized text as UTF-16 code units in a reused buffer: `codes[0..length)`. */
export interface NormalizedCodes {
  codes: Uint16Array;
  length: number;
}

export class Normalizer {
  private buffer = new Uint16Array(4096);

  constructor(private readonly table: CharTable) {}

  /** The normalized code units of `text`. The buffer is reused by the next call. */
  codes(text: string): NormalizedCodes {
    const s = stripMarkers(text.normalize('NFKC'));
    if (this.buffer.length < s.length) this.buffer = new Uint16Array(Math.max(s.length, this.buffer.length * 2));
    const out = this.buffer;
    const table = this.table;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const m = table[s.charCodeAt(i)]!;
      if (m !== 0) out[n++] = m;
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

/** The per-code-unit table: letters and digits kept (lower-cased, traditional → simplified), the rest dropped. */
export function buildCharTable(toSimplified: ReadonlyMap<number, number>): CharTable {
  const table = new Uint16Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) {
      table[c] = c;
      continue;
    }
    const ch = String.fromCharCode(c);
    if (!KEEP.test(ch)) continue;
    const lower = ch.toLowerCase();
    const code = lower.length === 1 ? lower.charCodeAt(0) : c;
    table[c] = toSimplified.get(code) ?? code;
  }
  return table;
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
