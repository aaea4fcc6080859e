/**
 * `npm run bench:report`: a database of 1,000,000 synthetic tasks (85% accepted, the rest rejected with
 * reasons and near-duplicate similarities, over 7 nightly runs), inserted through the store's schema in one
 * transaction; then, each in its own child process, a plain SELECT over the same rows (the floor), the
 * HTML report and `report --json` through the real CLI. Wall time and peak RSS per child; targets:
 * report < 60 s and < 500 MB. The charts that need it sample (stated on them); the counts are exact.
 *
 *   npm run bench:report [-- --rows 1000000]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { dedupKey } from '../../pipeline/dedup/similarity.ts';
import { Store } from '../../pipeline/store/store.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SELF = fileURLToPath(import.meta.url);
const MAX_RSS = path.join(ROOT, 'test/bench/max-rss.ts');
const MAIN = path.join(ROOT, 'pipeline/cli/main.ts');
const TARGET_SECONDS = 60;
const TARGET_MB = 500;

if (process.argv[2] === '--child') {
  // The floor: every task row read once, text columns included, nothing computed.
  const conn = new Database(process.argv[3]!, { readonly: true });
  let rows = 0;
  for (const _ of conn.prepare('SELECT id, instruction, input, output, status, reason, similarity FROM tasks').iterate()) rows++;
  process.stdout.write(JSON.stringify({ rows }) + '\n');
  process.exit(0);
}

/** mulberry32: seeded, so every run of the benchmark builds the same database. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Written for this benchmark: verbs and objects so the sunburst has a shape, sentences for outputs.
const VERBS = ['生成一个', '写一篇', '解释', '总结', '列出', '翻译', '比较', '改写', '推荐', '分析', '判断', '计算', '设计', '描述'];
const OBJECTS = [
  '关于春天的故事',
  '会议纪要',
  '健康饮食的建议',
  '城市交通问题',
  '一封感谢信',
  '唐诗的意境',
  '学习计划',
  '网购的利弊',
  '一道数学题',
  '产品广告词',
];
const CONTEXT = ['', '', '', '请', '帮我', '根据下面的内容，'];
const SENTENCES = [
  '首先要弄清楚目标是什么，再安排具体的时间。',
  '可以从身边的小事做起，慢慢养成习惯。',
  '这样做既能省钱，也能让效率明显提高。',
  '很多人忽视了这一点，结果往往事倍功半。',
  '总的来说，坚持下去比一时的热情更重要。',
  '如果遇到困难，不妨先停下来想一想原因。',
  '数据显示，参与的人越多，效果就越稳定。',
  '最后，别忘了定期回顾，看看哪里还能改进。',
];
const REASONS = [
  'near_duplicate',
  'near_duplicate',
  'near_duplicate',
  'empty_output',
  'not_chinese',
  'instruction_too_short',
  'refusal',
  'output_equals_input',
];
const RUNS = 7;

function pick<T>(next: () => number, xs: readonly T[]): T {
  return xs[Math.floor(next() * xs.length)]!;
}

function buildDb(file: string, rows: number): number {
  const next = rng(11);
  const store = Store.open(file);
  const started = performance.now();
  store.transaction(() => {
    const template = store.templateId('self_instruct', 'c'.repeat(64), '（基准测试用的模板文本）');
    for (let i = 0; i < 175; i++) {
      const seed = {
        instruction: `种子任务${i}：${pick(next, VERBS)}${pick(next, OBJECTS)}`,
        input: '',
        output: pick(next, SENTENCES),
        category: `类别${i % 16}`,
      };
      store.insertTask({ ...seed, source: 'seed', dedupKey: dedupKey(seed), status: 'accepted' });
    }
    const perRun = Math.ceil(rows / RUNS);
    let runId = 0;
    let requestId = 0;
    for (let i = 0; i < rows; i++) {
      if (i % perRun === 0) {
        if (runId !== 0) store.finishRun(runId, 'completed');
        runId = store.createRun({ target: perRun, mode: 'self-instruct', model: 'bench-model', options: { similarity: 0.7 } });
      }
      if (i % 20 === 0) {
        requestId = store.insertRequest({
          runId,
          templateId: template,
          model: 'bench-model',
          messages: [],
          params: {},
          status: 'ok',
          promptTokens: 900,
          completionTokens: 2400,
          latencyMs: 1500,
          costUsd: 0.00158,
        });
      }
      const task = {
        instruction: `${pick(next, CONTEXT)}${pick(next, VERBS)}${pick(next, OBJECTS)}（第${i}题）`,
        input: next() < 0.3 ? pick(next, SENTENCES) : '',
        output: SENTENCES.slice(0, 2 + Math.floor(next() * 6)).join(''),
      };
      const rejected = next() < 0.15;
      const reason = rejected ? pick(next, REASONS) : null;
      store.insertTask({
        ...task,
        source: 'generated',
        runId,
        requestId,
        dedupKey: dedupKey(task) + (rejected ? `#r${i}` : ''),
        status: rejected ? 'rejected' : 'accepted',
        reason,
        similarity: reason === 'near_duplicate' ? 0.7 + next() * 0.3 : null,
        nearestTaskId: reason === 'near_duplicate' ? 1 : null,
      });
    }
    store.finishRun(runId, 'completed');
  });
  store.close();
  return (performance.now() - started) / 1000;
}

interface Measured {
  seconds: number;
  cpuSeconds: number;
  rssBytes: number;
  stdout: string;
}

function measure(args: string[], dir: string): Promise<Measured> {
  const rssFile = path.join(dir, `rss-${process.hrtime.bigint()}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', MAX_RSS, ...args], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      resolve({
        seconds: (performance.now() - started) / 1000,
        cpuSeconds: Number(fs.readFileSync(`${rssFile}.cpu`, 'utf8')),
        rssBytes: Number(fs.readFileSync(rssFile, 'utf8')),
        stdout,
      });
    });
  });
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf('--rows');
  const total = flag > 0 ? Number(process.argv[flag + 1]) : 1_000_000;
  if (!Number.isSafeInteger(total) || total < 100) throw new Error('--rows needs an integer ≥ 100');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-bench-report-'));
  const db = path.join(dir, 'bench.db');
  try {
    process.stderr.write(`inserting ${total.toLocaleString('en-US')} tasks…\n`);
    const insertSeconds = buildDb(db, total);
    process.stderr.write(`  ${insertSeconds.toFixed(1)} s, database ${(fs.statSync(db).size / 2 ** 20).toFixed(0)} MiB\n`);
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    const results: { name: string; seconds: number; cpuSeconds: number; rssBytes: number; note: string }[] = [];

    process.stderr.write('baseline SELECT…\n');
    const base = await measure([SELF, '--child', db], dir);
    results.push({
      name: 'baseline: SELECT every task row',
      seconds: base.seconds,
      cpuSeconds: base.cpuSeconds,
      rssBytes: base.rssBytes,
      note: `${JSON.parse(base.stdout).rows} rows`,
    });

    process.stderr.write('report (HTML)…\n');
    const html = path.join(dir, 'report.html');
    const h = await measure([MAIN, 'report', '--db', db, '--out', html], dir);
    results.push({
      name: 'report → HTML',
      seconds: h.seconds,
      cpuSeconds: h.cpuSeconds,
      rssBytes: h.rssBytes,
      note: `${(fs.statSync(html).size / 2 ** 20).toFixed(1)} MiB file`,
    });

    process.stderr.write('report --json…\n');
    const j = await measure([MAIN, 'report', '--db', db, '--json'], dir);
    const data = JSON.parse(j.stdout);
    results.push({
      name: 'report --json',
      seconds: j.seconds,
      cpuSeconds: j.cpuSeconds,
      rssBytes: j.rssBytes,
      note: data.notes.join('; '),
    });

    const lines = [
      '',
      `${total.toLocaleString('en-US')} tasks (${data.overview.accepted.toLocaleString('en-US')} accepted), ${RUNS} runs; target < ${TARGET_SECONDS} s, < ${TARGET_MB} MB`,
      '',
      `machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores: wall seconds stretch with it, CPU seconds much less`,
      '',
      '| step | wall s | CPU s | × SELECT (CPU) | peak RSS MB | note |',
      '|---|---:|---:|---:|---:|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${(r.cpuSeconds / base.cpuSeconds).toFixed(1)} | ${mb(r.rssBytes)} | ${r.note} |`,
      ),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    const failed = results.slice(1).filter((r) => r.seconds >= TARGET_SECONDS || r.rssBytes >= TARGET_MB * 2 ** 20);
    if (failed.length > 0) {
      process.stdout.write(`TARGET MISSED: ${failed.map((f) => f.name).join(', ')}\n`);
      process.exitCode = 1;
    } else process.stdout.write('targets met\n');
  } finally {
    if (process.env['BENCH_KEEP'] === undefined) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

await main();
