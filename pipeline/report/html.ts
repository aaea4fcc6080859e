/**
 * The report as one self-contained HTML file: the figures as JSON, Apache ECharts inlined from
 * node_modules, the page script (page.browser.js) and styles. No network request (a CSP forbids any), so it
 * opens from file:// and from an e-mail attachment alike. Task text is model output: it reaches the page
 * only as JSON data and is put into the DOM with textContent, never as markup.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../errors.ts';
import type { ReportData } from './types.ts';

const require = createRequire(import.meta.url);
let echartsSource: string | undefined;
let pageSource: string | undefined;

function page(): string {
  pageSource ??= asset('page.browser.js', () => fileURLToPath(new URL('./page.browser.js', import.meta.url)));
  return pageSource;
}

/** echarts.min.js, read once; `</script` cannot occur inside an inline script. */
function echarts(): string {
  echartsSource ??= asset('echarts/dist/echarts.min.js', () => require.resolve('echarts/dist/echarts.min.js'));
  return echartsSource;
}

/**
 * A file the page inlines. Missing means a broken install or build, not a bad option: the error says
 * which file, and how to get it back.
 */
function asset(name: string, locate: () => string): string {
  let file = name;
  try {
    file = locate();
    return fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PipelineError(
      'failed',
      `the report page cannot be built: ${file} is missing from the installed package (${code}); ` +
        'reinstall zh-self-instruct, or in a clone run npm run build',
      { cause: err },
    );
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside <script type="application/json">: no "<" at all, so no "</script" or "<!--". */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSS = `
:root { --fg:#1f2430; --muted:#667085; --line:#e4e7ec; --bg:#ffffff; --card:#f8f9fb; --accent:#2f6fde; --warn:#b42318; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 14px/1.55 "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", sans-serif; }
header { padding: 20px 28px 8px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 8px; }
.meta, .note { color: var(--muted); font-size: 12px; }
main { padding: 16px 28px 40px; display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 18px; }
section.wide { grid-column: 1 / -1; }
figure { margin:0; padding: 14px 16px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.chart { width: 100%; height: 320px; } .chart.tall { height: 440px; } .chart.small { height: 220px; }
.reading { margin: 8px 0 0; } .reading .en { display:block; color: var(--muted); font-size: 12.5px; }
.kpis { display:flex; flex-wrap:wrap; gap: 10px; margin-bottom: 10px; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 12px; min-width: 130px; }
.kpi b { display:block; font-size: 18px; } .kpi span { color: var(--muted); font-size: 12px; }
.flag { color: var(--warn); font-weight: 600; }
.grid4 { display:grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; background:#fff; }
td, th { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
td.text { white-space: pre-wrap; word-break: break-word; max-width: 520px; }
.filters button { margin: 0 6px 6px 0; padding: 4px 10px; border:1px solid var(--line); background:#fff; border-radius: 14px; cursor:pointer; font: inherit; font-size: 12.5px; }
.filters button[aria-pressed="true"] { background: var(--accent); color:#fff; border-color: var(--accent); }
.tag { display:inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; background:#eef2ff; }
.tag.rejected { background:#fdecea; }
.svgfig { width: 100%; height: auto; display: block; } .svgfig .axis { font-size: 11px; fill: var(--muted); }
.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12.5px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; }
`;

function figure(
  id: string,
  title: string,
  reading: { zh: string; en: string },
  opts: { cls?: string; note?: string; extra?: string } = {},
): string {
  return (
    `<figure><h2>${escapeHtml(title)}</h2><div class="chart ${opts.cls ?? ''}" id="${id}" data-chart></div>` +
    `<p class="reading">${escapeHtml(reading.zh)}<span class="en">${escapeHtml(reading.en)}</span></p>` +
    (opts.note ? `<p class="note">${escapeHtml(opts.note)}</p>` : '') +
    (opts.extra ?? '') +
    `</figure>`
  );
}

function kpi(label: string, value: string): string {
  return `<div class="kpi"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

const fmt = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A table, no chart: which benchmarks, what they caught, and the closest matches. */
function contaminationSection(c: NonNullable<ReportData['contamination']>): string {
  const rows = c.benchmarks.map(
    (b) =>
      `<tr><td>${escapeHtml(b.name)}</td><td>${fmt(b.items)}</td><td>${fmt(b.accepted)}</td><td>${fmt(b.rejected)}</td><td>${b.threshold}</td><td><code>${escapeHtml(b.sha256.slice(0, 16))}…</code></td></tr>`,
  );
  const closest = c.closest.map(
    (m) =>
      `<tr><td>${m.taskId}</td><td>${escapeHtml(m.status)}</td><td>${escapeHtml(m.benchmark)}</td><td>${escapeHtml(m.itemId)}</td><td>${(m.coverage * 100).toFixed(0)}% ${escapeHtml(m.scope)}</td><td>${escapeHtml(m.instruction)}</td></tr>`,
  );
  return (
    `<section class="wide"><figure id="contamination"><h2>评测集污染 Benchmark contamination</h2>` +
    `<p class="reading">${escapeHtml(c.reading.zh)}<span class="en">${escapeHtml(c.reading.en)}</span></p>` +
    `<table><thead><tr><th>评测集 benchmark</th><th>题目 items</th><th>已接受被标记 flagged</th><th>接受时拒绝 rejected</th><th>阈值 threshold</th><th>sha256</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    (closest.length === 0
      ? ''
      : `<h3>最接近的匹配 Closest matches</h3><table><thead><tr><th>#</th><th>状态 status</th><th>评测集 benchmark</th><th>题号 item</th><th>覆盖 coverage</th><th>指令 instruction</th></tr></thead><tbody>${closest.join('')}</tbody></table>`) +
    `</figure></section>`
  );
}

function evolutionSection(e: NonNullable<ReportData['evolution']>): string {
  const cell = (v: number | null, suffix = ''): string => (v === null ? '—' : `${v}${suffix}`);
  const rows = e.rounds.map(
    (r) =>
      `<tr><td>${r.round === 0 ? '0 (原始 roots)' : r.round}</td><td>${r.round === 0 ? '—' : fmt(r.tried)}</td><td>${r.eliminationRate === null ? '—' : `${(r.eliminationRate * 100).toFixed(1)}%`}</td>` +
      `<td>${cell(r.meanChars)}</td><td>${cell(r.meanConstraints)}</td><td>${cell(r.meanScore)}</td></tr>`,
  );
  return (
    `<section class="wide"><figure id="evolution"><h2>指令进化 Evolution by round</h2>` +
    `<p class="reading">${escapeHtml(e.reading.zh)}<span class="en">${escapeHtml(e.reading.en)}</span></p>` +
    `<table><thead><tr><th>轮次 round</th><th>尝试 tried</th><th>淘汰率 eliminated</th><th>指令字数 chars</th><th>约束数 constraints</th><th>评分 judge score</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `</figure></section>`
  );
}

const SVG_W = 640;
const SVG_H = 420;
const PAD = 30;

/** The data map (a scatter of the 2-D projection) and the nearest-neighbour histogram, as inline SVG. */
function embeddingSections(e: NonNullable<ReportData['embeddings']>): string {
  const m = e.map;
  const span = (v: number[]): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    return lo < hi ? [lo, hi] : [lo - 1, lo + 1];
  };
  const [x0, x1] = span(m.x);
  const [y0, y1] = span(m.y);
  const px = (x: number) => (PAD + ((x - x0) / (x1 - x0)) * (SVG_W - 2 * PAD)).toFixed(1);
  const py = (y: number) => (SVG_H - PAD - ((y - y0) / (y1 - y0)) * (SVG_H - 2 * PAD)).toFixed(1);
  // The rest (grey) first, then the groups from the largest, so small groups stay visible on top.
  const order = m.group.map((g, i) => ({ g: g === m.groups.length - 1 && m.groups[g]?.name === '其他' ? -1 : g, i }));
  order.sort((a, b) => a.g - b.g || a.i - b.i);
  const dots = order
    .map(({ i }) => `<circle cx="${px(m.x[i]!)}" cy="${py(m.y[i]!)}" r="2.2" fill="${m.groups[m.group[i]!]?.colour ?? '#adb5bd'}"/>`)
    .join('');
  const pctOf = (v: number) => `${(v * 100).toFixed(1)}%`;
  const legend = m.groups
    .map(
      (g) =>
        `<li><span class="swatch" style="background:${g.colour}"></span>${escapeHtml(g.name)} <span class="note">${fmt(g.n)}</span></li>`,
    )
    .join('');
  const mapSvg =
    `<svg id="embedding-map-svg" viewBox="0 0 ${SVG_W} ${SVG_H}" role="img" aria-label="PCA map of ${m.points} tasks" class="svgfig">` +
    `<rect x="0" y="0" width="${SVG_W}" height="${SVG_H}" fill="#fff"/>` +
    `<g fill-opacity="0.75">${dots}</g>` +
    `<text x="${SVG_W / 2}" y="${SVG_H - 8}" text-anchor="middle" class="axis">PC1 (${pctOf(m.explained[0])})</text>` +
    `<text x="12" y="${SVG_H / 2}" text-anchor="middle" transform="rotate(-90 12 ${SVG_H / 2})" class="axis">PC2 (${pctOf(m.explained[1])})</text>` +
    `</svg>`;
  const map =
    `<section class="wide"><figure id="embedding-map"><h2>语义地图 Data map by embedding (${escapeHtml(e.model)})</h2>${mapSvg}` +
    `<ul class="legend">${legend}</ul>` +
    `<p class="reading">${escapeHtml(m.reading.zh)}<span class="en">${escapeHtml(m.reading.en)}</span></p>` +
    `<p class="note">${fmt(m.points)} points${m.points < e.embedded ? ` (an even sample of the ${fmt(e.embedded)} tasks with an embedding, at most ${fmt(m.limit)})` : ''}; ` +
    `${fmt(e.embedded)} of ${fmt(e.of)} accepted tasks have an embedding by ${escapeHtml(e.model)} (${e.dimensions} dimensions). ` +
    `${escapeHtml(m.method)}; ${m.iterations} iterations. Coloured by ${m.colourBy === 'category' ? 'category' : 'leading verb (jieba)'}: the ${m.groups.filter((g) => g.name !== '其他').length} largest groups, the rest grey.</p>` +
    `</figure></section>`;

  const n = e.neighbours;
  const top = Math.max(1, ...n.counts);
  const bw = (SVG_W - 2 * PAD) / Math.max(1, n.counts.length);
  const h = 220;
  const bx = (v: number) => (PAD + v * (SVG_W - 2 * PAD)).toFixed(1);
  const bars = n.counts
    .map((c, i) => {
      const bh = (c / top) * (h - 2 * PAD);
      const hi = n.lo[i + 1] ?? 1;
      return `<rect x="${(PAD + i * bw + 1).toFixed(1)}" y="${(h - PAD - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#2f6fde"><title>${n.lo[i]}–${hi}: ${c}</title></rect>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<text x="${bx(t)}" y="${h - PAD + 14}" text-anchor="middle" class="axis">${t}</text>`)
    .join('');
  const lines = n.atOrAbove
    .map(
      (a) =>
        `<line x1="${bx(a.threshold)}" x2="${bx(a.threshold)}" y1="${PAD - 10}" y2="${h - PAD}" stroke="#b42318" stroke-dasharray="4 3"/>` +
        `<text x="${bx(a.threshold)}" y="${PAD - 14}" text-anchor="middle" class="axis">${a.threshold}</text>`,
    )
    .join('');
  const histSvg =
    `<svg id="embedding-neighbours-svg" viewBox="0 0 ${SVG_W} ${h}" role="img" aria-label="nearest-neighbour cosine histogram" class="svgfig">` +
    `<text x="${PAD}" y="${PAD - 14}" class="axis">max ${top}</text>${bars}${lines}${ticks}</svg>`;
  const shares = n.atOrAbove
    .map((a) => `≥ ${a.threshold}: ${fmt(a.n)} (${n.rows === 0 ? '0' : ((a.n / n.rows) * 100).toFixed(1)}%)`)
    .join(' · ');
  const examples =
    n.examples.length === 0
      ? ''
      : `<table><thead><tr><th>余弦 cosine</th><th>任务 task</th><th>最近的任务 nearest</th></tr></thead><tbody>${n.examples
          .map(
            (x) =>
              `<tr><td>${x.cosine.toFixed(3)}</td><td class="text">${escapeHtml(x.task)}</td><td class="text">${escapeHtml(x.nearest)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const neighbours =
    `<section class="wide"><figure id="embedding-neighbours"><h2>最近邻余弦 Nearest other task by embedding: cosine</h2>${histSvg}` +
    `<p class="reading">${escapeHtml(n.reading.zh)}<span class="en">${escapeHtml(n.reading.en)}</span></p>` +
    `<p class="note">${shares}. ${fmt(n.queries)} tasks (an even sample), each against every other of the last ${fmt(n.reference)} tasks ` +
    `with an embedding (at most ${fmt(n.window)}), exact search; bins of 0.05, the first also holds negative cosines.</p>${examples}` +
    `</figure></section>`;
  return map + neighbours;
}

export function renderHtml(data: ReportData): string {
  const o = data.overview;
  const v = data.verbs;
  const s = data.similarity;
  const sections: string[] = [];

  sections.push(
    `<section class="wide"><figure><h2>概览 Overview</h2><div class="kpis">${[
      kpi('接受 accepted', fmt(o.accepted)),
      kpi('剔除 rejected', fmt(o.rejected)),
      kpi('请求 requests', `${fmt(o.requests)}${o.failedRequests > 0 ? ` (${fmt(o.failedRequests)} failed)` : ''}`),
      kpi('tokens (prompt + completion)', fmt(o.promptTokens + o.completionTokens)),
      kpi('费用 cost (USD)', `$${o.costUsd.toFixed(4)}${o.unpricedRequests > 0 ? ' +?' : ''}`),
      kpi('每千条接受 per 1,000 accepted', o.costPer1000Accepted === null ? '—' : `$${o.costPer1000Accepted.toFixed(4)}`),
      kpi('用时 time', duration(o.seconds)),
      kpi('模型 models', Object.keys(o.models).join(', ') || '—'),
    ].join('')}</div><div class="chart small" id="chart-rejections" data-chart></div>` +
      `<p class="reading">${escapeHtml(o.reading.zh)}<span class="en">${escapeHtml(o.reading.en)}</span></p>` +
      (o.unpricedRequests > 0 ? `<p class="note">${o.unpricedRequests} requests of models with no price are not in the cost.</p>` : '') +
      `</figure></section>`,
  );

  sections.push(figure('chart-funnel', '漏斗 Funnel: parsed → rules → near-duplicates → accepted', data.funnel.reading, { cls: 'tall' }));
  const sampleNote =
    v.rows < v.of ? `Even sample of ${fmt(v.rows)} of ${fmt(v.of)} accepted instructions.` : `All ${fmt(v.rows)} accepted instructions.`;
  sections.push(
    figure('chart-sunburst', '领头动词 → 宾语 Leading verb → object', v.readings.sunburst, {
      cls: 'tall',
      note: `${sampleNote} Segmented with jieba (@node-rs/jieba) part-of-speech tags; inner ring: top 20 verbs, outer: their top objects.`,
    }),
  );
  const flags =
    v.flagged.length === 0
      ? ''
      : `<p class="flag">⚠ ${v.flagged.map((f) => `${escapeHtml(f.name)} ${(f.share * 100).toFixed(1)}%`).join(', ')} &gt; 10%</p>`;
  sections.push(
    figure('chart-verbshare', '领头动词占比 Leading-verb shares (10% line)', v.readings.diversity, {
      note: `distinct-2 = ${v.diversity.distinct2} (word bigrams, ${fmt(v.diversity.distinct2Rows)} instructions); entropy ${v.diversity.verbEntropyBits} bits; ${fmt(v.diversity.distinctVerbs)} distinct verbs. ${sampleNote}`,
      extra: flags,
    }),
  );
  sections.push(
    figure('chart-openings', '开头短语 Opening phrases', v.readings.openings, {
      note: `First two words of each instruction. ${sampleNote}`,
    }),
  );
  sections.push(figure('chart-categories', '类别 Categories (accepted · seeds)', data.categories.reading));

  const l = data.lengths;
  sections.push(
    `<section class="wide"><figure><h2>长度 Lengths</h2><div class="grid4">` +
      `<div class="chart small" id="chart-len-instruction" data-chart></div><div class="chart small" id="chart-len-input" data-chart></div>` +
      `<div class="chart small" id="chart-len-output" data-chart></div><div class="chart small" id="chart-len-tokens" data-chart></div></div>` +
      `<p class="reading">${escapeHtml(l.reading.zh)}<span class="en">${escapeHtml(l.reading.en)}</span></p>` +
      `<p class="note">Characters (code points) of every accepted row; the last bin holds everything above the 99th percentile. Tokens: ${escapeHtml(l.tokens.tokenizer === 'llama2' ? 'LLaMA tokenizer (llama-tokenizer-js, as export counts by default)' : `tokenizer ${l.tokens.tokenizer}`)} ` +
      `on the alpaca training text of ${l.tokens.sampled ? `an even sample of ${fmt(l.tokens.rows)} rows` : `all ${fmt(l.tokens.rows)} rows`}.</p></figure></section>`,
  );

  const examples =
    s.examples.length === 0
      ? ''
      : `<table><thead><tr><th>相似度 sim</th><th>任务 task</th><th>最近的更早任务 nearest earlier</th></tr></thead><tbody>${s.examples
          .map(
            (e) =>
              `<tr><td>${e.similarity.toFixed(3)}</td><td class="text">${escapeHtml(e.task)}</td><td class="text">${escapeHtml(e.nearest)} <span class="tag">${escapeHtml(e.nearestSource)}</span></td></tr>`,
          )
          .join('')}</tbody></table>`;
  sections.push(
    figure('chart-similarity', '接受时与最近任务的相似度 Similarity to the nearest earlier task at acceptance', s.reading, {
      note:
        `${fmt(s.accepted.rows)} accepted tasks (an even sample of those among the last ${fmt(s.accepted.window)} accepted), each against every ` +
        `accepted task before it in that window, seeds included, ` +
        `with the exact near-duplicate index; below ${s.accepted.floor} is one bin.${s.threshold === null ? '' : ` Threshold ${s.threshold}.`}`,
      extra: examples,
    }),
  );
  sections.push(
    figure('chart-neardup', '被剔除的近似重复 Rejected near-duplicates: similarity', {
      zh: `${fmt(s.nearDuplicates.rows)} 条近似重复被剔除。`,
      en: `${fmt(s.nearDuplicates.rows)} near-duplicates rejected, by their similarity to the nearest task.`,
    }),
  );

  sections.push(figure('chart-nights', '每晚 Nights: accepted and acceptance rate per run', data.nights.reading));
  sections.push(
    figure('chart-nights-mix', '每晚剔除构成 Nights: rejection mix and cost per run', {
      zh: '每次运行的剔除原因构成（柱）与每千条接受数据的费用（线）。',
      en: 'Rejections by reason per run (bars) and cost per 1,000 accepted (line).',
    }),
  );
  if (data.judge) sections.push(figure('chart-judge', '评审分数 Judge scores', data.judge.reading));
  if (data.judge && data.judge.flags.length > 0)
    sections.push(figure('chart-judge-flags', '评审标记 Judge flags', { zh: '评审给出的标记。', en: 'Flags the judge raised.' }));
  if (data.answers) sections.push(figure('chart-answers', '各模型的回答 Answers by model', data.answers.reading));
  if (data.dialogues) sections.push(figure('chart-dialogues', '对话轮数 Dialogue turns', data.dialogues.reading));

  if (data.contamination) sections.push(contaminationSection(data.contamination));
  if (data.evolution) sections.push(evolutionSection(data.evolution));
  if (data.embeddings) sections.push(embeddingSections(data.embeddings));

  sections.push(
    `<section class="wide"><figure id="samples"><h2>样本 Samples: ${data.samples.accepted.length} random accepted, ${data.samples.rejected.length} rejected</h2>` +
      `<div class="filters" id="sample-filters"></div><p class="note" id="sample-count"></p>` +
      `<table><thead><tr><th>#</th><th>状态 status</th><th>指令 instruction</th><th>输入 input</th><th>输出 output</th></tr></thead><tbody id="sample-rows"></tbody></table></figure></section>`,
  );

  const notes = data.notes.length === 0 ? '' : `<p class="note">${data.notes.map(escapeHtml).join(' · ')}</p>`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据集报告 Dataset report — ${escapeHtml(data.scope.label)}</title>
<style>${CSS}</style></head>
<body><header><h1>数据集报告 Dataset report</h1>
<p class="meta">${escapeHtml(data.database)} · ${escapeHtml(data.scope.label)} · runs ${escapeHtml(o.runs.join(', ') || '—')} · generated ${escapeHtml(data.generatedAt)}</p>${notes}</header>
<main>${sections.join('\n')}</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${echarts()}</script>
<script>${page()}</script>
</body></html>
`;
}
