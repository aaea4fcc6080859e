/**
 * Builds the report's figures from a store: SQL aggregates (store/report.ts) for counts and lengths,
 * one streamed pass over the accepted instructions for the samples the text analysis needs.
 */
import { DEFAULT_MIN_SCORE } from '../judge/examples.ts';
import { ContaminationStore } from '../store/contamination.ts';
import { countConstraints } from '../evolve/constraints.ts';
import { EvolutionStore } from '../store/evolutions.ts';
import { QGramIndex } from '../dedup/qgram-index.ts';
import { trainingText } from '../export/formats.ts';
import { DEFAULT_TRAINING_TEMPLATE, loadTrainingTemplate } from '../export/template.ts';
import { loadTokenizer } from '../export/tokens.ts';
import { UsageError } from '../errors.ts';
import { ReportStore, type ReportScope } from '../store/report.ts';
import type { Store } from '../store/store.ts';
import { distinct2, entropyBits, leadingVerb, NO_VERB, openingPhrase, ranked, type TaggedWord } from '../analysis/instructions.ts';
import { overShare } from './figures.ts';
import { histogramOf, lengthDistribution } from './distributions.ts';
import { reasonLabel, RULE_ORDER } from '../analysis/labels.ts';
import * as read from './readings.ts';
import { embeddingSection, type AnalysedTask } from './embeddings.ts';
import { HEAD_CHARS, loadSegmenter } from '../analysis/segmenter.ts';
import type { Ranked, ReportData } from './types.ts';

export class ReportError extends UsageError {
  override name = 'ReportError';
}

export interface ReportOptions {
  /** Default: every task but the seeds. */
  scope?: ReportScope;
  /** How the report names the database (the path the user gave). */
  database: string;
  /** Instructions segmented for verbs and openings (an even sample above this). Default 20,000. */
  verbSample?: number;
  /** Instructions distinct-2 is measured on: a fixed size, so runs compare. Default 5,000. */
  distinctSample?: number;
  /** Rows whose training text is tokenized. Default 2,000. */
  tokenSample?: number;
  /** Tokenizer of the training-token histogram: a built-in name or a tokenizer.json. Default llama2. */
  tokenizer?: string;
  /** Accepted tasks whose nearest earlier task is looked up. Default 200. */
  similaritySample?: number;
  /** Earlier accepted tasks each one is compared with, at most. Default 100,000. */
  similarityWindow?: number;
  /** Similarities below this are one bin. Default 0.5. */
  similarityFloor?: number;
  /** Random accepted and rejected tasks in the sample browser. Default 50 each. */
  samples?: number;
  /** Leading verbs above this share are flagged. Default 0.1. */
  flagShare?: number;
  /** The embedding model of the map and the nearest-neighbour figure. Default: the newest one stored. */
  embeddingModel?: string;
  /** Points on the embedding map at most (an even sample). Default 5,000. */
  mapSample?: number;
  /** Tasks whose nearest other task by embedding is looked up. Default 300 (about 6 CPU seconds against 10,000 vectors of 1,024 dimensions here). */
  neighbourSample?: number;
  /** They are searched among the last this many embedded tasks of the scope (exact search). Default 10,000. */
  neighbourWindow?: number;
  now?: () => Date;
}

const DEFAULTS = {
  verbSample: 20_000,
  distinctSample: 5_000,
  tokenSample: 2_000,
  similaritySample: 200,
  similarityWindow: 100_000,
  similarityFloor: 0.5,
  samples: 50,
  flagShare: 0.1,
  mapSample: 5_000,
  neighbourSample: 300,
  neighbourWindow: 10_000,
};

export async function buildReport(store: Store, options: ReportOptions): Promise<ReportData> {
  const o = { ...DEFAULTS, ...definedOnly(options) };
  const scope = options.scope ?? { kind: 'all' };
  const rs = new ReportStore(store);
  if (scope.kind === 'run' && !rs.runExists(scope.runId))
    throw new ReportError(`the database has no run ${scope.runId}`, { option: 'run' });
  const notes: string[] = [];

  const runs = rs.runs(scope);
  // Known before the scan, so the id stride of the text sample can be chosen (an index count).
  const acceptedEstimate = rs.countAccepted(scope);
  const idStride = Math.max(1, Math.floor(acceptedEstimate / Math.max(1, o.verbSample)));
  const expectedSampled = Math.max(1, Math.ceil(acceptedEstimate / idStride));
  const every = (limit: number) => Math.max(1, Math.ceil(expectedSampled / Math.max(1, limit)));
  const [distinctEvery, tokenEvery] = [o.distinctSample, o.tokenSample].map(every) as [number, number];

  const segmenter = acceptedEstimate > 0 ? await loadSegmenter() : null;
  // Loaded (and a bad file refused) even for an empty scope: the error does not depend on the data.
  const llama = await loadTokenizer(options.tokenizer ?? 'llama2');
  const template = loadTrainingTemplate(DEFAULT_TRAINING_TEMPLATE);
  const verbCounts = new Map<string, number>();
  const objectCounts = new Map<string, Map<string, number>>();
  const openingCounts = new Map<string, number>();
  const distinctTexts: TaggedWord[][] = [];
  const tokenCounts = new Map<number, number>();
  const lengthCounts = { instruction: new Map<number, number>(), input: new Map<number, number>(), output: new Map<number, number>() };
  const categoryCounts = new Map<string, number>();
  const ndCounts = new Map<number, number>();
  const perRun = new Map<number, { accepted: number; rejected: Record<string, number> }>();
  const acceptedPick = new Reservoir(o.samples);
  const rejectedPick = new Map<string, Reservoir>();
  const sampledIds: number[] = [];
  const analysed: AnalysedTask[] = [];
  const rejectedByReason: Record<string, number> = {};
  let accepted = 0;
  let verbRows = 0;

  // -- the one scan: counts, lengths, categories, runs, samples, and the text analysis of sampled rows --
  for (const row of rs.scan(scope, idStride)) {
    const reason = row.status === 'accepted' ? null : (row.reason ?? 'unknown');
    if (row.runId !== null) {
      let r = perRun.get(row.runId);
      if (r === undefined) perRun.set(row.runId, (r = { accepted: 0, rejected: {} }));
      if (reason === null) r.accepted++;
      else r.rejected[reason] = (r.rejected[reason] ?? 0) + 1;
    }
    if (row.inScope !== 1) continue;
    if (reason !== null) {
      rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + 1;
      let pick = rejectedPick.get(reason);
      if (pick === undefined) rejectedPick.set(reason, (pick = new Reservoir(o.samples)));
      pick.offer(row.id);
      if (reason === 'near_duplicate' && row.similarity !== null) bumpNum(ndCounts, Math.round(row.similarity * 100) / 100);
      continue;
    }
    accepted++;
    acceptedPick.offer(row.id);
    bumpNum(lengthCounts.instruction, row.instructionChars);
    bumpNum(lengthCounts.input, row.inputChars);
    bumpNum(lengthCounts.output, row.outputChars);
    bump(categoryCounts, row.category ?? '');
    if (row.instruction === null) continue;
    const head = segmenter!.tag(row.instruction.slice(0, HEAD_CHARS));
    const { verb, object } = leadingVerb(head);
    bump(verbCounts, verb);
    let objects = objectCounts.get(verb);
    if (objects === undefined) objectCounts.set(verb, (objects = new Map()));
    bump(objects, object ?? '—');
    bump(openingCounts, openingPhrase(head));
    if (verbRows % distinctEvery === 0 && distinctTexts.length < o.distinctSample) distinctTexts.push(segmenter!.tag(row.instruction));
    if (verbRows % tokenEvery === 0) {
      const task = { instruction: row.instruction, input: row.input ?? '', output: row.output ?? '' };
      bumpNum(tokenCounts, llama.count(trainingText('alpaca', task, { template, system: null })));
    }
    sampledIds.push(row.id);
    analysed.push({ id: row.id, verb, category: row.category ?? '' });
    verbRows++;
  }
  const rejected = Object.values(rejectedByReason).reduce((a, b) => a + b, 0);
  const req = rs.requestTotals(scope);
  const seconds = req.first !== null && req.last !== null ? (Date.parse(req.last) - Date.parse(req.first)) / 1000 : 0;
  const costPer1000Accepted = accepted > 0 && req.total > 0 ? (req.costUsd / accepted) * 1000 : null;
  const overviewBase = {
    accepted,
    rejected,
    rejectedByReason,
    acceptedBySource: rs.acceptedBySource(scope),
    runs: runs.map((r) => r.id),
    models: req.models,
    requests: req.total,
    failedRequests: req.failed,
    promptTokens: req.promptTokens,
    completionTokens: req.completionTokens,
    costUsd: req.costUsd,
    unpricedRequests: req.unpriced,
    seconds,
    costPer1000Accepted,
  };

  const verbsRanked = withShare(ranked(verbCounts), verbRows);
  const top = verbsRanked.slice(0, 30);
  const sunburst = verbsRanked.slice(0, 20).map((v) => {
    const objects = ranked(objectCounts.get(v.name) ?? new Map());
    const children = objects.slice(0, 8).map((x) => ({ name: x.name, value: x.count }));
    const rest = objects.slice(8).reduce((n, x) => n + x.count, 0);
    if (rest > 0) children.push({ name: '其他', value: rest });
    return { name: v.name, value: v.count, children };
  });
  const openings = withShare(ranked(openingCounts), verbRows).slice(0, 20);
  const d2 = distinct2(distinctTexts);
  const entropy = entropyBits(verbCounts.values());
  // The no-verb bucket is not a verb: it is shown, never flagged.
  const flagged = overShare(
    verbsRanked.filter((v) => v.name !== NO_VERB),
    verbRows,
    o.flagShare,
  );
  if (verbRows < accepted)
    notes.push(
      `verbs and opening phrases: an even sample of ${verbRows} of ${accepted} accepted instructions (every task id divisible by ${idStride})`,
    );
  notes.push(
    `distinct-2: word bigrams of ${distinctTexts.length} instructions (an even sample of at most ${o.distinctSample}, so runs compare)`,
  );

  // -- lengths ----------------------------------------------------------------------------------------
  const grouped = (m: Map<number, number>) => [...m.entries()].map(([len, n]) => ({ len, n }));
  const tokens = {
    ...lengthDistribution(grouped(tokenCounts)),
    tokenizer: llama.name,
    tokenizerSha256: llama.sha256,
    sampled: false,
  };
  tokens.sampled = tokens.rows < accepted;
  if (tokens.sampled)
    notes.push(`training tokens: ${llama.name} tokenizer on an even sample of ${tokens.rows} of ${accepted} accepted rows`);

  // -- similarity -------------------------------------------------------------------------------------
  const threshold = thresholdOf(runs.map((r) => r.optionsJson));
  const similarity = nearestEarlier(rs, sampledIds, o.similaritySample, o.similarityWindow, o.similarityFloor);
  if (similarity.histogram.rows < accepted) {
    notes.push(
      `similarity at acceptance: an even sample of ${similarity.histogram.rows} accepted tasks among the last ${o.similarityWindow} accepted`,
    );
  }
  const nd = [...ndCounts.entries()].map(([sim, n]) => ({ sim, n }));
  const ndHist = histogramOf(
    nd.map((x) => ({ value: x.sim, n: x.n })),
    Math.min(threshold ?? 0.7, ...nd.map((x) => x.sim)),
    1,
    0.02,
  );
  const examples = similarity.best;

  // -- runs over time, samples, optional sections -----------------------------------------------------
  const nightRuns = rs
    .runMeta()
    .slice(-60)
    .map((m) => {
      const r = perRun.get(m.runId) ?? { accepted: 0, rejected: {} };
      const rej = Object.values(r.rejected).reduce((a, b) => a + b, 0);
      return {
        runId: m.runId,
        startedAt: m.startedAt,
        status: m.status,
        model: m.model,
        accepted: r.accepted,
        rejected: rej,
        acceptanceRate: r.accepted + rej === 0 ? 0 : r.accepted / (r.accepted + rej),
        rejectedByReason: r.rejected,
        requests: m.requests,
        costUsd: m.costUsd,
        costPer1000Accepted: r.accepted > 0 && m.requests > 0 ? (m.costUsd / r.accepted) * 1000 : null,
      };
    });
  const samples = sampleTasks(rs, acceptedPick, rejectedPick, rejectedByReason, o.samples);

  const funnelStages = funnel(accepted, rejectedByReason);
  const lengths = {
    instruction: lengthDistribution(grouped(lengthCounts.instruction)),
    input: lengthDistribution(grouped(lengthCounts.input)),
    output: lengthDistribution(grouped(lengthCounts.output)),
    tokens,
  };
  const categories = {
    accepted: [...categoryCounts.entries()].map(([category, n]) => ({ category, n })).sort((a, b) => b.n - a.n),
    seeds: rs.seedCategories(),
  };

  const data: ReportData = {
    schemaVersion: 1,
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    database: options.database,
    scope: {
      kind: scope.kind,
      runId: scope.kind === 'run' ? scope.runId : null,
      since: scope.kind === 'since' ? scope.since : null,
      label: scope.kind === 'run' ? `run ${scope.runId}` : scope.kind === 'since' ? `since ${scope.since}` : 'all tasks',
    },
    notes,
    overview: { ...overviewBase, reading: read.overview(overviewBase) },
    funnel: { stages: funnelStages, reading: read.funnel(funnelStages) },
    verbs: {
      rows: verbRows,
      of: accepted,
      top,
      sunburst,
      openings,
      flagged,
      diversity: {
        distinct2: round(d2.value, 4),
        distinct2Rows: distinctTexts.length,
        verbEntropyBits: round(entropy, 3),
        effectiveVerbs: round(2 ** entropy, 1),
        distinctVerbs: verbCounts.size,
      },
      readings: {
        sunburst: read.verbs(top, flagged, verbRows),
        openings: read.openings(openings),
        diversity: read.diversity(d2.value, distinctTexts.length, entropy, verbCounts.size),
      },
    },
    categories: { ...categories, reading: read.categories(categories.accepted, categories.seeds) },
    lengths: { ...lengths, reading: read.lengths(lengths) },
    similarity: {
      threshold,
      accepted: similarity.histogram,
      nearDuplicates: { ...ndHist, rows: nd.reduce((n, x) => n + x.n, 0) },
      examples,
      reading: read.similarity(similarity.histogram, threshold),
    },
    nights: { runs: nightRuns, reading: read.nights(nightRuns) },
    samples,
  };
  addOptionalSections(
    data,
    rs,
    scope,
    runs.map((r) => r.optionsJson),
  );
  const contamination = contaminationSection(new ContaminationStore(store));
  if (contamination !== undefined) data.contamination = contamination;
  const evolution = evolutionSection(new EvolutionStore(store));
  if (evolution !== undefined) data.evolution = evolution;
  const embeddings = embeddingSection(
    store,
    rs,
    scope,
    analysed,
    accepted,
    { model: options.embeddingModel, mapSample: o.mapSample, neighbourSample: o.neighbourSample, neighbourWindow: o.neighbourWindow },
    options.database,
    notes,
  );
  if (embeddings !== undefined) data.embeddings = embeddings;
  return data;
}

/** Instructions read per round for the constraint count: enough for a mean, bounded for big databases. */
const EVOLUTION_SAMPLE = 5_000;

/** Evol-Instruct (issue 23), over the whole database: by round, how long, how constrained and how well judged. */
function evolutionSection(es: EvolutionStore): ReportData['evolution'] {
  const rounds = es.byRound();
  if (rounds.length === 0) return undefined;
  const constraints = new Map<number, { sum: number; n: number }>();
  for (const { round, instruction } of es.instructionsByRound(EVOLUTION_SAMPLE)) {
    const c = constraints.get(round) ?? { sum: 0, n: 0 };
    c.sum += countConstraints(instruction);
    c.n++;
    constraints.set(round, c);
  }
  const meanConstraints = (round: number): number | null => {
    const c = constraints.get(round);
    return c === undefined || c.n === 0 ? null : Math.round((c.sum / c.n) * 100) / 100;
  };
  const round2 = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);
  const roots = es.roots();
  const rows = [
    {
      round: 0,
      tried: 0,
      eliminationRate: null,
      meanChars: round2(roots.meanChars),
      meanConstraints: meanConstraints(0),
      meanScore: round2(roots.meanScore),
    },
    ...rounds.map((r) => ({
      round: r.round,
      tried: r.tried,
      eliminationRate: r.tried === 0 ? null : Math.round((r.eliminated / r.tried) * 1000) / 1000,
      meanChars: round2(r.meanChars),
      meanConstraints: meanConstraints(r.round),
      meanScore: round2(r.meanScore),
    })),
  ];
  const last = rows.at(-1)!;
  return {
    rounds: rows,
    reading: {
      zh: `${roots.n} 条任务参与了进化；到第 ${last.round} 轮，指令平均 ${last.meanChars ?? '—'} 字（原始 ${rows[0]!.meanChars ?? '—'} 字），平均约束 ${last.meanConstraints ?? '—'} 条（原始 ${rows[0]!.meanConstraints ?? '—'} 条）。`,
      en: `${roots.n} tasks were evolved; by round ${last.round} instructions average ${last.meanChars ?? '—'} characters (roots ${rows[0]!.meanChars ?? '—'}) and ${last.meanConstraints ?? '—'} constraints (roots ${rows[0]!.meanConstraints ?? '—'}).`,
    },
  };
}

/** Benchmark decontamination (issue 25), over the whole database: flagged and rejected tasks per benchmark, the closest matches. */
function contaminationSection(cs: ContaminationStore): ReportData['contamination'] {
  const benchmarks = cs.tally().map(({ id: _id, ...b }) => b);
  if (benchmarks.length === 0) return undefined;
  const closest = cs.closest(10).map((c) => ({ ...c, instruction: c.instruction.slice(0, 120) }));
  const flagged = benchmarks.reduce((n, b) => n + b.accepted, 0);
  const rejected = benchmarks.reduce((n, b) => n + b.rejected, 0);
  return {
    benchmarks,
    closest,
    reading: {
      zh: `检查了 ${benchmarks.length} 个评测集：${flagged} 条已接受的数据与评测题重合（导出时剔除），${rejected} 条在接受时即被拒绝。`,
      en: `Checked against ${benchmarks.length} benchmark(s): ${flagged} accepted tasks overlap a benchmark question (left out of exports), ${rejected} were rejected at acceptance.`,
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function bumpNum(m: Map<number, number>, k: number): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function withShare(items: { name: string; count: number }[], total: number): Ranked[] {
  return items.map((x) => ({ ...x, share: total === 0 ? 0 : round(x.count / total, 4) }));
}

/** Parsed → each rule in the order it runs → near-duplicates → surplus → accepted: a task is removed by the first rule it fails. */
function funnel(accepted: number, rejected: Record<string, number>): ReportData['funnel']['stages'] {
  const total = accepted + Object.values(rejected).reduce((a, b) => a + b, 0);
  const extra = Object.keys(rejected)
    .filter((r) => !RULE_ORDER.includes(r) && r !== 'near_duplicate' && r !== 'target_reached')
    .sort();
  const order = [...RULE_ORDER, ...extra, 'near_duplicate', 'target_reached'].filter((r) => (rejected[r] ?? 0) > 0);
  const stages = [{ key: 'parsed', label: '解析出的任务 tasks parsed', remaining: total, removed: 0 }];
  let remaining = total;
  for (const r of order) {
    remaining -= rejected[r]!;
    stages.push({ key: r, label: reasonLabel(r), remaining, removed: rejected[r]! });
  }
  stages.push({ key: 'accepted', label: '接受 accepted', remaining: accepted, removed: 0 });
  return stages;
}

/** The runs' near-duplicate threshold (options.similarity); the most recent when they differ. */
function thresholdOf(optionsJson: string[]): number | null {
  for (const json of [...optionsJson].reverse()) {
    const value = safeOptions(json)['similarity'];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}

function safeOptions(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * For an even sample of `size` of the candidate tasks: the most similar accepted task before it (seeds
 * included), found with the exact near-duplicate index over the `window` accepted tasks up to the last
 * candidate, queried just before the task itself is added — what the pipeline saw when it accepted it.
 * Only candidates inside the window are sampled, so each is compared with up to `window` tasks before it.
 */
function nearestEarlier(rs: ReportStore, candidates: number[], size: number, window: number, floor: number) {
  const step = 0.05;
  const lo: number[] = [];
  for (let x = floor; x < 1 - 1e-9; x += step) lo.push(round(x, 2));
  const counts = lo.map(() => 0);
  let belowFloor = 0;
  const found: { id: number; nearestId: number; similarity: number }[] = [];
  if (candidates.length === 0) return { histogram: { rows: 0, window, floor, lo, counts, belowFloor }, best: [] };
  const reference = rs.acceptedKeysBefore(candidates[candidates.length - 1]!, window);
  const inWindow = candidates.filter((id) => id > reference[0]!.id);
  const spacing = Math.max(1, inWindow.length / size);
  const wanted = new Set<number>();
  for (let k = 0; k < inWindow.length && wanted.size < size; k = Math.floor(wanted.size * spacing)) wanted.add(inWindow[k]!);
  const index = new QGramIndex();
  let rows = 0;
  for (const ref of reference) {
    if (wanted.has(ref.id) && index.size > 0) {
      rows++;
      const match = index.findNearDuplicate(ref.key, floor);
      if (match === undefined) belowFloor++;
      else {
        counts[Math.min(lo.length - 1, Math.floor((match.similarity - floor) / step + 1e-9))]!++;
        found.push({ id: ref.id, nearestId: match.id, similarity: match.similarity });
      }
    }
    index.add(ref.key, ref.id);
  }
  found.sort((a, b) => b.similarity - a.similarity);
  const top = found.slice(0, 5);
  const texts = rs.tasksByIds(top.flatMap((f) => [f.id, f.nearestId]));
  const show = (id: number) => {
    const t = texts.get(id);
    return t === undefined ? '' : t.input === '' ? t.instruction : `${t.instruction}\n${t.input}`;
  };
  const best = top.map((f) => ({
    similarity: round(f.similarity, 3),
    task: show(f.id),
    nearest: show(f.nearestId),
    nearestSource: texts.get(f.nearestId)?.source ?? '',
  }));
  return { histogram: { rows, window, floor, lo, counts, belowFloor }, best };
}

/** Reservoir sampling (Algorithm R): a uniform random sample of ids from a stream of unknown length. */
class Reservoir {
  readonly ids: number[] = [];
  private seen = 0;
  constructor(private readonly size: number) {}

  offer(id: number): void {
    this.seen++;
    if (this.ids.length < this.size) this.ids.push(id);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.size) this.ids[j] = id;
    }
  }
}

/** Random accepted tasks, and rejected ones spread over the reasons (each reason at least once). */
function sampleTasks(
  rs: ReportStore,
  acceptedPick: Reservoir,
  rejectedPick: Map<string, Reservoir>,
  rejected: Record<string, number>,
  n: number,
): ReportData['samples'] {
  const total = Object.values(rejected).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(rejected).sort((a, b) => b[1] - a[1]);
  const quota = new Map(reasons.map(([r, c]) => [r, Math.max(1, Math.round((n * c) / Math.max(1, total)))]));
  let sum = [...quota.values()].reduce((a, b) => a + b, 0);
  for (const [r] of reasons) {
    while (sum > n && quota.get(r)! > 1) {
      quota.set(r, quota.get(r)! - 1);
      sum--;
    }
  }
  const rejectedIds = reasons.flatMap(([r]) => (rejectedPick.get(r)?.ids ?? []).slice(0, quota.get(r)!));
  return {
    accepted: rs.samplesByIds(acceptedPick.ids),
    rejected: rs.samplesByIds(rejectedIds),
    reasons: reasons.map(([reason, c]) => ({ reason, label: reasonLabel(reason), n: c })),
  };
}

function addOptionalSections(data: ReportData, rs: ReportStore, scope: ReportScope, optionsJson: string[]): void {
  const judge = rs.latestJudge();
  if (judge !== undefined) {
    const scores = rs.judgeScores(scope, judge);
    const flags = rs.judgeFlags(scope, judge);
    // The threshold of machine examples and of curated exports: a run's own, else the default.
    let threshold: number = DEFAULT_MIN_SCORE;
    for (const json of optionsJson) {
      const t = safeOptions(json)['examplesMinScore'];
      if (typeof t === 'number') threshold = t;
    }
    const atOrAbove = scores.filter((s) => s.score >= threshold).reduce((n, s) => n + s.n, 0);
    if (scores.length > 0) {
      data.judge = { scores, flags, threshold, atOrAbove, reading: read.judge(scores, threshold, atOrAbove) };
      data.funnel.stages.push({ key: 'judged', label: '评审达标 judged ≥ threshold', remaining: atOrAbove, removed: 0 });
    }
  }
  const byModel = rs.answersByModel(scope);
  if (byModel.length > 0) data.answers = { byModel, reading: read.answers(byModel) };
  const turns = rs.dialogueTurns(scope);
  if (turns.length > 0) data.dialogues = { turns, reading: read.dialogues(turns) };
}
