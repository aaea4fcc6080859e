/**
 * The dataset card tells the truth about where the text came from: the "synthetic text" warning only
 * for runs the start-up probe found to be the built-in simulator (a vLLM or Ollama on localhost makes
 * real model text), the built-in seeds named with their count, and commands in the form every user
 * can run (`npx zh-self-instruct …`), in the card and in `stats`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../pipeline/commands/export.ts';
import { generate } from '../../pipeline/commands/generate.ts';
import { loadSeeds } from '../../pipeline/seeds.ts';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { tempDir } from '../helpers.ts';

let sim: Simulator;
let local: http.Server;
let localURL: string;

/**
 * A local OpenAI-compatible server that is not the simulator, as vLLM would be: its model list is its
 * own; chat completions are passed on to the simulator (their text does not matter here).
 */
function startLocalServer(target: Simulator): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'Qwen2.5-7B-Instruct', object: 'model', created: 0, owned_by: 'vllm' }] }));
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 11 });
  local = await startLocalServer(sim);
  localURL = `http://127.0.0.1:${(local.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise((resolve) => local?.close(resolve));
  await sim?.close();
});

async function cardOf(baseURL: string): Promise<{ db: string; card: string }> {
  const dir = tempDir();
  const db = path.join(dir, 'card.db');
  await generate({ db, n: 20, baseURL, apiKey: 'card-test' });
  const result = await exportDataset({ db, out: path.join(dir, 'exports'), format: 'alpaca' });
  if (result.kind !== 'written') throw new Error('nothing exported');
  return { db, card: fs.readFileSync(path.join(result.dir, 'README.md'), 'utf8') };
}

describe('the dataset card', () => {
  it('warns that the text is synthetic for a simulator run, and names the built-in seeds with their count', async () => {
    const { card } = await cardOf(sim.url);
    expect(card).toContain('**Made with the built-in simulator** (every run behind these rows)');
    expect(card).toContain(`- **Seeds:** zh_seed_tasks.jsonl (the ${loadSeeds().length} built-in seeds);`);
    expect(loadSeeds()).toHaveLength(175);
    expect(card).toContain('`npx zh-self-instruct report` draws these');
    expect(card).not.toContain('npm run');
  });

  it('does not warn for another server on localhost (vLLM, Ollama)', async () => {
    const { card } = await cardOf(localURL);
    expect(card).not.toContain('simulator');
    expect(card).not.toContain('synthetic, assembled from word lists');
    expect(card).toContain('zh_seed_tasks.jsonl (the 175 built-in seeds)');
  });

  it('stats points to the judge with the command an installed user can run', async () => {
    const { db } = await cardOf(sim.url);
    const r = await runCli(['stats', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(run npx zh-self-instruct judge)');
  });
});
