/**
 * `npm run bench:judge`: what judging costs next to generating, against the simulator.
 *
 * One generation run (gpt-3.5-turbo, the default generate settings) makes BENCH_TASKS accepted tasks;
 * its cost per 1,000 accepted tasks is the baseline. Copies of that database are then judged with
 * gpt-4o-mini at K = 1, 5, 10, 20 tasks per request, online and through the Batch API, and each row
 * gives tokens and USD per 1,000 judged tasks, the share of the generation cost, and whether every
 * task got exactly one judgment. Prices: the built-in table (OpenAI list prices; batch = half).
 *
 * Token counts are the simulator's (one token per CJK character, one per four other characters), and
 * its judge replies are synthetic: the figures measure the prompt and reply sizes of this pipeline,
 * not a real model's verbosity. Target: judging ≤ 15% of generating at the default K (10).
 *
 * Options (env): BENCH_TASKS (default 500).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from '../../pipeline/commands/generate.ts';
import { judgeBatchStep } from '../../pipeline/commands/judge-batch.ts';
import { judge } from '../../pipeline/commands/judge-run.ts';
import { createLlmClient } from '../../pipeline/llm.ts';
import { createBatchApi } from '../../pipeline/llm/batch-api.ts';
import { DEFAULT_PRICES } from '../../pipeline/llm/cost.ts';
import { JudgmentStore } from '../../pipeline/store/judgments.ts';
import { Store } from '../../pipeline/store/store.ts';
import { startSimulator } from '../../simulator/server.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 500);
const JUDGE_MODEL = 'gpt-4o-mini';
const price = DEFAULT_PRICES[JUDGE_MODEL]!;

const sim = await startSimulator({ port: 0, seed: 12 });
const env = { OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'bench-key' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhsi-bench-judge-'));
const genDb = path.join(dir, 'gen.db');

try {
  await generate({ n: TASKS, db: genDb, probe: false, env });
  const gen = (() => {
    const store = Store.open(genDb);
    try {
      const s = new JudgmentStore(store).spending('generate');
      return { ...s, accepted: store.stats().accepted };
    } finally {
      store.close();
    }
  })();
  const genPer1k = (gen.costUsd / gen.accepted) * 1000;

  type Row = { channel: string; k: number; requests: number; prompt: number; completion: number; usd: number; exact: boolean };
  const rows: Row[] = [];
  for (const channel of ['online', 'batch'] as const) {
    for (const k of [1, 5, 10, 20]) {
      const db = path.join(dir, `${channel}-${k}.db`);
      fs.copyFileSync(genDb, db);
      const store = Store.open(db);
      try {
        const options = { model: JUDGE_MODEL, tasksPerRequest: k, price, concurrency: 8 };
        if (channel === 'online') {
          await judge(options, { store, llm: createLlmClient({ apiKey: 'bench-key', baseURL: sim.url, rateLimit: false }) });
        } else {
          const api = createBatchApi({ apiKey: 'bench-key', baseURL: sim.url });
          for (let step = 0; step < 60; step++) {
            const s = await judgeBatchStep(options, { store, api });
            if (s.status === 'completed') break;
          }
        }
        const js = new JudgmentStore(store);
        const spent = js.spending('judge');
        const judged = js.countJudgments({ model: JUDGE_MODEL, rubricSha256: js.latestJudge()!.rubricSha256 });
        const distinct = store.db.prepare('SELECT count(DISTINCT task_id) FROM judgments').pluck().get() as number;
        const per = 1000 / judged;
        rows.push({
          channel,
          k,
          requests: Math.round(spent.requests * per),
          prompt: Math.round(spent.promptTokens * per),
          completion: Math.round(spent.completionTokens * per),
          usd: spent.costUsd * per,
          exact: judged === gen.accepted && distinct === judged,
        });
      } finally {
        store.close();
      }
    }
  }

  const out = (s: string): void => void process.stdout.write(s + '\n');
  out(`\nbench:judge — ${gen.accepted} accepted tasks from the simulator; prices: built-in table (USD per 1M tokens)`);
  out(
    `baseline: generating with gpt-3.5-turbo (${DEFAULT_PRICES['gpt-3.5-turbo']!.input}/${DEFAULT_PRICES['gpt-3.5-turbo']!.output}): ` +
      `${gen.requests} requests, ${Math.round((gen.promptTokens / gen.accepted) * 1000)} prompt + ` +
      `${Math.round((gen.completionTokens / gen.accepted) * 1000)} completion tokens ` +
      `and $${genPer1k.toFixed(4)} per 1,000 accepted tasks\n`,
  );
  const header = [
    'judge gpt-4o-mini',
    'K',
    'requests/1k',
    'prompt tok/1k',
    'completion tok/1k',
    'USD/1k',
    'vs generating',
    'one judgment each',
  ];
  const cells = rows.map((r) => [
    r.channel,
    String(r.k),
    String(r.requests),
    String(r.prompt),
    String(r.completion),
    `$${r.usd.toFixed(4)}`,
    `${((r.usd / genPer1k) * 100).toFixed(1)}%`,
    r.exact ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const line of [header, widths.map((w) => '-'.repeat(w)), ...cells]) out(line.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const target = rows.find((r) => r.channel === 'online' && r.k === 10)!;
  out(
    `\ntarget: judging ≤ 15% of generating at K = 10 online: ${((target.usd / genPer1k) * 100).toFixed(1)}% — ` +
      (target.usd / genPer1k <= 0.15 ? 'met' : 'NOT met'),
  );
  out("token counts and judge replies are the simulator's: they size this pipeline's prompts, not a real model's answers");
} finally {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
