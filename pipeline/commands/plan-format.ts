/**
 * The dry-run's plan: its shape, the figures assumed before a database has history, and how it is
 * printed. Apart from plan.ts so the library entry can offer `formatPlan` without loading the run code.
 */
import { PRIOR_ANSWER_YIELD, PRIOR_DIALOGUE_YIELD, PRIOR_INSTRUCTION_SHARE } from '../answer/defaults.ts';
import type { ChatMessage } from '../llm.ts';

/** Assumed before a database has history: half the asked tasks kept, ~90 completion tokens per task, 20 s a reply. */
export const DEFAULT_YIELD_SHARE = 0.5;
export const DEFAULT_COMPLETION_TOKENS_PER_TASK = 90;
export const DEFAULT_LATENCY_MS = 20_000;
/** Two-stage defaults: instruction-only items lose fewer to the filters and are shorter; answers are long. */
export const DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION = 45;
export const DEFAULT_ANSWER_COMPLETION_TOKENS = 500;
/** Dialogues built turn by turn: completion tokens of one follow-up (a user turn). */
export const DEFAULT_FOLLOW_UP_TOKENS = 60;
/** Assumed before a database has judged anything: completion tokens of one task's score and reason. */
export const DEFAULT_COMPLETION_TOKENS_PER_JUDGMENT = 60;

export interface GeneratePlan {
  target: number;
  db: string;
  mode: string;
  model: string;
  baseURL: string;
  batch: boolean;
  concurrency: number;
  limits: { rpm: number | null; tpm: number | null; maxCostUsd: number | null; maxRequests: number | null };
  /** The first request's messages, as they would be sent. */
  prompt: ChatMessage[];
  estimate: {
    /** `history`: this database's requests; `defaults`: the stated assumptions. */
    basis: 'history' | 'defaults';
    historyRequests: number;
    acceptedPerRequest: number;
    requests: number;
    promptTokens: number;
    completionTokens: number;
    /** null when the model has no price. */
    costUsd: number | null;
    seconds: number;
  };
  /** Two-stage runs: stage 2, one request per accepted instruction (the estimate above is stage 1's). */
  answers?: {
    model: string;
    basis: 'history' | 'defaults';
    /** Share of answers accepted by the answer rules. */
    acceptedShare: number;
    requests: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number | null;
    /**
     * Dialogue mode (conversations built turn by turn): the figures above are the replies, one request per
     * assistant turn carrying the conversation so far; `followUps` the user turns by the generation model.
     */
    conversation?: {
      exchanges: number;
      followUps: { requests: number; promptTokens: number; completionTokens: number; costUsd: number | null };
    };
  };
}

export function formatPlan(plan: GeneratePlan): string {
  const e = plan.estimate;
  const limits = formatLimits(plan.limits);
  const two = plan.answers !== undefined;
  const turns = plan.answers?.conversation !== undefined;
  const basis =
    e.basis === 'history'
      ? `from this database's ${e.historyRequests} replies`
      : `from defaults (${(two ? PRIOR_INSTRUCTION_SHARE : DEFAULT_YIELD_SHARE) * 100}% of asked ${two ? 'instructions' : 'tasks'} kept, ` +
        `${two ? DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION : DEFAULT_COMPLETION_TOKENS_PER_TASK} completion tokens per ${two ? 'instruction' : 'task'}, ` +
        `${DEFAULT_LATENCY_MS / 1000} s per reply)`;
  return [
    `dry run: nothing is sent or written`,
    `plan      ${plan.target} ${!two ? 'accepted tasks' : turns ? `conversations replied to by ${plan.answers!.model}` : `tasks answered by ${plan.answers!.model}`} into ${plan.db}, ` +
      `${plan.mode} prompts${!two ? '' : turns ? ' (openings only)' : ' (instructions only)'}, ${plan.model} at ${plan.baseURL}` +
      `${plan.batch ? ' through the Batch API' : `, ${plan.concurrency} requests in flight`}`,
    `limits    ${limits}`,
    `estimate  ${two ? 'stage 1, ' : ''}${basis}:`,
    `          ${e.acceptedPerRequest} accepted per request → ${e.requests} requests, ${e.promptTokens} prompt + ${e.completionTokens} completion tokens, ` +
      `${e.costUsd === null ? 'cost unknown (no price for the model)' : `$${e.costUsd.toFixed(2)}`}, about ${formatSeconds(e.seconds)}` +
      `${plan.batch ? ' of requests (a batch may take up to 24 h)' : ''}`,
    ...(plan.answers ? [formatAnswers(plan.answers)] : []),
    '',
    '--- first prompt ---',
    ...plan.prompt.map((m) => `[${m.role}]\n${m.content}`),
    '',
  ].join('\n');
}

function formatAnswers(a: NonNullable<GeneratePlan['answers']>): string {
  const usd = (v: number | null): string => (v === null ? 'cost unknown (no price for the model)' : `$${v.toFixed(2)}`);
  if (a.conversation !== undefined) {
    const f = a.conversation.followUps;
    return (
      `replies   ${a.model}, one request per assistant turn with the conversation so far (defaults: ${a.conversation.exchanges} exchanges ` +
      `per conversation, ${PRIOR_DIALOGUE_YIELD * 100}% of openings finished, ${PRIOR_ANSWER_YIELD * 100}% of replies accepted, ` +
      `${DEFAULT_ANSWER_COMPLETION_TOKENS} completion tokens each): ${a.requests} requests, ${a.promptTokens} prompt + ` +
      `${a.completionTokens} completion tokens, ${usd(a.costUsd)}\n` +
      `follow-ups by the generation model, one request per later user turn (${DEFAULT_FOLLOW_UP_TOKENS} completion tokens each): ` +
      `${f.requests} requests, ${f.promptTokens} prompt + ${f.completionTokens} completion tokens, ${usd(f.costUsd)} ` +
      '(the time above covers all three)'
    );
  }
  const basis =
    a.basis === 'history'
      ? "this database's answers"
      : `defaults: ${PRIOR_ANSWER_YIELD * 100}% accepted, ${DEFAULT_ANSWER_COMPLETION_TOKENS} completion tokens each`;
  return (
    `answers   ${a.model}, one request per instruction (${basis}): ${a.requests} requests, ${a.promptTokens} prompt + ` +
    `${a.completionTokens} completion tokens, ${a.costUsd === null ? 'cost unknown (no price for the model)' : `$${a.costUsd.toFixed(2)}`}` +
    ' (the time above covers both stages)'
  );
}

/** `judge --dry-run` and `answer --dry-run`: one stage's requests over work already in the store (or a file). */
export interface StagePlan {
  command: 'judge' | 'answer';
  db: string;
  model: string;
  baseURL: string;
  batch: boolean;
  concurrency: number;
  limits: GeneratePlan['limits'];
  /** What would be judged or answered, in words ("37 tasks of run 2 not judged by gpt-4o-mini"). */
  work: string;
  items: number;
  estimate: {
    basis: 'history' | 'defaults';
    historyRequests: number;
    requests: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number | null;
    seconds: number;
  };
  /** The first request's messages, as they would be sent (none when there is nothing to do). */
  prompt: ChatMessage[];
}

export function formatStagePlan(plan: StagePlan): string {
  const e = plan.estimate;
  const limits = formatLimits(plan.limits);
  const basis =
    e.basis === 'history'
      ? `from this database's ${e.historyRequests} ${plan.command} replies`
      : plan.command === 'judge'
        ? `from defaults (${DEFAULT_COMPLETION_TOKENS_PER_JUDGMENT} completion tokens per score, ${DEFAULT_LATENCY_MS / 1000} s per reply; prompts counted)`
        : `from defaults (${PRIOR_ANSWER_YIELD * 100}% of answers accepted, ${DEFAULT_ANSWER_COMPLETION_TOKENS} completion tokens each, ` +
          `${DEFAULT_LATENCY_MS / 1000} s per reply; prompts counted)`;
  return [
    'dry run: nothing is sent or written',
    `plan      ${plan.command} ${plan.work}`,
    `          ${plan.model} at ${plan.baseURL}, database ${plan.db}` +
      `${plan.batch ? ', through the Batch API' : `, ${plan.concurrency} requests in flight`}`,
    `limits    ${limits}`,
    `estimate  ${basis}:`,
    `          ${e.requests} requests, ${e.promptTokens} prompt + ${e.completionTokens} completion tokens, ` +
      `${e.costUsd === null ? 'cost unknown (no price for the model)' : `$${e.costUsd.toFixed(2)}`}, about ${formatSeconds(e.seconds)}` +
      `${plan.batch ? ' of requests (a batch may take up to 24 h)' : ''}`,
    ...(plan.prompt.length === 0
      ? ['', `nothing to ${plan.command}`]
      : ['', '--- first prompt ---', ...plan.prompt.map((m) => `[${m.role}]\n${m.content}`)]),
    '',
  ].join('\n');
}

function formatLimits(limits: GeneratePlan['limits']): string {
  return (
    Object.entries(limits)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  );
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
