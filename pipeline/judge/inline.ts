/**
 * `generate --judge-model M`: each reply's accepted tasks are judged as they come, in the slot of the
 * generation request that brought them, spending from the generate run's budget (one --max-cost).
 * Nothing here is fatal to the run: tasks left unjudged (a refused budget, a failed or unmatched
 * reply) are picked up by a later `npm run judge`.
 */
import type { Budget } from '../budget.ts';
import type { LlmClient } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import { acceptedTaskIdsOfRequest, JudgmentStore, type JudgeSubject } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import type { Task } from '../types.ts';
import { DEFAULT_MIN_SCORE } from './examples.ts';
import { DEFAULT_JUDGE_TASKS_PER_REQUEST, JudgeRequester, subjectOf } from './request.ts';
import type { Rubric } from './rubric.ts';

export interface InlineJudgeOptions {
  model: string;
  rubric: Rubric;
  price?: Price | undefined;
  /** Default 10. */
  tasksPerRequest?: number;
  /** Requests an unmatched task is sent again in before it is left for `judge`. Default 2. */
  maxTries?: number;
  /** Tasks scoring at least this are returned as good examples. Default 7. */
  minScore?: number;
}

export interface InlineJudgeContext {
  runId: number;
  requestId: number;
  budget: Budget;
  signal: AbortSignal;
}

export interface InlineJudgeTally {
  requests: number;
  judged: number;
  skipped: number;
}

/** The hook `runOnline` calls after storing a reply: judges its accepted tasks, returns those that scored well. */
export function createInlineJudge(
  options: InlineJudgeOptions,
  deps: { store: Store; llm: LlmClient },
): {
  judgeReply: (ctx: InlineJudgeContext) => Promise<Task[]>;
  tally: InlineJudgeTally;
} {
  const judgments = new JudgmentStore(deps.store);
  const k = options.tasksPerRequest ?? DEFAULT_JUDGE_TASKS_PER_REQUEST;
  const maxTries = options.maxTries ?? 2;
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const tally: InlineJudgeTally = { requests: 0, judged: 0, skipped: 0 };
  // One requester per run (its JSON-mode fallback is learned once).
  const requesters = new Map<number, JudgeRequester>();
  let jsonMode = true;

  const judgeReply = async (ctx: InlineJudgeContext): Promise<Task[]> => {
    let requester = requesters.get(ctx.runId);
    if (requester === undefined) {
      requester = new JudgeRequester(
        { model: options.model, rubric: options.rubric, runId: ctx.runId, price: options.price },
        { store: deps.store, llm: deps.llm, budget: ctx.budget },
        jsonMode,
      );
      requesters.set(ctx.runId, requester);
    }
    const good: Task[] = [];
    // One-stage replies only (options.ts refuses a judge with two-stage runs): each task's own output.
    let queue: JudgeSubject[] = acceptedTaskIdsOfRequest(deps.store, ctx.requestId).map((taskId) => ({ taskId, answerId: null }));
    for (let attempt = 0; attempt < maxTries && queue.length > 0 && !ctx.signal.aborted; attempt++) {
      const next: JudgeSubject[] = [];
      for (let i = 0; i < queue.length; i += k) {
        const tasks = judgments.tasks(queue.slice(i, i + k));
        const outcome = await requester.judge(tasks, ctx.signal);
        jsonMode = requester.jsonMode;
        if (outcome.kind === 'refused') {
          tally.skipped += queue.length - i;
          return good;
        }
        tally.requests++;
        if (outcome.kind === 'failed') {
          next.push(...tasks.map(subjectOf));
          continue;
        }
        tally.judged += outcome.added;
        next.push(...outcome.missing);
        for (const [id, j] of outcome.parse.judged) {
          const t = tasks[id - 1]!;
          if (j.score >= minScore) good.push({ instruction: t.instruction, input: t.input, output: t.output });
        }
      }
      queue = next;
    }
    tally.skipped += queue.length;
    return good;
  };
  return { judgeReply, tally };
}
