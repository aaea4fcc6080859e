/**
 * degenerate_output: the model lost its way. A repetition loop (one stretch of text repeated over and
 * over, or the same sentence making up most of the answer), or an answer cut mid-sentence: by the token
 * limit (when the caller says `finish_reason` was `length`), or visibly (an open code fence, a trailing
 * comma). A chorus sung twice or a short list of similar items is not a loop.
 */
import { quote } from './evidence.ts';
import type { Rule } from './types.ts';

/** Longest repeating unit looked for character by character; longer loops are caught sentence by sentence. */
const MAX_PERIOD = 40;
/** A loop: the unit repeats at least this many times in a row… */
const MIN_REPEATS = 6;
/** …over at least this many characters. */
const MIN_LOOP_CHARS = 40;
const WORDY = /[\p{L}]/u;
const CUT_MID_SENTENCE = /[，、,]$/u;

export const degenerateRule: Rule = ({ output }, _options, context) => {
  const scan = scanOutput(output);
  if (scan.loop !== undefined) return { reason: 'degenerate_output', detail: `output repeats ${quote(scan.loop)} over and over` };
  const sentence = scan.breaks >= 4 ? dominantSentence(output) : undefined;
  if (sentence !== undefined) return { reason: 'degenerate_output', detail: `output repeats the sentence ${quote(sentence)}` };
  const line = scan.newlines >= LINE_REPEATS - 1 ? repeatedLine(output) : undefined;
  if (line !== undefined) {
    return { reason: 'degenerate_output', detail: `output repeats the line ${quote(line)} ${LINE_REPEATS}+ times in a row` };
  }
  const end = output.trimEnd();
  const tail = quote(end, end.length - 20);
  if (countFences(end) % 2 === 1) return { reason: 'degenerate_output', detail: `output ends inside a code block: ${tail}` };
  if (end.length >= 20 && CUT_MID_SENTENCE.test(end)) {
    return { reason: 'degenerate_output', detail: `output ends mid-sentence: ${tail}` };
  }
  if (context.finishReason === 'length' && !/[。！？!?.…」』”"’)）\]】}>》]$/u.test(end)) {
    return { reason: 'degenerate_output', detail: `the reply hit the token limit and the output ends mid-sentence: ${tail}` };
  }
  return undefined;
};

/** Where each code unit was last seen, stamped per call so the tables are reused, never cleared. */
const lastPos = new Int32Array(65536);
const lastStamp = new Int32Array(65536);
let stamp = 0;

interface Scan {
  /** A repeating unit, if a loop was found. */
  loop: string | undefined;
  /** New lines, and sentence breaks (。！？!? and new lines): whether the slower checks can apply. */
  newlines: number;
  breaks: number;
}

/**
 * One pass. Looks for a stretch where s[i] === s[i - p] long enough that a unit of length p ≤
 * MAX_PERIOD repeats MIN_REPEATS times: inside such a loop every code unit occurred at most p units
 * before, so only stretches of "recently seen" units get the exact O(MAX_PERIOD · length) check.
 */
function scanOutput(s: string): Scan {
  const n = s.length;
  const scan: Scan = { loop: undefined, newlines: 0, breaks: 0 };
  stamp = (stamp + 1) | 0;
  if (stamp === 0) {
    lastStamp.fill(0);
    stamp = 1;
  }
  let runStart = 0;
  for (let i = 0; i <= n; i++) {
    let near = false;
    if (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x0a) scan.newlines++;
      if (c === 0x0a || c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0x21 || c === 0x3f) scan.breaks++;
      near = lastStamp[c] === stamp && i - lastPos[c]! <= MAX_PERIOD;
      lastStamp[c] = stamp;
      lastPos[c] = i;
    }
    if (near) continue;
    if (scan.loop === undefined && i - runStart >= MIN_LOOP_CHARS) scan.loop = exactLoop(s, Math.max(0, runStart - MAX_PERIOD), i);
    // This unit was not seen nearby, but it may be the first of a loop's units.
    runStart = i;
  }
  return scan;
}

function exactLoop(s: string, from: number, to: number): string | undefined {
  for (let p = 1; p <= MAX_PERIOD && p * MIN_REPEATS <= to - from; p++) {
    // The last unit may lack its final character (a loop of lines with no last new line).
    const need = Math.max(p * (MIN_REPEATS - 1) - 1, MIN_LOOP_CHARS - p);
    let run = 0;
    for (let i = from + p; i < to; i++) {
      if (s.charCodeAt(i) !== s.charCodeAt(i - p)) {
        run = 0;
        continue;
      }
      if (++run < need) continue;
      const unit = s.slice(i - p + 1, i + 1);
      if (WORDY.test(unit)) return unit;
      run = 0;
    }
  }
  return undefined;
}

/** The same line (≥ 2 characters) this many times in a row is a loop even when the line is short. */
const LINE_REPEATS = 8;

function repeatedLine(s: string): string | undefined {
  let previous = '';
  let count = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 0x0a) continue;
    const line = s.slice(start, i).trim();
    start = i + 1;
    if (line.length >= 2 && line === previous) {
      if (++count >= LINE_REPEATS) return line;
    } else {
      previous = line;
      count = 1;
    }
  }
  return undefined;
}

/** The same sentence (≥ 6 characters) at least 5 times and at least half the output. */
function dominantSentence(s: string): string | undefined {
  if (s.length < 40) return undefined;
  const counts = new Map<string, number>();
  let best: string | undefined;
  let bestCount = 0;
  for (const raw of s.split(/[。！？!?\n]+/u)) {
    const sentence = raw.trim();
    if (sentence.length < 6) continue;
    const c = (counts.get(sentence) ?? 0) + 1;
    counts.set(sentence, c);
    if (c > bestCount) {
      best = sentence;
      bestCount = c;
    }
  }
  if (best === undefined || bestCount < 5 || best.length * bestCount * 2 < s.length) return undefined;
  return best;
}

function countFences(s: string): number {
  let n = 0;
  for (let i = s.indexOf('```'); i !== -1; i = s.indexOf('```', i + 3)) n++;
  return n;
}
