/**
 * Population benchmark, step 2 of 2: joins blind labels with the decisions of the last draw and prints
 * the rules' population-weighted quality (see estimate.ts for the arithmetic).
 *
 *   npm run bench:filters:score -- [--decisions FILE] [--labels FILE]
 *
 * Defaults: /work/labels/decisions.jsonl (written by sample.ts) and /work/labels/labels.jsonl, one line
 * per label: {"id": "...", "label": "good"|"bad", "defect": "<class>" (when bad)}; more keys (who, when,
 * note) are allowed. A later line for the same id replaces an earlier one. Only records of the current
 * draw count: a label of a record drawn by an earlier draw but not this one is reported and left out,
 * since keeping it would over-represent the records that moved between strata.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Estimate, estimate, type Label, OUT_OF_REACH, type StratumInput } from './estimate.ts';

export const DEFECTS = [
  'needs_non_text_really',
  'missing_input_really',
  'not_chinese',
  'markup_broken',
  'output_copies_input_wrongly',
  'translation_damage_english_property',
  'translation_damage_code_keywords',
  'empty_or_cut_output',
  'refusal',
  OUT_OF_REACH,
  'other',
] as const;

class ScoreError extends Error {}

const headerSchema = z.looseObject({
  kind: z.literal('population'),
  data: z.string(),
  records: z.number().int(),
  seed: z.number().int(),
  rules: z.object({ commit: z.string(), dirty: z.boolean() }),
  drawnAt: z.string(),
  strata: z.record(z.string(), z.object({ population: z.number().int().min(0), sampled: z.number().int().min(0) })),
});
const recordSchema = z.looseObject({
  kind: z.literal('record'),
  id: z.string().min(1),
  stratum: z.string().min(1),
  sampled: z.boolean(),
});
const labelSchema = z.looseObject({
  id: z.string().min(1),
  label: z.enum(['good', 'bad']),
  defect: z.enum(DEFECTS).optional(),
});

function jsonLines(file: string): { line: number; value: unknown }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScoreError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const out: { line: number; value: unknown }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch {
      throw new ScoreError(`${file}:${i + 1}: not valid JSON`);
    }
  });
  return out;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ScoreError(`${where}: ${issue.path.join('.') || 'line'}: ${issue.message}`);
}

interface Draw {
  header: z.output<typeof headerSchema>;
  strata: Map<string, StratumInput>;
  population: Set<string>;
}

function readDecisions(file: string): Draw {
  const lines = jsonLines(file);
  if (lines.length === 0) throw new ScoreError(`${file}: empty`);
  const header = parse(headerSchema, lines[0]!.value, `${file}:${lines[0]!.line}`);
  const strata = new Map<string, { population: number; sampled: string[] }>();
  const population = new Set<string>();
  for (const { line, value } of lines.slice(1)) {
    const r = parse(recordSchema, value, `${file}:${line}`);
    population.add(r.id);
    let s = strata.get(r.stratum);
    if (!s) strata.set(r.stratum, (s = { population: 0, sampled: [] }));
    s.population++;
    if (r.sampled) s.sampled.push(r.id);
  }
  for (const [name, s] of strata) {
    const h = header.strata[name];
    if (!h || h.population !== s.population || h.sampled !== s.sampled.length) {
      throw new ScoreError(`${file}: stratum ${name}: the header's counts disagree with the record lines`);
    }
  }
  return { header, strata, population };
}

function readLabels(file: string): { labels: Map<string, Label>; replaced: number } {
  const labels = new Map<string, Label>();
  let replaced = 0;
  if (!fs.existsSync(file)) return { labels, replaced };
  for (const { line, value } of jsonLines(file)) {
    const l = parse(labelSchema, value, `${file}:${line}`);
    if (labels.has(l.id)) replaced++;
    labels.set(l.id, { label: l.label, defect: l.label === 'bad' ? l.defect : undefined });
  }
  return { labels, replaced };
}

const f2 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(2));
const f1 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));

/** 95% Wilson interval of a labelled share: 40 draws leave a wide one, and the table should say so. */
function wilson(bad: number, n: number): string {
  if (n === 0) return '–';
  const z = 1.96;
  const p = bad / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return `${Math.max(0, centre - half).toFixed(2)}–${Math.min(1, centre + half).toFixed(2)}`;
}

export function render(draw: Draw, e: Estimate, extra: { notInDraw: number; unknown: number; replaced: number }): string {
  const { header } = draw;
  const out = [
    `population: ${header.records} records of ${header.data}; ${e.decided} decided by the rules ` +
      `(rules at ${header.rules.commit.slice(0, 10)}${header.rules.dirty ? ' + uncommitted changes' : ''}, drawn ${header.drawnAt}, seed ${header.seed})`,
    '',
    'weights (per stratum):',
    '  stratum                    side       records  weight  sampled labelled  bad  bad share (95%)   out of reach',
  ];
  for (const s of [...e.strata].sort((a, b) => b.population - a.population)) {
    const weight = s.side === 'outside' ? '   –  ' : `${((100 * s.population) / e.decided).toFixed(2).padStart(5)}%`;
    out.push(
      `  ${s.stratum.padEnd(26)} ${s.side.padEnd(9)} ${String(s.population).padStart(8)}  ${weight}  ` +
        `${String(s.sampled).padStart(7)} ${String(s.labelled).padStart(8)} ${String(s.bad).padStart(4)}  ` +
        `${`${(s.labelled ? (s.bad / s.labelled).toFixed(2) : '–').padStart(4)} (${wilson(s.bad, s.labelled)})`.padEnd(16)}` +
        `${String(s.badOutOfReach).padStart(14)}`,
    );
  }
  out.push('', 'precision per rejection reason (share of its labelled rejections that are bad, strata weighted):');
  out.push('  reason                     records  labelled  bad  precision');
  for (const r of e.reasons) {
    out.push(
      `  ${r.reason.padEnd(26)} ${String(r.population).padStart(7)}  ${String(r.labelled).padStart(8)} ${String(r.bad).padStart(4)}  ${f2(r.precision).padStart(9)}`,
    );
  }
  out.push(
    '',
    'population-weighted:',
    ...(
      [
        ['precision of rejections', f2(e.weightedPrecision)],
        ['rule recall (bad rejected / all bad)', f2(e.recall)],
        [`rule recall, ${OUT_OF_REACH} left out`, f2(e.recallInReach)],
        ['kept junk per 1,000 records decided', f1(e.keptJunkPer1000)],
        [`kept junk per 1,000, ${OUT_OF_REACH} left out`, f1(e.keptJunkInReachPer1000)],
        ['false rejects per 1,000 records decided', f1(e.falseRejectsPer1000)],
      ] as const
    ).map(([name, value]) => `  ${name.padEnd(52)} ${value.padStart(6)}`),
  );
  if (e.defects.size > 0) {
    out.push('', 'bad records by defect (estimated population count):', '  defect                                 rejected    passed');
    for (const [d, n] of [...e.defects].sort((a, b) => b[1].rejected + b[1].passed - a[1].rejected - a[1].passed)) {
      out.push(`  ${d.padEnd(37)} ${n.rejected.toFixed(0).padStart(9)} ${n.passed.toFixed(0).padStart(9)}`);
    }
  }
  out.push(
    '',
    `sampled records without a label: ${e.unlabelled}`,
    `labels of records not in this draw (left out): ${extra.notInDraw}; of ids not in the population: ${extra.unknown}; ` +
      `replaced by a later line: ${extra.replaced}`,
  );
  if (e.unestimated.length > 0) out.push(`strata with no label yet (left out of the weighted figures): ${e.unestimated.join(', ')}`);
  return out.join('\n');
}

function main(argv: string[]): void {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const decisionsFile = path.resolve(flag('--decisions') ?? '/work/labels/decisions.jsonl');
  const labelsFile = path.resolve(flag('--labels') ?? path.join(path.dirname(decisionsFile), 'labels.jsonl'));
  const draw = readDecisions(decisionsFile);
  // A fresh draw has no labels yet, but a labels file looked for in the wrong folder (a copied
  // decisions file) must not pass for "nothing labelled" unnoticed.
  if (!fs.existsSync(labelsFile)) process.stderr.write(`bench:filters:score: no labels at ${labelsFile} (give --labels FILE)\n`);
  const { labels, replaced } = readLabels(labelsFile);
  const inDraw = new Set([...draw.strata.values()].flatMap((s) => s.sampled));
  let notInDraw = 0;
  let unknown = 0;
  for (const id of labels.keys()) {
    if (!draw.population.has(id)) unknown++;
    else if (!inDraw.has(id)) notInDraw++;
  }
  const e = estimate(draw.strata, labels);
  process.stdout.write(`${render(draw, e, { notInDraw, unknown, replaced })}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ScoreError) {
      process.stderr.write(`bench:filters:score: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
