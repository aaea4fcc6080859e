/**
 * The report's figures: the text analysis on real jieba tags, and `report --json` / HTML through the real
 * CLI on a hand-built database whose counts are known, optional sections included once their tables exist.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { distinct2, entropyBits, leadingVerb, NO_VERB, openingPhrase } from '../../pipeline/analysis/instructions.ts';
import { overShare } from '../../pipeline/report/figures.ts';
import { scriptJson } from '../../pipeline/report/html.ts';
import { loadSegmenter, type Segmenter } from '../../pipeline/analysis/segmenter.ts';
import { dedupKey } from '../../pipeline/dedup/similarity.ts';
import { Store } from '../../pipeline/store/store.ts';
import { runCli } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let seg: Segmenter;
beforeAll(async () => {
  seg = await loadSegmenter();
});

describe('leading verb, opening phrase, diversity', () => {
  const cases: [string, string, string | null][] = [
    ['生成一个关于春天的故事。', '生成', '故事'],
    ['请解释什么是光合作用。', '解释', '光合作用'],
    ['将下列句子翻译成英文。', '翻译', '句子'],
    ['对下面的文本进行分类。', '分类', '文本'],
    ['给出三个提高效率的建议', '给出', '建议'],
    ['写一篇关于环保的短文', '写', '短文'],
    ['根据以下信息回答问题', '回答', '问题'],
    ['我孩子回家问了我，可以介绍一下水煮鱼的做法吗', '介绍', null],
  ];
  for (const [text, verb, object] of cases) {
    it(`${text} → ${verb} / ${object ?? '—'}`, () => {
      const got = leadingVerb(seg.tag(text));
      expect(got.verb).toBe(verb);
      if (object !== null) expect(got.object).toBe(object);
    });
  }

  it('no verb in the first sentence; punctuation first; empty input', () => {
    expect(leadingVerb(seg.tag('春天。')).verb).toBe(NO_VERB);
    expect(leadingVerb([]).verb).toBe(NO_VERB);
    expect(openingPhrase(seg.tag('“生成一个故事”'))).toBe('生成一个');
    expect(openingPhrase(seg.tag('请解释量子纠缠'))).toBe('请解释');
    expect(openingPhrase([])).toBe('');
  });

  it('distinct-2, entropy and the 10% flag by hand', () => {
    const w = (...words: string[]) => words.map((word) => ({ word, tag: 'n' }));
    // Bigrams: (a b) (b c) | (a b) (b d): 3 distinct of 4.
    expect(distinct2([w('a', 'b', 'c'), w('a', 'b', 'd')])).toEqual({ distinct: 3, total: 4, value: 0.75 });
    // Punctuation breaks a bigram.
    expect(distinct2([[...w('a'), { word: '，', tag: 'x' }, ...w('b')]]).total).toBe(0);
    expect(entropyBits([1, 1])).toBe(1);
    expect(entropyBits([5])).toBe(0);
    expect(entropyBits([1, 1, 1, 1])).toBe(2);
    expect(
      overShare(
        [
          { name: '生成', count: 11 },
          { name: '写', count: 10 },
        ],
        100,
        0.1,
      ),
    ).toEqual([{ name: '生成', share: 0.11 }]);
  });

  it('script JSON has no "<" that could close the script or open a comment', () => {
    const json = scriptJson({ t: '</script><!-- \u2028' });
    expect(json).not.toMatch(/</);
    expect(JSON.parse(json)).toEqual({ t: '</script><!-- \u2028' });
  });
});

/** Two runs: run 1 with 20 accepted (12 start with 生成一个) and 6 rejected; run 2 with 4 accepted, 1 rejected. */
function buildDb(file: string): void {
  const store = Store.open(file);
  const seed = { instruction: '列举三种常见的水果。', input: '', output: '苹果、香蕉、橙子。', category: '头脑风暴' };
  store.insertTask({ ...seed, source: 'seed', dedupKey: dedupKey(seed), status: 'accepted' });
  const topics = ['春天', '友谊', '勇气', '海洋', '故乡', '雨夜', '火车', '图书馆', '老街', '风筝', '灯塔', '夏至'];
  const others = [
    '请解释什么是通货膨胀。',
    '把这句话改写得更正式：明天见。',
    '写一首关于秋天的短诗。',
    '总结下面这段话的要点。',
    '比较猫和狗作为宠物的优缺点。',
    '翻译成英文：你好。',
    '计算三加五等于多少。',
    '推荐两本适合初学者的编程书。',
  ];
  const run1 = store.createRun({ target: 20, mode: 'self-instruct', model: 'sim-model', options: { similarity: 0.7 } });
  const req1 = store.insertRequest({
    runId: run1,
    templateId: null,
    model: 'sim-model',
    messages: [],
    params: {},
    status: 'ok',
    promptTokens: 1000,
    completionTokens: 2000,
    costUsd: 0.5,
  });
  const add = (runId: number, requestId: number, instruction: string, status: 'accepted' | 'rejected', reason: string | null = null) => {
    const t = { instruction, input: '', output: `这是对「${instruction}」的回答。` };
    store.insertTask({
      ...t,
      source: 'generated',
      runId,
      requestId,
      dedupKey: dedupKey(t) + (status === 'rejected' ? `#${Math.random()}` : ''),
      status,
      reason,
    });
  };
  for (const topic of topics) add(run1, req1, `生成一个关于${topic}的故事。`, 'accepted');
  for (const o of others) add(run1, req1, o, 'accepted');
  for (const r of ['empty_output', 'empty_output', 'refusal', 'near_duplicate', 'near_duplicate', 'near_duplicate'])
    add(run1, req1, `被剔除的任务${r}${Math.random()}`, 'rejected', r);
  store.finishRun(run1, 'completed');
  const run2 = store.createRun({ target: 4, mode: 'topics', model: 'sim-model', options: { similarity: 0.8 } });
  const req2 = store.insertRequest({
    runId: run2,
    templateId: null,
    model: 'sim-model',
    messages: [],
    params: {},
    status: 'ok',
    promptTokens: 100,
    completionTokens: 200,
    costUsd: 0.1,
  });
  for (const o of ['描述一下黄山的日出。', '解释一下区块链的原理。', '设计一个周末亲子活动。', '分析这首诗的意境。'])
    add(run2, req2, o, 'accepted');
  add(run2, req2, '？？', 'rejected', 'starts_with_punctuation');
  store.finishRun(run2, 'completed');
  store.close();
}

describe('report CLI', () => {
  const dir = tempDir('zhsi-report-');
  const db = path.join(dir, 'r.db');
  buildDb(db);

  it('--json: counts, funnel, verbs, flags, runs; no optional section without its table', async () => {
    const r = await runCli(['report', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.overview.accepted).toBe(24);
    expect(d.overview.rejected).toBe(7);
    expect(d.overview.rejectedByReason).toEqual({ near_duplicate: 3, empty_output: 2, refusal: 1, starts_with_punctuation: 1 });
    expect(d.overview.costUsd).toBeCloseTo(0.6);
    expect(d.overview.costPer1000Accepted).toBeCloseTo(25);
    // Rules in their order, then near-duplicates; each stage removes its own count.
    expect(d.funnel.stages.map((s: { key: string }) => s.key)).toEqual([
      'parsed',
      'starts_with_punctuation',
      'empty_output',
      'refusal',
      'near_duplicate',
      'accepted',
    ]);
    expect(d.funnel.stages.map((s: { remaining: number }) => s.remaining)).toEqual([31, 30, 28, 27, 24, 24]);
    expect(d.verbs.rows).toBe(24);
    expect(d.verbs.top[0]).toEqual({ name: '生成', count: 12, share: 0.5 });
    expect(d.verbs.flagged).toEqual([{ name: '生成', share: 0.5 }]);
    expect(d.verbs.openings[0]).toEqual({ name: '生成一个', count: 12, share: 0.5 });
    expect(d.verbs.sunburst[0].children[0]).toEqual({ name: '故事', value: 12 });
    expect(d.verbs.readings.sunburst.zh).toMatch(/警告.*生成.*50\.0%/);
    expect(d.lengths.instruction.rows).toBe(24);
    expect(d.lengths.tokens.rows).toBe(24);
    expect(d.similarity.threshold).toBe(0.8);
    expect(d.similarity.accepted.rows).toBe(24);
    expect(d.nights.runs.map((x: { accepted: number }) => x.accepted)).toEqual([20, 4]);
    expect(d.nights.runs[1].acceptanceRate).toBeCloseTo(0.8);
    expect(d.categories.seeds).toEqual([{ category: '头脑风暴', n: 1 }]);
    expect(d.samples.accepted).toHaveLength(24);
    expect(new Set(d.samples.rejected.map((t: { reason: string }) => t.reason))).toEqual(
      new Set(['near_duplicate', 'empty_output', 'refusal', 'starts_with_punctuation']),
    );
    expect(d).not.toHaveProperty('judge');
    expect(d).not.toHaveProperty('answers');
    expect(d).not.toHaveProperty('dialogues');
  }, 60_000);

  it('--run scopes every figure to that run', async () => {
    const d = JSON.parse((await runCli(['report', '--db', db, '--json', '--run', '2'])).stdout);
    expect(d.scope).toMatchObject({ kind: 'run', runId: 2 });
    expect(d.overview.accepted).toBe(4);
    expect(d.overview.rejectedByReason).toEqual({ starts_with_punctuation: 1 });
    expect(d.verbs.flagged.length).toBeGreaterThan(0); // 4 rows: every verb is over 10%
    expect(d.overview.costUsd).toBeCloseTo(0.1);
  }, 60_000);

  it('optional sections appear once their tables exist (judge, answers, dialogues)', async () => {
    const copy = path.join(dir, 'with-judge.db');
    fs.copyFileSync(db, copy);
    const conn = new Database(copy);
    const ids = conn
      .prepare(`SELECT id FROM tasks WHERE status = 'accepted' AND source = 'generated' ORDER BY id`)
      .pluck()
      .all() as number[];
    const now = new Date().toISOString();
    const insert = conn.prepare(
      `INSERT INTO judgments (task_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, created_at)
       VALUES (?, 'judge-a', 'r', ?, '[]', ?, 'ok', ?)`,
    );
    ids.forEach((id, i) => insert.run(id, i % 2 === 0 ? 8 : 2, i % 3 === 0 ? '["factual_error"]' : '[]', now));
    const answerId = conn
      .prepare(`INSERT INTO answers (task_id, model, output, status, created_at) VALUES (?, 'model-b', '另写的一段答案', 'accepted', ?)`)
      .run(ids[0], now).lastInsertRowid;
    // Task 0 now exports its answer: the answer's judgment (9) counts, not its own output's (8, flagged).
    conn
      .prepare(
        `INSERT INTO judgments (task_id, answer_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, created_at)
         VALUES (?, ?, 'judge-a', 'r', 9, '[]', '[]', 'ok', ?)`,
      )
      .run(ids[0], answerId, now);
    // Three accepted conversations of 2, 2 and 4 exchanges.
    const run = conn.prepare('SELECT max(id) FROM runs').pluck().get() as number;
    [2, 2, 4].forEach((exchanges, k) => {
      const task = conn
        .prepare(
          `INSERT INTO tasks (source, run_id, instruction, input, output, dedup_key, status, kind, created_at)
           VALUES ('dialogue', ?, ?, '', '好的', ?, 'accepted', 'dialogue', ?)`,
        )
        .run(run, `对话${k}`, `对话${k}key`, now).lastInsertRowid;
      for (let turn = 0; turn < exchanges * 2; turn++) {
        conn
          .prepare('INSERT INTO dialogue_turns (task_id, turn, role, content, tokens) VALUES (?, ?, ?, ?, 1)')
          .run(task, turn, turn % 2 === 0 ? 'user' : 'assistant', `第${turn}句`);
      }
    });
    conn.prepare(`UPDATE runs SET options_json = json_set(options_json, '$.examplesMinScore', 7)`).run();
    conn.close();
    const d = JSON.parse((await runCli(['report', '--db', copy, '--json'])).stdout);
    expect(d.judge.scores).toEqual([
      { score: 2, n: 12 },
      { score: 8, n: 11 },
      { score: 9, n: 1 },
    ]);
    expect(d.judge.flags).toEqual([{ flag: 'factual_error', n: 7 }]);
    // The sample shows what export writes: the answer, not the task's own output.
    expect(d.samples.accepted.find((t: { id: number }) => t.id === ids[0])).toMatchObject({ output: '另写的一段答案' });
    expect(d.judge.atOrAbove).toBe(12);
    expect(d.funnel.stages.at(-1)).toMatchObject({ key: 'judged', remaining: 12 });
    expect(d.answers.byModel).toEqual([{ model: 'model-b', n: 1 }]);
    expect(d.dialogues.turns).toEqual([
      { turns: 2, n: 2 },
      { turns: 4, n: 1 },
    ]);
    const out = path.join(dir, 'judge.html');
    expect((await runCli(['report', '--db', copy, '--out', out])).code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    for (const id of ['chart-judge', 'chart-judge-flags', 'chart-answers', 'chart-dialogues']) expect(html).toContain(`id="${id}"`);
    const plain = path.join(dir, 'plain.html');
    expect((await runCli(['report', '--db', db, '--out', plain])).code).toBe(0);
    expect(fs.readFileSync(plain, 'utf8')).not.toContain('id="chart-judge"');
  }, 90_000);

  it('writes one self-contained file: ECharts inlined, no external URL in src/href', async () => {
    const out = path.join(dir, 'self.html');
    const r = await runCli(['report', '--db', db, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('echarts');
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '<script></script>');
    expect(/\b(src|href)\s*=/i.test(markup), 'an attribute that would fetch something').toBe(false);
    expect(/<script\s[^>]*\bsrc\s*=/i.test(html), 'a script loaded from elsewhere').toBe(false);
    expect(html).toContain("default-src 'none'");
  }, 60_000);

  it('every export folder gets a dataset card, listed in the manifest', async () => {
    const out = path.join(dir, 'exports');
    const r = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--valid-ratio', '0.2']);
    expect(r.code, r.stderr).toBe(0);
    const folder = r.stdout.trim();
    const card = fs.readFileSync(path.join(folder, 'README.md'), 'utf8');
    const header = card.split('\n---\n')[0]!;
    expect(header).toMatch(/^---\nlanguage:\n- zh\n/);
    expect(header).toMatch(/\nlicense: ""\n/);
    expect(header).toMatch(/\ntask_categories:\n- text-generation\n/);
    expect(header).toMatch(/\nsize_categories:\n- n<1K\n/);
    expect(header).toMatch(/split: train\n {4}path: train\.jsonl/);
    expect(card).toContain('sim-model (24 rows)');
    expect(card).toMatch(/≥ 0\.7 \/ 0\.8 against/);
    expect(card).toMatch(/\*\*Leading verbs:\*\* 生成 50\.0%/);
    expect(card).toMatch(/Over 10%: 生成/);
    expect(card).toMatch(/\| 近似重复 near-duplicate \| 3 \|/);
    expect(card).toContain('## Known limitations');
    expect(card).toContain('**Judge:** none');
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    const entry = manifest.files.find((f: { path: string }) => f.path === 'README.md');
    expect(entry).toMatchObject({ split: 'card', records: 0, bytes: Buffer.byteLength(card) });
    expect(entry.sha256).toBe(crypto.createHash('sha256').update(card).digest('hex'));
    expect(manifest.records.total).toBe(24);
  }, 60_000);

  const bad: [string, string[], RegExp][] = [
    ['unknown run', ['--run', '99'], /--run: the database has no run 99/],
    ['--run 0', ['--run', '0'], /--run.*positive integer/],
    ['--since neither last, all, a run nor a date', ['--since', 'yesterday'], /--since.*expected last, all or a run id, got "yesterday"/],
    ['--from not a date', ['--from', 'yesterday'], /--from.*expected a date/],
    ['--run with --from', ['--run', '1', '--from', '2025-01-01'], /exclude each other/],
    ['--out in a missing folder', ['--out', '/nonexistent-dir/x/report.html'], /--out: .*does not exist/],
    ['missing database', ['--db', '/nonexistent-dir/none.db'], /does not exist|no such database/],
  ];
  for (const [name, args, message] of bad) {
    it(`bad input: ${name} → one line, exit 2, nothing written`, async () => {
      const out = path.join(dir, `bad-${name.replace(/\W+/g, '-')}.html`);
      const r = await runCli(['report', '--db', db, '--out', out, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(fs.existsSync(out)).toBe(false);
    }, 30_000);
  }
});
