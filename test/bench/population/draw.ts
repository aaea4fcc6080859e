/**
 * The population benchmark's draw: record ids, strata and a seeded stratified sample. Pure, so the
 * draw is tested without the data. A record's rank in its stratum is a hash of the seed and its id, not
 * a position in a random stream: after a rule change, a record that stays in its stratum keeps its rank,
 * so a re-draw picks mostly the records already labelled and only the newcomers need labels.
 */
import { createHash } from 'node:crypto';

/** What happened to one record of the file under `import --filter --similarity 1`. */
export type Decision =
  /** Stored as accepted. */
  | 'kept'
  /** Passed the rules, then rejected as a near-duplicate of an earlier record: not a rule rejection. */
  | 'near_duplicate'
  /** Same key as an earlier record of the file: import skips it before any rule (never decided). */
  | 'exact_repeat'
  /** A rule's reject reason. */
  | (string & {});

/** Which side of the rules a decision is on; `outside` never reached them. */
export type Side = 'rejected' | 'passed' | 'outside';

export function sideOf(decision: Decision): Side {
  if (decision === 'kept' || decision === 'near_duplicate') return 'passed';
  if (decision === 'exact_repeat') return 'outside';
  return 'rejected';
}

/** Stable across re-draws and rule changes: the record's index in the file and a hash of its content. */
export function recordId(index: number, record: { instruction: string; input: string; output: string }): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([record.instruction, record.input, record.output]))
    .digest('hex');
  return `${index}-${hash.slice(0, 12)}`;
}

const HAN = /\p{Script=Han}/u;

/**
 * The stratum a decided record is sampled from: its decision, except that `not_chinese` is split by
 * whether the instruction has any Han character at all. In the 20k file about 3,400 records were never
 * translated; drawn together with the handful of mixed ones (formulas, quoted English), 40 random draws
 * would almost never show the mixed ones, which are where the rule can misfire.
 */
export function stratumOf(decision: Decision, instruction: string): string {
  if (decision === 'not_chinese') return HAN.test(instruction) ? 'not_chinese/mixed' : 'not_chinese/no_han';
  return decision;
}

/** Decision of a stratum name (the part before a `/`). */
export function decisionOfStratum(stratum: string): Decision {
  const slash = stratum.indexOf('/');
  return slash === -1 ? stratum : stratum.slice(0, slash);
}

export interface DrawOptions {
  seed: number;
  /** Records drawn from each rejection stratum (all of them when it has fewer). Default 40. */
  perReason: number;
  /** Records drawn from `kept`. Default 120. */
  kept: number;
}

export const DEFAULT_DRAW: DrawOptions = { seed: 27, perReason: 40, kept: 120 };

function rank(seed: number, salt: string, id: string): string {
  return createHash('sha256').update(`${seed}:${salt}:${id}`).digest('hex');
}

/** How many records a stratum contributes: `exact_repeat` never reached the rules, so none. */
export function quota(stratum: string, options: DrawOptions): number {
  const decision = decisionOfStratum(stratum);
  if (decision === 'exact_repeat') return 0;
  return decision === 'kept' ? options.kept : options.perReason;
}

/**
 * The sampled ids of each stratum (lowest rank first), and every sampled id in the blind file's order:
 * by a second hash, so position says nothing about the stratum.
 */
export function draw(
  members: ReadonlyMap<string, readonly string[]>,
  options: DrawOptions = DEFAULT_DRAW,
): { perStratum: Map<string, string[]>; blindOrder: string[] } {
  const perStratum = new Map<string, string[]>();
  for (const [stratum, ids] of members) {
    const ranked = ids.map((id) => ({ id, r: rank(options.seed, 'draw', id) })).sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0));
    perStratum.set(
      stratum,
      ranked.slice(0, quota(stratum, options)).map((x) => x.id),
    );
  }
  const all = [...perStratum.values()].flat();
  const blindOrder = all
    .map((id) => ({ id, r: rank(options.seed, 'order', id) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0))
    .map((x) => x.id);
  return { perStratum, blindOrder };
}
