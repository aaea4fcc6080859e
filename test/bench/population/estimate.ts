/**
 * Population-weighted quality of the rules from a stratified, blind-labelled sample. Each stratum's
 * share of bad records is estimated from its labelled draws and weighted by how many records of the
 * population fell in it, so a rule that fires on 700 records weighs 700 times one that fires once.
 * Pure: the scorer and its test share it.
 */
import { decisionOfStratum, type Side, sideOf } from './draw.ts';

/** Bad records that no rule can see: the judge's job, reported apart. */
export const OUT_OF_REACH = 'wrong_facts_or_math';

export interface Label {
  label: 'good' | 'bad';
  defect?: string | undefined;
}

export interface StratumInput {
  population: number;
  /** Ids drawn for labelling in the current draw. */
  sampled: readonly string[];
}

export interface StratumEstimate {
  stratum: string;
  decision: string;
  side: Side;
  population: number;
  sampled: number;
  labelled: number;
  bad: number;
  /** Bad records whose defect is out of the rules' reach. */
  badOutOfReach: number;
  defects: Map<string, number>;
}

export interface ReasonPrecision {
  reason: string;
  population: number;
  labelled: number;
  bad: number;
  /** Population-weighted over the reason's strata; undefined when none of them has a label. */
  precision: number | undefined;
}

export interface Estimate {
  strata: StratumEstimate[];
  reasons: ReasonPrecision[];
  /** Records the rules decided (rejected or passed); exact repeats never reach them. */
  decided: number;
  /** Sampled records without a label (never dropped silently). */
  unlabelled: number;
  /** Strata with records but no labelled draw: left out of every weighted figure below. */
  unestimated: string[];
  weightedPrecision: number | undefined;
  /** Bad records the rules reject / all bad records. */
  recall: number | undefined;
  /** The same with wrong facts and arithmetic counted as neither good nor bad. */
  recallInReach: number | undefined;
  keptJunkPer1000: number | undefined;
  keptJunkInReachPer1000: number | undefined;
  falseRejectsPer1000: number | undefined;
  /** Estimated population count of each defect class on each side of the rules. */
  defects: Map<string, { rejected: number; passed: number }>;
}

const share = (a: number, b: number): number | undefined => (b > 0 ? a / b : undefined);

export function estimate(strata: ReadonlyMap<string, StratumInput>, labels: ReadonlyMap<string, Label>): Estimate {
  const out: StratumEstimate[] = [];
  let unlabelled = 0;
  for (const [stratum, { population, sampled }] of strata) {
    const decision = decisionOfStratum(stratum);
    const s: StratumEstimate = {
      stratum,
      decision,
      side: sideOf(decision),
      population,
      sampled: sampled.length,
      labelled: 0,
      bad: 0,
      badOutOfReach: 0,
      defects: new Map(),
    };
    for (const id of sampled) {
      const l = labels.get(id);
      if (l === undefined) {
        unlabelled++;
        continue;
      }
      s.labelled++;
      if (l.label === 'bad') {
        s.bad++;
        const defect = l.defect ?? 'unspecified';
        if (defect === OUT_OF_REACH) s.badOutOfReach++;
        s.defects.set(defect, (s.defects.get(defect) ?? 0) + 1);
      }
    }
    out.push(s);
  }

  const decided = out.filter((s) => s.side !== 'outside').reduce((a, s) => a + s.population, 0);
  const estimable = out.filter((s) => s.side !== 'outside' && s.labelled > 0);
  const unestimated = out.filter((s) => s.side !== 'outside' && s.population > 0 && s.labelled === 0).map((s) => s.stratum);
  // Expected population counts from each stratum's labelled share.
  const weighted = (side: Side, count: (s: StratumEstimate) => number): number =>
    estimable.filter((s) => s.side === side).reduce((a, s) => a + (s.population * count(s)) / s.labelled, 0);
  const rejectedPopulation = estimable.filter((s) => s.side === 'rejected').reduce((a, s) => a + s.population, 0);
  const badRejected = weighted('rejected', (s) => s.bad);
  const badPassed = weighted('passed', (s) => s.bad);
  const inReachRejected = weighted('rejected', (s) => s.bad - s.badOutOfReach);
  const inReachPassed = weighted('passed', (s) => s.bad - s.badOutOfReach);
  const goodRejected = weighted('rejected', (s) => s.labelled - s.bad);
  const hasPassed = estimable.some((s) => s.side === 'passed');
  const hasRejected = rejectedPopulation > 0;
  const per1000 = (n: number, known: boolean): number | undefined => (known && decided > 0 ? (1000 * n) / decided : undefined);

  const reasons = new Map<string, ReasonPrecision>();
  for (const s of out.filter((x) => x.side === 'rejected')) {
    const r = reasons.get(s.decision) ?? { reason: s.decision, population: 0, labelled: 0, bad: 0, precision: undefined };
    r.population += s.population;
    r.labelled += s.labelled;
    r.bad += s.bad;
    reasons.set(s.decision, r);
  }
  for (const r of reasons.values()) {
    const parts = estimable.filter((s) => s.side === 'rejected' && s.decision === r.reason);
    const pop = parts.reduce((a, s) => a + s.population, 0);
    r.precision = share(
      parts.reduce((a, s) => a + (s.population * s.bad) / s.labelled, 0),
      pop,
    );
  }

  const defects = new Map<string, { rejected: number; passed: number }>();
  for (const s of estimable) {
    if (s.side === 'outside') continue;
    for (const [d, n] of s.defects) {
      const e = defects.get(d) ?? { rejected: 0, passed: 0 };
      e[s.side] += (s.population * n) / s.labelled;
      defects.set(d, e);
    }
  }

  return {
    strata: out,
    reasons: [...reasons.values()].sort((a, b) => b.population - a.population),
    decided,
    unlabelled,
    unestimated,
    weightedPrecision: share(badRejected, rejectedPopulation),
    recall: hasPassed && hasRejected ? share(badRejected, badRejected + badPassed) : undefined,
    recallInReach: hasPassed && hasRejected ? share(inReachRejected, inReachRejected + inReachPassed) : undefined,
    keptJunkPer1000: per1000(badPassed, hasPassed),
    keptJunkInReachPer1000: per1000(inReachPassed, hasPassed),
    falseRejectsPer1000: per1000(goodRejected, hasRejected),
    defects,
  };
}
