/**
 * `generate --dry-run`: what a run would do and roughly cost, sending nothing. The estimate comes from
 * this database's own history (accepted tasks per request, tokens and latency per request) when it has
 * some, else from stated defaults. A two-stage run (`answerModel`) is estimated stage by stage.
 */
import fs from 'node:fs';
import { ANSWER_DEFAULTS, PRIOR_ANSWER_YIELD, PRIOR_INSTRUCTION_SHARE } from './answer/defaults.ts';
import { answerMessages } from './answer/prompt.ts';
import { prepareGenerate, type GenerateOptions } from './generate.ts';
import { costUsd } from './llm/cost.ts';
import { tokenCounterFor } from './llm/tokens.ts';
import { promptMessages } from './stages/instructions.ts';
import type { ChatMessage } from './llm.ts';
import { AnswerStore } from './store/answers.ts';
import { Store } from './store/store.ts';

/** Assumed before a database has history: half the asked tasks kept, ~90 completion tokens per task, 20 s a reply. */
const DEFAULT_YIELD_SHARE = 0.5;
const DEFAULT_COMPLETION_TOKENS_PER_TASK = 90;
const DEFAULT_LATENCY_MS = 20_000;
/** Two-stage defaults: instruction-only items lose fewer to the filters and are shorter; answers are long. */
const DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION = 45;
const DEFAULT_ANSWER_COMPLETION_TOKENS = 500;
/** Requests with replies needed before the database's own figures are trusted. */
const MIN_HISTORY = 5;

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
  };
}

export async function planGenerate(options: GenerateOptions): Promise<GeneratePlan> {
  // Nothing is sent, so no key is needed.
  const p = prepareGenerate({ apiKey: 'dry-run', ...options, probe: false });
  const { settings } = p;
  const history = fs.existsSync(settings.db) ? readHistory(settings.db) : undefined;
  const machinePool = history?.machine ?? [];
  const twoStage = settings.answerModel !== undefined && p.answerTemplate !== undefined;
  const prompt = promptMessages(
    { ...settings, template: p.template, seeds: p.seeds, topics: p.topics, taskTypes: p.taskTypes },
    machinePool,
    Math.random,
    twoStage,
  );

  // Stage 2 first: how many instructions stage 1 must bring depends on the answer yield.
  const answers = twoStage ? planAnswers(p, history?.answers) : undefined;
  const tasksWanted = answers === undefined ? settings.n : Math.ceil(settings.n / answers.acceptedShare);
  const useHistory = history !== undefined && history.requests >= MIN_HISTORY && history.accepted > 0;
  const acceptedPerRequest = useHistory
    ? history.accepted / history.requests
    : settings.tasksPerRequest * (twoStage ? PRIOR_INSTRUCTION_SHARE : DEFAULT_YIELD_SHARE);
  const requests = Math.ceil(tasksWanted / Math.max(acceptedPerRequest, 0.01));
  const promptPerRequest = useHistory ? history.promptTokens : tokenCounterFor(settings.model).countChat(prompt);
  const completionPerRequest = useHistory
    ? history.completionTokens
    : Math.min(
        settings.maxTokens,
        settings.tasksPerRequest * (twoStage ? DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION : DEFAULT_COMPLETION_TOKENS_PER_TASK),
      );
  const latencyMs = useHistory && history.latencyMs > 0 ? history.latencyMs : DEFAULT_LATENCY_MS;
  const tokens = { promptTokens: Math.round(requests * promptPerRequest), completionTokens: Math.round(requests * completionPerRequest) };

  // Time: the slowest of concurrency × latency and the rate limits, when given (both stages share them).
  const answerLatencyMs = answers?.latencyMs ?? 0;
  const allRequests = requests + (answers?.requests ?? 0);
  const allTokens = tokens.promptTokens + tokens.completionTokens + (answers ? answers.promptTokens + answers.completionTokens : 0);
  const byConcurrency = (requests * latencyMs + (answers?.requests ?? 0) * answerLatencyMs) / 1000 / settings.concurrency;
  const byRpm = settings.rpm === undefined ? 0 : (allRequests / settings.rpm) * 60;
  const byTpm = settings.tpm === undefined ? 0 : (allTokens / settings.tpm) * 60;

  return {
    target: settings.n,
    db: settings.db,
    mode: settings.mode,
    model: settings.model,
    baseURL: p.baseURL ?? 'https://api.openai.com/v1',
    batch: settings.batch,
    concurrency: settings.concurrency,
    limits: {
      rpm: settings.rpm ?? null,
      tpm: settings.tpm ?? null,
      maxCostUsd: settings.maxCost ?? null,
      maxRequests: settings.maxRequests ?? null,
    },
    prompt,
    estimate: {
      basis: useHistory ? 'history' : 'defaults',
      historyRequests: history?.requests ?? 0,
      acceptedPerRequest: Math.round(acceptedPerRequest * 100) / 100,
      requests,
      ...tokens,
      costUsd: p.price === undefined ? null : Math.round(costUsd(tokens, p.price, settings.batch) * 10_000) / 10_000,
      seconds: Math.round(Math.max(byConcurrency, byRpm, byTpm)),
    },
    ...(answers && { answers: (({ latencyMs: _l, ...a }) => a)(answers) }),
  };
}

type AnswerHistory = ReturnType<AnswerStore['answerHistory']>;

/** Stage 2's estimate: one request per instruction until `n` are accepted, at the answer yield. */
function planAnswers(
  p: ReturnType<typeof prepareGenerate>,
  history: AnswerHistory | undefined,
): NonNullable<GeneratePlan['answers']> & { latencyMs: number } {
  const { settings } = p;
  const model = settings.answerModel!;
  const useHistory = history !== undefined && history.requests >= MIN_HISTORY && history.acceptedShare !== null;
  const acceptedShare = useHistory ? Math.max(0.05, history.acceptedShare!) : PRIOR_ANSWER_YIELD;
  const requests = Math.ceil(settings.n / acceptedShare);
  const seed = p.seeds[0] ?? { instruction: '', input: '' };
  const promptPerRequest = useHistory ? history.promptTokens : tokenCounterFor(model).countChat(answerMessages(p.answerTemplate!, seed));
  const maxTokens = settings.answerMaxTokens ?? ANSWER_DEFAULTS.maxTokens;
  const completionPerRequest = useHistory ? history.completionTokens : Math.min(maxTokens, DEFAULT_ANSWER_COMPLETION_TOKENS);
  const tokens = { promptTokens: Math.round(requests * promptPerRequest), completionTokens: Math.round(requests * completionPerRequest) };
  return {
    model,
    basis: useHistory ? 'history' : 'defaults',
    acceptedShare: Math.round(acceptedShare * 100) / 100,
    requests,
    ...tokens,
    costUsd: p.answerPrice === undefined ? null : Math.round(costUsd(tokens, p.answerPrice, settings.batch) * 10_000) / 10_000,
    latencyMs: useHistory && history.latencyMs > 0 ? history.latencyMs : DEFAULT_LATENCY_MS,
  };
}

function readHistory(db: string) {
  const store = Store.open(db, { readonly: true });
  try {
    return {
      ...store.generationHistory(),
      machine: store.sampleAccepted('generated', 2),
      answers: new AnswerStore(store).answerHistory(),
    };
  } finally {
    store.close();
  }
}

export function formatPlan(plan: GeneratePlan): string {
  const e = plan.estimate;
  const limits =
    Object.entries(plan.limits)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const two = plan.answers !== undefined;
  const basis =
    e.basis === 'history'
      ? `from this database's ${e.historyRequests} replies`
      : `from defaults (${(two ? PRIOR_INSTRUCTION_SHARE : DEFAULT_YIELD_SHARE) * 100}% of asked ${two ? 'instructions' : 'tasks'} kept, ` +
        `${two ? DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION : DEFAULT_COMPLETION_TOKENS_PER_TASK} completion tokens per ${two ? 'instruction' : 'task'}, ` +
        `${DEFAULT_LATENCY_MS / 1000} s per reply)`;
  return [
    `dry run: nothing is sent or written`,
    `plan      ${plan.target} ${two ? `tasks answered by ${plan.answers!.model}` : 'accepted tasks'} into ${plan.db}, ` +
      `${plan.mode} prompts${two ? ' (instructions only)' : ''}, ${plan.model} at ${plan.baseURL}` +
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

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
