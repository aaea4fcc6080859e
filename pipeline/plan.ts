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
import { AnswerStore } from './store/answers.ts';
import { Store } from './store/store.ts';
import {
  DEFAULT_ANSWER_COMPLETION_TOKENS,
  DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION,
  DEFAULT_COMPLETION_TOKENS_PER_TASK,
  DEFAULT_LATENCY_MS,
  DEFAULT_YIELD_SHARE,
  type GeneratePlan,
} from './plan-format.ts';

export { formatPlan, type GeneratePlan } from './plan-format.ts';

/** Requests with replies needed before the database's own figures are trusted. */
const MIN_HISTORY = 5;

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
