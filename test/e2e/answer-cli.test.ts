/**
 * `answer --in` and `answer --source` against the simulator over HTTP, a real SQLite file: the real CLI in a
 * child process (its summary, kill -9, bad input), the library's answer() in process for the runs between;
 * resuming, re-answering with a second model, and what export then writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { answer } from '../../pipeline/index.ts';
import { runCli, startCli, waitFor } from '../cli.ts';
import { one, query, tempDir, writeTemp } from '../helpers.ts';

const QUESTIONS = [
  '为什么秋天的树叶会变黄？',
  '用三句话介绍一下都江堰水利工程。',
  '帮我给房东写一条消息，说明热水器坏了，希望这周内来修。',
  '解释一下复利是什么，并举一个存钱的例子。',
  '把下面的句子改得更委婉一些。',
  '列出五种适合在阳台种的蔬菜，并说明各自的要点。',
  '如何向七岁的孩子解释为什么要刷牙？',
  '比较一下高铁和飞机在五百公里出行时的优缺点。',
  '写一首关于江南春雨的七言绝句。',
  '我下周要第一次面试产品经理，应该怎么准备？',
  '总结下面这段话的主要意思。',
  '把这句话翻译成英文。',
  '给一家社区面包店想三个店名，并说明理由。',
  '一个长方形的长是12厘米，宽是长的一半，面积是多少？',
  '失眠的时候有哪些不依赖药物的改善办法？',
  '写一段Python代码，统计一个字符串里每个汉字出现的次数。',
  '简要说明光合作用的过程。',
  '周末想带父母去郊区玩一天，帮我排个行程。',
];
const INPUTS: Record<number, string> = {
  4: '你这份报告写得太差了，明天重新交一份。',
  10: '近年来，越来越多的年轻人选择在周末去郊外露营。他们认为，远离城市的喧嚣，和朋友一起搭帐篷、做饭、看星星，是一种很好的放松方式。',
  11: '坚持每天阅读半小时，一年下来收获会很大。',
};

function instructionsFile(dir: string): string {
  const lines = QUESTIONS.map((q, i) =>
    JSON.stringify({ instruction: q, input: INPUTS[i] ?? '', ...(i % 3 === 0 ? { output: '旧答案' } : {}) }),
  );
  lines.push(JSON.stringify({ instruction: '为什么秋天的树叶会变黄呢？' })); // near-duplicate of the first
  return writeTemp(dir, 'questions.jsonl', lines.join('\n') + '\n');
}

let sim: Simulator;
let slow: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    port: 0,
    seed: 41,
    faults: { rateLimit429: 0.05, serverError500: 0.05, truncate: 0.1 },
    answerFaults: { refusal: 0.1, placeholder: 0.05 },
  });
  slow = await startSimulator({ port: 0, seed: 42, latencyMs: 150 });
});
afterAll(async () => {
  await sim.close();
  await slow.close();
});
const env = (s: Simulator) => ({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: 'test-key-answer' });

describe('answer --in', () => {
  it('stores the instructions (dedup, outputs ignored), answers each once, and a re-run sends nothing', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'a.db');
    const file = instructionsFile(dir);
    const r = await runCli(['answer', '--in', file, '--db', db, '--model', 'gpt-4o', '--log-format', 'json'], env(sim));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ event: 'summary', status: 'completed' });
    expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'questions' AND status = 'accepted'`)).toBe(QUESTIONS.length);
    expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'questions' AND reason = 'near_duplicate'`)).toBe(1);
    // Outputs in the file are ignored: every task was stored without one and sent to the model.
    expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'questions' AND status = 'accepted' AND output <> ''`)).toBe(0);
    const answered = one(db, `SELECT count(DISTINCT task_id) FROM answers WHERE status = 'accepted' AND model = 'gpt-4o'`);
    expect(answered + summary.answers.unanswerable).toBe(QUESTIONS.length);
    expect(answered).toBeGreaterThan(QUESTIONS.length - 3);
    expect(
      one(db, `SELECT count(*) FROM (SELECT task_id FROM answers WHERE status = 'accepted' GROUP BY task_id, model HAVING count(*) > 1)`),
    ).toBe(0);
    const withInput = query<{ content: string }>(
      db,
      `SELECT json_extract(messages_json, '$[1].content') AS content FROM requests q JOIN tasks t ON t.id = q.answer_task_id WHERE t.input <> '' LIMIT 1`,
    )[0]!;
    expect(withInput.content).toMatch(/\n\n\S/); // the input follows the instruction after a blank line

    const requests = one(db, 'SELECT count(*) FROM requests');
    const again = await runCli(['answer', '--in', file, '--db', db, '--model', 'gpt-4o', '--log-format', 'json'], env(sim));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already stored 19/);
    expect(one(db, 'SELECT count(*) FROM requests')).toBe(requests);
  }, 120_000);

  it("--keep-existing keeps a record's own output and answers only the rest", async () => {
    const dir = tempDir();
    const db = path.join(dir, 'k.db');
    const r = await answer({ in: instructionsFile(dir), db, keepExisting: true, source: 'mine', env: env(slow) });
    expect(r.status).toBe('completed');
    const kept = QUESTIONS.filter((_, i) => i % 3 === 0).length;
    expect(one(db, `SELECT count(*) FROM tasks WHERE source = 'mine' AND status = 'accepted' AND output = '旧答案'`)).toBe(kept);
    expect(one(db, `SELECT count(*) FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.output <> ''`)).toBe(0);
    expect(one(db, `SELECT count(DISTINCT task_id) FROM answers WHERE status = 'accepted'`)).toBe(QUESTIONS.length - kept);
  }, 120_000);

  it('--source re-answers with a second model; export takes the latest, or --answer-model', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'two.db');
    const file = instructionsFile(dir);
    expect((await answer({ in: file, db, model: 'gpt-4o-mini', env: env(slow) })).status).toBe('completed');
    expect((await answer({ source: 'questions', db, model: 'gpt-4o', env: env(slow) })).status).toBe('completed');
    const both = one(
      db,
      `SELECT count(*) FROM (SELECT task_id FROM answers WHERE status = 'accepted' GROUP BY task_id HAVING count(DISTINCT model) = 2)`,
    );
    expect(both).toBe(QUESTIONS.length);

    const exportWith = async (extra: string[]) => {
      const out = path.join(dir, `out-${extra.join('-') || 'default'}`);
      const r = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca', '--since', 'all', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const folder = r.stdout.trim();
      return {
        lines: fs
          .readFileSync(path.join(folder, 'train.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { instruction: string; output: string }),
        manifest: JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')),
      };
    };
    const latest = await exportWith([]);
    expect(latest.lines).toHaveLength(QUESTIONS.length);
    expect(latest.manifest.answers.models).toEqual({ 'gpt-4o': QUESTIONS.length });
    const first = await exportWith(['--answer-model', 'gpt-4o-mini']);
    expect(first.manifest.answers.models).toEqual({ 'gpt-4o-mini': QUESTIONS.length });
    const byModel = (model: string) =>
      new Map(
        query<{ instruction: string; output: string }>(
          db,
          `SELECT t.instruction, a.output FROM answers a JOIN tasks t ON t.id = a.task_id WHERE a.status = 'accepted' AND a.model = ?`,
          model,
        ).map((x) => [x.instruction, x.output]),
      );
    const mini = byModel('gpt-4o-mini');
    const big = byModel('gpt-4o');
    for (const line of latest.lines) expect(line.output).toBe(big.get(line.instruction));
    for (const line of first.lines) expect(line.output).toBe(mini.get(line.instruction));
  }, 180_000);

  it('kill -9 mid-way, then the same command: every task answered once', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'kill.db');
    const args = ['answer', '--in', instructionsFile(dir), '--db', db, '--concurrency', '2', '--log-format', 'json'];
    const run = startCli(args, env(slow));
    const answersSoFar = (): number => {
      try {
        return one(db, 'SELECT count(*) FROM answers');
      } catch {
        return 0; // the file exists before its tables do
      }
    };
    await waitFor(() => fs.existsSync(db) && answersSoFar() >= 3, 60_000, 100);
    run.child.kill('SIGKILL');
    await run.done;
    const before = one(db, `SELECT count(*) FROM answers WHERE status = 'accepted'`);
    expect(before).toBeLessThan(QUESTIONS.length);
    const final = await runCli(args, env(slow));
    expect(final.code, final.stderr).toBe(0);
    expect(JSON.parse(final.stderr.trim().split('\n').at(-1)!)).toMatchObject({ status: 'completed', resumed: true });
    expect(one(db, `SELECT count(*) FROM answers WHERE status = 'accepted'`)).toBe(QUESTIONS.length);
    expect(
      one(db, `SELECT count(*) FROM (SELECT task_id FROM answers WHERE status = 'accepted' GROUP BY task_id HAVING count(*) > 1)`),
    ).toBe(0);
  }, 120_000);

  it('bad input: one line, exit 2, nothing written', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'bad.db');
    const none = await runCli(['answer', '--db', db], env(sim));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--in FILE.*--source NAME/);
    const file = writeTemp(dir, 'bad.jsonl', '{"instruction":"介绍长城"}\n{"instruction": 5}\n');
    const bad = await runCli(['answer', '--in', file, '--db', db], env(sim));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: field "instruction" must be a string/);
    expect(fs.existsSync(db)).toBe(false);
  }, 60_000);
});
