/**
 * The simulator's chat engine, independent of HTTP: a request body in, a status, headers and JSON
 * out. The HTTP server calls it, and a batch runner (the Batch API) can call it the same way for
 * each line of an input file. It owns the random stream, the history near-duplicates are drawn from,
 * and the statistics.
 */
import { composerFrom } from './composer.ts';
import type { SimTask } from './composer.ts';
import { JUNK_KINDS, makeJunk, nearDuplicate, type JunkKind } from './noise.ts';
import { errorBody } from './http.ts';
import { createRng, randomId, type Rng } from './random.ts';
import { chatterReply, degenerateReply, type ReplyMode } from './misbehaving.ts';
import { isAnswerPrompt, isInstructionOnlyPrompt, makeAnswer, NO_ANSWER_FAULTS, type AnswerFaults, type AnswerKind } from './answers.ts';
import { cutAt, cutInsideItem, garbageReply, layoutReply, type ReplyLayout, type ReplyShape } from './replies.ts';
import {
  DIALOGUE_SHAPES,
  dialogueMaker,
  dialogueRequest,
  followUpReply,
  isDialoguePrompt,
  isFollowUpPrompt,
  renderDialogues,
} from './dialogues.ts';
import { DEFAULT_JUDGE_FAULTS, DefectPlanter, isJudgePrompt, judgeReply, type DefectKind, type JudgeFaults } from './judge.ts';
import { SIMULATOR_OWNER } from '../pipeline/llm/server-info.ts';
import {
  DEFAULT_EVOLVE_FAULTS,
  evolveCheckReply,
  evolveReply,
  isEvolveCheckPrompt,
  isEvolvePrompt,
  type EvolveFaults,
  type EvolveKind,
} from './evolve.ts';

/** Probabilities per chat request, each in [0, 1]; they are drawn in this order from one number. */
export interface SimulatorFaults {
  /** 429 with `retry-after` / `retry-after-ms` headers. Default 0. */
  rateLimit429: number;
  /** 500 with an OpenAI-shaped error. Default 0. */
  serverError500: number;
  /** No answer at all until the client gives up. Default 0. */
  hang: number;
  /** The reply cut off inside an item, `finish_reason: "length"`. Default 0. */
  truncate: number;
  /** A reply with no parseable task in it. Default 0. */
  garbage: number;
}

export interface EngineOptions {
  seed: number;
  nearDuplicateRate: number;
  junkRate: number;
  faults: SimulatorFaults;
  shapes: Readonly<Record<ReplyShape, number>>;
  /** normal (default), or a model that never gives a task: `degenerate` loops, `chatter` (misbehaving.ts). */
  replyMode?: ReplyMode;
  /** Faults of answers to answer prompts (two-stage generation). Default none. */
  answerFaults?: AnswerFaults;
  // -- judge (issue 12) --
  /** Share of clean tasks spoiled with a defect a judge should score low (wrong, truncated, placeholder). Default 0.12. */
  defectRate?: number;
  /** Whether `response_format: json_object` is accepted; false answers it with a 400. Default true. */
  judgeJsonMode?: boolean | undefined;
  judgeFaults?: Partial<JudgeFaults> | undefined;
  /** Failures in replies to evolution prompts (evolve.ts). Default DEFAULT_EVOLVE_FAULTS. */
  evolveFaults?: Partial<EvolveFaults> | undefined;
  /** Share of evolve-check prompts answered 否 at random (besides rewrites adding under 8 characters). Default 0.15. */
  evolveCheckNoGain?: number | undefined;
}

export type RequestOutcome =
  | 'ok'
  | 'rate_limited'
  | 'server_error'
  | 'hang'
  | 'truncated'
  | 'garbage'
  | 'bad_request'
  | 'unauthorized'
  | 'not_found';

const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  'ok',
  'rate_limited',
  'server_error',
  'hang',
  'truncated',
  'garbage',
  'bad_request',
  'unauthorized',
  'not_found',
];

export interface SimulatorStats {
  /** Every HTTP request received, whatever the route or outcome. */
  requests: number;
  /** Requests by outcome; `truncated` counts both the fault and replies cut by `max_tokens`. */
  outcomes: Record<RequestOutcome, number>;
  /** Tasks delivered whole in replies (clean, near-duplicate and junk together). */
  tasksEmitted: number;
  nearDuplicatesEmitted: number;
  junkEmitted: Record<JunkKind, number>;
  /** Dialogue prompts: conversations written, and how many of them were broken on purpose. */
  dialoguesEmitted: number;
  flawedDialoguesEmitted: number;
  /** Replies to answer prompts (two-stage generation), by what they were. */
  answers: Record<AnswerKind, number>;
  /** Defects planted in tasks (issue 12), and judge prompts answered. */
  defectsPlanted: Record<DefectKind, number>;
  judgeRequests: number;
  /** Replies to evolution prompts, by what they were (evolve.ts). */
  evolutions: Record<EvolveKind, number>;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  json: unknown;
  outcome: RequestOutcome;
  /** Never answer (the `hang` fault); the HTTP layer keeps the connection open. */
  hang?: boolean;
  /** The request asked for server-sent events. */
  stream?: { includeUsage: boolean };
}

export interface ChatEngine {
  completeChat(body: unknown): SimResponse;
  listModels(): SimResponse;
  /** Counts a response made outside the engine (404, 401). */
  record(outcome: RequestOutcome): void;
  stats(): SimulatorStats;
  /** The engine's random stream, for presentation choices (stream chunk sizes, latency jitter). */
  readonly rng: Rng;
}

const MODEL_IDS = ['gpt-3.5-turbo', 'gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'] as const;

/** The prompt's task count: first "N 个/条/道/项" in the last user message; 20 when absent, 1..100. */
const COUNT = /(\d{1,3})\s*(?:个|条|道|项)/;
const DEFAULT_TASK_COUNT = 20;

/** Tasks kept for near-duplicates to copy; older ones are replaced at random past this size. */
const HISTORY_LIMIT = 20_000;

export function createChatEngine(options: EngineOptions): ChatEngine {
  const rng = createRng(options.seed);
  const composer = composerFrom(rng);
  const history: SimTask[] = [];
  const stats: SimulatorStats = {
    requests: 0,
    outcomes: Object.fromEntries(REQUEST_OUTCOMES.map((o) => [o, 0])) as Record<RequestOutcome, number>,
    tasksEmitted: 0,
    nearDuplicatesEmitted: 0,
    junkEmitted: Object.fromEntries(JUNK_KINDS.map((k) => [k, 0])) as Record<JunkKind, number>,
    dialoguesEmitted: 0,
    flawedDialoguesEmitted: 0,
    answers: { answer: 0, refusal: 0, placeholder: 0, empty: 0 },
    defectsPlanted: { wrong: 0, truncated: 0, placeholder: 0 },
    judgeRequests: 0,
    evolutions: { rewrite: 0, unchanged: 0, leaked: 0, refusal: 0, droppedInput: 0, tooLong: 0 },
  };
  // Its own stream, so defects on or off leave every other choice of the simulator as it was.
  const defectRng = createRng((options.seed ^ 0x5bd1e995) >>> 0);
  const defectComposer = composerFrom(defectRng);
  const defects = new DefectPlanter(defectRng, options.defectRate ?? 0.12, () => defectComposer.compose());
  const judgeFaults: JudgeFaults = { ...DEFAULT_JUDGE_FAULTS, ...options.judgeFaults };
  const record = (outcome: RequestOutcome): void => {
    stats.requests++;
    stats.outcomes[outcome]++;
  };
  const done = (response: SimResponse): SimResponse => {
    record(response.outcome);
    return response;
  };

  function remember(task: SimTask): void {
    if (history.length < HISTORY_LIMIT) history.push(task);
    else history[rng.int(HISTORY_LIMIT)] = task;
  }

  const dialogues = dialogueMaker(composer, rng, history, remember);

  type Made = { task: SimTask; kind: 'fresh' | 'near' | JunkKind };
  function makeTasks(count: number): Made[] {
    const out: Made[] = [];
    for (let i = 0; i < count; i++) {
      const r = rng.next();
      if (r < options.junkRate) {
        const kind = rng.pick(JUNK_KINDS);
        out.push({ task: makeJunk(kind, composer.compose(), rng), kind });
      } else if (r < options.junkRate + options.nearDuplicateRate && (history.length > 0 || out.some((m) => m.kind === 'fresh'))) {
        // Earlier in this reply or in an earlier one.
        const sameReply = out.filter((m) => m.kind === 'fresh');
        const pool = history.length === 0 || (sameReply.length > 0 && rng.chance(0.3)) ? sameReply.map((m) => m.task) : history;
        out.push({ task: nearDuplicate(rng.pick(pool), rng), kind: 'near' });
      } else {
        out.push({ task: defects.maybeSpoil(composer.compose()), kind: 'fresh' });
      }
    }
    return out;
  }

  return {
    rng,
    record,
    stats: () => structuredClone({ ...stats, defectsPlanted: { ...defects.counts } }),

    listModels() {
      const created = 1_700_000_000;
      return done({
        status: 200,
        headers: {},
        json: { object: 'list', data: MODEL_IDS.map((id) => ({ id, object: 'model', created, owned_by: SIMULATOR_OWNER })) },
        outcome: 'ok',
      });
    },

    completeChat(body) {
      const request = validate(body);
      if (typeof request === 'string') return done(errorResponse(400, request, 'invalid_request_error', null, 'bad_request'));

      const f = options.faults;
      const r = rng.next();
      let edge = f.rateLimit429;
      if (r < edge) {
        const ms = 100 + rng.int(900);
        return done({
          ...errorResponse(
            429,
            `Rate limit reached for ${request.model} on requests per min (RPM). Please try again in ${ms}ms.`,
            'requests',
            'rate_limit_exceeded',
            'rate_limited',
          ),
          headers: { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) },
        });
      }
      if (r < (edge += f.serverError500)) {
        return done(
          errorResponse(
            500,
            'The server had an error while processing your request. Sorry about that!',
            'server_error',
            null,
            'server_error',
          ),
        );
      }
      if (r < (edge += f.hang)) return done({ status: 0, headers: {}, json: null, outcome: 'hang', hang: true });
      // -- judge prompts (issue 12): JSON scores, see simulator/judge.ts (not a quality model) --
      if (isJudgePrompt(request.messages)) {
        if (request.jsonMode && options.judgeJsonMode === false) {
          return done(
            errorResponse(
              400,
              "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.",
              'invalid_request_error',
              null,
              'bad_request',
            ),
          );
        }
        stats.judgeRequests++;
        const text = judgeReply(request.messages.findLast((m) => m.role === 'user')!.content, request.jsonMode, defects, rng, judgeFaults);
        return done(completion(request, text, 'stop', 'ok', rng));
      }
      const truncate = r < (edge += f.truncate);
      const garbage = !truncate && r < edge + f.garbage;

      let content: string;
      let finish: 'stop' | 'length' = 'stop';
      let outcome: RequestOutcome = 'ok';
      let made: Made[] = [];
      let layout: ReplyLayout | undefined;
      let complete = 0;
      const lastUser = request.messages.findLast((m) => m.role === 'user')?.content ?? '';
      // -- two-stage generation: an answer prompt gets one answer; an instruction-only prompt items without outputs
      const checkPrompt = isEvolveCheckPrompt(lastUser);
      const evolvePrompt = !checkPrompt && isEvolvePrompt(lastUser);
      const followUpPrompt = !checkPrompt && !evolvePrompt && isFollowUpPrompt(lastUser);
      const answerPrompt = !checkPrompt && !evolvePrompt && !followUpPrompt && isAnswerPrompt(lastUser) && !isDialoguePrompt(lastUser);
      if (options.replyMode === 'degenerate') {
        // -- misbehaving model (misbehaving.ts) --
        content = degenerateReply(rng, request.maxTokens);
        finish = 'length';
        outcome = 'garbage';
      } else if (options.replyMode === 'chatter') {
        content = chatterReply(rng);
        outcome = 'garbage';
        // -- end misbehaving model --
      } else if (checkPrompt && !garbage) {
        // -- evolve --check-model: 是 or 否 on whether a rewrite adds anything (evolve.ts)
        content = evolveCheckReply(lastUser, rng, options.evolveCheckNoGain ?? 0.15);
      } else if (evolvePrompt && !garbage) {
        // -- evolution prompts (issue 23): a rewrite, or one of the failures real models show (evolve.ts)
        const evolved = evolveReply(lastUser, composer, rng, { ...DEFAULT_EVOLVE_FAULTS, ...options.evolveFaults });
        stats.evolutions[evolved.kind]++;
        content = truncate ? evolved.text.slice(0, Math.floor(evolved.text.length / 2)) : evolved.text;
        if (truncate) {
          finish = 'length';
          outcome = 'truncated';
        }
      } else if (followUpPrompt && !garbage) {
        // -- a conversation's next user turn (dialogues built turn by turn, issue 20)
        content = followUpReply(lastUser, rng);
        if (truncate) {
          content = content.slice(0, Math.floor(content.length / 2));
          finish = 'length';
          outcome = 'truncated';
        }
      } else if (answerPrompt && !garbage) {
        const answer = makeAnswer(composer, rng, options.answerFaults ?? NO_ANSWER_FAULTS, lastUser);
        stats.answers[answer.kind]++;
        content = truncate ? answer.text.slice(0, Math.floor(answer.text.length / 2)) : answer.text;
        if (truncate) {
          finish = 'length';
          outcome = 'truncated';
        }
      } else if (garbage) {
        content = garbageReply(rng);
        outcome = 'garbage';
      } else if (isDialoguePrompt(lastUser) && !isInstructionOnlyPrompt(lastUser)) {
        // -- dialogue prompts (issue 14): conversations, a share of them broken, in every parsed shape
        const asked = dialogueRequest(lastUser);
        const made = Array.from({ length: asked.count }, () =>
          dialogues.make(asked.min, asked.max, options.junkRate, options.nearDuplicateRate),
        );
        content = renderDialogues(made, rng.pick(DIALOGUE_SHAPES), rng);
        stats.dialoguesEmitted += made.length;
        stats.flawedDialoguesEmitted += made.filter((d) => d.flaw !== null).length;
        if (truncate) {
          content = content.slice(0, Math.floor(content.length * (0.6 + 0.35 * rng.next())));
          finish = 'length';
          outcome = 'truncated';
        }
        // -- end dialogue prompts
      } else {
        made = makeTasks(taskCount(request.messages));
        layout = layoutReply(
          made.map((m) => m.task),
          rng.weighted(options.shapes),
          rng,
          isInstructionOnlyPrompt(lastUser),
        );
        const cut = truncate ? cutInsideItem(layout, rng) : { text: layout.text, complete: made.length };
        if (truncate) {
          finish = 'length';
          outcome = 'truncated';
        }
        content = cut.text;
        complete = cut.complete;
      }
      const limit = request.maxTokens;
      if (limit !== undefined && estimateTokens(content) > limit) {
        // What a token limit does: the reply simply stops.
        const at = prefixWithinTokens(content, limit);
        content = content.slice(0, at);
        finish = 'length';
        if (layout !== undefined) {
          complete = Math.min(complete, cutAt(layout, at).complete);
          outcome = 'truncated';
        } else if (answerPrompt) outcome = 'truncated';
      }
      const delivered = made.slice(0, complete);

      for (const m of delivered) {
        stats.tasksEmitted++;
        if (m.kind === 'fresh') remember(m.task);
        else if (m.kind === 'near') stats.nearDuplicatesEmitted++;
        else stats.junkEmitted[m.kind]++;
      }

      const prompt = promptTokens(request.messages);
      const completionTokens = estimateTokens(content);
      return done({
        status: 200,
        headers: {},
        outcome,
        ...(request.stream ? { stream: { includeUsage: request.includeUsage } } : {}),
        json: {
          id: `chatcmpl-${randomId(rng, 24)}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          system_fingerprint: 'fp_simulator',
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
          usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens },
        } satisfies ChatCompletion,
      });
    },
  };
}

/** A 200 chat completion with this content (judge replies). */
function completion(request: ChatRequest, content: string, finish: 'stop' | 'length', outcome: RequestOutcome, rng: Rng): SimResponse {
  const prompt = promptTokens(request.messages);
  const completionTokens = estimateTokens(content);
  return {
    status: 200,
    headers: {},
    outcome,
    ...(request.stream ? { stream: { includeUsage: request.includeUsage } } : {}),
    json: {
      id: `chatcmpl-${randomId(rng, 24)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      system_fingerprint: 'fp_simulator',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
      usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens },
    } satisfies ChatCompletion,
  };
}

// ---------------------------------------------------------------------------------------------------
// request validation

interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
  /** `response_format: {type: 'json_object'}` was asked for. */
  jsonMode: boolean;
}

/** The request, or what is wrong with it (as the API words it). */
function validate(body: unknown): ChatRequest | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'The request body must be a JSON object.';
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return 'you must provide a model parameter';
  if (!Array.isArray(b.messages)) return "Missing required parameter: 'messages'.";
  if (b.messages.length === 0) return "Invalid 'messages': empty array. Expected an array with minimum length 1.";
  const messages: ChatRequest['messages'] = [];
  for (const [i, m] of b.messages.entries()) {
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
      return `Invalid 'messages[${i}]': expected an object with a 'role'.`;
    }
    messages.push({ role: (m as { role: string }).role, content: textOf((m as { content?: unknown }).content) });
  }
  const limit = b.max_completion_tokens ?? b.max_tokens;
  if (limit !== undefined && limit !== null && !(Number.isInteger(limit) && (limit as number) > 0)) {
    return "Invalid 'max_tokens': expected a positive integer.";
  }
  const streamOptions = b.stream_options as { include_usage?: unknown } | undefined | null;
  return {
    model: b.model,
    messages,
    stream: b.stream === true,
    includeUsage: b.stream === true && streamOptions?.include_usage === true,
    maxTokens: typeof limit === 'number' ? limit : undefined,
    jsonMode: (b.response_format as { type?: unknown } | null | undefined)?.type === 'json_object',
  };
}

/** Message content is a string or an array of parts; only text parts count. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p !== null && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '',
      )
      .join('');
  }
  return '';
}

export function taskCount(messages: readonly { role: string; content: string }[]): number {
  const lastUser = messages.findLast((m) => m.role === 'user');
  const m = lastUser === undefined ? null : COUNT.exec(lastUser.content);
  if (m === null) return DEFAULT_TASK_COUNT;
  return Math.min(100, Math.max(1, Number(m[1])));
}

/** An error the way the OpenAI API shapes it. */
export function errorResponse(status: number, message: string, type: string, code: string | null, outcome: RequestOutcome): SimResponse {
  return { status, headers: {}, json: errorBody(message, type, null, code), outcome };
}

// ---------------------------------------------------------------------------------------------------
// tokens

/** CJK ideographs, CJK punctuation and full-width forms. */
const CJK = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[\ud840-\ud87f][\udc00-\udfff]/;

/**
 * A deterministic token estimate, close enough to real tokenizers for budgets and usage: each CJK
 * character (ideograph, CJK punctuation, full-width form) is one token; all other text is one token
 * per four characters, rounded up.
 */
export function estimateTokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const ch of text) {
    if (CJK.test(ch)) cjk++;
    else other++;
  }
  return cjk + Math.ceil(other / 4);
}

/**
 * The prompt's token count as usage reports it: 3 for the reply's priming plus, per message, 4 for its
 * framing and its content (a string, or the text parts of a content-part array).
 */
export function promptTokens(messages: readonly unknown[]): number {
  return messages.reduce<number>((sum, m) => sum + 4 + estimateTokens(textOf((m as { content?: unknown } | null)?.content)), 3);
}

/** Length (UTF-16) of the longest prefix whose estimate fits in `budget` tokens. */
function prefixWithinTokens(text: string, budget: number): number {
  let cjk = 0;
  let other = 0;
  let at = 0;
  for (const ch of text) {
    if (CJK.test(ch)) cjk++;
    else other++;
    if (cjk + Math.ceil(other / 4) > budget) return at;
    at += ch.length;
  }
  return at;
}

// ---------------------------------------------------------------------------------------------------
// response shapes

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: null;
    finish_reason: 'stop' | 'length';
  }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/**
 * The same completion as `chat.completion.chunk` objects: a first chunk with the role, the content in
 * pieces of 1–24 characters, a last chunk with the finish reason, and with `includeUsage` a final chunk
 * with no choices and the usage (other chunks then carry `usage: null`, as the API does).
 */
export function toChunks(completion: ChatCompletion, includeUsage: boolean, rng: Rng): unknown[] {
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    system_fingerprint: completion.system_fingerprint,
  };
  const usage = includeUsage ? { usage: null } : {};
  const choice = completion.choices[0]!;
  const chunk = (delta: Record<string, string>, finish: string | null): unknown => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usage,
  });
  const out: unknown[] = [chunk({ role: 'assistant', content: '' }, null)];
  const chars = [...choice.message.content];
  for (let i = 0; i < chars.length; ) {
    const n = 1 + rng.int(24);
    out.push(chunk({ content: chars.slice(i, i + n).join('') }, null));
    i += n;
  }
  out.push(chunk({}, choice.finish_reason));
  if (includeUsage) out.push({ ...base, choices: [], usage: completion.usage });
  return out;
}
