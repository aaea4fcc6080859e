/**
 * `generate --dry-run`: what a run would do and roughly cost, sending nothing. The estimate comes from
 * this database's own history (accepted tasks per request, tokens and latency per request) when it has
 * some, else from stated defaults.
 */
import fs from 'node:fs';
import { prepareGenerate, type GenerateOptions } from './generate.ts';
import { costUsd } from './llm/cost.ts';
import { tokenCounterFor } from './llm/tokens.ts';
import { promptMessages } from './online.ts';
import type { ChatMessage } from './llm.ts';
import { Store } from './store/store.ts';

/** Assumed before a database has history: half the asked tasks kept, ~90 completion tokens per task, 20 s a reply. */
const DEFAULT_YIELD_SHARE = 0.5;
const DEFAULT_COMPLETION_TOKENS_PER_TASK = 90;
const DEFAULT_LATENCY_MS = 20_000;
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
}

export async function planGenerate(options: GenerateOptions): Promise<GeneratePlan> {
  // Nothing is sent, so no key is needed.
  const p = prepareGenerate({ apiKey: 'dry-run', ...options, probe: false });
  const { settings } = p;
  const history = fs.existsSync(settings.db) ? readHistory(settings.db) : undefined;
  const machinePool = history?.machine ?? [];
  const prompt = promptMessages(
    { ...settings, template: p.template, seeds: p.seeds, topics: p.topics, taskTypes: p.taskTypes },
    machinePool,
    Math.random,
  );

  const useHistory = history !== undefined && history.requests >= MIN_HISTORY && history.accepted > 0;
  const acceptedPerRequest = useHistory ? history.accepted / history.requests : settings.tasksPerRequest * DEFAULT_YIELD_SHARE;
  const requests = Math.ceil(settings.n / Math.max(acceptedPerRequest, 0.01));
  const promptPerRequest = useHistory ? history.promptTokens : tokenCounterFor(settings.model).countChat(prompt);
  const completionPerRequest = useHistory
    ? history.completionTokens
    : Math.min(settings.maxTokens, settings.tasksPerRequest * DEFAULT_COMPLETION_TOKENS_PER_TASK);
  const latencyMs = useHistory && history.latencyMs > 0 ? history.latencyMs : DEFAULT_LATENCY_MS;
  const tokens = { promptTokens: Math.round(requests * promptPerRequest), completionTokens: Math.round(requests * completionPerRequest) };

  // Time: the slowest of concurrency × latency and the rate limits, when given.
  const byConcurrency = (requests * latencyMs) / 1000 / settings.concurrency;
  const byRpm = settings.rpm === undefined ? 0 : (requests / settings.rpm) * 60;
  const byTpm = settings.tpm === undefined ? 0 : ((tokens.promptTokens + tokens.completionTokens) / settings.tpm) * 60;

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
  };
}

function readHistory(db: string) {
  const store = Store.open(db, { readonly: true });
  try {
    return { ...store.generationHistory(), machine: store.sampleAccepted('generated', 2) };
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
  const basis =
    e.basis === 'history'
      ? `from this database's ${e.historyRequests} replies`
      : `from defaults (${DEFAULT_YIELD_SHARE * 100}% of asked tasks kept, ${DEFAULT_COMPLETION_TOKENS_PER_TASK} completion tokens per task, ` +
        `${DEFAULT_LATENCY_MS / 1000} s per reply)`;
  return [
    `dry run: nothing is sent or written`,
    `plan      ${plan.target} accepted tasks into ${plan.db}, ${plan.mode} prompts, ${plan.model} at ${plan.baseURL}` +
      `${plan.batch ? ' through the Batch API' : `, ${plan.concurrency} requests in flight`}`,
    `limits    ${limits}`,
    `estimate  ${basis}:`,
    `          ${e.acceptedPerRequest} accepted per request → ${e.requests} requests, ${e.promptTokens} prompt + ${e.completionTokens} completion tokens, ` +
      `${e.costUsd === null ? 'cost unknown (no price for the model)' : `$${e.costUsd.toFixed(2)}`}, about ${formatSeconds(e.seconds)}` +
      `${plan.batch ? ' of requests (a batch may take up to 24 h)' : ''}`,
    '',
    '--- first prompt ---',
    ...plan.prompt.map((m) => `[${m.role}]\n${m.content}`),
    '',
  ].join('\n');
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
