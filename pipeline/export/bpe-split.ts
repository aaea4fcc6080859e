/**
 * The Split pre-tokenizer regex of Qwen2 / Qwen2.5 / Qwen3 (and, with digits in runs of up to three,
 * LLaMA-3), as a hand-written scanner. On Chinese text V8's regex engine spends ~150 ns a character in
 * this pattern's Unicode classes and builds a match array (with a capture group) per piece; the scanner
 * classifies each code point once through a table filled from the same Unicode classes (`\p{L}`,
 * `\p{N}`, `\s` of JavaScript's regex engine, so the same Unicode version as the library's pattern) and
 * follows the pattern's alternatives in order, backtracking included:
 *
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * Only these exact pattern strings are recognized (`patternSplitter` returns null for any other); the
 * case-insensitive group is read as the library reads it (its JavaScript rewrite to `[sS]|[tT]|…`, ASCII
 * only). Every code point is a letter, a number, whitespace or other, and each kind starts an
 * alternative that matches, so the pattern leaves no text between matches.
 */

const QWEN2 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = QWEN2.replace('|\\p{N}|', '|\\p{N}{1,3}|');

const L = 1;
const N = 2;
const S = 4;
const UNKNOWN = 0xff;

/** Code point classes, filled on first sight from the regex engine's own classes. */
const classes = new Uint8Array(0x110000).fill(UNKNOWN);
const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const SPACE = /\s/u;

function classOf(cp: number): number {
  let c = classes[cp]!;
  if (c === UNKNOWN) {
    // A lone surrogate is its own code point to a /u regex: in none of the classes.
    const ch = String.fromCodePoint(cp);
    c = (LETTER.test(ch) ? L : 0) | (NUMBER.test(ch) ? N : 0) | (SPACE.test(ch) ? S : 0);
    classes[cp] = c;
  }
  return c;
}

/** Splits text into the pattern's matches: fills `ends` with each piece's end and returns how many. */
export type Splitter = (text: string, ends: Int32Array) => number;

/** The scanner for `pattern` (a tokenizer.json Split regex), or null when it is not one of the known strings. */
export function patternSplitter(pattern: string): Splitter | null {
  if (pattern === QWEN2) return (text, ends) => split(text, ends, 1);
  if (pattern === LLAMA3) return (text, ends) => split(text, ends, 3);
  return null;
}

const CR = 13;
const LF = 10;
const SPACE_CHAR = 32;
const APOSTROPHE = 39;
const ANY = L | N | S;

function split(text: string, ends: Int32Array, maxDigits: number): number {
  const len = text.length;
  let count = 0;
  for (let p = 0; p < len; ) {
    p = matchAt(text, p, len, maxDigits);
    ends[count++] = p;
  }
  return count;
}

/** Code point at i (a lone surrogate is its own), as a /u regex reads the text. */
const cpAt = (text: string, i: number): number => text.codePointAt(i)!;
const widthOf = (cp: number): number => (cp > 0xffff ? 2 : 1);

/** The end of the pattern's match at p: each alternative in order, the first that matches wins. */
function matchAt(text: string, p: number, len: number, maxDigits: number): number {
  const c0 = text.charCodeAt(p);
  // '(s|t|re|ve|m|ll|d), ASCII case-insensitive; `| 0x20` folds only ASCII capitals onto these letters.
  if (c0 === APOSTROPHE && p + 1 < len) {
    const a = text.charCodeAt(p + 1) | 0x20;
    if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return p + 2;
    if (p + 2 < len) {
      const b = text.charCodeAt(p + 2) | 0x20;
      if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return p + 3;
    }
  }
  const cp0 = cpAt(text, p);
  const cls0 = classOf(cp0);
  const next = p + widthOf(cp0);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if ((cls0 & L) !== 0) return letters(text, next, len);
  if ((cls0 & N) === 0 && c0 !== CR && c0 !== LF && next < len) {
    const cp1 = cpAt(text, next);
    if ((classOf(cp1) & L) !== 0) return letters(text, next + widthOf(cp1), len);
  }
  // \p{N}{1,K}
  if ((cls0 & N) !== 0) {
    let q = next;
    for (let k = 1; k < maxDigits && q < len; k++) {
      const cp = cpAt(text, q);
      if ((classOf(cp) & N) === 0) break;
      q += widthOf(cp);
    }
    return q;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*  (the optional space, then at least one "other")
  let q = -1;
  if ((cls0 & ANY) === 0) q = next;
  else if (c0 === SPACE_CHAR && next < len) {
    const cp1 = cpAt(text, next);
    if ((classOf(cp1) & ANY) === 0) q = next + widthOf(cp1);
  }
  if (q >= 0) {
    while (q < len) {
      const cp = cpAt(text, q);
      if ((classOf(cp) & ANY) !== 0) break;
      q += widthOf(cp);
    }
    while (q < len && (text.charCodeAt(q) === CR || text.charCodeAt(q) === LF)) q++;
    return q;
  }
  // Whitespace (every \s is one UTF-16 unit): \s*[\r\n]+ | \s+(?!\S) | \s+
  let lastBreak = -1;
  q = p;
  while (q < len) {
    const c = text.charCodeAt(q);
    if ((classOf(c) & S) === 0) break;
    if (c === CR || c === LF) lastBreak = q;
    q++;
  }
  if (lastBreak >= 0) return lastBreak + 1;
  // \s+(?!\S) backs off one space before a non-space; a single space before one is \s+.
  if (q === len || q - p < 2) return q;
  return q - 1;
}

function letters(text: string, from: number, len: number): number {
  let q = from;
  while (q < len) {
    const cp = cpAt(text, q);
    if ((classOf(cp) & L) === 0) break;
    q += widthOf(cp);
  }
  return q;
}
