/** The one-line reading under each chart, in Chinese and English, from the figures alone. */
import { pct } from './figures.ts';
import { reasonZh } from '../analysis/labels.ts';
import type { LengthDistribution, Ranked, Reading, ReportData } from './types.ts';

type Overview = Omit<ReportData['overview'], 'reading'>;

export function overview(o: Overview): Reading {
  const all = o.accepted + o.rejected;
  const top = Object.entries(o.rejectedByReason).sort((a, b) => b[1] - a[1])[0];
  const cost = o.costPer1000Accepted === null ? '' : `; $${o.costPer1000Accepted.toFixed(3)} per 1,000 accepted`;
  const costZh = o.costPer1000Accepted === null ? '' : `，每千条接受数据 $${o.costPer1000Accepted.toFixed(3)}`;
  if (all === 0) return { zh: '范围内没有任务。', en: 'No tasks in this scope.' };
  return {
    zh:
      `共 ${all} 条任务，接受 ${o.accepted} 条（${pct(o.accepted, all)}）` +
      (top ? `，最常见的剔除原因是「${reasonZh(top[0])}」（${top[1]} 条）` : '') +
      `${costZh}。`,
    en:
      `${o.accepted} of ${all} tasks accepted (${pct(o.accepted, all)})` +
      (top ? `; the main rejection is ${top[0]} (${top[1]})` : '') +
      `${cost}.`,
  };
}

export function funnel(stages: ReportData['funnel']['stages']): Reading {
  const removing = stages.filter((s) => s.removed > 0).sort((a, b) => b.removed - a.removed)[0];
  const first = stages[0]?.remaining ?? 0;
  if (removing === undefined) return { zh: '没有任务被剔除。', en: 'No task was removed.' };
  return {
    zh: `剔除最多的一步是「${removing.label.split(' ')[0]}」：去掉了 ${removing.removed} 条（占解析出任务的 ${pct(removing.removed, first)}）。`,
    en: `The step that removes most is ${removing.key}: ${removing.removed} tasks (${pct(removing.removed, first)} of those parsed).`,
  };
}

export function verbs(top: Ranked[], flagged: { name: string; share: number }[], rows: number): Reading {
  if (rows === 0) return { zh: '没有已接受的指令。', en: 'No accepted instructions.' };
  const head = top
    .slice(0, 3)
    .map((v) => `${v.name} ${pct(v.count, rows)}`)
    .join('、');
  const flag =
    flagged.length === 0
      ? '没有哪个领头动词超过 10%'
      : `警告：${flagged.map((f) => `「${f.name}」占 ${(f.share * 100).toFixed(1)}%`).join('，')}，超过 10%`;
  const flagEn =
    flagged.length === 0
      ? 'no leading verb is over 10%'
      : `warning: ${flagged.map((f) => `${f.name} ${(f.share * 100).toFixed(1)}%`).join(', ')} over 10%`;
  return {
    zh: `最常见的领头动词：${head}；${flag}。`,
    en: `Top leading verbs: ${top
      .slice(0, 3)
      .map((v) => `${v.name} ${pct(v.count, rows)}`)
      .join(', ')}; ${flagEn}.`,
  };
}

export function openings(items: Ranked[]): Reading {
  if (items.length === 0) return { zh: '没有数据。', en: 'No data.' };
  const top5 = items.slice(0, 5).reduce((s, x) => s + x.share, 0);
  return {
    zh: `最常见的开头是「${items[0]!.name}」（${(items[0]!.share * 100).toFixed(1)}%）；前 5 种开头合计 ${(top5 * 100).toFixed(1)}%。`,
    en: `The most common opening is "${items[0]!.name}" (${(items[0]!.share * 100).toFixed(1)}%); the top 5 openings make up ${(top5 * 100).toFixed(1)}%.`,
  };
}

export function diversity(d2: number, rows: number, entropy: number, verbs: number): Reading {
  return {
    zh: `distinct-2 = ${d2.toFixed(3)}（${rows} 条指令）；领头动词熵 ${entropy.toFixed(2)} 比特，相当于 ${(2 ** entropy).toFixed(1)} 个同样常见的动词（共 ${verbs} 个不同动词）。`,
    en: `distinct-2 = ${d2.toFixed(3)} over ${rows} instructions; leading-verb entropy ${entropy.toFixed(2)} bits, as varied as ${(2 ** entropy).toFixed(1)} equally common verbs (${verbs} distinct).`,
  };
}

export function categories(accepted: { category: string; n: number }[], seeds: { category: string; n: number }[]): Reading {
  const total = accepted.reduce((s, c) => s + c.n, 0);
  const known = accepted.filter((c) => c.category !== '');
  if (total === 0) return { zh: '没有已接受的任务。', en: 'No accepted tasks.' };
  if (known.length === 0) {
    return {
      zh: `生成的任务不带类别（模型没有标注）；种子任务有 ${seeds.length} 个类别，分布见右侧。`,
      en: `Generated tasks carry no category (the model does not label them); the seeds span ${seeds.length} categories, shown on the right.`,
    };
  }
  return {
    zh: `${known.length} 个类别，最多的是「${known[0]!.category}」（${pct(known[0]!.n, total)}）。`,
    en: `${known.length} categories; the largest is ${known[0]!.category} (${pct(known[0]!.n, total)}).`,
  };
}

export function lengths(l: {
  instruction: LengthDistribution;
  input: LengthDistribution;
  output: LengthDistribution;
  tokens: LengthDistribution & { tokenizer: string };
}): Reading {
  const emptyInput = l.input.counts[0] ?? 0;
  return {
    zh: `指令中位数 ${l.instruction.p50} 字，输出中位数 ${l.output.p50} 字（95% 分位 ${l.output.p95}）；训练文本中位数 ${l.tokens.p50} 个 ${tokenName(l.tokens.tokenizer)} token（95% 分位 ${l.tokens.p95}）。`,
    en: `Median instruction ${l.instruction.p50} characters, output ${l.output.p50} (p95 ${l.output.p95}); ${pct(emptyInput, l.input.rows)} have an input shorter than ${l.input.binWidth}; training text median ${l.tokens.p50} ${tokenName(l.tokens.tokenizer)} tokens (p95 ${l.tokens.p95}).`,
  };
}

export function similarity(h: ReportData['similarity']['accepted'], threshold: number | null): Reading {
  if (h.rows === 0) return { zh: '没有可比较的已接受任务。', en: 'No accepted task to compare.' };
  const near = threshold === null ? 0 : h.lo.reduce((s, lo, i) => (lo >= threshold - 0.1 - 1e-9 ? s + h.counts[i]! : s), 0);
  const t = threshold === null ? '' : `，${pct(near, h.rows)} 离阈值 ${threshold} 不到 0.1`;
  const tEn = threshold === null ? '' : `; ${pct(near, h.rows)} come within 0.1 of the threshold ${threshold}`;
  return {
    zh: `${pct(h.belowFloor, h.rows)} 的已接受任务与之前任何任务的相似度都低于 ${h.floor}${t}。`,
    en: `${pct(h.belowFloor, h.rows)} of accepted tasks are less than ${h.floor} similar to every earlier task${tEn}.`,
  };
}

export function nights(runs: ReportData['nights']['runs']): Reading {
  if (runs.length === 0)
    return { zh: '数据库里还没有运行记录（例如只有导入的数据）。', en: 'No runs in the database yet (imports only, for example).' };
  const last = runs[runs.length - 1]!;
  const prev = runs[runs.length - 2];
  const rate = (r: typeof last) => `${(r.acceptanceRate * 100).toFixed(1)}%`;
  if (prev === undefined) return { zh: `只有一次运行：接受率 ${rate(last)}。`, en: `One run so far: acceptance rate ${rate(last)}.` };
  return {
    zh: `最近一次运行（#${last.runId}）接受率 ${rate(last)}，上一次（#${prev.runId}）${rate(prev)}。`,
    en: `The latest run (#${last.runId}) accepted ${rate(last)} of its tasks, the one before (#${prev.runId}) ${rate(prev)}.`,
  };
}

export function judge(scores: { score: number; n: number }[], threshold: number | null, atOrAbove: number | null): Reading {
  const total = scores.reduce((s, x) => s + x.n, 0);
  const mean = total === 0 ? 0 : scores.reduce((s, x) => s + x.score * x.n, 0) / total;
  const t = threshold === null || atOrAbove === null ? '' : `；${pct(atOrAbove, total)} 达到阈值 ${threshold}`;
  const tEn = threshold === null || atOrAbove === null ? '' : `; ${pct(atOrAbove, total)} at or above the threshold ${threshold}`;
  return {
    zh: `${total} 条任务经过评审，平均分 ${mean.toFixed(2)}${t}。`,
    en: `${total} tasks judged, mean score ${mean.toFixed(2)}${tEn}.`,
  };
}

export function answers(byModel: { model: string; n: number }[]): Reading {
  const total = byModel.reduce((s, x) => s + x.n, 0);
  return { zh: `${total} 条回答，来自 ${byModel.length} 个模型。`, en: `${total} answers from ${byModel.length} models.` };
}

export function dialogues(turns: { turns: number; n: number }[]): Reading {
  const total = turns.reduce((s, x) => s + x.n, 0);
  const mean = total === 0 ? 0 : turns.reduce((s, x) => s + x.turns * x.n, 0) / total;
  return { zh: `${total} 段对话，平均 ${mean.toFixed(1)} 轮。`, en: `${total} dialogues, ${mean.toFixed(1)} turns on average.` };
}

/** The tokenizer as the readings name it: LLaMA for the default, else its name (a file by its base name). */
function tokenName(tokenizer: string): string {
  return tokenizer === 'llama2' ? 'LLaMA' : tokenizer.split(/[\\/]/).pop()!;
}
