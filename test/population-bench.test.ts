/** The population benchmark's draw and weighted estimate, on small hand-computed populations (no real data). */
import { describe, expect, it } from 'vitest';
import { draw, recordId, stratumOf } from './bench/population/draw.ts';
import { estimate, type Label } from './bench/population/estimate.ts';

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('population draw', () => {
  it('keys a record by its index and content', () => {
    const r = { instruction: '写一首诗', input: '', output: '春眠不觉晓' };
    expect(recordId(3, r)).toBe(recordId(3, { ...r }));
    expect(recordId(3, r)).not.toBe(recordId(4, r));
    expect(recordId(3, r)).not.toBe(recordId(3, { ...r, output: '春眠不觉晓。' }));
  });

  it('splits not_chinese by whether the instruction has any Han character', () => {
    expect(stratumOf('not_chinese', 'List three fruits.')).toBe('not_chinese/no_han');
    expect(stratumOf('not_chinese', '求导 f(x) = x^3 + 5x + 10 and g(x) = sin x')).toBe('not_chinese/mixed');
    expect(stratumOf('markup_garbage', 'abc')).toBe('markup_garbage');
  });

  it('takes a quota per stratum, all of a small one, none of exact repeats, and keeps draws across a re-draw', () => {
    const members = new Map([
      ['kept', ids('k', 500)],
      ['markup_garbage', ids('m', 100)],
      ['refusal', ids('r', 3)],
      ['exact_repeat', ids('x', 5)],
    ]);
    const first = draw(members, { seed: 1, perReason: 40, kept: 120 });
    expect(first.perStratum.get('kept')).toHaveLength(120);
    expect(first.perStratum.get('markup_garbage')).toHaveLength(40);
    expect([...first.perStratum.get('refusal')!].sort()).toEqual(['r0', 'r1', 'r2']);
    expect(first.perStratum.get('exact_repeat')).toEqual([]);
    expect(first.blindOrder).toHaveLength(163);
    // Blind order is not stratum order.
    expect(first.blindOrder.slice(0, 120).every((id) => id.startsWith('k'))).toBe(false);
    // A rule change moves 30 rejected records into kept: the other sampled markup records stay drawn.
    const moved = first.perStratum.get('markup_garbage')!.slice(0, 10).concat(ids('m', 100).slice(0, 20));
    const after = new Map([
      ['kept', [...ids('k', 500), ...new Set(moved)]],
      ['markup_garbage', ids('m', 100).filter((id) => !moved.includes(id))],
      ['refusal', ids('r', 3)],
    ]);
    const second = draw(after, { seed: 1, perReason: 40, kept: 120 });
    const stayed = first.perStratum.get('markup_garbage')!.filter((id) => !moved.includes(id));
    expect(stayed.every((id) => second.perStratum.get('markup_garbage')!.includes(id))).toBe(true);
    expect(draw(members, { seed: 2, perReason: 40, kept: 120 }).perStratum.get('kept')).not.toEqual(first.perStratum.get('kept'));
  });
});

describe('population estimate', () => {
  // kept: 900 records, 10 drawn: 2 bad (one a wrong fact). rule A: 80 records, 4 drawn: 3 bad.
  // rule B: 20 records, 2 drawn: 0 bad, 1 unlabelled.
  const strata = new Map([
    ['kept', { population: 900, sampled: ids('k', 10) }],
    ['rule_a', { population: 80, sampled: ids('a', 4) }],
    ['rule_b', { population: 20, sampled: ids('b', 2) }],
    ['exact_repeat', { population: 7, sampled: [] }],
  ]);
  const labels = new Map<string, Label>([
    ...ids('k', 10).map((id, i): [string, Label] => [
      id,
      i === 0 ? { label: 'bad', defect: 'markup_broken' } : i === 1 ? { label: 'bad', defect: 'wrong_facts_or_math' } : { label: 'good' },
    ]),
    ['a0', { label: 'bad', defect: 'other' }],
    ['a1', { label: 'bad', defect: 'other' }],
    ['a2', { label: 'bad', defect: 'wrong_facts_or_math' }],
    ['a3', { label: 'good' }],
    ['b0', { label: 'good' }],
  ]);

  it('weights each stratum by its population', () => {
    const e = estimate(strata, labels);
    expect(e.decided).toBe(1000);
    expect(e.unlabelled).toBe(1);
    // Rejections: A 80 × 3/4 = 60 bad, B 20 × 0 = 0 → 60 / 100.
    expect(e.weightedPrecision).toBeCloseTo(0.6);
    expect(e.reasons.find((r) => r.reason === 'rule_a')!.precision).toBeCloseTo(0.75);
    // Bad kept: 900 × 2/10 = 180; recall 60 / 240.
    expect(e.recall).toBeCloseTo(60 / 240);
    // In reach: rejected 80 × 2/4 = 40, kept 900 × 1/10 = 90.
    expect(e.recallInReach).toBeCloseTo(40 / 130);
    expect(e.keptJunkPer1000).toBeCloseTo(180);
    expect(e.keptJunkInReachPer1000).toBeCloseTo(90);
    // Good rejected: A 80 × 1/4 = 20, B 20 × 1/1 = 20 → 40 per 1000.
    expect(e.falseRejectsPer1000).toBeCloseTo(40);
    expect(e.defects.get('wrong_facts_or_math')).toEqual({ rejected: 20, passed: 90 });
  });

  it('names strata without labels instead of dropping them silently', () => {
    const e = estimate(strata, new Map([...labels].filter(([id]) => !id.startsWith('b'))));
    expect(e.unestimated).toEqual(['rule_b']);
    expect(e.unlabelled).toBe(2);
    expect(e.weightedPrecision).toBeCloseTo(0.75);
  });
});
