/**
 * The answer stage when the runner over-asks (the Batch runner: a round trip takes up to a day), on a real
 * SQLite file: how many answer requests and instructions it asks for, and that nothing past the target is
 * kept as an answer.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAnswerTemplate } from '../pipeline/answer/prompt.ts';
import type { RunView } from '../pipeline/stages/stage.ts';
import { AnswerStage } from '../pipeline/stages/answers.ts';
import { Store } from '../pipeline/store/store.ts';
import type { TaskToAnswer } from '../pipeline/store/answers.ts';
import { tempDir } from './helpers.ts';

const MODEL = 'gpt-4o-mini';
const GOOD = '可以分三步来做：\n1. 先把问题拆开；\n2. 逐项查清事实；\n3. 最后整理成结论。';

const view = (goalAccepted: number, target: number, inFlight = 0, overAsk = true): RunView => ({
  target,
  goalAccepted,
  inFlight: () => inFlight,
  idle: false,
  overAsk,
});

function setup(awaiting: number) {
  const store = Store.open(path.join(tempDir(), 'stage.db'));
  const runId = store.createRun({ target: 10, mode: 'self-instruct', model: 'gpt-3.5-turbo', options: { answerModel: MODEL } });
  const ids = Array.from({ length: awaiting }, (_, i) =>
    store.insertTask({
      instruction: `请说明如何整理第${i + 1}份报告`,
      input: '',
      output: '',
      source: 'generated',
      dedupKey: `k${i}`,
      status: 'accepted',
      runId,
    }),
  );
  const make = () =>
    new AnswerStage(
      store,
      { model: MODEL, template: loadAnswerTemplate(), retries: 1 },
      { runId, source: 'generated', awaitingOnly: true },
    );
  const stage = make();
  const reply = (content: string) => ({ content, finishReason: 'stop', usage: null, attempts: 1, attemptLog: [], latencyMs: 0 });
  /** One reply stored as the runners store it: the request, then the stage's mark and store in the same transaction. */
  const answer = (s: AnswerStage, task: TaskToAnswer, content: string, goalAccepted: number, target: number) => {
    const outcome = store.transaction(() => {
      const id = store.insertRequest({ runId, templateId: s.templateId, model: MODEL, messages: [], params: s.params, status: 'ok' });
      s.mark(task, id);
      return s.store(task, id, s.read(task, reply(content)).value, reply(content), view(goalAccepted, target));
    });
    s.afterStore(task, outcome);
    return outcome;
  };
  const n = (sql: string): number => store.sql(sql).pluck().get() as number;
  const task = (id: number): TaskToAnswer => ({ id, instruction: `任务${id}`, input: '' });
  return { store, stage, make, ids, answer, task, n };
}

describe('AnswerStage, over-asked', () => {
  it('asks for more answers than the need, by the yield and a two-sigma margin, and instructions for what the waiting tasks miss', () => {
    const { stage } = setup(0);
    // Prior yield 0.9: 100 needed → 100/0.9 + 2·√(100·0.1)/0.9 ≈ 111.1 + 7.0.
    expect(stage.linesWanted(view(0, 100))).toBe(119);
    expect(stage.linesWanted(view(100, 100))).toBe(0);
    // The margin shrinks relative to the need as the need grows (√n): under 1% at 50 000.
    expect(stage.linesWanted(view(0, 50_000)) / (50_000 / 0.9)).toBeLessThan(1.01);
    const demand = stage.feederDemand();
    expect(demand.maxAccept(view(0, 100))).toBe(119);
    // Instruction requests bringing 7 each: ⌈119 / 7 · 1.15⌉ + 1 = 21 of them.
    expect(demand.ask(view(0, 100, 20), 7)).toBe(true);
    expect(demand.ask(view(0, 100, 21), 7)).toBe(false);
    // Online the same stage asks only while the expected coverage is short: 14 requests of 7 at 0.9 cover 88.
    expect(demand.ask(view(0, 100, 15, false), 7)).toBe(true);
    expect(demand.ask(view(0, 100, 16, false), 7)).toBe(false);
  });

  it('sends every waiting task when the margin wants it, where online sends only the need', () => {
    const { stage, make } = setup(4);
    const taken = (s: AnswerStage, v: (inFlight: number) => RunView) => {
      let k = 0;
      while (s.next(v(k)) !== undefined) k++;
      return k;
    };
    // Target 2: online 2 requests; over-asked ⌈2/0.9 + 2·√0.2/0.9⌉ = 4.
    expect(taken(stage, (k) => view(0, 2, k, false))).toBe(2);
    expect(taken(make(), (k) => view(0, 2, k))).toBe(4);
  });

  it('stores accepted and rejected answers, and keeps no answer past the target or a second one for a task', () => {
    const { ids, answer, task, n, make } = setup(4);
    const stage = make();
    expect(answer(stage, task(ids[0]!), GOOD, 0, 2)).toMatchObject({ accepted: 1 });
    expect(answer(stage, task(ids[1]!), '抱歉，我无法回答这个问题。', 1, 2)).toMatchObject({ accepted: 0, rejected: { refusal: 1 } });
    expect(answer(stage, task(ids[2]!), GOOD, 1, 2)).toMatchObject({ accepted: 1 });
    // The yield per request, from the store: 2 accepted of 3, the 0.9 prior weighing 2 → (2 + 1.8) / 5; need 8 → ⌈8/0.76 + 2·√(8·0.24)/0.76⌉.
    expect(make().linesWanted(view(2, 10))).toBe(Math.ceil(8 / 0.76 + (2 * Math.sqrt(8 * 0.24)) / 0.76));
    // The target is met: a good answer is kept as a request only; its task still waits.
    expect(answer(stage, task(ids[3]!), GOOD, 2, 2)).toMatchObject({ accepted: 0, rejected: { target_reached: 1 } });
    expect(n(`SELECT count(*) FROM answers WHERE task_id = ${ids[3]}`)).toBe(0);
    expect(n(`SELECT count(*) FROM requests WHERE answer_task_id = ${ids[3]}`)).toBe(1);
    const fresh = make();
    const next: number[] = [];
    for (let r = fresh.next(view(2, 10)); r !== undefined; r = fresh.next(view(2, 10, next.length))) next.push(r.unit.id);
    expect(next).toEqual([ids[1], ids[3]]);
    // A second reply for an answered task (never sent, but defended): no second accepted answer.
    expect(answer(stage, task(ids[0]!), GOOD, 2, 10)).toMatchObject({ accepted: 0 });
    expect(n(`SELECT count(*) FROM answers WHERE status = 'accepted'`)).toBe(2);
  });
});
