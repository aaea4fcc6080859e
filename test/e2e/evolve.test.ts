/**
 * Evol-Instruct (issue 23) end to end: generate a store against the simulator, then `evolve()` through the
 * library (and the CLI for exit codes and kill -9) over HTTP into a real SQLite file. The simulator's
 * rewrites are mechanical (not a quality model); what is tested is elimination, lineage, rounds, crash
 * safety, answers and export.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evolve, exportDataset, generate, judgeTasks, reportFigures, stats, UsageError } from '../../pipeline/index.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { ROOT, runCli, startCli, waitFor } from '../cli.ts';
import { one, query, summaryOf, tempDir } from '../helpers.ts';

let sim: Simulator;
/** A simulator whose evolution replies fail often, so every reason shows in a small run. */
let faulty: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 23 });
  faulty = await startSimulator({
    port: 0,
    seed: 24,
    evolveFaults: { unchanged: 0.12, leaked: 0.12, refusal: 0.1, droppedInput: 0.6, tooLong: 0.1 },
  });
});
afterAll(async () => {
  await sim.close();
  await faulty.close();
});

async function generated(name: string, n: number, url = sim.url): Promise<string> {
  const db = path.join(tempDir(), `${name}.db`);
  await generate({ db, n, baseURL: url, apiKey: 'k' });
  return db;
}

interface EvolutionRow {
  parent: number;
  root: number;
  round: number;
  op: string;
  child: number;
  status: string;
  reason: string | null;
}
const evolutions = (db: string) =>
  query<EvolutionRow>(
    db,
    `SELECT parent_task_id AS parent, root_task_id AS root, round, operation AS op, child_task_id AS child, status, reason
     FROM evolutions ORDER BY id`,
  );

describe('evolve', () => {
  it('eliminates with a stored reason each failure the simulator plants, and keeps lineage, rounds and inputs', async () => {
    const db = await generated('reasons', 60, faulty.url);
    const summary = await evolve({ db, baseURL: faulty.url, apiKey: 'k', rounds: 3 });
    expect(summary.status).toBe('completed');
    const rows = evolutions(db);
    const reasons = new Set(rows.filter((r) => r.status === 'rejected').map((r) => r.reason));
    for (const reason of ['evolve_no_gain', 'evolve_leaked_marker', 'evolve_refusal', 'evolve_dropped_input', 'evolve_too_long']) {
      expect(reasons, reason).toContain(reason);
    }
    // Stored like every rejection: the child is a rejected task of source evolved with the same reason.
    expect(
      one(
        db,
        `SELECT count(*) FROM evolutions e JOIN tasks t ON t.id = e.child_task_id
         WHERE t.source <> 'evolved' OR t.status <> e.status OR t.reason IS NOT e.reason`,
      ),
    ).toBe(0);
    // No evolved task row without its lineage, and no accepted child carries the prompt's words.
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND NOT EXISTS (SELECT 1 FROM evolutions e WHERE e.child_task_id = t.id)`,
      ),
    ).toBe(0);
    const accepted = query<{ instruction: string; input: string }>(
      db,
      `SELECT instruction, input FROM tasks WHERE source = 'evolved' AND status = 'accepted'`,
    );
    expect(accepted.length).toBeGreaterThan(5);
    for (const t of accepted) expect(t.instruction + t.input).not.toMatch(/给定的指令|改写后的指令|Rewritten Prompt|【指令】|【输入】/);

    const byChild = new Map(rows.filter((r) => r.status === 'accepted').map((r) => [r.child, r]));
    for (const r of rows) {
      const parentLineage = byChild.get(r.parent);
      // Round r's parents are round r-1's survivors (or roots), and the root is carried down the lineage.
      if (parentLineage === undefined) {
        expect(r.root).toBe(r.parent);
        expect(one(db, `SELECT count(*) FROM tasks WHERE id = ? AND source = 'generated'`, r.root)).toBe(1);
      } else {
        expect(r.root).toBe(parentLineage.root);
        expect(r.round).toBeGreaterThan(parentLineage.round);
      }
      expect(r.round).toBeLessThanOrEqual(3);
    }
    // A failed evolution returned its parent to the pool: the same parent tried again in the next round.
    const retried = rows
      .filter((r) => r.status === 'rejected' && r.round < 3)
      .filter((r) => rows.some((x) => x.parent === r.parent && x.round === r.round + 1));
    expect(retried.length).toBeGreaterThan(0);
    // Ops that keep the input kept it verbatim.
    const kept = query<{ a: string; b: string }>(
      db,
      `SELECT p.input AS a, c.input AS b FROM evolutions e JOIN tasks p ON p.id = e.parent_task_id JOIN tasks c ON c.id = e.child_task_id
       WHERE e.status = 'accepted' AND e.operation IN ('deepen', 'constrain', 'reason')`,
    );
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) expect(k.b).toBe(k.a);
    // Without n the whole pool was evolved and every survivor answered; nothing is due any more.
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND t.status = 'accepted' AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted')`,
      ),
    ).toBe(0);
    const again = await evolve({ db, baseURL: faulty.url, apiKey: 'k', rounds: 3 });
    expect(again.status).toBe('nothing');
    expect(again.requests).toBe(0);

    const s = stats({ db }).evolved;
    expect(s.total).toBe(accepted.length);
    expect(Object.values(s.byRound).reduce((a, b) => a + b, 0)).toBe(accepted.length);
    expect(s.eliminated['evolve_refusal']).toBe(rows.filter((r) => r.reason === 'evolve_refusal').length);
    expect(summary.evolvedNow).toBe(accepted.length);
  }, 180_000);

  it('eliminates a rewrite that copies the parent answer (a hostile server pasting it)', async () => {
    const db = await generated('copies', 12);
    const answers = query<{ instruction: string; output: string }>(
      db,
      `SELECT instruction, output FROM tasks WHERE source = 'generated' AND status = 'accepted'`,
    );
    const answerOf = new Map(answers.map((a) => [a.instruction, a.output]));
    // The input given back as asked, so only the pasted answer is wrong.
    const server = await rewritingServer(
      (instruction, input) => `【指令】${instruction}参考回答如下：${answerOf.get(instruction) ?? ''}\n【输入】${input}`,
    );
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const summary = await evolve({ db, baseURL: url, apiKey: 'k', rounds: 1, ops: ['deepen', 'constrain', 'reason'], probe: false });
      expect(summary.evolvedNow).toBe(0);
      // Tasks whose answer is long enough to compare are all eliminated for copying it.
      const long = answers.filter((a) => a.output.replace(/[\p{P}\p{S}\s]/gu, '').length >= 12).length;
      expect(long).toBeGreaterThan(0);
      expect(summary.eliminatedNow['evolve_copies_answer']).toBe(long);
    } finally {
      server.close();
    }
  }, 120_000);

  it('eliminates a rewrite that needs a picture (needs_non_text, through the rules as any task), its parent back in the pool', async () => {
    const db = await generated('non-text', 12);
    const server = await rewritingServer((instruction, input) => `【指令】${instruction}，请结合下面这张图片说明。\n【输入】${input}`);
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const summary = await evolve({ db, baseURL: url, apiKey: 'k', rounds: 1, ops: ['deepen', 'constrain', 'reason'], probe: false });
      expect(summary.evolvedNow).toBe(0);
      const rows = evolutions(db);
      expect(rows.length).toBeGreaterThan(0);
      expect(summary.eliminatedNow['needs_non_text']).toBe(rows.length);
      for (const r of rows) expect(r).toMatchObject({ status: 'rejected', reason: 'needs_non_text', round: 1 });
      // Stored as a rejected evolved task, with the rule's detail: never answered, never exported.
      expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'evolved' AND status = 'rejected' AND reason = 'needs_non_text'`)).toBe(
        rows.length,
      );
      expect(one(db, `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.source = 'evolved'`)).toBe(0);
    } finally {
      server.close();
    }
  }, 120_000);

  it('--check-model: a cheap model\'s "no" eliminates a rewrite as evolve_no_gain before it is answered', async () => {
    const db = await generated('check', 30);
    const s = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 2, checkModel: 'gpt-4o-mini' });
    expect(s.status).toBe('completed');
    const verdicts = query<{ adds: number; n: number }>(db, 'SELECT adds, count(*) AS n FROM evolve_checks GROUP BY adds ORDER BY adds');
    expect(verdicts.map((v) => v.adds)).toEqual([0, 1]);
    // One check request, by the check model, per checked task; every rewrite the reader kept was checked.
    expect(one(db, `SELECT count(*) FROM requests WHERE model = 'gpt-4o-mini' AND status = 'ok'`)).toBe(
      one(db, 'SELECT count(*) FROM evolve_checks'),
    );
    expect(s.stages.check?.requests).toBe(one(db, `SELECT count(*) FROM requests WHERE model = 'gpt-4o-mini'`));
    // A "no" rejects the evolved task and its evolution with the check model's reason; it is never answered.
    expect(
      one(
        db,
        `SELECT count(*) FROM evolve_checks k JOIN tasks t ON t.id = k.task_id JOIN evolutions e ON e.child_task_id = t.id
         WHERE k.adds = 0 AND (t.status <> 'rejected' OR t.reason <> 'evolve_no_gain' OR e.status <> 'rejected' OR t.detail NOT LIKE 'check model gpt-4o-mini:%')`,
      ),
    ).toBe(0);
    // Only tasks the check passed are answered.
    expect(
      one(
        db,
        `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id
         WHERE t.source = 'evolved' AND NOT EXISTS (SELECT 1 FROM evolve_checks k WHERE k.task_id = t.id AND k.adds = 1)`,
      ),
    ).toBe(0);
    expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'evolved' AND status = 'accepted'`)).toBe(
      one(db, 'SELECT count(*) FROM evolve_checks WHERE adds = 1'),
    );
    expect(stats({ db }).evolved?.eliminated['evolve_no_gain']).toBeGreaterThanOrEqual(verdicts[0]!.n);
  }, 180_000);

  it('--answer-model answers evolved tasks with that model; --n counts answered evolved tasks exactly', async () => {
    const db = await generated('answer-model', 40);
    const summary = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 2, answerModel: 'gpt-4o', n: 7 });
    expect(summary.status).toBe('completed');
    expect(summary.answeredNow).toBe(7);
    expect(
      one(db, `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.source = 'evolved' AND a.status = 'accepted'`),
    ).toBe(7);
    expect(one(db, `SELECT count(*) FROM answers WHERE model <> 'gpt-4o'`)).toBe(0);
    const evolveModels = query<{ model: string }>(
      db,
      `SELECT DISTINCT model FROM requests WHERE answer_task_id IS NULL AND run_id = ?`,
      summary.runId,
    );
    expect(evolveModels.map((m) => m.model)).toEqual(['gpt-3.5-turbo']);
    // Another answer model later answers only what has no answer yet: an evolved task needs one answer.
    const second = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 2, answerModel: 'gpt-4.1-mini', n: 3 });
    expect(second.answeredNow).toBe(3);
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND (SELECT count(*) FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted') > 1`,
      ),
    ).toBe(0);
  }, 120_000);

  it('--batch: evolutions and their answers go through the Batch API, step by step, to exactly --n answered tasks', async () => {
    const db = await generated('batch', 30);
    const statuses: string[] = [];
    let answered = 0;
    for (let i = 0; i < 30 && statuses.at(-1) !== 'completed'; i++) {
      const s = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 2, answerModel: 'gpt-4o', n: 6, batch: true });
      statuses.push(s.status);
      answered += s.answeredNow;
    }
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses.filter((s) => s === 'waiting').length).toBeGreaterThanOrEqual(2);
    expect(answered).toBe(6);
    expect(
      one(db, `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.source = 'evolved' AND a.status = 'accepted'`),
    ).toBe(6);
    const runs = query<{ id: number }>(db, `SELECT id FROM runs WHERE mode = 'evolve'`);
    expect(runs).toHaveLength(1);
    // Every request of the run went through a batch, one model per batch, at batch prices.
    expect(one(db, `SELECT count(*) FROM requests WHERE run_id = ? AND batch_id IS NULL`, runs[0]!.id)).toBe(0);
    expect(one(db, `SELECT count(*) FROM batches WHERE stage = 'evolve'`)).toBeGreaterThan(0);
    expect(one(db, `SELECT count(*) FROM batches WHERE stage = 'answers'`)).toBeGreaterThan(0);
    const models = query<{ stage: string; models: number }>(
      db,
      `SELECT b.stage, count(DISTINCT q.model) AS models FROM batches b JOIN requests q ON q.batch_id = b.id GROUP BY b.id`,
    );
    for (const m of models) expect(m.models).toBe(1);
    const answers = query<{ p: number; c: number; cost: number }>(
      db,
      `SELECT prompt_tokens AS p, completion_tokens AS c, cost_usd AS cost FROM requests WHERE run_id = ? AND model = 'gpt-4o' AND status = 'ok'`,
      runs[0]!.id,
    );
    expect(answers.length).toBeGreaterThan(0);
    // gpt-4o at batch prices: half of 2.50 / 10.00 per 1M.
    for (const r of answers) expect(r.cost).toBeCloseTo((r.p * 1.25 + r.c * 5) / 1e6, 10);
    // Lineage as online: each evolution has its parent, round and operation; no task evolved twice in a round.
    const rows = evolutions(db);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => `${r.parent}:${r.round}`)).size).toBe(rows.length);
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND (SELECT count(*) FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted') > 1`,
      ),
    ).toBe(0);
  }, 300_000);

  it('an export holds evolved tasks with their answers, counted by source and by round', async () => {
    const db = await generated('export', 30);
    await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 2 });
    const out = path.join(tempDir(), 'out');
    const result = await exportDataset({ db, out, format: 'alpaca' });
    if (result.kind !== 'written') throw new Error(`nothing written: ${result.kind}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(result.dir, 'manifest.json'), 'utf8'));
    const answered = one(
      db,
      `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND t.status = 'accepted' AND EXISTS (SELECT 1 FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted')`,
    );
    expect(answered).toBeGreaterThan(0);
    expect(manifest.counts.bySource.evolved).toBe(answered);
    const byRound = query<{ round: number; n: number }>(
      db,
      `SELECT e.round, count(*) AS n FROM evolutions e WHERE e.status = 'accepted'
         AND EXISTS (SELECT 1 FROM answers a WHERE a.task_id = e.child_task_id AND a.status = 'accepted') GROUP BY e.round`,
    );
    expect(manifest.evolution.byRound).toEqual(Object.fromEntries(byRound.map((r) => [String(r.round), r.n])));
    expect(Object.keys(manifest.evolution.byRound)).toContain('2');
    // The report's section by round: the roots, then each round, instructions growing and gaining constraints.
    const evolution = (await reportFigures({ db })).evolution!;
    expect(evolution.rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(evolution.rounds[1]!.tried).toBe(one(db, 'SELECT count(*) FROM evolutions WHERE round = 1'));
    expect(evolution.rounds[2]!.meanChars!).toBeGreaterThan(evolution.rounds[0]!.meanChars!);
    expect(evolution.rounds[2]!.meanConstraints!).toBeGreaterThan(evolution.rounds[0]!.meanConstraints!);
    // Once judged: each round's elimination rate and the judge's mean score of its surviving children.
    await judgeTasks({ db, baseURL: sim.url, apiKey: 'k', model: 'gpt-4o-mini' });
    const judged = (await reportFigures({ db })).evolution!;
    for (const r of judged.rounds.slice(1)) {
      const tried = one(db, 'SELECT count(*) FROM evolutions WHERE round = ?', r.round);
      const eliminated = one(db, `SELECT count(*) FROM evolutions WHERE round = ? AND status = 'rejected'`, r.round);
      expect(r.eliminationRate, `round ${r.round}`).toBeCloseTo(eliminated / tried, 3);
      const scores = query<{ score: number }>(
        db,
        `SELECT j.score FROM judgments j JOIN evolutions e ON e.child_task_id = j.task_id
           WHERE e.round = ? AND e.status = 'accepted' AND j.id = (SELECT max(id) FROM judgments WHERE task_id = j.task_id)`,
        r.round,
      ).map((x) => x.score);
      expect(scores.length, `round ${r.round}`).toBeGreaterThan(0);
      expect(r.meanScore, `round ${r.round}`).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / scores.length, 1);
    }
    expect(judged.rounds[0]!.meanScore).not.toBeNull();
  }, 240_000);

  it('--since and --min-score choose the roots; lineages carry on from them only', async () => {
    const db = await generated('selection', 20);
    const second = await generate({ db, n: 20, baseURL: sim.url, apiKey: 'k', newRun: true });
    const last = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 1, since: 'last' });
    expect(last.dueAtStart).toEqual({ '1': 20 });
    expect(one(db, 'SELECT count(*) FROM evolutions e JOIN tasks r ON r.id = e.root_task_id WHERE r.run_id <> ?', second.runId)).toBe(0);
    await judgeTasks({ db, baseURL: sim.url, apiKey: 'k', model: 'gpt-4o-mini' });
    const judged = await evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 1, minScore: 8, newRun: true });
    const latest = `(SELECT j.score FROM judgments j WHERE j.task_id = e.root_task_id ORDER BY j.id DESC LIMIT 1)`;
    expect(judged.requests).toBeGreaterThan(0);
    expect(one(db, `SELECT count(*) FROM evolutions e WHERE e.run_id = ? AND NOT ${latest} >= 8`, judged.runId)).toBe(0);
    // Roots scoring under 8 are still due: the selection left them out, nothing marked them done.
    expect(
      one(
        db,
        `SELECT count(*) FROM tasks t WHERE t.source = 'generated' AND t.status = 'accepted' AND NOT EXISTS (SELECT 1 FROM evolutions e WHERE e.parent_task_id = t.id)`,
      ),
    ).toBeGreaterThan(0);
  }, 180_000);

  it('kill -9 at a random moment, then the same command: no task evolved twice in a round, none lost', async () => {
    const slow = await startSimulator({ port: 0, seed: 25, latencyMs: 40 });
    try {
      const db = await generated('kill', 50, slow.url);
      const args = ['evolve', '--db', db, '--rounds', '3', '--concurrency', '4', '--log-format', 'json'];
      const env = { OPENAI_BASE_URL: slow.url, OPENAI_API_KEY: 'k' };
      let kills = 0;
      for (let i = 0; i < 3; i++) {
        const run = startCli(args, env);
        await waitFor(() => run.output().stderr.includes('"event":"start"') || run.child.exitCode !== null, 60_000);
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
        run.child.kill('SIGKILL');
        if ((await run.done).signal === 'SIGKILL') kills++;
        // Every stored evolution reply has its lineage row, and no evolved task row is without one.
        expect(
          one(
            db,
            `SELECT count(*) FROM tasks t WHERE t.source = 'evolved' AND NOT EXISTS (SELECT 1 FROM evolutions e WHERE e.child_task_id = t.id)`,
          ),
        ).toBe(0);
      }
      expect(kills).toBeGreaterThanOrEqual(2);
      const final = await runCli(args, env);
      expect(final.code, final.stderr).toBe(0);
      expect(one(db, 'SELECT count(*) FROM (SELECT parent_task_id, round FROM evolutions GROUP BY 1, 2 HAVING count(*) > 1)')).toBe(0);
      // None lost: every root reached round 3 or has a lineage that did (each root's chain ends at round 3 or in a
      // parent whose round-3 evolution is stored).
      const roots = one(db, `SELECT count(*) FROM tasks WHERE source = 'generated' AND status = 'accepted' AND output <> ''`);
      const finished = one(
        db,
        `SELECT count(DISTINCT root_task_id) FROM evolutions e
         WHERE e.round = 3 OR (e.status = 'accepted' AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = e.child_task_id AND a.status = 'accepted'))`,
      );
      expect(finished).toBe(roots);
      const again = await runCli(args, env);
      expect(again.code).toBe(0);
      expect(summaryOf(again.stderr).status).toBe('nothing');
    } finally {
      await slow.close();
    }
  }, 300_000);
});

describe('evolve: bad input', () => {
  it('an unknown op, --rounds 0 or 11: exit 2 naming the flag; the library names the option', async () => {
    const db = path.join(tempDir(), 'bad.db');
    for (const [flag, value] of [
      ['--ops', 'deepen,widen'],
      ['--rounds', '0'],
      ['--rounds', '11'],
    ] as const) {
      const r = await runCli(['evolve', '--db', db, flag, value], { OPENAI_BASE_URL: sim.url });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.existsSync(db)).toBe(false);
    await expect(evolve({ db, baseURL: sim.url, apiKey: 'k', rounds: 0 })).rejects.toThrow(UsageError);
    await expect(evolve({ db, baseURL: sim.url, apiKey: 'k', ops: ['widen' as 'deepen'] })).rejects.toThrow(/ops/);
  }, 60_000);

  it('a template missing a placeholder: exit 2 with file:line', async () => {
    const dir = tempDir();
    for (const op of ['deepen', 'constrain', 'concretize', 'reason', 'breadth']) {
      fs.copyFileSync(path.join(ROOT, 'templates', `evolve_${op}.txt`), path.join(dir, `evolve_${op}.txt`));
    }
    const file = path.join(dir, 'evolve_reason.txt');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('{{max_added}}', '五十'));
    const r = await runCli(['evolve', '--db', path.join(dir, 'x.db'), '--templates', dir], { OPENAI_BASE_URL: sim.url });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: .*\\{\\{max_added\\}\\}`));
  }, 60_000);

  it('nothing to evolve: a clear line, exit 0 and a zero summary', async () => {
    const db = path.join(tempDir(), 'empty.db');
    const r = await runCli(['evolve', '--db', db, '--log-format', 'text'], { OPENAI_BASE_URL: sim.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('nothing to evolve');
    const j = await runCli(['evolve', '--db', db, '--log-format', 'json'], { OPENAI_BASE_URL: sim.url });
    const s = summaryOf(j.stderr);
    expect(s).toMatchObject({ status: 'nothing', evolvedNow: 0, answeredNow: 0, requests: 0, costUsd: 0, runId: null });
  }, 60_000);
});

/** A chat server that answers each evolution prompt with `rewrite(instruction, input)` of the parent it quotes. */
async function rewritingServer(rewrite: (instruction: string, input: string) => string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const prompt = JSON.parse(body).messages.at(-1).content as string;
      const m = /#给定的指令#\s*\n([\s\S]*?)\n\s*#给定的输入#\s*\n([\s\S]*?)\n\s*\n请/.exec(prompt);
      const content = rewrite(m?.[1]?.trim() ?? '', m?.[2]?.trim() ?? '无');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
