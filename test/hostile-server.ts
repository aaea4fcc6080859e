/**
 * A small hostile model server for tests: a real HTTP server on 127.0.0.1 whose chat completions are
 * whatever the test's handler writes (a stalled body, an HTML page, a key echoed back). `GET /models`
 * answers, so the start-up probe passes and the run reaches the requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostileServer {
  /** Base URL with `/v1`. */
  url: string;
  /** Chat completion requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** `n` counts chat completion requests from 1; `body` is the request's JSON text. */
export type ChatHandler = (n: number, req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

export async function startHostile(handler: ChatHandler): Promise<HostileServer> {
  let requests = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    // The body is read whole first, as a real server would, so the client never sees a reset.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
        return;
      }
      requests++;
      handler(requests, req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A well-formed chat completion whose message is `content`. */
export function completion(content: string, usage = { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 }): string {
  return JSON.stringify({
    id: 'chatcmpl-hostile',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage,
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

/** Distinct, well-formed tasks (far apart, so none is a near-duplicate of another), written for these tests. */
export const DISTINCT_TASKS = [
  { instruction: '把下面这句话改写得更正式一些。', input: '这事儿我明天再跟你说吧。', output: '此事我将于明日再与您详谈。' },
  {
    instruction: '列出三种适合在阳台种植的蔬菜，并各用一句话说明理由。',
    input: '',
    output: '小葱：生长快，占地小。生菜：喜凉爽，半阴也能长。番茄：阳光充足时结果多。',
  },
  { instruction: '计算一个长8米、宽5米的长方形花园的周长。', input: '', output: '周长为2×(8+5)=26米。' },
  { instruction: '为一家社区旧书店写一句宣传口号。', input: '', output: '旧书有新知，街角遇见另一段人生。' },
  {
    instruction: '判断下面的说法是否正确，并简要解释：水在任何气压下都是100摄氏度沸腾。',
    input: '',
    output: '不正确。水的沸点随气压变化，高原上气压低，沸点低于100摄氏度。',
  },
  { instruction: '把这段英文翻译成中文。', input: 'The library closes at nine on weekdays.', output: '图书馆工作日晚上九点闭馆。' },
] as const;
