/**
 * The curated export: keep rows whose latest judgment by one judge model scores at least `minScore`
 * and carries none of `dropFlags`. With a minimum, unjudged rows are left out (and counted). What was
 * kept and dropped, and the score histogram of the rows considered, go into the manifest.
 */
import { UsageError } from '../errors.ts';
import { isJudgeFlag, JUDGE_FLAGS, type JudgeFlag } from '../judge/parse.ts';

export interface QualityFilter {
  /** null: no minimum (only --drop-flags), unjudged rows kept. */
  minScore: number | null;
  judgeModel: string;
  dropFlags: JudgeFlag[];
}

export interface QualityManifest {
  judgeModel: string;
  /** Rubric sha256 → rows judged under it (the latest judgment of a row decides). */
  rubrics: Record<string, number>;
  minScore: number | null;
  dropFlags: JudgeFlag[];
  kept: number;
  dropped: { belowScore: number; flagged: number; unjudged: number };
  /** Latest scores of every row considered, bucket k = [k, k+1). */
  histogram: Record<string, number>;
}

export class QualityError extends UsageError {
  override name = 'QualityError';
}

/** `a,b` → flags, each checked against the fixed list. */
export function parseDropFlags(values: readonly string[]): JudgeFlag[] {
  const out: JudgeFlag[] = [];
  for (const v of values) {
    if (!isJudgeFlag(v)) throw new QualityError(`unknown flag "${v}" (flags: ${JUDGE_FLAGS.join(', ')})`, { option: 'dropFlags' });
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

export interface JudgedRow {
  judgeScore: number | null;
  judgeFlags: string | null;
  judgeRubric: string | null;
}

export class QualityTally {
  private readonly m: QualityManifest;

  constructor(private readonly filter: QualityFilter) {
    this.m = {
      judgeModel: filter.judgeModel,
      rubrics: {},
      minScore: filter.minScore,
      dropFlags: filter.dropFlags,
      kept: 0,
      dropped: { belowScore: 0, flagged: 0, unjudged: 0 },
      histogram: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i + 1), 0])),
    };
  }

  /** Whether the row stays in the export; counts it either way. */
  keep(row: JudgedRow): boolean {
    if (row.judgeScore === null) {
      if (this.filter.minScore !== null) {
        this.m.dropped.unjudged++;
        return false;
      }
      this.m.kept++;
      return true;
    }
    const bucket = String(Math.min(10, Math.max(1, Math.floor(row.judgeScore))));
    this.m.histogram[bucket] = (this.m.histogram[bucket] ?? 0) + 1;
    if (row.judgeRubric !== null) this.m.rubrics[row.judgeRubric] = (this.m.rubrics[row.judgeRubric] ?? 0) + 1;
    if (this.filter.minScore !== null && row.judgeScore < this.filter.minScore) {
      this.m.dropped.belowScore++;
      return false;
    }
    if (this.filter.dropFlags.length > 0 && flagsOf(row.judgeFlags).some((f) => this.filter.dropFlags.includes(f))) {
      this.m.dropped.flagged++;
      return false;
    }
    this.m.kept++;
    return true;
  }

  manifest(): QualityManifest {
    return structuredClone(this.m);
  }
}

/** The stored flags (our own JSON, but read defensively: a bad value means no flags). */
function flagsOf(json: string | null): JudgeFlag[] {
  if (json === null) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((f): f is JudgeFlag => typeof f === 'string' && isJudgeFlag(f)) : [];
  } catch {
    return [];
  }
}
