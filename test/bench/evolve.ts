/**
 * `npm run bench:evolve`: what Evol-Instruct costs per 1,000 surviving evolved tasks, by round, against
 * plain generation per 1,000 accepted tasks measured in the same run (the baseline), and how often each
 * elimination reason strikes.
 *
 * One in-process simulator (default faults: 6% unchanged, 6% leaked marker, 4% refusal, 30% of tasks with
 * an input dropping it, 4% too long). `generate` makes BENCH_N tasks (default 400; gpt-4o-mini), then
 * `evolve --rounds 3` evolves the whole pool and answers every survivor (both gpt-4o-mini). A round's cost
 * is its evolution requests (every one, eliminated ones included) plus the answer requests of its
 * children; "surviving" means accepted and answered — a training pair. The same pool is also evolved
 * through the Batch API (`evolve --batch`, invoked until it completes, on a copy of the store made before
 * the online run): its rows are at batch prices, so its dollars are half when its requests are the same.
 *
 * All figures come from the simulator: synthetic text, synthetic token counts; its rewrites are not a
 * quality model, so survival rates say how the elimination behaves, not how a real model writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { evolve, generate } from '../../pipeline/index.ts';
import { startSimulator } from '../../simulator/server.ts';

const N = Number(process.env.BENCH_N ?? 400);
const ROUNDS = 3;
const MODEL = 'gpt-4o-mini';

interface Figures {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

async function main(): Promise<void> {
  const sim = await startSimulator({ port: 0, seed: 2323 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-evolve-'));
  const db = path.join(dir, 'bench.db');
  try {
    const g = await generate({ db, n: N, baseURL: sim.url, apiKey: 'k', model: MODEL });
    const batchDb = path.join(dir, 'batch.db');
    fs.copyFileSync(db, batchDb);
    const checkDb = path.join(dir, 'check.db');
    fs.copyFileSync(db, checkDb);
    const e = await evolve({ db, baseURL: sim.url, apiKey: 'k', model: MODEL, rounds: ROUNDS });
    let batchRun: number | null = null;
    let steps = 0;
    for (let status = ''; status !== 'completed' && steps < 200; steps++) {
      const b = await evolve({ db: batchDb, baseURL: sim.url, apiKey: 'k', model: MODEL, rounds: ROUNDS, batch: true });
      status = b.status;
      batchRun = b.runId ?? batchRun;
    }
    const checked = await evolve({ db: checkDb, baseURL: sim.url, apiKey: 'k', model: MODEL, rounds: ROUNDS, checkModel: MODEL });
    const conn = new Database(db, { readonly: true });
    const checkConn = new Database(checkDb, { readonly: true });
    const batchConn = new Database(batchDb, { readonly: true });
    const sumIn = (c: Database.Database, where: string, ...params: unknown[]): Figures =>
      c
        .prepare(
          `SELECT count(*) AS requests, coalesce(sum(prompt_tokens), 0) AS promptTokens,
             coalesce(sum(completion_tokens), 0) AS completionTokens, coalesce(sum(cost_usd), 0) AS costUsd
           FROM requests WHERE ${where}`,
        )
        .get(...params) as Figures;
    const sum = (where: string, ...params: unknown[]): Figures => sumIn(conn, where, ...params);

    const rows: string[][] = [];
    const per1000 = (f: Figures, n: number) => [
      (f.requests * 1000) / n,
      (f.promptTokens * 1000) / n,
      (f.completionTokens * 1000) / n,
      (f.costUsd * 1000) / n,
    ];
    const fmt = (v: number[], ratio: number | null, label: string, n: number) => [
      label,
      String(n),
      v[0]!.toFixed(0),
      Math.round(v[1]!).toLocaleString('en'),
      Math.round(v[2]!).toLocaleString('en'),
      `$${v[3]!.toFixed(3)}`,
      ratio === null ? '1.00×' : `${ratio.toFixed(2)}×`,
    ];
    const genFigures = sum('run_id = ?', g.runId);
    const genAccepted = conn.prepare(`SELECT count(*) FROM tasks WHERE run_id = ? AND status = 'accepted'`).pluck().get(g.runId) as number;
    const base = per1000(genFigures, genAccepted);
    rows.push(fmt(base, null, 'generate (baseline)', genAccepted));
    for (const [c, runId, label] of [
      [conn, e.runId, ''],
      [batchConn, batchRun, ' (batch)'],
      [checkConn, checked.runId, ' (--check-model)'],
    ] as const) {
      for (let round = 1; round <= ROUNDS; round++) {
        const evolveF = sumIn(c, `run_id = ? AND answer_task_id IS NULL AND json_extract(params_json, '$.evolve.round') = ?`, runId, round);
        // The check model's requests for this round's rewrites (none without --check-model).
        const checkF = sumIn(
          c,
          `run_id = ? AND json_extract(params_json, '$.evolveCheck') IN (SELECT child_task_id FROM evolutions WHERE round = ?)`,
          runId,
          round,
        );
        const answerF = sumIn(
          c,
          `run_id = ? AND answer_task_id IN (SELECT child_task_id FROM evolutions WHERE round = ? AND status = 'accepted')`,
          runId,
          round,
        );
        const survivors = c
          .prepare(
            `SELECT count(*) FROM evolutions e WHERE e.round = ? AND e.status = 'accepted'
               AND EXISTS (SELECT 1 FROM answers a WHERE a.task_id = e.child_task_id AND a.status = 'accepted')`,
          )
          .pluck()
          .get(round) as number;
        if (survivors === 0) continue;
        const parts = [evolveF, checkF, answerF];
        const both: Figures = {
          requests: parts.reduce((n, f) => n + f.requests, 0),
          promptTokens: parts.reduce((n, f) => n + f.promptTokens, 0),
          completionTokens: parts.reduce((n, f) => n + f.completionTokens, 0),
          costUsd: parts.reduce((n, f) => n + f.costUsd, 0),
        };
        const v = per1000(both, survivors);
        rows.push(fmt(v, v[3]! / base[3]!, `evolve round ${round}${label}`, survivors));
      }
    }
    const head = ['per 1,000 surviving tasks', 'tasks', 'requests', 'prompt tok', 'completion tok', 'USD', 'USD vs baseline'];
    console.log(
      `bench:evolve — simulator, ${MODEL} for generation, evolution and answers; N=${N}, rounds ${ROUNDS}; batch: ${steps} invocations\n`,
    );
    console.log(table(head, rows));

    const tried = conn.prepare('SELECT count(*) FROM evolutions').pluck().get() as number;
    const reasons = conn
      .prepare(`SELECT reason, count(*) AS n FROM evolutions WHERE status = 'rejected' GROUP BY reason ORDER BY n DESC`)
      .all() as { reason: string; n: number }[];
    const accepted = conn.prepare(`SELECT count(*) FROM evolutions WHERE status = 'accepted'`).pluck().get() as number;
    console.log(`\nelimination: ${tried} evolutions tried, ${accepted} accepted (${((100 * accepted) / tried).toFixed(1)}%)\n`);
    console.log(
      table(
        ['reason', 'evolutions', 'share of tried'],
        reasons.map((r) => [r.reason, String(r.n), `${((100 * r.n) / tried).toFixed(1)}%`]),
      ),
    );
    const perRound = conn
      .prepare(
        `SELECT e.round, count(*) AS tried, sum(e.status = 'rejected') AS eliminated, avg(CASE WHEN e.status = 'accepted' THEN length(c.instruction) END) AS chars
         FROM evolutions e JOIN tasks c ON c.id = e.child_task_id GROUP BY e.round ORDER BY e.round`,
      )
      .all() as { round: number; tried: number; eliminated: number; chars: number | null }[];
    const rootChars = conn
      .prepare(`SELECT avg(length(instruction)) FROM tasks WHERE run_id = ? AND status = 'accepted'`)
      .pluck()
      .get(g.runId) as number;
    console.log('');
    console.log(
      table(
        ['round', 'tried', 'eliminated', 'mean instruction chars (accepted)'],
        [
          ['0 (roots)', '-', '-', rootChars.toFixed(1)],
          ...perRound.map((r) => [
            String(r.round),
            String(r.tried),
            `${((100 * r.eliminated) / r.tried).toFixed(1)}%`,
            r.chars === null ? '-' : r.chars.toFixed(1),
          ]),
        ],
      ),
    );
    console.log(
      `\nevolve summary: ${e.requests} requests, $${e.costUsd.toFixed(4)}, ${e.seconds.toFixed(1)} s; eliminated ${JSON.stringify(e.eliminatedNow)}`,
    );
    if (process.env.BENCH_CHAINS !== undefined) printChains(conn, Number(process.env.BENCH_CHAINS));
    conn.close();
    batchConn.close();
    checkConn.close();
  } finally {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Parent → child chains of the deepest lineages (simulator output: mechanical rewrites). */
function printChains(conn: Database.Database, count: number): void {
  const leaves = conn
    .prepare(
      `SELECT child_task_id AS id FROM evolutions WHERE status = 'accepted' AND round = (SELECT max(round) FROM evolutions WHERE status = 'accepted')
       ORDER BY id LIMIT ?`,
    )
    .all(count) as { id: number }[];
  const step = conn.prepare(`SELECT parent_task_id AS parent, operation AS op, round FROM evolutions WHERE child_task_id = ?`);
  const text = conn.prepare('SELECT instruction, input FROM tasks WHERE id = ?');
  for (const leaf of leaves) {
    const chain: string[] = [];
    let id: number | undefined = leaf.id;
    while (id !== undefined) {
      const t = text.get(id) as { instruction: string; input: string };
      const s = step.get(id) as { parent: number; op: string; round: number } | undefined;
      chain.unshift(
        `${s === undefined ? 'root' : `round ${s.round} (${s.op})`}: ${t.instruction}${t.input ? ` [输入: ${t.input.slice(0, 40)}]` : ''}`,
      );
      id = s?.parent;
    }
    console.log(`\n${chain.join('\n  → ')}`);
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

await main();
