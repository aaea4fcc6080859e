/**
 * The dataset card: a `README.md` in Hugging Face dataset-card style (YAML header, then prose) written
 * into every export folder before its manifest, and listed in the manifest's files with split `card`.
 * It says how the rows were made (models, templates, seeds, rules, threshold, judge when there is one),
 * the counts, the report's main figures over an even sample of the exported instructions, and the known
 * limitations. The license is left for the user to fill in.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../files.ts';
import { distinct2, entropyBits, leadingVerb, NO_VERB, openingPhrase, ranked, type TaggedWord } from '../analysis/instructions.ts';
import { reasonLabel, RULE_ORDER } from '../analysis/labels.ts';
import { HEAD_CHARS, loadSegmenter } from '../analysis/segmenter.ts';
import type { ExportRow } from '../store/exports.ts';
import { ReportStore } from '../store/report.ts';
import type { Store } from '../store/store.ts';
import type { Manifest, ManifestFile } from './manifest.ts';
import { commandLine } from '../command.ts';
import { isSimulatorRun } from '../llm/server-info.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../seeds.ts';

export const CARD_FILE = 'README.md';
const DEFAULT_SAMPLE = 2000;

/** Keeps every k-th exported row's instruction and lengths (k from the row count), for the card's figures. */
export class CardSample {
  private readonly every: number;
  private seen = 0;
  readonly instructions: string[] = [];
  readonly outputChars: number[] = [];

  constructor(total: number, size = DEFAULT_SAMPLE) {
    this.every = Math.max(1, Math.ceil(total / Math.max(1, size)));
  }

  offer(row: ExportRow): void {
    if (this.seen++ % this.every === 0) {
      this.instructions.push(row.instruction);
      this.outputChars.push([...row.output].length);
    }
  }
}

function sizeCategory(n: number): string {
  if (n < 1_000) return 'n<1K';
  if (n < 10_000) return '1K<n<10K';
  if (n < 100_000) return '10K<n<100K';
  if (n < 1_000_000) return '100K<n<1M';
  if (n < 10_000_000) return '1M<n<10M';
  return '10M<n<100M';
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

function safeJson(json: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The seed files of the generation runs (answer runs use none): a run's `seeds` option, or the built-in
 * seeds when it had none, named with their count.
 */
function seedFiles(runs: readonly { mode: string }[], options: readonly Record<string, unknown>[]): string[] {
  const names = new Set<string>();
  runs.forEach((run, i) => {
    if (run.mode === 'answer') return;
    const file = options[i]!.seeds;
    names.add(typeof file === 'string' ? path.basename(file) : builtInSeeds());
  });
  return [...names];
}

let builtIn: string | undefined;
function builtInSeeds(): string {
  if (builtIn === undefined) {
    let count = '';
    try {
      count = `${loadSeeds(DEFAULT_SEED_FILE).length} `;
    } catch {
      // The card still names them; the count is a courtesy.
    }
    builtIn = `${path.basename(DEFAULT_SEED_FILE)} (the ${count}built-in seeds)`;
  }
  return builtIn;
}

/** Markdown table cell: no pipes or line breaks from the data. */
const cell = (s: string) => s.replace(/[|\r\n]+/g, ' ');

export async function buildCard(store: Store, manifest: Manifest, sample: CardSample): Promise<string> {
  const rs = new ReportStore(store);
  const runIds = Object.keys(manifest.counts.byRun)
    .filter((k) => k !== '')
    .map(Number)
    .sort((a, b) => a - b);
  const runs = runIds.flatMap((id) => rs.runs({ kind: 'run', runId: id }));
  const options = runs.map((r) => safeJson(r.optionsJson));
  // Only runs whose probe met the simulator: a vLLM or Ollama on localhost makes real model text.
  const simulated = runs.filter((_, i) => isSimulatorRun(options[i]!)).length;
  const seeds = seedFiles(runs, options);
  const modes = [...new Set(runs.map((r) => r.mode))];

  // Rejections of the runs behind the rows: what the rules removed.
  const rejected: Record<string, number> = {};
  let acceptedInRuns = 0;
  for (const id of runIds) {
    for (const c of rs.statusCounts({ kind: 'run', runId: id })) {
      if (c.status === 'accepted') acceptedInRuns += c.n;
      else rejected[c.reason ?? 'unknown'] = (rejected[c.reason ?? 'unknown'] ?? 0) + c.n;
    }
  }

  // The report's main figures on the sample.
  const seg = sample.instructions.length > 0 ? await loadSegmenter() : null;
  const verbs = new Map<string, number>();
  const openings = new Map<string, number>();
  const tagged: TaggedWord[][] = [];
  for (const text of sample.instructions) {
    const head = seg!.tag(text.slice(0, HEAD_CHARS));
    const { verb } = leadingVerb(head);
    verbs.set(verb, (verbs.get(verb) ?? 0) + 1);
    const o = openingPhrase(head);
    openings.set(o, (openings.get(o) ?? 0) + 1);
    if (tagged.length < 5000) tagged.push(seg!.tag(text));
  }
  const n = sample.instructions.length;
  const topVerbs = ranked(verbs).slice(0, 10);
  const topOpenings = ranked(openings).slice(0, 10);
  const d2 = distinct2(tagged);
  const entropy = entropyBits(verbs.values());
  const flagged = topVerbs.filter((v) => v.name !== NO_VERB && v.count / Math.max(1, n) > 0.1);

  let judge: string | null = null;
  const judgeModel = rs.latestJudge();
  if (judgeModel !== undefined) {
    const scores = runIds.flatMap((id) => rs.judgeScores({ kind: 'run', runId: id }, judgeModel));
    const judged = scores.reduce((s, x) => s + x.n, 0);
    if (judged > 0) {
      const mean = scores.reduce((s, x) => s + x.score * x.n, 0) / judged;
      const threshold = options.map((o) => o['examplesMinScore']).find((t): t is number => typeof t === 'number');
      judge =
        `${judged} tasks of these runs were scored by an LLM judge, ${judgeModel} (mean ${mean.toFixed(2)}` +
        (threshold === undefined ? ')' : `, example threshold ${threshold})`);
    }
  }

  const total = manifest.records.total;
  const name = `zh-self-instruct ${manifest.exportId}`;
  const dataFiles = manifest.files
    .filter((f) => f.split !== 'card')
    .map((f) => `  - split: ${f.split === 'valid' ? 'validation' : 'train'}\n    path: ${f.path}`)
    .join('\n');
  const ruleRows = [...RULE_ORDER, ...Object.keys(rejected).filter((r) => !RULE_ORDER.includes(r))]
    .filter((r) => (rejected[r] ?? 0) > 0)
    .map((r) => `| ${reasonLabel(r)} | ${rejected[r]} |`);
  const countRows = (by: Record<string, number>, none: string) =>
    Object.entries(by)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([k, v]) => `| ${cell(k === '' ? none : k)} | ${v} |`)
      .join('\n');
  const tokens = Object.entries(manifest.tokens).map(
    // A tokenizer.json by its file name and hash: the card travels, the user's local path should not.
    ([k, t]) =>
      `${k === manifest.tokenizer?.name && k !== path.basename(k) ? `${path.basename(k)} (sha256 ${manifest.tokenizer.sha256.slice(0, 12)}…)` : k}: ` +
      `mean ${t!.mean}, p50 ${t!.p50}, p95 ${t!.p95}, max ${t!.max} tokens per row`,
  );
  const lines = [
    '---',
    'language:',
    '- zh',
    "# license: fill in the license you release this data under, and check the generating model's terms of use",
    'license: ""',
    `pretty_name: "${name}"`,
    'task_categories:',
    '- text-generation',
    '- question-answering',
    'size_categories:',
    `- ${sizeCategory(total)}`,
    'tags:',
    '- self-instruct',
    '- instruction-tuning',
    '- synthetic',
    'configs:',
    '- config_name: default',
    '  data_files:',
    dataFiles,
    '---',
    '',
    `# ${name}`,
    '',
    `Chinese instruction-tuning data in \`${manifest.format}\` format, ${total} records (${manifest.records.train} train, ${manifest.records.valid} validation), ` +
      `exported ${manifest.createdAt} by ${manifest.tool.name} ${manifest.tool.version}.`,
    ...(simulated > 0
      ? [
          '',
          `> **Made with the built-in simulator** (${simulated === runs.length ? 'every run' : `${simulated} of the ${runs.length} runs`} behind these rows): ` +
            'its text is synthetic, assembled from word lists, and not training data.',
        ]
      : []),
    '',
    '## How the data was made',
    '',
    `- **Method:** self-instruct: sampled seed tasks in a Chinese prompt, the model writes new tasks as JSON; each is parsed, cleaned, checked by the quality rules and the near-duplicate rule, and stored. Modes: ${modes.join(', ') || '—'}.`,
    `- **Models:** ${
      Object.entries(manifest.models)
        .map(([m, c]) => `${m} (${c} rows)`)
        .join(', ') || 'none (seeds or imported rows only)'
    }.`,
    `- **Generation templates:** ${manifest.generationTemplates.map((t) => `${t.name} (sha256 ${t.sha256.slice(0, 12)}…, ${t.records} rows)`).join(', ') || '—'}.`,
    `- **Seeds:** ${seeds.join(', ') || '—'}; sources of the rows: ${Object.entries(manifest.counts.bySource)
      .map(([s, c]) => `${s} ${c}`)
      .join(', ')}.`,
    `- **Near-duplicate rule:** rejected when 1 − levenshtein/max length of the normalized instruction + input is ≥ ${manifest.similarity.thresholds.join(' / ') || 'the threshold'} against any seed or earlier accepted task.`,
    `- **Judge:** ${judge ?? 'none: the rows were not scored by a judge model'}.`,
    `- **Benchmark decontamination:** ${decontaminationLine(manifest)}.`,
    '',
    ...(ruleRows.length > 0
      ? [
          `Tasks the runs behind this export rejected (${acceptedInRuns} accepted):`,
          '',
          '| rule | rejected |',
          '|---|---|',
          ...ruleRows,
          '',
        ]
      : []),
    '## Counts',
    '',
    '| category | rows |',
    '|---|---|',
    countRows(manifest.counts.byCategory, '(none)'),
    '',
    `Dropped for length: ${manifest.records.droppedForLength}.` + (tokens.length > 0 ? ` Tokens: ${tokens.join('; ')}.` : ''),
    ...(manifest.chineseTokens
      ? [
          `LLaMA tokens per character: ${manifest.chineseTokens.tokensPerChar} (${manifest.chineseTokens.rows} rows, ${pct(manifest.chineseTokens.hanChars / Math.max(1, manifest.chineseTokens.chars))} Han).`,
        ]
      : []),
    '',
    '## Figures',
    '',
    `Over ${n === total ? `all ${n}` : `an even sample of ${n} of the ${total}`} instructions (segmented with jieba; \`${commandLine('report')}\` draws these and more):`,
    '',
    `- **Leading verbs:** ${topVerbs.map((v) => `${v.name} ${pct(v.count / Math.max(1, n))}`).join(', ') || '—'}.` +
      (flagged.length > 0 ? ` **Over 10%: ${flagged.map((f) => f.name).join(', ')}.**` : ''),
    `- **Opening phrases:** ${topOpenings.map((o) => `${o.name} ${pct(o.count / Math.max(1, n))}`).join(', ') || '—'}.`,
    `- **Diversity:** distinct-2 ${d2.value.toFixed(3)} (word bigrams of ${tagged.length} instructions); leading-verb entropy ${entropy.toFixed(2)} bits (${verbs.size} distinct verbs).`,
    `- **Lengths:** output median ${median(sample.outputChars)} characters.`,
    '',
    '## Known limitations',
    '',
    '- Machine-generated and not reviewed by people: answers can be wrong, shallow or out of date; facts need checking before use in anything that matters.',
    '- The quality rules are heuristics (lengths, keywords, script share, refusals); they do not judge correctness.',
    '- The near-duplicate rule compares characters: paraphrases with different wording pass it, so topical diversity can be lower than distinct-2 suggests.',
    "- Self-instruct data inherits the seed tasks' and the model's biases and style; openings and verbs can concentrate (see the figures).",
    '- Categories are only what the model or the source supplied; rows without one are counted under (none).',
    "- The generating model's terms of use may restrict training other models on its output.",
    '',
  ];
  return lines.join('\n');
}

/** The benchmarks the rows were checked against (issue 25), each with its files' sha256 and what it removed. */
function decontaminationLine(manifest: Manifest): string {
  const c = manifest.contamination;
  if (c === undefined) return 'none: the rows were not checked against any evaluation benchmark';
  const each = c.benchmarks.map(
    (b) =>
      `${cell(b.name)} (${b.items} items, sha256 ${b.sha256.slice(0, 12)}…, ${c.keepContaminated ? `${b.kept} overlapping rows kept` : `${b.removed} rows removed`})`,
  );
  return (
    `rows whose instruction, input and output hold at least the threshold share of a benchmark question's character 6-grams (after NFKC, traditional → simplified, punctuation and option letters removed) ` +
    `${c.keepContaminated ? 'were kept on request' : 'were left out'}: ${each.join(', ')}`
  );
}

/** Writes the card into the export's staging folder; returns its manifest entry. */
export async function writeCard(dir: string, store: Store, manifest: Manifest, sample: CardSample): Promise<ManifestFile> {
  const text = await buildCard(store, manifest, sample);
  writeFileAtomic(path.join(dir, CARD_FILE), text);
  const bytes = Buffer.byteLength(text);
  return { path: CARD_FILE, split: 'card', records: 0, bytes, sha256: crypto.createHash('sha256').update(text).digest('hex') };
}
