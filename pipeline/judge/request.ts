/**
 * What a judge request is, online and in a batch alike: K subjects (a task's own output, or one of its
 * answers) under ids 1..K in the rubric prompt, its parameters, and how its subjects are kept with it.
 */
import type { ChatMessage, ChatParams, LlmError } from '../llm.ts';
import type { JudgeSubject, TaskToJudge } from '../store/judgments.ts';
import { buildJudgeMessages, type Rubric } from './rubric.ts';

export { DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_TASKS_PER_REQUEST } from './defaults.ts';

export interface JudgeRequestSetup {
  model: string;
  /** Default 0: a judge should be repeatable. */
  temperature?: number;
  /** max_tokens = this × K + 200: room for K items with a short reason each. Default 120. */
  maxTokensPerTask?: number;
}

/** A 400 that says the server does not do `response_format` (older vLLM, some proxies). */
export function isJsonModeUnsupported(error: LlmError): boolean {
  return error.kind === 'bad_request' && /response_format|json_object|json[ _]mode/i.test(error.message);
}

/** The parameters of a judge request for `count` tasks (online and batch alike). */
export function judgeParams(
  setup: Pick<JudgeRequestSetup, 'model' | 'temperature' | 'maxTokensPerTask'>,
  count: number,
  jsonMode: boolean,
): ChatParams {
  return {
    model: setup.model,
    temperature: setup.temperature ?? 0,
    top_p: 1,
    max_tokens: count * (setup.maxTokensPerTask ?? 120) + 200,
    ...(jsonMode ? { response_format: { type: 'json_object' } as const } : {}),
  };
}

/** The prompt for these tasks, under ids 1..K in order. */
export function judgeMessages(rubric: Rubric, tasks: readonly TaskToJudge[]): ChatMessage[] {
  return buildJudgeMessages(
    rubric,
    tasks.map((t, i) => ({ id: i + 1, instruction: t.instruction, input: t.input, output: t.output })),
  );
}

export function subjectOf(t: JudgeSubject): JudgeSubject {
  return { taskId: t.taskId, answerId: t.answerId };
}

/** A judge request's subjects as its stored params keep them: task ids, and answer ids (null: the task's own output). */
export function storedSubjects(subjects: readonly JudgeSubject[]): { taskIds: number[]; answerIds: (number | null)[] } {
  return { taskIds: subjects.map((s) => s.taskId), answerIds: subjects.map((s) => s.answerId) };
}
