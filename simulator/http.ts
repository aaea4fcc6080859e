/** The HTTP plumbing the simulator's server and Batch API share: bounded body reads and JSON answers. */
import type http from 'node:http';

/** Largest JSON request body accepted (chat completions, batch creation). */
export const MAX_JSON_BODY_BYTES = 10 * 1024 * 1024;

/** Reads a whole request body; rejects (and drops the connection) past `maxBytes`. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answers with a JSON body. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** An error body the way the OpenAI API shapes it. */
export function errorBody(
  message: string,
  type: string,
  param: string | null,
  code: string | null,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message, type, param, code } };
}

/** Answers with an OpenAI-shaped error. */
export function sendError(
  res: http.ServerResponse,
  status: number,
  message: string,
  type: string,
  param: string | null,
  code: string | null = null,
): void {
  sendJson(res, status, errorBody(message, type, param, code));
}
