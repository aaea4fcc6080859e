/**
 * Several endpoints (issue 20): two simulators share a run by weight; one is stopped mid-run and the run
 * goes on with the other, ending at exactly --n with nothing lost; with both stopped the run ends as
 * unavailable (exit 69), naming each endpoint's last error.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate, GenerationFailed, stats } from '../../pipeline/index.ts';
import { exitCodeFor } from '../../pipeline/cli/exit.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { one, tempDir } from '../helpers.ts';

const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close().catch(() => {})));
});

async function twoSimulators(): Promise<[Simulator, Simulator]> {
  const a = await startSimulator({ port: 0, seed: 61, latencyMs: 20 });
  const b = await startSimulator({ port: 0, seed: 62, latencyMs: 20 });
  sims.push(a, b);
  return [a, b];
}

describe('several endpoints', () => {
  it('spreads requests by weight and goes on with the other when one is stopped mid-run: exactly --n, per-endpoint figures', async () => {
    const [a, b] = await twoSimulators();
    const db = path.join(tempDir(), 'two.db');
    let replies = 0;
    let stopped = false;
    const summary = await generate({
      db,
      n: 300,
      apiKey: 'k',
      tasksPerRequest: 5,
      concurrency: 4,
      retries: 0,
      endpoints: [
        { baseURL: a.url, weight: 1 },
        { baseURL: b.url, weight: 1 },
      ],
      onEvent: (e) => {
        if (e.type === 'reply' && ++replies === 10 && !stopped) {
          stopped = true;
          void b.close();
        }
      },
    });
    expect(stopped).toBe(true);
    expect(summary.status).toBe('completed');
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(300);
    const perEndpoint = summary.endpoints!;
    const [ea, eb] = [perEndpoint[a.url.replace(/\/$/, '')]!, perEndpoint[b.url.replace(/\/$/, '')]!];
    // Both served before the stop; afterwards only a (b was taken out after its failures in a row).
    expect(ea.total - ea.failed).toBeGreaterThan(eb.total - eb.failed);
    expect(eb.total - eb.failed).toBeGreaterThanOrEqual(3);
    expect(eb.failed).toBeGreaterThanOrEqual(1);
    expect(eb.failed).toBeLessThan(20);
    expect(ea.failed).toBe(0);
    // The library's stats() has the same figures.
    expect(stats({ db }).endpoints).toEqual(perEndpoint);
  }, 120_000);

  it('every endpoint down: the run stops as unavailable (exit 69) with each one’s last error; what was accepted stays', async () => {
    const [a, b] = await twoSimulators();
    const db = path.join(tempDir(), 'down.db');
    let replies = 0;
    const err = await generate({
      db,
      n: 1000,
      apiKey: 'k',
      tasksPerRequest: 5,
      concurrency: 2,
      retries: 0,
      endpoints: [a.url, b.url],
      onEvent: (e) => {
        if (e.type === 'reply' && ++replies === 4) {
          void a.close();
          void b.close();
        }
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenerationFailed);
    expect(exitCodeFor(err)).toBe(69);
    const message = (err as Error).message;
    expect(message).toContain(a.url.replace(/\/$/, ''));
    expect(message).toContain(b.url.replace(/\/$/, ''));
    const summary = (err as GenerationFailed).summary;
    expect(one(db, `SELECT count(*) FROM tasks WHERE status = 'accepted' AND source = 'generated'`)).toBe(summary.accepted);
    expect(summary.accepted).toBeGreaterThan(0);
  }, 120_000);

  it('an --endpoint that is not an http(s) URL is a usage error naming it, before anything is written', async () => {
    const db = path.join(tempDir(), 'bad.db');
    const err = await generate({ db, n: 5, apiKey: 'k', endpoints: ['ftp://x/v1'] }).catch((e: unknown) => e);
    expect(exitCodeFor(err)).toBe(2);
    expect((err as Error).message).toMatch(/ftp:\/\/x\/v1.*not an http\(s\) URL/);
  });

  it('an endpoint URL holding a password is refused without printing it; a probe failure names the endpoint that failed', async () => {
    const [a] = await twoSimulators();
    const db = path.join(tempDir(), 'cred.db');
    const cred = await generate({ db, n: 5, apiKey: 'k', endpoints: [a.url, 'http://user:secretpass123@127.0.0.1:9/v1'] }).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(cred)).toBe(2);
    expect((cred as Error).message).not.toContain('secretpass123');
    expect((cred as Error).message).toMatch(/endpoint 2.*credentials/);

    const down = await generate({ db, n: 5, apiKey: 'k', endpoints: [a.url, 'http://127.0.0.1:9/v1'] }).catch((e: unknown) => e);
    expect(exitCodeFor(down)).toBe(69);
    expect((down as Error).message).toContain('http://127.0.0.1:9/v1');
    expect((down as Error).message).not.toContain(a.url);
  }, 60_000);
});

describe('start-up order', () => {
  it('a --db that is a directory or not SQLite is refused before the probe: nothing is sent', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
    try {
      const dir = tempDir();
      const notSqlite = path.join(dir, 'notes.db');
      fs.writeFileSync(notSqlite, 'just some text, not a database\n'.repeat(200));
      for (const db of [dir, notSqlite]) {
        const err = await generate({ db, n: 5, apiKey: 'k', baseURL: url }).catch((e: unknown) => e);
        expect(exitCodeFor(err)).toBe(2);
      }
      expect(requests).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
