/**
 * The simulator's Files and Batch APIs, with the real object shapes: `POST /v1/files` (multipart, purpose
 * `batch`), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `POST /v1/batches`, `GET /v1/batches`,
 * `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`. A batch moves validating → in_progress →
 * finalizing → completed, one step per `stepPolls` polls or per `stepMs` of time (so tests are fast);
 * an input file that breaks the rules fails validation with the line and reason, as the real API does;
 * tests can also make a batch expire or fail, and hold an answer back to kill the client mid-step.
 * Each input line is answered by the same generator as /v1/chat/completions, into output and error
 * files of the real line shape `{id, custom_id, response: {status_code, request_id, body}, error}`.
 */
import type http from 'node:http';
import { MAX_JSON_BODY_BYTES, readBody, sendError, sendJson } from './http.ts';
import { randomId, type Rng } from './random.ts';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchSimOptions {
  /** Advance one status per this many polls of the batch (GET). Default 1. */
  stepPolls?: number;
  /** Or: advance one status per this many ms (when set, polls do not count). */
  stepMs?: number;
  /** Largest input file accepted, bytes. Default 200 MB. */
  maxFileBytes?: number;
  /** Most requests per batch. Default 50 000. */
  maxRequests?: number;
}

/** What answering one request gives: an HTTP status and a JSON body (a completion, embeddings, or an error). */
export interface ChatAnswer {
  status: number;
  body: unknown;
}

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
}

interface StoredFile extends FileObject {
  content: Buffer;
}

export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: { code: string; message: string; param: string | null; line: number | null }[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

interface BatchState {
  batch: BatchObject;
  polls: number;
  stepStartedAt: number;
  /** Set by a test: the status to end in instead of completed. */
  outcome: 'completed' | 'expired' | 'failed';
  failMessage: string;
  /** The input file's requests, parsed once when validation passes. */
  requests?: BatchRequest[];
}

/** One line of a batch input file, as validated. */
interface BatchRequest {
  custom_id: string;
  body: Record<string, unknown>;
}

/** Holds back one answer so a test can kill the client at that exact point. */
export interface BatchHolds {
  /** POST /v1/batches: 'before' never creates the batch; 'after' creates it but never answers. */
  create?: 'before' | 'after' | undefined;
  /** GET /v1/files/{id}/content of an output file: send this many lines, then hold the rest. */
  contentAfterLines?: number | undefined;
}

export interface BatchStats {
  files: number;
  batches: number;
  /** Requests answered inside batches. */
  requests: number;
  /** Requests whose answer is being held back (create or content). */
  held: number;
}

/** The routes a batch may hold lines of, as OpenAI's Batch API allows (chat completions, embeddings). */
const ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'];
/** Room for the multipart framing around an uploaded file, so a file just over the limit still gets a 400. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class BatchService {
  private readonly files = new Map<string, StoredFile>();
  private readonly batches = new Map<string, BatchState>();
  /** Newest first, as the list endpoint returns them. */
  private readonly order: string[] = [];
  private readonly options: Required<Omit<BatchSimOptions, 'stepMs'>> & { stepMs: number | undefined };
  private holds: BatchHolds = {};
  readonly stats: BatchStats = { files: 0, batches: 0, requests: 0, held: 0 };
  /** Responses held open, closed on close(). */
  private readonly heldResponses = new Set<http.ServerResponse>();

  constructor(
    options: BatchSimOptions,
    private readonly answer: (body: Record<string, unknown>, endpoint: string) => ChatAnswer,
    private readonly rng: Rng,
  ) {
    this.options = {
      stepPolls: options.stepPolls ?? 1,
      stepMs: options.stepMs,
      maxFileBytes: options.maxFileBytes ?? 200 * 1024 * 1024,
      maxRequests: options.maxRequests ?? 50_000,
    };
  }

  /** Holds back the next matching answer (one-shot each). */
  hold(holds: BatchHolds): void {
    this.holds = { ...this.holds, ...holds };
  }

  /** Makes a batch end as expired or failed (at its next step) instead of completed. */
  setOutcome(batchId: string, outcome: 'expired' | 'failed', message = 'simulated failure'): void {
    const s = this.batches.get(batchId);
    if (s === undefined) throw new Error(`no batch ${batchId}`);
    s.outcome = outcome;
    s.failMessage = message;
  }

  batch(id: string): BatchObject | undefined {
    return this.batches.get(id)?.batch;
  }

  allBatches(): BatchObject[] {
    return this.order.map((id) => this.batches.get(id)!.batch);
  }

  close(): void {
    for (const res of this.heldResponses) res.destroy();
    this.heldResponses.clear();
  }

  /** Routes a request under /v1/files or /v1/batches; false when the path is not one of ours. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    if (path === '/v1/files' && method === 'POST') return (this.upload(req, res), true);
    if ((m = /^\/v1\/files\/([^/]+)$/.exec(path)) && method === 'GET') return (this.getFile(res, m[1]!), true);
    if ((m = /^\/v1\/files\/([^/]+)\/content$/.exec(path)) && method === 'GET') return (this.content(res, m[1]!), true);
    if (path === '/v1/batches' && method === 'POST') return (this.create(req, res), true);
    if (path === '/v1/batches' && method === 'GET') return (this.list(req, res), true);
    if ((m = /^\/v1\/batches\/([^/]+)$/.exec(path)) && method === 'GET') return (this.retrieve(res, m[1]!), true);
    if ((m = /^\/v1\/batches\/([^/]+)\/cancel$/.exec(path)) && method === 'POST') return (this.cancel(res, m[1]!), true);
    return false;
  }

  // -- files ----------------------------------------------------------------------------------------

  private async upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req, this.options.maxFileBytes + MULTIPART_OVERHEAD_BYTES);
    let form: FormData;
    try {
      // undici parses multipart bodies for us.
      form = await new Request('http://simulator/v1/files', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: raw,
      }).formData();
    } catch {
      return sendError(res, 400, 'Expected a multipart/form-data body with "file" and "purpose".', 'invalid_request_error', null);
    }
    const file = form.get('file');
    const purpose = form.get('purpose');
    if (!(file instanceof Blob)) return sendError(res, 400, "Missing required parameter: 'file'.", 'invalid_request_error', 'file');
    if (purpose !== 'batch')
      return sendError(
        res,
        400,
        `Invalid purpose '${String(purpose)}': this simulator only takes 'batch'.`,
        'invalid_request_error',
        'purpose',
      );
    const content = Buffer.from(await file.arrayBuffer());
    if (content.length > this.options.maxFileBytes) {
      return sendError(
        res,
        400,
        `File is too large: ${content.length} bytes, the limit is ${this.options.maxFileBytes}.`,
        'invalid_request_error',
        'file',
      );
    }
    const stored = this.storeFile(content, 'name' in file && typeof file.name === 'string' ? file.name : 'upload.jsonl', 'batch');
    sendJson(res, 200, publicFile(stored));
  }

  private storeFile(content: Buffer, filename: string, purpose: string): StoredFile {
    const f: StoredFile = {
      id: `file-${this.id(24)}`,
      object: 'file',
      bytes: content.length,
      created_at: nowSeconds(),
      filename,
      purpose,
      status: 'processed',
      status_details: null,
      content,
    };
    this.files.set(f.id, f);
    this.stats.files++;
    return f;
  }

  private getFile(res: http.ServerResponse, id: string): void {
    const f = this.files.get(id);
    if (f === undefined) return sendError(res, 404, `No such File object: ${id}`, 'invalid_request_error', 'id');
    sendJson(res, 200, publicFile(f));
  }

  private content(res: http.ServerResponse, id: string): void {
    const f = this.files.get(id);
    if (f === undefined) return sendError(res, 404, `No such File object: ${id}`, 'invalid_request_error', 'id');
    const holdAfter = f.purpose === 'batch_output' ? this.holds.contentAfterLines : undefined;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(f.content.length) });
    if (holdAfter === undefined) {
      res.end(f.content);
      return;
    }
    this.holds.contentAfterLines = undefined;
    // Send the first lines, then nothing more: the client has them and waits for the rest.
    let cut = 0;
    for (let i = 0; i < holdAfter; i++) {
      const nl = f.content.indexOf(10, cut);
      if (nl < 0) break;
      cut = nl + 1;
    }
    res.write(f.content.subarray(0, cut));
    this.stats.held++;
    this.heldResponses.add(res);
    res.on('close', () => this.heldResponses.delete(res));
  }

  // -- batches --------------------------------------------------------------------------------------

  private async create(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: { input_file_id?: unknown; endpoint?: unknown; completion_window?: unknown; metadata?: unknown };
    try {
      body = JSON.parse((await readBody(req, MAX_JSON_BODY_BYTES)).toString('utf8')) as typeof body;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    if (typeof body.input_file_id !== 'string' || !this.files.has(body.input_file_id)) {
      return sendError(
        res,
        400,
        `Invalid 'input_file_id': '${String(body.input_file_id)}'. No such file.`,
        'invalid_request_error',
        'input_file_id',
      );
    }
    if (typeof body.endpoint !== 'string' || !ENDPOINTS.includes(body.endpoint)) {
      return sendError(
        res,
        400,
        `Invalid 'endpoint': this simulator supports only ${ENDPOINTS.join(' and ')}.`,
        'invalid_request_error',
        'endpoint',
      );
    }
    const endpoint = body.endpoint;
    if (body.completion_window !== '24h') {
      return sendError(res, 400, "Invalid 'completion_window': only '24h' is supported.", 'invalid_request_error', 'completion_window');
    }
    const hold = this.holds.create;
    this.holds.create = undefined;
    if (hold === 'before') return this.holdOpen(res);
    const created = nowSeconds();
    const batch: BatchObject = {
      id: `batch_${this.id(24)}`,
      object: 'batch',
      endpoint,
      errors: null,
      input_file_id: body.input_file_id,
      completion_window: '24h',
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: null,
      expires_at: created + 24 * 3600,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: isStringRecord(body.metadata) ? body.metadata : null,
    };
    this.batches.set(batch.id, { batch, polls: 0, stepStartedAt: performance.now(), outcome: 'completed', failMessage: '' });
    this.order.unshift(batch.id);
    this.stats.batches++;
    if (hold === 'after') return this.holdOpen(res);
    sendJson(res, 200, batch);
  }

  private holdOpen(res: http.ServerResponse): void {
    this.stats.held++;
    this.heldResponses.add(res);
    res.on('close', () => this.heldResponses.delete(res));
  }

  private list(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    const after = url.searchParams.get('after');
    let start = 0;
    if (after !== null) {
      const i = this.order.indexOf(after);
      start = i < 0 ? this.order.length : i + 1;
    }
    const ids = this.order.slice(start, start + limit);
    sendJson(res, 200, {
      object: 'list',
      data: ids.map((id) => this.batches.get(id)!.batch),
      first_id: ids[0] ?? null,
      last_id: ids.at(-1) ?? null,
      has_more: start + limit < this.order.length,
    });
  }

  private retrieve(res: http.ServerResponse, id: string): void {
    const s = this.batches.get(id);
    if (s === undefined) return sendError(res, 404, `No batch found with id '${id}'.`, 'invalid_request_error', 'batch_id');
    s.polls++;
    this.progress(s);
    sendJson(res, 200, s.batch);
  }

  private cancel(res: http.ServerResponse, id: string): void {
    const s = this.batches.get(id);
    if (s === undefined) return sendError(res, 404, `No batch found with id '${id}'.`, 'invalid_request_error', 'batch_id');
    const b = s.batch;
    if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
      b.status = 'cancelling';
      b.cancelling_at = nowSeconds();
      s.polls = 0;
      s.stepStartedAt = performance.now();
    } else if (b.status !== 'cancelling') {
      return sendError(res, 409, `Cannot cancel a batch with status '${b.status}'.`, 'invalid_request_error', null);
    }
    sendJson(res, 200, b);
  }

  /** Moves a batch on by as many steps as the polls or the time since the last step allow. */
  private progress(s: BatchState): void {
    for (;;) {
      const due =
        this.options.stepMs !== undefined ? performance.now() - s.stepStartedAt >= this.options.stepMs : s.polls >= this.options.stepPolls;
      if (!due || !this.step(s)) return;
      s.polls = 0;
      // By time, each step takes exactly stepMs, so a late poll catches up on all the steps due.
      s.stepStartedAt = this.options.stepMs !== undefined ? s.stepStartedAt + this.options.stepMs : performance.now();
    }
  }

  /** One status step; false when the batch is in a final status. */
  private step(s: BatchState): boolean {
    const b = s.batch;
    const t = nowSeconds();
    switch (b.status) {
      case 'validating': {
        const lines = this.validate(b);
        if (typeof lines === 'string' || s.outcome === 'failed') {
          b.status = 'failed';
          b.failed_at = t;
          const problem = typeof lines === 'string' ? lines : s.failMessage;
          const line = /^line (\d+): /.exec(problem);
          b.errors = {
            object: 'list',
            data: [{ code: 'invalid_request', message: problem, param: null, line: line ? Number(line[1]) : null }],
          };
          return false;
        }
        s.requests = lines;
        b.status = 'in_progress';
        b.in_progress_at = t;
        b.request_counts = { total: lines.length, completed: 0, failed: 0 };
        return true;
      }
      case 'in_progress':
        if (s.outcome === 'failed') {
          // Only on request: a real batch fails in validation; a test may want it later too.
          b.status = 'failed';
          b.failed_at = t;
          b.errors = { object: 'list', data: [{ code: 'batch_failed', message: s.failMessage, param: null, line: null }] };
          return false;
        }
        if (s.outcome === 'expired') {
          this.finish(s, 'expired');
          return false;
        }
        b.status = 'finalizing';
        b.finalizing_at = t;
        return true;
      case 'finalizing':
        this.finish(s, 'completed');
        return false;
      case 'cancelling':
        this.finish(s, 'cancelled');
        return false;
      default:
        return false;
    }
  }

  /** The input file's requests, or what is wrong with it ("line N: ..."). */
  private validate(b: BatchObject): BatchRequest[] | string {
    const file = this.files.get(b.input_file_id);
    if (file === undefined) return 'the input file no longer exists';
    const text = file.content.toString('utf8');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) return 'the input file is empty';
    if (lines.length > this.options.maxRequests)
      return `the input file has ${lines.length} requests; the limit is ${this.options.maxRequests}`;
    const seen = new Set<string>();
    const out: BatchRequest[] = [];
    let model: unknown;
    for (const [i, l] of lines.entries()) {
      let r: { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
      try {
        r = JSON.parse(l) as typeof r;
      } catch {
        return `line ${i + 1}: not valid JSON`;
      }
      if (typeof r.custom_id !== 'string' || r.custom_id === '') return `line ${i + 1}: missing custom_id`;
      if (seen.has(r.custom_id)) return `line ${i + 1}: duplicate custom_id '${r.custom_id}'`;
      seen.add(r.custom_id);
      if (r.method !== 'POST') return `line ${i + 1}: method must be POST`;
      if (r.url !== b.endpoint) return `line ${i + 1}: url '${String(r.url)}' does not match the batch endpoint ${b.endpoint}`;
      const embeddings = b.endpoint === '/v1/embeddings';
      const field = embeddings ? 'input' : 'messages';
      if (typeof r.body !== 'object' || r.body === null || !Array.isArray((r.body as Record<string, unknown>)[field])) {
        return embeddings
          ? `line ${i + 1}: body must be an embeddings request with input`
          : `line ${i + 1}: body must be a chat completion request with messages`;
      }
      const body = r.body as Record<string, unknown>;
      if (i === 0) model = body.model;
      else if (body.model !== model) return `line ${i + 1}: every request in a batch must use the same model`;
      out.push({ custom_id: r.custom_id, body });
    }
    return out;
  }

  /** Answers the requests (all of them; for expired and cancelled, a share) and writes the result files. */
  private finish(s: BatchState, status: 'completed' | 'expired' | 'cancelled'): void {
    const b = s.batch;
    // Validated once, on leaving 'validating'; a batch cancelled before that has no requests to run.
    const list = s.requests ?? [];
    // An expired or cancelled batch got through part of its work.
    const done = status === 'completed' ? list.length : Math.floor(list.length * 0.3);
    const output: string[] = [];
    const errors: string[] = [];
    for (const [i, r] of list.entries()) {
      const lineId = `batch_req_${this.id(24)}`;
      if (i >= done) {
        // Work that never ran: expired requests are reported in the error file; cancelled ones are not.
        if (status === 'expired') {
          errors.push(
            JSON.stringify({
              id: lineId,
              custom_id: r.custom_id,
              response: null,
              error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
            }),
          );
        }
        continue;
      }
      const a = this.answer(r.body, b.endpoint);
      this.stats.requests++;
      const line = JSON.stringify({
        id: lineId,
        custom_id: r.custom_id,
        response: { status_code: a.status, request_id: `req_${this.id(32)}`, body: a.body },
        error: null,
      });
      (a.status === 200 ? output : errors).push(line);
    }
    b.request_counts = { total: list.length, completed: output.length, failed: errors.length };
    if (output.length > 0)
      b.output_file_id = this.storeFile(Buffer.from(output.join('\n') + '\n'), `${b.id}_output.jsonl`, 'batch_output').id;
    if (errors.length > 0)
      b.error_file_id = this.storeFile(Buffer.from(errors.join('\n') + '\n'), `${b.id}_error.jsonl`, 'batch_output').id;
    b.status = status;
    const t = nowSeconds();
    if (status === 'completed') b.completed_at = t;
    if (status === 'expired') b.expired_at = t;
    if (status === 'cancelled') b.cancelled_at = t;
  }

  private id(length: number): string {
    return randomId(this.rng, length);
  }
}

function publicFile(f: StoredFile): FileObject {
  const { content: _content, ...rest } = f;
  return rest;
}

function isStringRecord(x: unknown): x is Record<string, string> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'string');
}
