/**
 * The judge stage: K outputs per request (a task's own output, or one of its accepted answers) scored by
 * the rubric; each reply's judgments stored with it. A subject the reply did not answer for goes back in
 * the queue, up to `maxTries` requests per invocation, then is left for a later `judge`.
 *
 * As the `judge` command's goal it works through the subjects pending at start. As a follower of a
 * generate run (`--judge-model`) it judges what the run accepts, as it is accepted, and offers the tasks
 * that scored well to the run's example pool; its failures never fail the run.
 */
import { isJsonModeUnsupported, judgeMessages, judgeParams, storedSubjects, subjectOf } from '../judge/request.ts';
import { parseJudgeReply, type JudgeParse } from '../judge/parse.ts';
import type { Rubric } from '../judge/rubric.ts';
import type { ChatReply, LlmError } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import type { Stage, StageOutcome, StageRequest } from './stage.ts';
import { JudgmentStore, type JudgeKey, type JudgeSubject, type TaskToJudge } from '../store/judgments.ts';
import type { Store } from '../store/store.ts';
import type { Task } from '../types.ts';

export const JUDGE = 'judge';

/** `generate --judge-model`: the judge that follows a run. */
export interface InlineJudgeOptions {
  model: string;
  rubric: Rubric;
  price?: Price | undefined;
  /** Default 10. */
  tasksPerRequest?: number;
  /** Requests an unmatched task is sent again in before it is left for `judge`. Default 2. */
  maxTries?: number;
  /** Tasks scoring at least this are offered as examples. Default 7. */
  minScore?: number;
}

export interface JudgeStageOptions {
  model: string;
  rubric: Rubric;
  price: Price | undefined;
  /** Subjects per request (K). */
  tasksPerRequest: number;
  /** Requests a subject may go unmatched in, per invocation, before it is left for the next. */
  maxTries: number;
  /** Ask for `response_format: json_object`; turned off for good after a 400 saying it is unsupported. */
  jsonMode: boolean;
  /** Goal: the subjects to judge. Follower: the run whose accepted tasks and answers are judged as they come. */
  work: { kind: 'subjects'; subjects: readonly JudgeSubject[] } | { kind: 'run'; runId: number };
  /**
   * Follower: requests each subject (`task:answer`) was sent in by earlier invocations (the batch steps
   * of a run); one sent `maxTries` times already is left for a later `judge`.
   */
  triedBefore?: ReadonlyMap<string, number>;
  /** Follower: judged tasks at or above this score are passed to `onGood`. */
  goodScore?: number;
  onGood?: (tasks: Task[]) => void;
}

interface Unit {
  tasks: TaskToJudge[];
}

export class JudgeStage implements Stage<Unit, JudgeParse> {
  readonly name = JUDGE;
  readonly role: 'goal' | 'follower';
  readonly templateId: number;
  readonly price: Price | undefined;
  readonly key: JudgeKey;
  private readonly judgments: JudgmentStore;
  private readonly queue: JudgeSubject[];
  private readonly tries = new Map<string, number>();
  /** Follower: subjects in flight or given up in this invocation, by `task:answer`. */
  private readonly seen = new Set<string>();
  /** Follower: the run accepted something since the queue was last filled. */
  private stale = true;
  private jsonMode: boolean;
  /** Subjects sent again because a reply did not answer for them; and those left for a later `judge`. */
  retried = 0;
  gaveUp = 0;

  constructor(
    store: Store,
    private readonly o: JudgeStageOptions,
  ) {
    this.role = o.work.kind === 'subjects' ? 'goal' : 'follower';
    this.judgments = new JudgmentStore(store);
    this.templateId = store.templateId(o.rubric.name, o.rubric.sha256, o.rubric.content);
    this.price = o.price;
    this.key = { model: o.model, rubricSha256: o.rubric.sha256 };
    this.jsonMode = o.jsonMode;
    this.queue = o.work.kind === 'subjects' ? [...o.work.subjects] : [];
  }

  next(): StageRequest<Unit> | undefined {
    if (this.queue.length === 0 && this.o.work.kind === 'run' && this.stale) {
      this.stale = false;
      for (const s of this.judgments.pendingSubjects(this.key, { since: this.o.work.runId })) {
        const key = keyOf(s);
        if (!this.seen.has(key) && (this.o.triedBefore?.get(key) ?? 0) < this.o.maxTries) this.queue.push(s);
      }
    }
    if (this.queue.length === 0) return undefined;
    const subjects = this.queue.splice(0, this.o.tasksPerRequest);
    for (const s of subjects) this.seen.add(keyOf(s));
    const tasks = this.judgments.tasks(subjects);
    if (tasks.length === 0) return this.next();
    const params = judgeParams({ model: this.o.model }, tasks.length, this.jsonMode);
    // Which stored task (and answer; null: its own output) each prompt id stands for: kept with the request,
    // so a reply can be read again later.
    const stored = { judge: { ...storedSubjects(tasks), rubricSha256: this.key.rubricSha256 } };
    return { unit: { tasks }, messages: judgeMessages(this.o.rubric, tasks), params, stored };
  }

  /** Whether requests still ask for JSON mode (off for good once the server refused it). */
  get jsonModeOn(): boolean {
    return this.jsonMode;
  }

  /** Another stage stored accepted work: a follower looks for new subjects when its queue runs dry. */
  notice(): void {
    this.stale = true;
  }

  read(unit: Unit, reply: ChatReply) {
    const parse = parseJudgeReply(
      reply.content,
      unit.tasks.map((_, i) => i + 1),
    );
    return { shape: `judge:${parse.shape}`, problems: parse.problems, value: parse };
  }

  mark(_unit: Unit, requestId: number): void {
    this.judgments.markJudgeRequest(requestId);
  }

  store(unit: Unit, requestId: number, parse: JudgeParse): StageOutcome {
    const entries = [...parse.judged].map(([id, judgment]) => ({ ...subjectOf(unit.tasks[id - 1]!), judgment }));
    return { accepted: this.judgments.insertJudgments(requestId, this.key, entries), rejected: {} };
  }

  afterStore(unit: Unit, _outcome: StageOutcome, parse: JudgeParse): void {
    const again: JudgeSubject[] = [];
    for (const id of parse.missing) {
      const subject = subjectOf(unit.tasks[id - 1]!);
      const n = (this.tries.get(keyOf(subject)) ?? 0) + 1;
      this.tries.set(keyOf(subject), n);
      if (n < this.o.maxTries) again.push(subject);
      else this.gaveUp++;
    }
    this.retried += again.length;
    this.queue.push(...again);
    if (this.o.onGood !== undefined) {
      const good: Task[] = [];
      for (const [id, j] of parse.judged) {
        const t = unit.tasks[id - 1]!;
        if (j.score >= (this.o.goodScore ?? 0)) good.push({ instruction: t.instruction, input: t.input, output: t.output });
      }
      this.o.onGood(good);
    }
  }

  release(unit: Unit, error: LlmError | undefined): { retryFree?: boolean } | undefined {
    const subjects = unit.tasks.map(subjectOf);
    // A server without JSON mode: ask again at once without it; that failure does not count.
    if (error !== undefined && this.jsonMode && isJsonModeUnsupported(error)) {
      this.jsonMode = false;
      this.queue.unshift(...subjects);
      return { retryFree: true };
    }
    // Not sent for the budget: first next time. Failed: to the back, so one bad subject cannot block the rest.
    if (error === undefined) this.queue.unshift(...subjects);
    else this.queue.push(...subjects);
    return undefined;
  }
}

function keyOf(s: JudgeSubject): string {
  return `${s.taskId}:${s.answerId ?? ''}`;
}
