/**
 * Hostile model servers (issue 21), each a small HTTP server in this file, driven through `generate()`
 * or the CLI: a body that stalls after the headers, 200 replies that are no chat completion, a server
 * that echoes the caller's key, and one that sends replies of many megabytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GenerationFailed, generate } from '../../pipeline/index.ts';
import { Store } from '../../pipeline/store/store.ts';
import { runCli } from '../cli.ts';
import { one, query, tempDir } from '../helpers.ts';
import { completion, DISTINCT_TASKS, sendJson, startHostile, type HostileServer } from '../hostile-server.ts';

let server: HostileServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The options every run here shares: one request at a time, no seeds of randomness in the way. */
const base = (db: string, url: string) => ({ db, baseURL: url, apiKey: 'hostile-test-key', concurrency: 1, tasksPerRequest: 3 });

describe('a body that stalls after the headers', () => {
  it('is cut off at --timeout, retried, and the run stops after its run of failures', async () => {
    server = await startHostile((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"x","choices":[');
      // One byte every 200 ms, forever: never a whole reply, never an idle socket.
      const drip = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(drip));
    });
    const db = path.join(tempDir(), 'stall.db');
    const t = Date.now();
    const run = generate({ ...base(db, server.url), n: 5, timeout: 1, retries: 1, maxConsecutiveFailures: 2 });
    await expect(run).rejects.toThrow(/2 requests in a row failed; last error: timeout/);
    // 2 requests × 2 attempts × 1 s, plus back-off (seconds even on a loaded machine): a stalled body would hang for ever.
    expect(Date.now() - t).toBeLessThan(40_000);
    expect(server.requests).toBe(4);
    const attempts = query<{ request_id: number; attempt: number; error_kind: string; latency_ms: number }>(
      db,
      'SELECT request_id, attempt, error_kind, latency_ms FROM request_attempts ORDER BY request_id, attempt',
    );
    expect(attempts.map((a) => [a.attempt, a.error_kind])).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    for (const a of attempts) expect(a.latency_ms).toBeLessThan(3000);
    expect(one(db, `SELECT count(*) FROM requests WHERE status = 'error'`)).toBe(2);
  }, 30_000);
});

describe('a 200 reply that is not a chat completion', () => {
  const bodies: [string, string][] = [
    ['text/html', '<html><body>502 Bad Gateway</body></html>'],
    ['application/json', '{"error":null}'],
    ['application/json', 'null'],
    ['application/json', '{"choices":[]}'],
  ];

  it('is a failed attempt like any other: stored once, retried, and counted until the run stops', async () => {
    server = await startHostile((n, _req, res) => {
      const [type, body] = bodies[(n - 1) % bodies.length]!;
      res.writeHead(200, { 'content-type': type }).end(body);
    });
    const db = path.join(tempDir(), 'notchat.db');
    const run = generate({ ...base(db, server.url), n: 5, timeout: 5, retries: 1, maxConsecutiveFailures: 2 });
    await expect(run).rejects.toThrow(GenerationFailed);
    await expect(run).rejects.toThrow(/2 requests in a row failed; last error: bad_reply: HTTP 200 but not a chat completion/);
    expect(server.requests).toBe(4);
    // Every request sent has its row, every attempt its own row: nothing lost, nothing twice.
    expect(one(db, 'SELECT count(*) FROM requests')).toBe(2);
    expect(one(db, `SELECT count(*) FROM requests WHERE status = 'error' AND attempts = 2`)).toBe(2);
    const attempts = query<{ attempt: number; http_status: number; error_kind: string }>(
      db,
      'SELECT attempt, http_status, error_kind FROM request_attempts ORDER BY request_id, attempt',
    );
    expect(attempts).toEqual([
      { attempt: 1, http_status: 200, error_kind: 'bad_reply' },
      { attempt: 2, http_status: 200, error_kind: 'bad_reply' },
      { attempt: 1, http_status: 200, error_kind: 'bad_reply' },
      { attempt: 2, http_status: 200, error_kind: 'bad_reply' },
    ]);
    const errors = query<{ error: string }>(db, 'SELECT error FROM requests ORDER BY id').map((r) => r.error);
    // Each request's error is its last attempt's: the second and the fourth body.
    expect(errors[0]).toContain('JSON "{\\"error\\":null}"');
    expect(errors[1]).toContain('JSON "{\\"choices\\":[]}"');
  });

  it('is retried into a good reply, whose tasks are kept', async () => {
    server = await startHostile((n, _req, res) => {
      if (n === 1) res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      else sendJson(res, 200, completion(JSON.stringify(DISTINCT_TASKS.slice(0, 3))));
    });
    const db = path.join(tempDir(), 'recovers.db');
    const summary = await generate({ ...base(db, server.url), n: 3, timeout: 5, retries: 2 });
    expect(summary.status).toBe('completed');
    expect(query(db, 'SELECT attempt, error_kind FROM request_attempts ORDER BY attempt')).toEqual([
      { attempt: 1, error_kind: 'bad_reply' },
      { attempt: 2, error_kind: null },
    ]);
  });
});

describe('a server that echoes the key', () => {
  // Shaped like a real key, so that its abbreviation in an error body reads as such.
  // Built here so no key-shaped string sits in the repository.
  const key = ['sk', 'relteHostileEcho0a1b2c3d4e5f6g7h8i776d'].join('-');
  const abbreviated = 'sk-relte...776d';

  it('never gets a byte of it into the database, its WAL, the export or the logs', async () => {
    server = await startHostile((n, _req, res) => {
      if (n === 1) {
        // An error body quoting the key abbreviated, as OpenAI's 401 does.
        sendJson(res, 500, JSON.stringify({ error: { message: `Incorrect API key provided: ${abbreviated}. Key ${key} is bad.` } }));
        return;
      }
      const echoing = [
        { instruction: `请解释这个密钥的含义：${key}`, input: '', output: `这是调用接口用的密钥${key}，请妥善保管。` },
        { instruction: '说明下面这段配置里每一项的作用。', input: `OPENAI_API_KEY=${key}`, output: `它把密钥设为${abbreviated}。` },
        ...DISTINCT_TASKS.slice((n - 2) * 2, (n - 2) * 2 + 2),
      ];
      sendJson(res, 200, completion(`好的，以下是任务（密钥 ${key}）：\n${JSON.stringify(echoing)}`));
    });
    const dir = tempDir();
    const db = path.join(dir, 'echo.db');
    // A reader open through the run keeps the WAL file in place when the writer closes, to be searched too.
    Store.open(db).close();
    const reader = new Database(db, { readonly: true });
    try {
      reader.prepare('SELECT count(*) FROM runs').get();
      const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: server.url };
      const gen = await runCli(
        ['generate', '--n', '4', '--db', db, '--retries', '0', '--concurrency', '1', '--tasks-per-request', '4', '--log-format', 'json'],
        env,
      );
      expect(gen.code, gen.stderr.slice(-1500)).toBe(0);
      const out = path.join(dir, 'exports');
      const exported = await runCli(['export', '--db', db, '--out', out, '--format', 'alpaca'], env);
      expect(exported.code, exported.stderr).toBe(0);
      const report = await runCli(['report', '--db', db, '--out', path.join(dir, 'report.html')], env);
      const stats = await runCli(['stats', '--db', db], env);
      expect([report.code, stats.code], report.stderr + stats.stderr).toEqual([0, 0]);

      const wal = `${db}-wal`;
      expect(fs.statSync(wal).size).toBeGreaterThan(0);
      const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f));
      const haystacks = [
        ...files.filter((f) => fs.statSync(f).isFile()).map((f) => [f, fs.readFileSync(f)] as const),
        ...[gen, exported, report, stats].flatMap((r, i) => [
          [`stdout ${i}`, Buffer.from(r.stdout)] as const,
          [`stderr ${i}`, Buffer.from(r.stderr)] as const,
        ]),
      ];
      expect(haystacks.some(([f]) => f.endsWith('train.jsonl'))).toBe(true);
      for (const [where, bytes] of haystacks) {
        for (const secret of [key, key.slice(3, 20), abbreviated]) expect(bytes.includes(secret), `${secret} in ${where}`).toBe(false);
      }
      // The requests went through and their text was kept, the key cut out of it.
      expect(one(db, `SELECT count(*) FROM requests WHERE status = 'error' AND error LIKE '%[REDACTED]%'`)).toBe(1);
      expect(one(db, `SELECT count(*) FROM tasks WHERE instruction LIKE '请解释这个密钥的含义：[REDACTED]%'`)).toBeGreaterThan(0);
    } finally {
      reader.close();
    }
  });

  it('never prints a key given in the userinfo of OPENAI_BASE_URL', async () => {
    server = await startHostile((_n, _req, res) => sendJson(res, 200, completion('[]')));
    const password = 'hunter2-not-key-shaped-pw';
    const url = server.url.replace('http://', `http://someone:${password}@`);
    const db = path.join(tempDir(), 'userinfo.db');
    const r = await runCli(['generate', '--n', '1', '--db', db], {
      OPENAI_API_KEY: ['sk', 'test', 'userinfo', '0000'].join('-'),
      OPENAI_BASE_URL: url,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/OPENAI_BASE_URL/);
    expect(r.stderr + r.stdout).not.toContain(password);
  });
});

describe('a reply of many megabytes', () => {
  it('is stored cut to what the parser reads, with a marker and its true length', async () => {
    const filler = '啊'.repeat(5_000_000);
    server = await startHostile((_n, _req, res) =>
      sendJson(res, 200, completion(`${JSON.stringify(DISTINCT_TASKS.slice(0, 3))}\n${filler}`)),
    );
    const db = path.join(tempDir(), 'huge.db');
    const summary = await generate({ ...base(db, server.url), n: 3, timeout: 30 });
    expect(summary.acceptedNow).toBe(3);
    const [row] = query<{ stored: number; chars: number; tail: string }>(
      db,
      'SELECT length(raw_reply) AS stored, raw_reply_chars AS chars, substr(raw_reply, -60) AS tail FROM requests',
    );
    const whole = JSON.stringify(DISTINCT_TASKS.slice(0, 3)).length + 1 + filler.length;
    expect(row!.chars).toBe(whole);
    expect(row!.stored).toBeLessThan(2_000_100);
    expect(row!.tail).toContain(`[reply cut: 2000000 of ${whole} characters stored]`);
    // 5 M characters of three bytes each would be 15 MB; the cut reply is 6 MB.
    expect(fs.statSync(db).size).toBeLessThan(8_000_000);
  });
});

describe('a damaged database', () => {
  it('exits with the one usage code whether it was cut short or damaged in the middle, before any request', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'whole.db');
    const store = Store.open(db);
    const run = store.createRun({ target: 1, mode: 'seeds', model: 'm', options: {} });
    store.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        store.insertTask({
          source: 'generated',
          runId: run,
          instruction: `第${i}条指令`,
          input: '',
          output: '输出'.repeat(100),
          dedupKey: `k${i}`,
          status: 'accepted',
        });
      }
    });
    store.close();
    const size = fs.statSync(db).size;
    const truncated = path.join(dir, 'truncated.db');
    fs.copyFileSync(db, truncated);
    fs.truncateSync(truncated, Math.floor(size / 2));
    const damaged = path.join(dir, 'damaged.db');
    fs.copyFileSync(db, damaged);
    const fd = fs.openSync(damaged, 'r+');
    fs.writeSync(fd, Buffer.alloc(4 * 4096, 0x5a), 0, 4 * 4096, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);

    server = await startHostile((_n, _req, res) => sendJson(res, 200, completion(JSON.stringify(DISTINCT_TASKS))));
    for (const file of [truncated, damaged]) {
      const r = await runCli(['generate', '--n', '1', '--db', file], {
        OPENAI_API_KEY: ['sk', 'test', 'damaged', '0000'].join('-'),
        OPENAI_BASE_URL: server.url,
      });
      expect(r.code, `${file}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`${file}: database disk image is malformed`);
    }
    expect(server.requests).toBe(0);
  });
});

describe('a server that ignores max_tokens', () => {
  it('does not take the run past --max-cost: the first overrun scales every later worst case', async () => {
    // Each reply bills three times the max_tokens it was sent, whatever the prompt asked.
    server = await startHostile((n, _req, res, body) => {
      const maxTokens = (JSON.parse(body) as { max_tokens: number }).max_tokens;
      const tasks = [DISTINCT_TASKS[(n - 1) % DISTINCT_TASKS.length]!];
      const usage = { prompt_tokens: 500, completion_tokens: 3 * maxTokens, total_tokens: 500 + 3 * maxTokens };
      sendJson(res, 200, completion(JSON.stringify(tasks), usage));
    });
    const db = path.join(tempDir(), 'overrun.db');
    const price = { input: 1, output: 10 }; // USD per 1M tokens
    // Worst case as reserved: the prompt estimate + 1000 completion tokens ≈ $0.0105; a reply costs $0.0305.
    // Reserving that worst case alone, a fourth request would start at $0.0915 spent and end at $0.122.
    const maxCost = 0.11;
    const summary = await generate({ ...base(db, server.url), n: 1000, maxTokens: 1000, price, maxCost, timeout: 5 });
    const spent = one(db, 'SELECT sum(cost_usd) FROM requests');
    expect(spent).toBeLessThanOrEqual(maxCost);
    expect(spent).toBeCloseTo(3 * 0.0305, 3);
    expect(summary.status).toBe('interrupted');
    expect(summary.stopReason).toBe('max-cost');
    expect(summary.stopMessage).toMatch(/server has replied past max_tokens/);
  });
});
