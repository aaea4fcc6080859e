/** Helpers every task family uses: names, lead-ins, constraints, and keeping outputs in range. */
import type { Rng } from '../random.ts';
import { fill } from '../random.ts';
import { charLength } from '../../pipeline/text.ts';
import {
  ACTIVITIES,
  AUDIENCES,
  AUDIENCE_CONSTRAINTS,
  CITIES,
  CHINESE_NUMERALS,
  GIVEN_NAMES,
  LENGTH_CONSTRAINTS,
  LENGTH_NUMBERS,
  NICKNAME_PREFIXES,
  OCCASIONS,
  PERSONAS,
  STYLE_CONSTRAINTS,
  SURNAMES,
  TITLES,
} from '../lexicon.ts';

export interface SimTask {
  instruction: string;
  /** "" when the task has none. */
  input: string;
  output: string;
  category: string;
}

export type Family = (rng: Rng) => SimTask;

export const MIN_OUTPUT_CHARS = 40;
const MAX_OUTPUT_CHARS = 300;
const MAX_INSTRUCTION_CHARS = 120;

export function fullName(rng: Rng): string {
  return rng.pick(SURNAMES) + rng.pick(GIVEN_NAMES);
}

/** 王晓雯, 小王, 老李 or 李老师: how people are named in everyday Chinese. */
export function personName(rng: Rng): string {
  const r = rng.next();
  if (r < 0.45) return fullName(rng);
  if (r < 0.75) return rng.pick(NICKNAME_PREFIXES) + rng.pick(SURNAMES);
  return rng.pick(SURNAMES) + rng.pick(TITLES);
}

/** 3 → "三" or "3", as people write either. */
export function countWord(n: number, rng: Rng): string {
  return n <= 10 && rng.chance(0.6) ? (n === 2 ? '两' : CHINESE_NUMERALS[n]!) : String(n);
}

/** An optional "who is asking and why" in front of an instruction. */
export function withLeadIn(core: string, rng: Rng, p = 0.3): string {
  return rng.chance(p) ? leadIn(rng) + core : core;
}

/** "我是一名高二学生，", "最近在成都出差，", … */
function leadIn(rng: Rng): string {
  const r = rng.next();
  if (r < 0.3) return `我是${rng.pick(PERSONAS)}，`;
  if (r < 0.6) return `我${rng.pick(OCCASIONS)}，`;
  if (r < 0.8) return `我是${rng.pick(PERSONAS)}，${rng.pick(OCCASIONS)}，`;
  return `${rng.pick(['最近在', '这段时间在', '我正在', '目前在'])}${rng.pick(CITIES)}${rng.pick(ACTIVITIES)}，`;
}

function oneConstraint(rng: Rng): string {
  const r = rng.next();
  if (r < 0.35) return fill(rng.pick(LENGTH_CONSTRAINTS), { n: rng.pick(LENGTH_NUMBERS) });
  if (r < 0.85) return rng.pick(STYLE_CONSTRAINTS);
  return fill(rng.pick(AUDIENCE_CONSTRAINTS), { u: rng.pick(AUDIENCES) });
}

/**
 * Appends zero, one or two requirements in one of several ways of writing them. Requirements are
 * drawn from combinatorial pools, so they add differing characters to otherwise similar tasks.
 */
export function withConstraints(instruction: string, rng: Rng, p = 0.55): string {
  if (!rng.chance(p)) return instruction;
  const parts = [oneConstraint(rng)];
  if (rng.chance(0.3)) {
    const second = oneConstraint(rng);
    if (second !== parts[0]) parts.push(second);
  }
  const body = instruction.replace(/[。！]$/u, '');
  const endsWithQuestion = /[？?]$/u.test(body);
  const joined = parts.join('，');
  const style = rng.int(4);
  if (style === 0 || endsWithQuestion) return `${body}${endsWithQuestion ? '' : '。'}要求：${joined}。`;
  if (style === 1) return `${body}，${joined}。`;
  if (style === 2) return `${body}（${joined}）`;
  return `${body}。注意${joined}。`;
}

/** Numbered lines "1. …" joined by newlines. */
export function numbered(items: readonly string[]): string {
  return items.map((item, i) => `${i + 1}. ${item}`).join('\n');
}

const PADDING = [
  '以上几点可以结合自己的实际情况灵活调整。',
  '如果还有具体的疑问，可以再补充细节，我们一起分析。',
  '总之，先做起来，再在实践中慢慢改进。',
  '这些只是基本思路，具体做法还要看当时的条件。',
];

/**
 * Keeps an output within 40–300 characters: cut at the last sentence end before the limit (or hard
 * cut with an ellipsis), and pad a too-short one with a closing sentence that suits the family.
 */
export function fitOutput(text: string, rng: Rng, padding: readonly string[] = PADDING): string {
  let out = text.trim();
  if (charLength(out) > MAX_OUTPUT_CHARS) {
    const cps = [...out].slice(0, MAX_OUTPUT_CHARS - 1);
    const head = cps.join('');
    const lastEnd = Math.max(head.lastIndexOf('。'), head.lastIndexOf('！'), head.lastIndexOf('？'), head.lastIndexOf('\n'));
    out = lastEnd >= 60 ? head.slice(0, lastEnd + 1).trim() : head + '…';
  }
  while (charLength(out) < MIN_OUTPUT_CHARS) {
    const pad = rng.pick(padding);
    // A padding line (a poem's signature) needs no full stop before it.
    out += (pad.startsWith('\n') || /[。！？.!?\n]$/u.test(out) ? '' : '。') + pad;
  }
  return out;
}

/** Shortens an instruction that grew past the limit by dropping what came after the core. */
export function fitInstruction(full: string, core: string): string {
  return charLength(full) <= MAX_INSTRUCTION_CHARS ? full : core;
}

/** Picks from the pool, excluding one value (for pairs of distinct things). */
export function pickOther<T>(items: readonly T[], not: T, rng: Rng): T {
  for (;;) {
    const x = rng.pick(items);
    if (x !== not || items.length < 2) return x;
  }
}
