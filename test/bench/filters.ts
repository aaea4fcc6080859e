/**
 * Quality-rule benchmark: precision and recall per reason and overall, before (the rules as they were in
 * `pipeline/filters.ts` up to commit 2086fbd, kept here only as the baseline) and after (`pipeline/rules`),
 * then the time of both on 20,000 records against a baseline of cleaning them.
 *
 *   npx tsx test/bench/filters.ts [--labels FILE] [--show] [--records 20000]
 *
 * Labels: JSONL with instruction, input, output, verdict (keep|reject), reason (for reject), optional
 * `also` (more reasons that fit). Default: test/fixtures/rules.jsonl. `other` marks junk no rule can
 * detect (a wrong answer): it counts for overall precision, not for the recall of rule-detectable junk.
 * Per reason R: precision = rejections with R that the label agrees with (R is its reason or in `also`)
 * / rejections with R; recall = cases labelled R that are rejected with R or a reason in `also` / cases
 * labelled R.
 *
 * These fixtures were written with the rules. The population-weighted measurement on a real corpus is
 * test/bench/population/ (`npm run bench:filters:sample`, blind labels, then `npm run bench:filters:score`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalize } from '../../pipeline/dedup/similarity.ts';
import { checkTask, DEFAULT_RULE_OPTIONS, RULE_REASONS, RULES } from '../../pipeline/rules/index.ts';
import { charLength, cleanTask } from '../../pipeline/text.ts';
import type { Task } from '../../pipeline/types.ts';
import { type LabelledCase, LabelsError, readLabels } from './labels.ts';

type Decide = (task: Task, finishReason?: string | null) => string | undefined;

// ---------------------------------------------------------------------------------------------------
// "before": the word-list rules of the old pipeline/filters.ts, verbatim in behaviour.

const OLD_NON_TEXT_ZH = [
  '图片',
  '图像',
  '照片',
  '视频',
  '音频',
  '音乐',
  '绘制',
  '画一',
  '流程图',
  '图表',
  '链接',
  '网址',
  '文件',
  '附件',
  '截图',
  '录音',
  '录像',
  '扫描件',
  '上传',
];
const OLD_NON_TEXT_EN = new RegExp(
  String.raw`\b(?:images?|pictures?|photos?|photographs?|draw(?:ing)?|sketch|videos?|audio|music|songs?|graphs?|charts?|` +
    String.raw`diagrams?|flowcharts?|links?|urls?|files?|attachments?|screenshots?|upload)\b`,
  'i',
);
const OLD_REFUSAL = new RegExp(
  [
    '作为一个?(?:AI|人工智能|语言模型|大?语言模型|智能助手|机器人)',
    '(?:AI|人工智能)语言模型',
    '(?:抱歉|对不起|很遗憾)[，,]?\\s*(?:我|作为)',
    '我(?:无法|不能)(?:回答|提供|完成|满足|协助|帮助)',
    'as an ai',
    'language model',
    "i'?m sorry",
    'i cannot',
    "i can'?t assist",
    'chatgpt',
    'openai',
    '\\bgpt(?:-?\\d(?:\\.\\d)?)?\\b',
  ].join('|'),
  'iu',
);
const OLD_LEADING = /^[\p{Pd}\p{Pe}\p{Pf}\p{Po}\p{Sm}]/u;
const OLD_ALLOWED_LEADING = new Set(['"', "'", '“', '‘', '#', '@', '¿', '¡', '*', '&', '%']);

const before: Decide = ({ instruction, input, output }) => {
  const length = charLength(instruction);
  if (length < 4) return 'instruction_too_short';
  if (length > 400) return 'instruction_too_long';
  if (OLD_NON_TEXT_ZH.some((w) => instruction.includes(w)) || OLD_NON_TEXT_EN.test(instruction)) return 'needs_non_text';
  const first = instruction[0]!;
  if (OLD_LEADING.test(first) && !OLD_ALLOWED_LEADING.has(first)) return 'starts_with_punctuation';
  const han = instruction.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latin = instruction.match(/[A-Za-z]+/g)?.length ?? 0;
  if (!(han >= 2 && han >= latin)) return 'not_chinese';
  if (output.trim() === '') return 'empty_output';
  if (OLD_REFUSAL.test(output)) return 'refusal';
  if (input !== '' && normalize(input) === normalize(output)) return 'output_equals_input';
  return undefined;
};

const after: Decide = (task, finishReason) => {
  const v = checkTask(task, DEFAULT_RULE_OPTIONS, { finishReason });
  return v.ok ? undefined : v.reason;
};

// ---------------------------------------------------------------------------------------------------
// scoring

interface Score {
  predicted: number;
  correct: number;
  labelled: number;
  caught: number;
}

export interface Report {
  perReason: Map<string, Score>;
  overall: { predicted: number; correct: number; detectable: number; caught: number; keptJunk: number; kept: number };
  mistakes: { c: LabelledCase; got: string | undefined }[];
}

function acceptable(c: LabelledCase): string[] {
  return c.verdict === 'reject' ? [c.reason!, ...(c.also ?? [])] : [];
}

export function score(cases: readonly LabelledCase[], decide: Decide): Report {
  const perReason = new Map<string, Score>();
  const get = (r: string): Score => {
    let s = perReason.get(r);
    if (!s) perReason.set(r, (s = { predicted: 0, correct: 0, labelled: 0, caught: 0 }));
    return s;
  };
  const overall = { predicted: 0, correct: 0, detectable: 0, caught: 0, keptJunk: 0, kept: 0 };
  const mistakes: Report['mistakes'] = [];
  for (const c of cases) {
    const got = decide(cleanTask(c), c.finish_reason);
    const ok = acceptable(c);
    if (got !== undefined) {
      overall.predicted++;
      get(got).predicted++;
      if (c.verdict === 'reject') overall.correct++;
      if (ok.includes(got)) get(got).correct++;
    } else {
      overall.kept++;
      if (c.verdict === 'reject') overall.keptJunk++;
    }
    if (c.verdict === 'reject' && c.reason !== 'other') {
      get(c.reason!).labelled++;
      overall.detectable++;
      if (got !== undefined && ok.includes(got)) get(c.reason!).caught++;
      if (got !== undefined) overall.caught++;
    }
    const right = c.verdict === 'keep' ? got === undefined : got !== undefined && (c.reason === 'other' || ok.includes(got));
    if (!right) mistakes.push({ c, got });
  }
  return { perReason, overall, mistakes };
}

const ratio = (a: number, b: number): string => (b === 0 ? '   –' : (a / b).toFixed(2).padStart(4));

function table(name: string, cases: readonly LabelledCase[], reports: { before: Report; after: Report }): string {
  const reasons = [...RULE_REASONS].filter((r) => reports.before.perReason.has(r) || reports.after.perReason.has(r));
  const cols = (label: string, n: string, b: string[], a: string[]): string =>
    `${label.padEnd(24)} ${n.padStart(8)} │ ${b[0]!.padStart(11)} ${b[1]!.padStart(5)} ${b[2]!.padStart(6)} │ ` +
    `${a[0]!.padStart(10)} ${a[1]!.padStart(5)} ${a[2]!.padStart(6)}`;
  const head = cols('reason', 'labelled', ['before: rej', 'prec', 'recall'], ['after: rej', 'prec', 'recall']);
  const row = (label: string, n: number, b: [number, string, string], a: [number, string, string]): string =>
    cols(label, String(n), [String(b[0]), b[1], b[2]], [String(a[0]), a[1], a[2]]);
  const lines = [
    `${name}: ${cases.length} cases (${cases.filter((c) => c.verdict === 'reject').length} labelled reject, ` +
      `${cases.filter((c) => c.reason === 'other').length} of them "other")`,
    head,
    '─'.repeat(head.length),
  ];
  const cell = (s: Score | undefined): [number, string, string] => {
    const { predicted = 0, correct = 0, caught = 0, labelled = 0 } = s ?? {};
    return [predicted, ratio(correct, predicted), ratio(caught, labelled)];
  };
  for (const r of reasons) {
    const b = reports.before.perReason.get(r);
    const a = reports.after.perReason.get(r);
    lines.push(row(r, a?.labelled ?? b?.labelled ?? 0, cell(b), cell(a)));
  }
  const o = ({ overall: v }: Report): [number, string, string] => [
    v.predicted,
    ratio(v.correct, v.predicted),
    ratio(v.caught, v.detectable),
  ];
  lines.push('─'.repeat(head.length), row('overall (verdict)', reports.after.overall.detectable, o(reports.before), o(reports.after)));
  const junkKept = (x: Report): string => ratio(x.overall.keptJunk, x.overall.kept);
  const kept = `before ${junkKept(reports.before)}, after ${junkKept(reports.after)}`;
  lines.push(`share of kept cases that are junk (any reason, "other" included): ${kept}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// timing

function timing(cases: readonly LabelledCase[], records: number): string {
  const tasks: Task[] = [];
  for (let i = 0; i < records; i++) {
    const c = cases[i % cases.length]!;
    tasks.push({ instruction: `${c.instruction}${i >= cases.length ? i : ''}`, input: c.input, output: c.output });
  }
  // Wall time and this process's CPU time: on a shared machine the CPU time is what the rules cost.
  const time = (f: () => number): [number, number] => {
    f();
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < 5; r++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      f();
      wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e3);
    }
    wall.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    return [wall[2]!, cpu[2]!];
  };
  const cleaned = tasks.map(cleanTask);
  const [clean, cleanCpu] = time(() => tasks.reduce((n, t) => n + cleanTask(t).output.length, 0));
  const [old, oldCpu] = time(() => cleaned.reduce((n, t) => n + (before(t) === undefined ? 0 : 1), 0));
  const [now, nowCpu] = time(() => cleaned.reduce((n, t) => n + (after(t) === undefined ? 0 : 1), 0));
  const families = RULES.map((rule) => {
    const [, ms] = time(() => cleaned.reduce((n, t) => n + (rule(t, DEFAULT_RULE_OPTIONS, {}) === undefined ? 0 : 1), 0));
    return `${rule.name.replace(/Rule$/, '')} ${ms.toFixed(0)}`;
  });
  const ms = (wall: number, cpu: number): string => `${wall.toFixed(0).padStart(6)} / ${cpu.toFixed(0).padStart(6)}`;
  const chars = cleaned.reduce((n, t) => n + t.instruction.length + t.input.length + t.output.length, 0);
  return [
    `time on ${records} records (${(chars / 1e6).toFixed(1)}M UTF-16 units), median of 5 runs, wall ms / CPU ms of this process:`,
    `  baseline: cleanTask (normalise every field)   ${ms(clean, cleanCpu)}`,
    `  before:   old word-list rules                 ${ms(old, oldCpu)}  (${(oldCpu / cleanCpu).toFixed(2)}× baseline CPU)`,
    `  after:    pipeline/rules                      ${ms(now, nowCpu)}  (${(nowCpu / cleanCpu).toFixed(2)}× baseline CPU)  target < 1 s`,
    `  each family alone on every record (CPU ms): ${families.join(', ')}`,
  ].join('\n');
}

function main(argv: string[]): void {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const file = flag('--labels') ?? path.join(here, '../fixtures/rules.jsonl');
  const records = Number(flag('--records') ?? 20000);
  if (!Number.isInteger(records) || records <= 0) throw new LabelsError(`--records: expected a positive integer, got ${flag('--records')}`);
  const cases = readLabels(file);
  if (cases.length === 0) throw new LabelsError(`${file}: no labelled cases`);
  const reports = { before: score(cases, before), after: score(cases, after) };
  process.stdout.write(`${table(path.basename(file), cases, reports)}\n\n${timing(cases, records)}\n`);
  if (argv.includes('--show')) {
    process.stdout.write('\nmistakes after:\n');
    for (const { c, got } of reports.after.mistakes) {
      const want = c.verdict === 'keep' ? 'keep' : c.reason;
      const show = (t: string, n: number): string => JSON.stringify(t).slice(0, n);
      const what = `${show(c.instruction, 70)} | ${show(c.input, 40)} | ${show(c.output, 80)}${c.note ? ` (${c.note})` : ''}`;
      process.stdout.write(`  want ${want} got ${got ?? 'keep'}: ${what}\n`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof LabelsError) {
      process.stderr.write(`bench:filters: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
