// The report page's script: draws every chart with ECharts from the embedded JSON, and runs the sample
// browser. Inlined into the HTML by html.ts; plain browser JavaScript, no modules, no network.
(() => {
  var DATA = JSON.parse(document.getElementById('report-data').textContent);
  var FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  var charts = [];

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var c = echarts.init(el, null, { renderer: 'canvas' });
    option.animation = false;
    option.textStyle = { fontFamily: FONT };
    if (!option.tooltip) option.tooltip = { trigger: 'axis' };
    c.setOption(option);
    charts.push(c);
  }
  window.addEventListener('resize', () => {
    charts.forEach((c) => {
      c.resize();
    });
  });

  function bar(id, names, values, opts) {
    opts = opts || {};
    chart(id, {
      title: opts.title ? { text: opts.title, left: 'center', textStyle: { fontSize: 13 } } : undefined,
      grid: {
        left: opts.horizontal ? 150 : 50,
        right: 24,
        top: opts.title ? 36 : 16,
        bottom: opts.horizontal ? 24 : 48,
        containLabel: false,
      },
      xAxis: opts.horizontal
        ? { type: 'value' }
        : { type: 'category', data: names, axisLabel: { rotate: opts.rotate || 0, interval: 'auto' } },
      yAxis: opts.horizontal ? { type: 'category', data: names, inverse: true } : { type: 'value' },
      series: [
        {
          type: 'bar',
          data: values,
          barMaxWidth: 48,
          itemStyle: { color: opts.color || '#2f6fde' },
          label: opts.label ? { show: true, position: opts.horizontal ? 'right' : 'top' } : undefined,
          markLine: opts.markLine,
        },
      ],
    });
  }

  // -- overview and funnel --------------------------------------------------------------------------
  var reasons = DATA.samples.reasons;
  bar(
    'chart-rejections',
    reasons.map((r) => r.label),
    reasons.map((r) => r.n),
    { horizontal: true, label: true, color: '#d9534f' },
  );
  var stages = DATA.funnel.stages;
  bar(
    'chart-funnel',
    stages.map((s) => s.label),
    stages.map((s) => s.remaining),
    { horizontal: true, label: true },
  );

  // -- verbs ----------------------------------------------------------------------------------------
  var v = DATA.verbs;
  chart('chart-sunburst', {
    tooltip: { trigger: 'item' },
    series: [
      {
        type: 'sunburst',
        data: v.sunburst,
        radius: ['12%', '95%'],
        sort: null,
        levels: [
          {},
          { r0: '12%', r: '55%', label: { rotate: 'tangential', fontSize: 12 } },
          { r0: '55%', r: '95%', label: { fontSize: 10, align: 'right' } },
        ],
      },
    ],
  });
  var topVerbs = v.top.slice(0, 20);
  bar(
    'chart-verbshare',
    topVerbs.map((x) => x.name),
    topVerbs.map((x) => +(x.share * 100).toFixed(2)),
    {
      rotate: 45,
      markLine: { symbol: 'none', data: [{ yAxis: 10, label: { formatter: '10%' } }], lineStyle: { color: '#b42318' } },
    },
  );
  bar(
    'chart-openings',
    v.openings.map((x) => x.name),
    v.openings.map((x) => +(x.share * 100).toFixed(2)),
    { horizontal: true, label: true, color: '#7a5af8' },
  );

  // -- categories -----------------------------------------------------------------------------------
  var cats = DATA.categories;
  chart('chart-categories', {
    tooltip: { trigger: 'item' },
    legend: { bottom: 0 },
    series: [
      {
        name: 'accepted',
        type: 'pie',
        radius: ['0%', '38%'],
        center: ['25%', '45%'],
        label: { fontSize: 10 },
        data: cats.accepted.map((c) => ({ name: c.category || '未分类 uncategorised', value: c.n })),
      },
      {
        name: 'seeds',
        type: 'pie',
        radius: ['0%', '38%'],
        center: ['75%', '45%'],
        label: { fontSize: 10 },
        data: cats.seeds.map((c) => ({ name: c.category || '未分类 uncategorised', value: c.n })),
      },
    ],
  });

  // -- lengths --------------------------------------------------------------------------------------
  function lengthChart(id, d, title) {
    var names = d.lo.map((lo, i) => (i === d.lo.length - 1 ? '≥' + lo : String(lo)));
    bar(id, names, d.counts, { title: title + ' (p50 ' + d.p50 + ', p95 ' + d.p95 + ')', color: '#12b76a' });
  }
  lengthChart('chart-len-instruction', DATA.lengths.instruction, '指令 instruction chars');
  lengthChart('chart-len-input', DATA.lengths.input, '输入 input chars');
  lengthChart('chart-len-output', DATA.lengths.output, '输出 output chars');
  lengthChart(
    'chart-len-tokens',
    DATA.lengths.tokens,
    (DATA.lengths.tokens.tokenizer === 'llama2' ? 'LLaMA' : DATA.lengths.tokens.tokenizer) +
      ' tokens' +
      (DATA.lengths.tokens.sampled ? ' (sampled)' : ''),
  );

  // -- similarity -----------------------------------------------------------------------------------
  var s = DATA.similarity;
  var simNames = ['<' + s.accepted.floor].concat(s.accepted.lo.map((lo) => lo.toFixed(2)));
  var simValues = [s.accepted.belowFloor].concat(s.accepted.counts);
  bar('chart-similarity', simNames, simValues, {
    color: '#f79009',
    label: true,
    markLine:
      s.threshold === null
        ? undefined
        : {
            symbol: 'none',
            data: [{ xAxis: findBin(s.accepted.lo, s.threshold) + 1, label: { formatter: 'threshold ' + s.threshold } }],
            lineStyle: { color: '#b42318' },
          },
  });
  bar(
    'chart-neardup',
    s.nearDuplicates.lo.map((lo) => lo.toFixed(2)),
    s.nearDuplicates.counts,
    { color: '#d9534f' },
  );
  function findBin(lo, x) {
    var k = 0;
    for (var i = 0; i < lo.length; i++) if (lo[i] <= x + 1e-9) k = i;
    return k;
  }

  // -- nights ---------------------------------------------------------------------------------------
  var runs = DATA.nights.runs;
  var runNames = runs.map((r) => '#' + r.runId + ' ' + r.startedAt.slice(5, 10));
  chart('chart-nights', {
    legend: { bottom: 0 },
    grid: { left: 56, right: 56, top: 20, bottom: 56 },
    xAxis: { type: 'category', data: runNames },
    yAxis: [
      { type: 'value', name: 'accepted' },
      { type: 'value', name: 'rate %', max: 100 },
    ],
    series: [
      {
        name: '接受 accepted',
        type: 'bar',
        barMaxWidth: 60,
        data: runs.map((r) => r.accepted),
        itemStyle: { color: '#2f6fde' },
      },
      {
        name: '接受率 acceptance rate %',
        type: 'line',
        yAxisIndex: 1,
        data: runs.map((r) => +(r.acceptanceRate * 100).toFixed(1)),
        itemStyle: { color: '#12b76a' },
      },
    ],
  });
  var reasonKeys = [];
  runs.forEach((r) => {
    Object.keys(r.rejectedByReason).forEach((k) => {
      if (reasonKeys.indexOf(k) < 0) reasonKeys.push(k);
    });
  });
  chart('chart-nights-mix', {
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 56, right: 56, top: 20, bottom: 56 },
    xAxis: { type: 'category', data: runNames },
    yAxis: [
      { type: 'value', name: 'rejected' },
      { type: 'value', name: '$ / 1k' },
    ],
    series: reasonKeys
      .map((k) => ({
        name: k,
        type: 'bar',
        stack: 'r',
        barMaxWidth: 60,
        data: runs.map((r) => r.rejectedByReason[k] || 0),
      }))
      .concat([
        {
          name: 'cost per 1,000 accepted',
          type: 'line',
          yAxisIndex: 1,
          data: runs.map((r) => r.costPer1000Accepted),
        },
      ]),
  });

  // -- optional sections ----------------------------------------------------------------------------
  if (DATA.judge) {
    bar(
      'chart-judge',
      DATA.judge.scores.map((x) => String(x.score)),
      DATA.judge.scores.map((x) => x.n),
      { color: '#7a5af8', label: true },
    );
    bar(
      'chart-judge-flags',
      DATA.judge.flags.map((x) => x.flag),
      DATA.judge.flags.map((x) => x.n),
      { horizontal: true, label: true, color: '#d9534f' },
    );
  }
  if (DATA.answers)
    bar(
      'chart-answers',
      DATA.answers.byModel.map((x) => x.model),
      DATA.answers.byModel.map((x) => x.n),
      { horizontal: true, label: true },
    );
  if (DATA.dialogues)
    bar(
      'chart-dialogues',
      DATA.dialogues.turns.map((x) => String(x.turns)),
      DATA.dialogues.turns.map((x) => x.n),
      { label: true },
    );

  // -- sample browser: text goes in with textContent only (it is model output) ------------------------
  var body = document.getElementById('sample-rows');
  var rows = DATA.samples.accepted
    .map((t) => ({ t: t, key: 'accepted' }))
    .concat(DATA.samples.rejected.map((t) => ({ t: t, key: t.reason || 'unknown' })));
  rows.forEach((r) => {
    var tr = document.createElement('tr');
    tr.setAttribute('data-reason', r.key);
    var status = document.createElement('span');
    status.className = 'tag' + (r.t.status === 'rejected' ? ' rejected' : '');
    status.textContent =
      r.t.status === 'accepted'
        ? '接受 accepted'
        : labelOf(r.key) +
          (r.t.detail ? ' — ' + r.t.detail : '') +
          (r.t.similarity !== null && r.t.similarity !== undefined ? ' (sim ' + r.t.similarity.toFixed(3) + ')' : '');
    [String(r.t.id), status, r.t.instruction, r.t.input, r.t.output].forEach((cell, i) => {
      var td = document.createElement('td');
      if (typeof cell === 'string') td.textContent = cell;
      else td.appendChild(cell);
      if (i >= 2) td.className = 'text';
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  function labelOf(key) {
    for (var i = 0; i < reasons.length; i++) if (reasons[i].reason === key) return reasons[i].label;
    return key;
  }
  var filters = document.getElementById('sample-filters');
  var buttons = [];
  function addButton(key, label) {
    var b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('data-filter', key);
    b.textContent = label;
    b.addEventListener('click', () => {
      apply(key);
    });
    filters.appendChild(b);
    buttons.push(b);
  }
  function apply(key) {
    var shown = 0;
    Array.prototype.forEach.call(body.children, (tr) => {
      var on =
        key === 'all' || (key === 'rejected' ? tr.getAttribute('data-reason') !== 'accepted' : tr.getAttribute('data-reason') === key);
      tr.style.display = on ? '' : 'none';
      if (on) shown++;
    });
    buttons.forEach((b) => {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === key));
    });
    document.getElementById('sample-count').textContent = '显示 ' + shown + ' 条 · showing ' + shown;
  }
  addButton('all', '全部 all');
  addButton('accepted', '接受 accepted');
  addButton('rejected', '全部剔除 all rejected');
  var present = {};
  DATA.samples.rejected.forEach((t) => {
    present[t.reason || 'unknown'] = true;
  });
  reasons.forEach((r) => {
    if (present[r.reason]) addButton(r.reason, r.label);
  });
  apply('all');
  document.body.setAttribute('data-report-ready', 'true');
})();
