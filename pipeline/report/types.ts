/**
 * The figures of one report: what `report --json` prints and what html.ts draws. Optional sections
 * (judge, answers, dialogues) are present only when the database has their tables.
 */
import type { SampleRow } from '../store/report.ts';

/** A one-line reading of a chart, in Chinese and in English. */
export interface Reading {
  zh: string;
  en: string;
}

export interface Ranked {
  name: string;
  count: number;
  /** count over the rows analysed. */
  share: number;
}

export interface LengthDistribution {
  /** Accepted rows measured (all of them, except for tokens). */
  rows: number;
  binWidth: number;
  /** Lower edge of each bin; the last bin also holds everything above the 99th percentile. */
  lo: number[];
  counts: number[];
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

export interface ReportData {
  schemaVersion: 1;
  generatedAt: string;
  database: string;
  scope: { kind: 'all' | 'run' | 'since'; runId: number | null; since: string | null; label: string };
  /** Sampling and provenance notes, also printed on the charts they concern. */
  notes: string[];
  overview: {
    accepted: number;
    rejected: number;
    rejectedByReason: Record<string, number>;
    acceptedBySource: Record<string, number>;
    runs: number[];
    models: Record<string, number>;
    requests: number;
    failedRequests: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
    unpricedRequests: number;
    /** From the first to the last request of the scope. */
    seconds: number;
    costPer1000Accepted: number | null;
    reading: Reading;
  };
  funnel: {
    stages: { key: string; label: string; remaining: number; removed: number }[];
    reading: Reading;
  };
  verbs: {
    /** Instructions analysed (an even sample when there are more than the limit) and how many there were. */
    rows: number;
    of: number;
    top: Ranked[];
    sunburst: { name: string; value: number; children: { name: string; value: number }[] }[];
    openings: Ranked[];
    flagged: { name: string; share: number }[];
    diversity: {
      distinct2: number;
      /** Instructions distinct-2 was measured on (fixed size, so runs compare). */
      distinct2Rows: number;
      verbEntropyBits: number;
      /** 2^entropy: as many equally common verbs would give the same entropy. */
      effectiveVerbs: number;
      distinctVerbs: number;
    };
    readings: { sunburst: Reading; openings: Reading; diversity: Reading };
  };
  categories: {
    accepted: { category: string; n: number }[];
    seeds: { category: string; n: number }[];
    reading: Reading;
  };
  lengths: {
    instruction: LengthDistribution;
    input: LengthDistribution;
    output: LengthDistribution;
    /** Tokens of the training text (alpaca template) in the chosen tokenizer (default LLaMA), on an even sample. */
    /** Training tokens (alpaca prompt + output) in this tokenizer: a built-in name or the tokenizer.json path. */
    tokens: LengthDistribution & { tokenizer: string; tokenizerSha256: string; sampled: boolean };
    reading: Reading;
  };
  similarity: {
    threshold: number | null;
    /** Similarity of accepted tasks to their nearest earlier accepted task (seeds included), at acceptance. */
    accepted: {
      rows: number;
      /** Accepted tasks each sampled task was compared with: the ones before it, at most this many. */
      window: number;
      /** Similarities below this are counted in one bin (the index looks no lower). */
      floor: number;
      lo: number[];
      counts: number[];
      belowFloor: number;
    };
    nearDuplicates: { lo: number[]; counts: number[]; rows: number };
    examples: { similarity: number; task: string; nearest: string; nearestSource: string }[];
    reading: Reading;
  };
  nights: {
    runs: {
      runId: number;
      startedAt: string;
      status: string;
      model: string;
      accepted: number;
      rejected: number;
      acceptanceRate: number;
      rejectedByReason: Record<string, number>;
      requests: number;
      costUsd: number;
      costPer1000Accepted: number | null;
    }[];
    reading: Reading;
  };
  samples: {
    accepted: SampleRow[];
    rejected: SampleRow[];
    reasons: { reason: string; label: string; n: number }[];
  };
  judge?: {
    scores: { score: number; n: number }[];
    flags: { flag: string; n: number }[];
    threshold: number | null;
    atOrAbove: number | null;
    reading: Reading;
  };
  answers?: { byModel: { model: string; n: number }[]; reading: Reading };
  dialogues?: { turns: { turns: number; n: number }[]; reading: Reading };
  /** Evol-Instruct (issue 23), whole database, by round (0: the roots); absent when nothing was evolved. */
  evolution?: {
    rounds: {
      round: number;
      /** Evolutions tried in the round (0 for the roots) and the share eliminated. */
      tried: number;
      eliminationRate: number | null;
      meanChars: number | null;
      meanConstraints: number | null;
      meanScore: number | null;
    }[];
    reading: Reading;
  };
  /**
   * Embeddings (issue 24) of the scope's accepted tasks by one model (the report's `embeddingModel`, else
   * the model with the newest embeddings); absent when the database has none.
   */
  embeddings?: EmbeddingSection;
  /** Benchmark decontamination (issue 25), whole database; absent when it was never checked. */
  contamination?: {
    benchmarks: { name: string; items: number; sha256: string; threshold: number; checkedAt: string; accepted: number; rejected: number }[];
    closest: { taskId: number; status: string; benchmark: string; itemId: string; coverage: number; scope: string; instruction: string }[];
    reading: Reading;
  };
}

export interface EmbeddingSection {
  model: string;
  dimensions: number;
  /** Accepted tasks of the scope with an embedding by the model, and the accepted tasks of the scope. */
  embedded: number;
  of: number;
  /** A 2-D projection of an even sample of the embedded tasks, one colour per group. */
  map: {
    method: string;
    /** Points drawn, and the embedded tasks of the text-analysis sample they were drawn from. */
    points: number;
    sampledFrom: number;
    /** The most points drawn (the report's `mapSample`). */
    limit: number;
    iterations: number;
    /** Share of the sample's total variance along each axis. */
    explained: [number, number];
    colourBy: 'category' | 'verb';
    /** The largest groups, then 其他 (the rest) when there is a rest. */
    groups: { name: string; n: number; colour: string }[];
    /** Per point, in parallel: the task, its coordinates, its group (an index into `groups`). */
    taskId: number[];
    x: number[];
    y: number[];
    group: number[];
    reading: Reading;
  };
  /** Each sampled task's highest cosine to another task of the reference set, by exact search. */
  neighbours: {
    /** Tasks sampled, and the reference set they were searched in (the last `window` embedded tasks of the scope). */
    queries: number;
    reference: number;
    window: number;
    rows: number;
    lo: number[];
    counts: number[];
    atOrAbove: { threshold: number; n: number }[];
    p50: number | null;
    p95: number | null;
    /** The closest pairs found. */
    examples: { cosine: number; task: string; nearest: string }[];
    reading: Reading;
  };
}
