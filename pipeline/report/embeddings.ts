/**
 * The report's embedding section (issue 24): a map of the data (PCA of an even sample of the embedded
 * tasks, coloured by category or leading verb) and each sampled task's nearest other task by cosine. Reads
 * only the store; nothing is sent anywhere.
 */
import { cosineDistribution, nearestOtherCosines, NEIGHBOUR_THRESHOLDS } from '../embed/neighbours.ts';
import { project2d } from '../embed/projection.ts';
import { unitVector } from '../embed/vector-index.ts';
import { UsageError } from '../errors.ts';
import { EmbeddingStore } from '../store/embeddings.ts';
import type { ReportScope, ReportStore } from '../store/report.ts';
import type { Store } from '../store/store.ts';
import { pct } from './figures.ts';
import type { EmbeddingSection, Reading } from './types.ts';

export interface EmbeddingFigureOptions {
  /** The model whose embeddings are drawn. Default: the one with the newest embeddings. */
  model?: string | undefined;
  /** Points on the map at most (an even sample). */
  mapSample: number;
  /** Tasks whose nearest other task is looked up (an even sample of the reference set). */
  neighbourSample: number;
  /** The reference set: the last this many embedded tasks of the scope. */
  neighbourWindow: number;
}

/** A task of the text analysis: its leading verb and category. */
export interface AnalysedTask {
  id: number;
  verb: string;
  category: string;
}

/** Groups coloured on the map; the rest share the last colour. */
const GROUPS = 8;
const PALETTE = ['#2f6fde', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0b7285', '#e67700', '#5c940d'];
const REST_COLOUR = '#adb5bd';
const REST = '其他';

/** The section, or undefined when the database has no embeddings (nor was a model named). */
export function embeddingSection(
  store: Store,
  rs: ReportStore,
  scope: ReportScope,
  analysed: readonly AnalysedTask[],
  accepted: number,
  o: EmbeddingFigureOptions,
  database: string,
  notes: string[],
): EmbeddingSection | undefined {
  const es = new EmbeddingStore(store);
  const models = es.models();
  const model = o.model ?? models[0]?.model;
  if (model === undefined) return undefined;
  if (!models.some((m) => m.model === model)) {
    throw new UsageError(
      `no embeddings by ${model} in ${database}: run \`zh-self-instruct embed --db ${database} --model ${model}\` first`,
      {
        option: 'embeddingModel',
      },
    );
  }
  const { count: embedded, lastIds } = rs.embedded(scope, model, o.neighbourWindow);
  if (embedded === 0) {
    notes.push(`embeddings: no accepted task of this scope has one by ${model} (zh-self-instruct embed --db ${database} --model ${model})`);
    return undefined;
  }
  // Unit vectors of one dimension (the first one's): a damaged row can only be left out, never mixed in.
  let dimensions: number | undefined;
  const unitVectors = (ids: readonly number[]): Map<number, Float32Array> => {
    const out = new Map<number, Float32Array>();
    for (const e of es.vectors(model, { taskIds: ids })) {
      const u = unitVector(e.vector);
      dimensions ??= u?.length;
      if (u !== undefined && u.length === dimensions) out.set(e.taskId, u);
    }
    return out;
  };

  // -- the map: the embedded tasks of the text-analysis sample (their verbs are known), thinned evenly --
  const analysedEmbedded = rs.embeddedAmong(
    model,
    analysed.map((t) => t.id),
  );
  const mapIds = evenly(analysedEmbedded, o.mapSample);
  const mapVectors = unitVectors(mapIds);
  const byId = new Map(analysed.map((t) => [t.id, t]));
  const plotted = mapIds.filter((id) => mapVectors.has(id));
  const withCategory = plotted.filter((id) => byId.get(id)!.category !== '').length;
  const colourBy: 'category' | 'verb' = plotted.length > 0 && withCategory * 2 >= plotted.length ? 'category' : 'verb';
  const label = (id: number): string => {
    const t = byId.get(id)!;
    return colourBy === 'category' ? t.category || '—' : t.verb;
  };
  const tally = new Map<string, number>();
  for (const id of plotted) tally.set(label(id), (tally.get(label(id)) ?? 0) + 1);
  const top = [...tally.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, GROUPS);
  const groups = top.map(([name, n], i) => ({ name, n, colour: PALETTE[i]! }));
  const rest = plotted.length - groups.reduce((s, g) => s + g.n, 0);
  if (rest > 0) groups.push({ name: REST, n: rest, colour: REST_COLOUR });
  const groupOf = new Map(top.map(([name], i) => [name, i]));
  const projection = project2d(plotted.map((id) => mapVectors.get(id)!));
  const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
  const explained: [number, number] =
    projection.totalVariance > 0
      ? [r4(projection.variance[0] / projection.totalVariance), r4(projection.variance[1] / projection.totalVariance)]
      : [0, 0];
  if (plotted.length < embedded)
    notes.push(`embedding map: an even sample of ${plotted.length} of the ${embedded} tasks with an embedding by ${model}`);

  // -- nearest other task: an even sample of the reference set, against all of it ---------------------
  const reference = unitVectors(lastIds);
  const queries = evenly(
    lastIds.filter((id) => reference.has(id)),
    o.neighbourSample,
  );
  const found = nearestOtherCosines(reference, queries);
  const distribution = cosineDistribution(found.map((f) => f.cosine));
  // Each pair once (a task and its nearest are often each other's).
  const pairs = new Set<string>();
  const closest = [...found]
    .sort((a, b) => b.cosine - a.cosine || a.id - b.id)
    .filter((f) => {
      const key = f.id < f.nearestId ? `${f.id}:${f.nearestId}` : `${f.nearestId}:${f.id}`;
      if (pairs.has(key)) return false;
      pairs.add(key);
      return true;
    })
    .slice(0, 5);
  const texts = rs.tasksByIds(closest.flatMap((f) => [f.id, f.nearestId]));
  const show = (id: number): string => {
    const t = texts.get(id);
    return t === undefined ? '' : t.input === '' ? t.instruction : `${t.instruction}\n${t.input}`;
  };
  if (queries.length < reference.size || reference.size < embedded)
    notes.push(
      `nearest neighbours by embedding: ${queries.length} sampled tasks, each against the other ${Math.max(0, reference.size - 1)} of the last ${reference.size} embedded tasks`,
    );

  return {
    model,
    dimensions: dimensions ?? 0,
    embedded,
    of: accepted,
    map: {
      method:
        'PCA: the sampled unit vectors centred, their first two principal axes by orthogonal power iteration ' +
        '(fixed start, stops when the axes move less than 1e-6 or after 50 iterations)',
      points: plotted.length,
      sampledFrom: analysedEmbedded.length,
      limit: o.mapSample,
      iterations: projection.iterations,
      explained,
      colourBy,
      groups,
      taskId: plotted,
      x: Array.from(projection.x, r4),
      y: Array.from(projection.y, r4),
      group: plotted.map((id) => groupOf.get(label(id)) ?? groups.length - 1),
      reading: mapReading(plotted.length, explained, colourBy, groups),
    },
    neighbours: {
      queries: queries.length,
      reference: reference.size,
      window: o.neighbourWindow,
      ...distribution,
      p50: distribution.p50 === null ? null : r4(distribution.p50),
      p95: distribution.p95 === null ? null : r4(distribution.p95),
      examples: closest.map((f) => ({ cosine: r4(f.cosine), task: show(f.id), nearest: show(f.nearestId) })),
      reading: neighbourReading(distribution.rows, distribution.atOrAbove, distribution.p50),
    },
  };
}

/** At most `limit` of `ids`, evenly spaced, in order. */
function evenly(ids: readonly number[], limit: number): number[] {
  if (ids.length <= limit) return [...ids];
  const step = ids.length / Math.max(1, limit);
  return Array.from({ length: limit }, (_, i) => ids[Math.floor(i * step)]!);
}

function mapReading(
  points: number,
  explained: [number, number],
  by: 'category' | 'verb',
  groups: EmbeddingSection['map']['groups'],
): Reading {
  if (points === 0) return { zh: '抽样中没有带嵌入向量的任务。', en: 'No task of the sample has an embedding.' };
  const share = (v: number) => `${(v * 100).toFixed(1)}%`;
  const head = groups.filter((g) => g.name !== REST).slice(0, 3);
  return {
    zh:
      `${points} 个点，按${by === 'category' ? '类别' : '领头动词'}着色；两个主成分分别解释了 ${share(explained[0])} 和 ${share(explained[1])} 的方差` +
      (head.length > 0 ? `；最多的是${head.map((g) => `「${g.name}」（${g.n}）`).join('、')}。` : '。'),
    en:
      `${points} points coloured by ${by === 'category' ? 'category' : 'leading verb'}; the two principal axes explain ${share(explained[0])} and ${share(explained[1])} of the variance` +
      (head.length > 0 ? `; the largest groups are ${head.map((g) => `${g.name} (${g.n})`).join(', ')}.` : '.'),
  };
}

function neighbourReading(rows: number, atOrAbove: { threshold: number; n: number }[], p50: number | null): Reading {
  if (rows === 0)
    return { zh: '没有可比较的任务（至少需要两条带嵌入向量的任务）。', en: 'Nothing to compare (it takes two embedded tasks).' };
  const [t90, t95] = NEIGHBOUR_THRESHOLDS.map((t) => atOrAbove.find((a) => a.threshold === t)?.n ?? 0) as [number, number];
  return {
    zh:
      `抽样的 ${rows} 条任务中，${pct(t90, rows)} 与另一条任务的余弦相似度 ≥ 0.9，${pct(t95, rows)} ≥ 0.95（换个说法的重复）；` +
      `最近邻余弦的中位数为 ${p50!.toFixed(3)}。`,
    en:
      `Of ${rows} sampled tasks, ${pct(t90, rows)} have another task at cosine ≥ 0.9 and ${pct(t95, rows)} at ≥ 0.95 (paraphrases, ` +
      `by meaning); the median nearest-neighbour cosine is ${p50!.toFixed(3)}.`,
  };
}
