/**
 * `--dry-run` of the commands that spend money (`generate`, `judge`, `answer`): what a run would do and
 * roughly cost, sending and writing nothing, with no key needed. The estimate comes from this
 * database's own history (yield, tokens and latency per request) when it has some, else from stated
 * defaults. A two-stage run (`answerModel`) is estimated stage by stage.
 */
import fs from 'node:fs';
import { answerSource } from './answer.ts';
import { ANSWER_DEFAULTS, PRIOR_ANSWER_YIELD, PRIOR_DIALOGUE_YIELD, PRIOR_INSTRUCTION_SHARE } from '../answer/defaults.ts';
import { loadFollowUpTemplate } from '../dialogue/follow-up.ts';
import { DEFAULT_TURN_BOUNDS } from '../dialogue/types.ts';
import { answerMessages, loadAnswerTemplate } from '../answer/prompt.ts';
import { readDatasetFile } from '../datasets.ts';
import { UsageError } from '../errors.ts';
import { prepareGenerate, resolvePrice, type GenerateOptions } from './generate.ts';
import { judgeMessages } from '../judge/request.ts';
import { DEFAULT_RUBRIC_FILE, loadRubric } from '../judge/rubric.ts';
import { resolveEndpoint } from '../llm/connect.ts';
import { costUsd, type Price } from '../llm/cost.ts';
import { tokenCounterFor } from '../llm/tokens.ts';
import { answerSettingsSchema, judgeSettingsSchema, resolveOptions, type AnswerSettings, type JudgeSettings } from '../options.ts';
import { JudgmentStore } from '../store/judgments.ts';
import { promptMessages } from '../stages/instructions.ts';
import type { ChatMessage } from '../llm.ts';
import { AnswerStore } from '../store/answers.ts';
import { Store } from '../store/store.ts';
import {
  DEFAULT_ANSWER_COMPLETION_TOKENS,
  DEFAULT_FOLLOW_UP_TOKENS,
  DEFAULT_COMPLETION_TOKENS_PER_INSTRUCTION,
  DEFAULT_COMPLETION_TOKENS_PER_TASK,
  DEFAULT_LATENCY_MS,
  DEFAULT_COMPLETION_TOKENS_PER_JUDGMENT,
  DEFAULT_YIELD_SHARE,
  type GeneratePlan,
  type StagePlan,
} from './plan-format.ts';

export { formatPlan, formatStagePlan, type GeneratePlan, type StagePlan } from './plan-format.ts';

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
  const answers = !twoStage ? undefined : settings.mode === 'dialogue' ? planDialogueTurns(p) : planAnswers(p, history?.answers);
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
  const followUps = answers?.conversation?.followUps.requests ?? 0;
  const allRequests = requests + (answers?.requests ?? 0) + followUps;
  const allTokens =
    tokens.promptTokens +
    tokens.completionTokens +
    (answers ? answers.promptTokens + answers.completionTokens : 0) +
    (answers?.conversation ? answers.conversation.followUps.promptTokens + answers.conversation.followUps.completionTokens : 0);
  const byConcurrency = ((requests + followUps) * latencyMs + (answers?.requests ?? 0) * answerLatencyMs) / 1000 / settings.concurrency;
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

/**
 * Conversations built turn by turn (`--mode dialogue --answer-model`), from defaults: openings wanted at
 * the share of drafts finished, a reply per exchange (retried at the answer yield) whose prompt grows with
 * the conversation, and a follow-up by the generation model before every exchange but the first.
 */
function planDialogueTurns(p: ReturnType<typeof prepareGenerate>): NonNullable<GeneratePlan['answers']> & { latencyMs: number } {
  const { settings } = p;
  const model = settings.answerModel!;
  const bounds = settings.turns ?? DEFAULT_TURN_BOUNDS;
  const exchanges = (bounds.min + bounds.max) / 2;
  const conversations = Math.ceil(settings.n / PRIOR_DIALOGUE_YIELD);
  const seed = p.seeds[0] ?? { instruction: '', input: '' };
  const opening = tokenCounterFor(model).countChat(answerMessages(p.answerTemplate!, seed));
  const reply = Math.min(settings.answerMaxTokens ?? ANSWER_DEFAULTS.maxTokens, DEFAULT_ANSWER_COMPLETION_TOKENS);
  const exchange = reply + DEFAULT_FOLLOW_UP_TOKENS;
  // Exchange k (1-based) is sent the opening and k - 1 exchanges before it.
  const replyPrompts = exchanges * opening + (exchange * exchanges * (exchanges - 1)) / 2;
  const retry = 1 / PRIOR_ANSWER_YIELD;
  const replies = {
    promptTokens: Math.round(conversations * replyPrompts * retry),
    completionTokens: Math.round(conversations * exchanges * reply * retry),
  };
  // The follow-up before exchange k + 1 shows the template and k exchanges.
  const template = tokenCounterFor(settings.model).count(loadFollowUpTemplate().content);
  const followUpPrompts = (exchanges - 1) * (template + opening) + (exchange * exchanges * (exchanges - 1)) / 2;
  const followUps = {
    requests: Math.ceil(conversations * (exchanges - 1)),
    promptTokens: Math.round(conversations * followUpPrompts),
    completionTokens: Math.round(conversations * (exchanges - 1) * DEFAULT_FOLLOW_UP_TOKENS),
  };
  const usd = (tokens: { promptTokens: number; completionTokens: number }, price: Price | undefined): number | null =>
    price === undefined ? null : Math.round(costUsd(tokens, price, settings.batch) * 10_000) / 10_000;
  return {
    model,
    basis: 'defaults',
    acceptedShare: PRIOR_DIALOGUE_YIELD,
    requests: Math.ceil(conversations * exchanges * retry),
    ...replies,
    costUsd: usd(replies, p.answerPrice),
    conversation: { exchanges, followUps: { ...followUps, costUsd: usd(followUps, p.price) } },
    latencyMs: DEFAULT_LATENCY_MS,
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

/** Prompts counted one by one before the rest is extrapolated from their mean (a large backlog stays quick). */
const COUNTED_REQUESTS = 200;

type DryRunEnv = { env?: NodeJS.ProcessEnv | undefined };

export async function planJudge(options: JudgeSettings & DryRunEnv): Promise<StagePlan> {
  const { env = process.env, ...rest } = options;
  const s = resolveOptions(judgeSettingsSchema, rest);
  const rubric = loadRubric(s.rubric ?? DEFAULT_RUBRIC_FILE);
  const price = resolvePrice(s);
  const store = openForPlan(s.db);
  try {
    const judgments = new JudgmentStore(store);
    const pending = judgments.pendingSubjects({ model: s.model, rubricSha256: rubric.sha256 }, { since: s.since, sources: s.source });
    const requests = Math.ceil(pending.length / s.tasksPerRequest);
    const counter = tokenCounterFor(s.model);
    const chunks: ChatMessage[][] = [];
    for (let i = 0; i < Math.min(requests, COUNTED_REQUESTS); i++) {
      chunks.push(judgeMessages(rubric, judgments.tasks(pending.slice(i * s.tasksPerRequest, (i + 1) * s.tasksPerRequest))));
    }
    const counted = chunks.reduce((sum, m) => sum + counter.countChat(m), 0);
    const history = judgments.judgeHistory();
    const useHistory = history.requests >= MIN_HISTORY && history.completionTokensPerJudgment > 0;
    const perJudgment = useHistory ? history.completionTokensPerJudgment : DEFAULT_COMPLETION_TOKENS_PER_JUDGMENT;
    const tokens = {
      promptTokens: chunks.length === 0 ? 0 : Math.round((counted / chunks.length) * requests),
      completionTokens: Math.round(pending.length * perJudgment),
    };
    const scope = s.since === 'all' ? 'all runs' : s.since === 'last' ? 'the last generation run' : `run ${s.since}`;
    const sources = s.source === undefined || s.source.length === 0 ? '' : `, sources ${s.source.join(', ')}`;
    return {
      command: 'judge',
      ...stageFrame(s, env, price, requests, tokens, useHistory ? history : undefined),
      work: `${pending.length} outputs (tasks' own and answers) of ${scope}${sources} not yet scored by this judge, ${s.tasksPerRequest} per request`,
      items: pending.length,
      prompt: chunks[0] ?? [],
    };
  } finally {
    store.close();
  }
}

export async function planAnswer(options: AnswerSettings & DryRunEnv): Promise<StagePlan> {
  const { env = process.env, ...rest } = options;
  const s = resolveOptions(answerSettingsSchema, rest);
  const source = answerSource(s);
  const template = loadAnswerTemplate({ ...(s.answerTemplate && { userFile: s.answerTemplate }), ...(s.system && { system: s.system }) });
  const price = resolvePrice(s);
  const retries = s.answerRetries ?? ANSWER_DEFAULTS.retries;
  // The file's records are read and counted as `answer` reads them; the rules and the near-duplicate
  // check may keep fewer, so the figures are an upper bound for a file.
  const fromFile =
    s.in === undefined
      ? undefined
      : readDatasetFile(s.in, { allowEmptyInstruction: true, outputOptional: true }).filter((t) => !(s.keepExisting && t.output !== ''));
  const store = fs.existsSync(s.db) ? openForPlan(s.db) : undefined;
  if (store === undefined && fromFile === undefined) throw new UsageError(`${s.db}: no such database`, { option: 'db' });
  try {
    const answers = store === undefined ? undefined : new AnswerStore(store);
    const stored = answers?.countToAnswer({ source, awaitingOnly: fromFile !== undefined, model: s.model, maxAttempts: retries + 1 }) ?? 0;
    const tasks = fromFile ?? store?.sampleAccepted(source, COUNTED_REQUESTS) ?? [];
    const items = (fromFile?.length ?? 0) + stored;
    const history = answers?.answerHistory();
    const useHistory = history !== undefined && history.requests >= MIN_HISTORY && history.acceptedShare !== null;
    const acceptedShare = useHistory ? Math.max(0.05, history.acceptedShare!) : PRIOR_ANSWER_YIELD;
    // Each rejected answer is asked again, up to `answerRetries` times.
    const requests = Math.min(items * (retries + 1), Math.ceil(items / acceptedShare));
    const counter = tokenCounterFor(s.model);
    const sample = tasks.slice(0, COUNTED_REQUESTS);
    const meanPrompt =
      sample.length === 0 ? 0 : sample.reduce((sum, t) => sum + counter.countChat(answerMessages(template, t)), 0) / sample.length;
    const maxTokens = s.maxTokens ?? ANSWER_DEFAULTS.maxTokens;
    const completionPerRequest = useHistory ? history.completionTokens : Math.min(maxTokens, DEFAULT_ANSWER_COMPLETION_TOKENS);
    const tokens = { promptTokens: Math.round(meanPrompt * requests), completionTokens: Math.round(completionPerRequest * requests) };
    const first = tasks[0];
    return {
      command: 'answer',
      ...stageFrame({ ...s, batch: false }, env, price, requests, tokens, useHistory ? history : undefined),
      work:
        fromFile === undefined
          ? `${stored} tasks of source "${source}" without an accepted answer by ${s.model}`
          : `up to ${fromFile.length} instructions from ${s.in} as source "${source}" (the rules and the near-duplicate check may keep fewer)` +
            (stored > 0 ? ` and ${stored} stored ones still awaiting an answer` : ''),
      items,
      prompt: first === undefined ? [] : answerMessages(template, first),
    };
  } finally {
    store?.close();
  }
}

function openForPlan(db: string): Store {
  if (!fs.existsSync(db)) throw new UsageError(`${db}: no such database`, { option: 'db' });
  return Store.open(db, { readonly: true });
}

/** What judge and answer plans share: where the requests go, the limits, the cost and the time. */
function stageFrame(
  s: {
    db: string;
    model: string;
    baseURL?: string | undefined;
    endpoints?: readonly (string | { baseURL: string })[] | undefined;
    batch: boolean;
    concurrency: number;
    rpm?: number | undefined;
    tpm?: number | undefined;
    maxCost?: number | undefined;
    maxRequests?: number | undefined;
  },
  env: NodeJS.ProcessEnv,
  price: Price | undefined,
  requests: number,
  tokens: { promptTokens: number; completionTokens: number },
  history: { requests: number; latencyMs: number } | undefined,
): Omit<StagePlan, 'command' | 'work' | 'items' | 'prompt'> {
  const first = s.endpoints?.[0];
  // No key is needed: the one given here only lets the base URL be resolved as a run would.
  const baseURL =
    first === undefined ? resolveEndpoint(s.baseURL, 'dry-run', env).baseURL : typeof first === 'string' ? first : first.baseURL;
  const latencyMs = history !== undefined && history.latencyMs > 0 ? history.latencyMs : DEFAULT_LATENCY_MS;
  const byConcurrency = (requests * latencyMs) / 1000 / s.concurrency;
  const byRpm = s.rpm === undefined ? 0 : (requests / s.rpm) * 60;
  const byTpm = s.tpm === undefined ? 0 : ((tokens.promptTokens + tokens.completionTokens) / s.tpm) * 60;
  return {
    db: s.db,
    model: s.model,
    baseURL:
      (baseURL ?? 'https://api.openai.com/v1') +
      (s.endpoints !== undefined && s.endpoints.length > 1 ? ` (+${s.endpoints.length - 1} more)` : ''),
    batch: s.batch,
    concurrency: s.concurrency,
    limits: { rpm: s.rpm ?? null, tpm: s.tpm ?? null, maxCostUsd: s.maxCost ?? null, maxRequests: s.maxRequests ?? null },
    estimate: {
      basis: history === undefined ? 'defaults' : 'history',
      historyRequests: history?.requests ?? 0,
      requests,
      ...tokens,
      costUsd: price === undefined ? null : Math.round(costUsd(tokens, price, s.batch) * 10_000) / 10_000,
      seconds: Math.round(Math.max(byConcurrency, byRpm, byTpm)),
    },
  };
}
