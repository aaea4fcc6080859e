/** Quoting evidence for a rejection's `detail`: a short excerpt around a match, on one line. */

const MAX_QUOTE = 40;

/** `s[start, end)` widened by a few characters of context, cut to a readable length, quoted. */
export function quote(s: string, start = 0, end = s.length, context = 6): string {
  const from = Math.max(0, start - context);
  const to = Math.min(s.length, Math.max(end, start) + context, from + MAX_QUOTE);
  const excerpt = s.slice(widenLow(s, from), widenHigh(s, to)).replace(/\s+/g, ' ');
  return `"${from > 0 ? '…' : ''}${excerpt}${to < s.length ? '…' : ''}"`;
}

/** Quote the first match of `re` in `s` (which must have matched). */
export function quoteMatch(s: string, m: RegExpExecArray): string {
  return quote(s, m.index, m.index + m[0].length);
}

/** Never cut a surrogate pair in half. */
function widenLow(s: string, i: number): number {
  return i > 0 && isLowSurrogate(s.charCodeAt(i)) ? i - 1 : i;
}
function widenHigh(s: string, i: number): number {
  return i < s.length && isLowSurrogate(s.charCodeAt(i)) ? i + 1 : i;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
