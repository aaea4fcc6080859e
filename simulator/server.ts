/**
 * The OpenAI-compatible simulator: a node:http server on 127.0.0.1 that answers chat completions with
 * synthetic Chinese tasks, near-duplicates and junk, in every reply shape the pipeline parses, with
 * configurable latency and faults. TEST AND BENCHMARK TOOL: its text is made up from word lists and is
 * never model data.
 *
 * Routes go through a small table, and chat logic lives in the engine (`completions.ts`), so rate-limit
 * enforcement (a check before the handler, x-ratelimit-* headers on the way out) and Batch API routes
 * (`/v1/files`, `/v1/batches`, running `engine.completeChat` per line) can be added without rewriting.
 */
import type { EvolveFaults } from './evolve.ts';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createChatEngine,
  errorResponse,
  toChunks,
  type ChatCompletion,
  type ChatEngine,
  type SimResponse,
  type SimulatorFaults,
  type SimulatorStats,
} from './completions.ts';
import { BatchService, type BatchSimOptions } from './batch.ts';
import { NO_ANSWER_FAULTS, type AnswerFaults } from './answers.ts';
import { errorBody, MAX_JSON_BODY_BYTES, readBody, sendJson } from './http.ts';
import { admissionEstimate, ServerRateLimits, type RateLimitConfig } from './ratelimit.ts';
import type { ReplyMode } from './misbehaving.ts';
import { REPLY_SHAPES, type ReplyShape } from './replies.ts';
import type { JudgeFaults } from './judge.ts';
import { embeddingsResponse } from './embeddings.ts';

export type { SimulatorFaults, SimulatorStats, RequestOutcome } from './completions.ts';
export type { ReplyShape } from './replies.ts';
export type { BatchService, BatchSimOptions } from './batch.ts';
export type { RateLimitConfig, ServerRateLimits } from './ratelimit.ts';

export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number;
  /** Seed of everything random (tasks, shapes, faults, ids). Default 1. */
  seed?: number;
  /** Mean delay before a chat completion is answered, in ms, jittered uniformly over ±50%. Default 0. */
  latencyMs?: number;
  /** Fault probabilities per chat request; each defaults to 0. */
  faults?: Partial<SimulatorFaults>;
  /**
   * Share of emitted tasks that are near-duplicates: exact repeats or light edits (a character or two,
   * punctuation) of a task this server emitted earlier, in the same or an earlier reply. Default 0.1.
   */
  nearDuplicateRate?: number;
  /** Share of emitted tasks that a pipeline filter must reject, one junk kind each. Default 0.1. */
  junkRate?: number;
  /**
   * Weights of the reply shapes. Default: all equal. When given, shapes left out get weight 0.
   */
  shapes?: Partial<Record<ReplyShape, number>>;
  /** When set, requests without `Authorization: Bearer <this>` get 401. Default: no check. */
  requireApiKey?: string;
  /** Requests and tokens per minute enforced on chat completions (429 + x-ratelimit-* headers). Default: none. */
  rateLimits?: RateLimitConfig;
  /** The Files and Batch APIs: how batches progress (per poll or per time). */
  batch?: BatchSimOptions;
  /** `degenerate` (repetition loops until max_tokens) or `chatter` (polite text, no task): a model that never gives a task. Default normal. */
  replyMode?: ReplyMode;
  /** Shares of answer prompts answered with a refusal, a placeholder or nothing (two-stage). Default 0 each. */
  answerFaults?: Partial<AnswerFaults>;
  // -- judge (issue 12): see simulator/judge.ts; its scores are not a quality model --
  /** Share of clean tasks spoiled with a defect the simulated judge scores low. Default 0.12. */
  defectRate?: number;
  /** false: `response_format: json_object` gets a 400 (servers without JSON mode). Default true. */
  judgeJsonMode?: boolean;
  /** Id faults in judge replies (an item left out, repeated, or for an id not asked for). */
  judgeFaults?: Partial<JudgeFaults>;
  /** Shares of evolution prompts answered with a failure (unchanged, leaked marker, refusal, dropped input, too long); see simulator/evolve.ts. */
  evolveFaults?: Partial<EvolveFaults>;
  /** Share of evolve-check prompts answered 否 at random. Default 0.15. */
  evolveCheckNoGain?: number;
}

export interface Simulator {
  /** Base URL for OpenAI clients, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  /** Stops listening, drops open connections (hanging requests included) and pending replies. */
  close(): Promise<void>;
  stats(): SimulatorStats;
  /** The Files and Batch APIs' state and test controls (hold an answer, make a batch expire or fail). */
  batches: BatchService;
  /** The enforced limits and their counters. */
  rateLimits: ServerRateLimits;
}

type Handler = (req: http.IncomingMessage, body: unknown) => SimResponse;
interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Chat routes wait the configured latency; cheap metadata routes answer at once. */
  slow: boolean;
  handle: Handler;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const faults: SimulatorFaults = { rateLimit429: 0, serverError500: 0, hang: 0, truncate: 0, garbage: 0, ...options.faults };
  for (const [name, p] of Object.entries(faults)) checkProbability(`faults.${name}`, p);
  const nearDuplicateRate = checkProbability('nearDuplicateRate', options.nearDuplicateRate ?? 0.1);
  const junkRate = checkProbability('junkRate', options.junkRate ?? 0.1);
  const latencyMs = options.latencyMs ?? 0;
  if (!(latencyMs >= 0)) throw new RangeError(`latencyMs must be ≥ 0, got ${latencyMs}`);
  const shapes = Object.fromEntries(REPLY_SHAPES.map((s) => [s, options.shapes === undefined ? 1 : (options.shapes[s] ?? 0)])) as Record<
    ReplyShape,
    number
  >;
  if (!Object.values(shapes).some((w) => w > 0)) throw new RangeError('shapes: at least one weight must be > 0');

  const answerFaults: AnswerFaults = { ...NO_ANSWER_FAULTS, ...options.answerFaults };
  for (const [name, p] of Object.entries(answerFaults)) checkProbability(`answerFaults.${name}`, p);
  for (const [name, p] of Object.entries(options.evolveFaults ?? {})) checkProbability(`evolveFaults.${name}`, p);
  const engine: ChatEngine = createChatEngine({
    seed: options.seed ?? 1,
    nearDuplicateRate,
    junkRate,
    faults,
    shapes,
    replyMode: options.replyMode ?? 'normal',
    answerFaults,
    defectRate: checkProbability('defectRate', options.defectRate ?? 0.12),
    judgeJsonMode: options.judgeJsonMode,
    judgeFaults: options.judgeFaults,
    evolveFaults: options.evolveFaults,
    evolveCheckNoGain: options.evolveCheckNoGain,
  });
  const routes: Route[] = [
    { method: 'GET', path: '/v1/models', slow: false, handle: () => engine.listModels() },
    { method: 'POST', path: '/v1/chat/completions', slow: true, handle: (_req, body) => engine.completeChat(body) },
    {
      method: 'POST',
      path: '/v1/embeddings',
      slow: true,
      handle: (_req, body) => {
        const r = embeddingsResponse(body);
        engine.record(r.outcome);
        return r;
      },
    },
  ];
  const limits = new ServerRateLimits(options.rateLimits ?? {});
  const batches = new BatchService(
    options.batch ?? {},
    (body, endpoint) => {
      if (endpoint === '/v1/embeddings') {
        const e = embeddingsResponse(body);
        engine.record(e.outcome);
        return { status: e.status, body: e.json };
      }
      const r = engine.completeChat(body);
      // Inside a batch nothing hangs: the provider's own timeout turns it into a failed line.
      return r.hang === true
        ? { status: 500, body: errorBody('The request timed out.', 'server_error', null, 'timeout') }
        : { status: r.status, body: r.json };
    },
    engine.rng,
  );

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  const server = http.createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      // A bug in the simulator must show up as a 500, not as a hung test.
      if (!res.headersSent) send(res, errorResponse(500, `simulator error: ${String(err)}`, 'server_error', null, 'server_error'));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const route = routes.find((r) => r.path === path && r.method === req.method);
    if (options.requireApiKey !== undefined && req.headers.authorization !== `Bearer ${options.requireApiKey}`) {
      await drain(req);
      engine.record('unauthorized');
      return send(res, errorResponse(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key', 'unauthorized'));
    }
    if (route === undefined && (await batches.handle(req, res, path))) return;
    if (route === undefined) {
      await drain(req);
      engine.record('not_found');
      return send(res, errorResponse(404, `Invalid URL (${req.method ?? 'GET'} ${path})`, 'invalid_request_error', null, 'not_found'));
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, MAX_JSON_BODY_BYTES);
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        engine.record('bad_request');
        return send(
          res,
          errorResponse(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null, 'bad_request'),
        );
      }
    }
    // Rate limits apply to chat completions: charged on arrival, settled with the usage when answered.
    const estimate = route.slow && limits.enabled ? admissionEstimate(body) : undefined;
    const admission = estimate === undefined ? undefined : limits.admit(estimate.prompt + estimate.reserve);
    if (admission !== undefined && !admission.ok) {
      engine.record('rate_limited');
      const refused = errorResponse(429, admission.message, 'requests', 'rate_limit_exceeded', 'rate_limited');
      return send(res, { ...refused, headers: admission.headers });
    }
    const response = route.handle(req, body);
    if (admission?.ok) response.headers = { ...admission.headers, ...response.headers };
    // A hung request keeps its reservation, as a real server keeps working on it.
    if (response.hang === true) return; // never answered; close() destroys the socket
    if (route.slow && latencyMs > 0) await delay(latencyMs * (0.5 + engine.rng.next()));
    if (admission?.ok) {
      // Answered: charged its real usage; an error used its prompt at most, a 429 nothing.
      const usage = (response.json as { usage?: { total_tokens?: number } } | null)?.usage;
      const { prompt, reserve } = estimate!;
      admission.settle(response.status === 200 ? (usage?.total_tokens ?? prompt + reserve) : response.status === 429 ? 0 : prompt);
    }
    if (closing || res.destroyed) return;
    if (response.stream !== undefined && response.status === 200)
      return sendStream(res, response.json as ChatCompletion, response.stream.includeUsage);
    send(res, response);
  }

  function sendStream(res: http.ServerResponse, completion: ChatCompletion, includeUsage: boolean): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const chunk of toChunks(completion, includeUsage, engine.rng)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    stats: () => engine.stats(),
    batches,
    rateLimits: limits,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        batches.close();
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        // Hanging requests and idle keep-alive connections would otherwise hold close() forever.
        for (const s of sockets) s.destroy();
      }),
  };
}

function send(res: http.ServerResponse, response: SimResponse): void {
  sendJson(res, response.status, response.json, response.headers);
}

/** Reads and discards a body we will not use, so the connection can be reused. */
async function drain(req: http.IncomingMessage): Promise<void> {
  try {
    await readBody(req, MAX_JSON_BODY_BYTES);
  } catch {
    // The answer is an error either way.
  }
}

function checkProbability(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
  return p;
}
