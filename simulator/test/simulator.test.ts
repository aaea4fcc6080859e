/**
 * The simulator: composer diversity and determinism, every reply shape against the real parser,
 * near-duplicates and junk against the real filters, and the HTTP server through the real `openai`
 * client (shapes, streaming, usage, faults, close with a request in flight).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupKey, similarity } from '../../pipeline/dedup/similarity.ts';
import { checkTask, type RejectReason } from '../../pipeline/rules/index.ts';
import { parseReply } from '../../pipeline/parse.ts';
import { cleanField, cleanInput } from '../../pipeline/text.ts';
import { createComposer, type SimTask } from '../composer.ts';
import { estimateTokens, taskCount } from '../completions.ts';
import { JUNK_KINDS, makeJunk, nearDuplicate, type JunkKind } from '../noise.ts';
import { createRng } from '../random.ts';
import { REPLY_SHAPES, cutInsideItem, garbageReply, layoutReply, renderReply, type ReplyShape } from '../replies.ts';
import { startSimulator, type Simulator } from '../server.ts';

const NON_TEXT_WORDS = ['图片', '图像', '照片', '视频', '音频', '音乐', '绘制', '画一', '流程图', '图表', '链接', '网址', '文件', '附件'];
const chars = (s: string): number => [...s].length;

/** What the pipeline does before filtering. */
function cleaned(t: { instruction: string; input: string; output: string }): { instruction: string; input: string; output: string } {
  return { instruction: cleanField(t.instruction), input: cleanInput(t.input), output: cleanField(t.output) };
}

function compose(seed: number, n: number): SimTask[] {
  const c = createComposer(seed);
  return Array.from({ length: n }, () => c.compose());
}

// ---------------------------------------------------------------------------------------------------

describe('composer', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(compose(42, 300)).toEqual(compose(42, 300));
    const other = compose(43, 300);
    expect(compose(42, 300).filter((t, i) => t.instruction === other[i]!.instruction).length).toBeLessThan(10);
  });

  it('makes tasks the filters keep: lengths, no non-text words, mostly Chinese, 35–40% with input', () => {
    const tasks = compose(7, 5000);
    for (const t of tasks) {
      expect(chars(t.instruction), t.instruction).toBeGreaterThanOrEqual(8);
      expect(chars(t.instruction), t.instruction).toBeLessThanOrEqual(120);
      expect(t.instruction, t.instruction).toMatch(/^[\p{Script=Han}A-Za-z0-9]/u);
      expect(
        NON_TEXT_WORDS.filter((w) => t.instruction.includes(w)),
        t.instruction,
      ).toEqual([]);
      expect(chars(t.output), t.output).toBeGreaterThanOrEqual(40);
      expect(chars(t.output), t.output).toBeLessThanOrEqual(300);
      expect(t.output).not.toMatch(/ChatGPT|OpenAI|GPT|AI模型|语言模型/i);
      expect(t.category).not.toBe('');
      const verdict = checkTask(cleaned(t));
      expect(verdict, `${t.instruction} → ${JSON.stringify(verdict)}`).toEqual({ ok: true });
    }
    const withInput = tasks.filter((t) => t.input !== '').length / tasks.length;
    expect(withInput).toBeGreaterThan(0.33);
    expect(withInput).toBeLessThan(0.42);
    expect(new Set(tasks.map((t) => t.category)).size).toBeGreaterThanOrEqual(12);
  });

  it('is diverse: greedy near-duplicate filtering keeps ≥ 90% of 1,000 tasks', () => {
    const kept: string[] = [];
    for (const t of compose(3, 1000)) {
      const key = dedupKey(t);
      if (!kept.some((k) => similarity(k, key) >= 0.7)) kept.push(key);
    }
    expect(kept.length).toBeGreaterThanOrEqual(900);
  });

  it('rarely repeats a key: ≥ 9,900 unique keys in 10,000 tasks', () => {
    expect(new Set(compose(11, 10_000).map(dedupKey)).size).toBeGreaterThanOrEqual(9_900);
  });
});

// ---------------------------------------------------------------------------------------------------

/** Tasks that exercise the renderers: empty and multi-line inputs, multi-line outputs, quotes. */
function sampleTasks(seed: number): SimTask[] {
  const tasks = compose(seed, 10);
  tasks.push({
    instruction: '解释下面这段代码',
    input: 'print("你好")\nx = {"a": [1, 2]}',
    output: '它打印“你好”。\n然后定义一个字典：{"a": [1, 2]}。',
    category: '编程',
  });
  return tasks;
}

/** The JSON value(s) inside a reply, parsed back without the pipeline. */
function jsonItems(text: string, shape: ReplyShape): Record<string, unknown>[] {
  const unwrap = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? (v as Record<string, unknown>[]) : (Object.values(v as object).find(Array.isArray) as Record<string, unknown>[]);
  if (shape === 'jsonl') return text.split('\n').map((line) => JSON.parse(line.replace(/^\d+\.\s*/, '')) as Record<string, unknown>);
  if (shape === 'fenced') return unwrap(JSON.parse(/```json\n([\s\S]*?)\n```/.exec(text)![1]!));
  return unwrap(JSON.parse(text));
}

function fromItem(item: Record<string, unknown>): { instruction: unknown; input: unknown; output: unknown } {
  return { instruction: item.instruction ?? item['指令'], input: item.input ?? item['输入'], output: item.output ?? item['输出'] };
}

const fields = (t: SimTask): { instruction: string; input: string; output: string } => ({
  instruction: t.instruction,
  input: t.input,
  output: t.output,
});

describe('reply shapes', () => {
  it.each(REPLY_SHAPES.map((s) => [s]))('%s: the pipeline parser reads back exactly the tasks', (shape) => {
    for (let seed = 1; seed <= 30; seed++) {
      const tasks = sampleTasks(seed);
      const text = renderReply(tasks, shape, createRng(seed));
      const parsed = parseReply(text, 'stop');
      expect(parsed.problems).toEqual([]);
      expect(parsed.tasks.map(cleaned)).toEqual(tasks.map((t) => cleaned(fields(t))));
    }
  });

  it.each(REPLY_SHAPES.filter((s) => s !== 'alpaca-text').map((s) => [s]))('%s: plain JSON.parse gives back the tasks', (shape) => {
    const keySets = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const tasks = sampleTasks(seed);
      const text = renderReply(tasks, shape, createRng(seed));
      const items = jsonItems(text, shape);
      keySets.add(Object.keys(items[0]!).slice(0, 3).join(','));
      expect(items.map(fromItem)).toEqual(tasks.map(fields));
    }
    // English and Chinese field names both occur.
    expect(keySets).toContain('instruction,input,output');
    expect(keySets).toContain('指令,输入,输出');
  });

  it('varies what models vary: wrapper keys, pretty and compact JSON, chatter, numbering, colons and empty-input markers', () => {
    const wrappers = new Set<string>();
    const looks = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const tasks = sampleTasks(seed);
      const wrapped = JSON.parse(renderReply(tasks, 'json-wrapped', createRng(seed))) as Record<string, unknown>;
      wrappers.add(Object.keys(wrapped).find((k) => Array.isArray(wrapped[k]))!);
      const array = renderReply(tasks, 'json-array', createRng(seed));
      looks.add(array.includes('\n') ? 'pretty' : 'compact');
      const fenced = renderReply(tasks, 'fenced', createRng(seed));
      expect(fenced).toMatch(/^[^\n`]+\n\n```json\n[\s\S]+\n```/);
      const jsonl = renderReply(tasks, 'jsonl', createRng(seed));
      looks.add(/^1\. \{/.test(jsonl) ? 'numbered' : 'plain-lines');
      const alpaca = renderReply(tasks, 'alpaca-text', createRng(seed));
      expect(alpaca).toMatch(/^(?:.*\n\n)?1\. 指令[：:]/);
      expect(alpaca).toContain('###');
      if (/2\. 指令：/.test(alpaca)) looks.add('full-width colon');
      if (/2\. 指令:/.test(alpaca)) looks.add('ascii colon');
      for (const marker of ['<无输入>', '无输入', '无']) if (new RegExp(`\\d\\. 输入[：:]\\s?${marker}\\n`).test(alpaca)) looks.add(marker);
    }
    expect(wrappers).toEqual(new Set(['tasks', 'data', 'items', '任务', 'results']));
    expect(looks).toEqual(
      new Set(['pretty', 'compact', 'numbered', 'plain-lines', 'full-width colon', 'ascii colon', '<无输入>', '无输入', '无']),
    );
  });

  it.each(REPLY_SHAPES.map((s) => [s]))('%s: a reply cut inside an item yields exactly the items before the cut', (shape) => {
    for (let seed = 1; seed <= 30; seed++) {
      const tasks = sampleTasks(seed);
      const rng = createRng(seed);
      const layout = layoutReply(tasks, shape, rng);
      const cut = cutInsideItem(layout, rng);
      expect(cut.complete).toBeGreaterThanOrEqual(1);
      expect(cut.complete).toBeLessThan(tasks.length);
      const parsed = parseReply(cut.text, 'length');
      expect(parsed.tasks.map(cleaned)).toEqual(tasks.slice(0, cut.complete).map((t) => cleaned(fields(t))));
    }
  });

  it('garbage replies hold no task at all', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const text = garbageReply(createRng(seed));
      expect(text.length).toBeGreaterThan(20);
      expect(parseReply(text).tasks).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

const EXPECTED_REASON: Record<JunkKind, RejectReason> = {
  non_text: 'needs_non_text',
  refusal: 'refusal',
  empty_output: 'empty_output',
  output_equals_input: 'output_equals_input',
  leading_punctuation: 'starts_with_punctuation',
  not_chinese: 'not_chinese',
  too_short: 'instruction_too_short',
  too_long: 'instruction_too_long',
};

describe('noise', () => {
  it.each(JUNK_KINDS.map((k) => [k]))('junk of kind %s is rejected by the matching filter', (kind) => {
    const rng = createRng(5);
    for (const base of compose(5, 300)) {
      const junk = makeJunk(kind, base, rng);
      const verdict = checkTask(cleaned(junk));
      expect(verdict.ok, JSON.stringify(junk)).toBe(false);
      if (!verdict.ok) expect(verdict.reason, JSON.stringify(junk)).toBe(EXPECTED_REASON[kind]);
    }
  });

  it('near-duplicates pass the filters and are ≥ 0.7 similar to their original; some are exact repeats', () => {
    const rng = createRng(8);
    let exact = 0;
    for (const original of compose(8, 3000)) {
      const copy = nearDuplicate(original, rng);
      expect(checkTask(cleaned(copy)), copy.instruction).toEqual({ ok: true });
      const sim = similarity(dedupKey(copy), dedupKey(original));
      expect(sim, `${original.instruction} → ${copy.instruction}`).toBeGreaterThanOrEqual(0.7);
      if (sim === 1) exact++;
    }
    expect(exact).toBeGreaterThan(3000 * 0.25);
    expect(exact).toBeLessThan(3000 * 0.6);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('the HTTP server through the openai client', () => {
  let sim: Simulator;
  let client: OpenAI;
  const ask = (n: string): OpenAI.Chat.ChatCompletionMessageParam[] => [
    { role: 'system', content: '你是一个数据标注助手。' },
    { role: 'user', content: `请参考示例，写出${n}新任务。` },
  ];

  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, junkRate: 0, nearDuplicateRate: 0 });
    client = new OpenAI({ apiKey: 'test', baseURL: sim.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a chat completion in the real shape, with usage from the documented estimate', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('7 个') });
    expect(r.id).toMatch(/^chatcmpl-[A-Za-z0-9]{24}$/);
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('gpt-4o-mini');
    expect(Math.abs(r.created - Date.now() / 1000)).toBeLessThan(60);
    const choice = r.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.finish_reason).toBe('stop');
    const content = choice.message.content!;
    expect(parseReply(content, 'stop').tasks).toHaveLength(7);
    expect(r.usage!.completion_tokens).toBe(estimateTokens(content));
    expect(r.usage!.prompt_tokens).toBeGreaterThan(estimateTokens('请参考示例，写出 7 个新任务。'));
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it('makes as many tasks as the prompt asks for (default 20, at most 100)', async () => {
    for (const [phrase, expected] of [
      ['1 条', 1],
      ['13 道', 13],
      ['33项', 33],
      ['一些', 20],
      ['150 个', 100],
    ] as const) {
      const r = await client.chat.completions.create({ model: 'm', messages: ask(phrase) });
      expect(parseReply(r.choices[0]!.message.content!).tasks, phrase).toHaveLength(expected);
    }
    // The last user message counts, and in it the first "N 个/条/道/项".
    expect(
      taskCount([
        { role: 'user', content: '写 5 个' },
        { role: 'assistant', content: '好' },
        { role: 'user', content: '再写 8 条，每条 3 个字段' },
      ]),
    ).toBe(8);
  });

  it('streams chat.completion.chunk deltas, a finish reason, a usage chunk and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-3.5-turbo',
      messages: ask('4 个'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.id).toMatch(/^chatcmpl-/);
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(parseReply(content).tasks).toHaveLength(4);
    expect(usage!.completion_tokens).toBe(estimateTokens(content));

    const raw = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: ask('2 个'), stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await raw.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body).not.toContain('"usage"');
  });

  it('cuts the reply to max_tokens and says finish_reason length', async () => {
    const r = await client.chat.completions.create({ model: 'm', messages: ask('10 个'), max_tokens: 120 });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(120);
    expect(parseReply(r.choices[0]!.message.content!, 'length').tasks.length).toBeLessThan(10);
  });

  it('lists models', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-3.5-turbo', 'gpt-4o-mini']));
  });

  it('rejects a body without messages (400) and unknown routes (404), OpenAI-shaped', async () => {
    await expect(client.chat.completions.create({ model: 'm' } as never)).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const res = await fetch(`${sim.url}/nowhere`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('/v1/nowhere');
    const bad = await fetch(`${sim.url}/chat/completions`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
  });

  it('counts requests by outcome', () => {
    const s = sim.stats();
    expect(s.requests).toBe(Object.values(s.outcomes).reduce((a, b) => a + b, 0));
    expect(s.outcomes.bad_request).toBe(2);
    expect(s.outcomes.not_found).toBe(1);
    expect(s.outcomes.truncated).toBe(1);
    expect(s.nearDuplicatesEmitted).toBe(0);
  });
});

describe('faults and options', () => {
  const opened: Simulator[] = [];
  const start = async (options: Parameters<typeof startSimulator>[0]): Promise<Simulator> => {
    const s = await startSimulator(options);
    opened.push(s);
    return s;
  };
  const clientFor = (s: Simulator, timeout?: number): OpenAI =>
    new OpenAI({ apiKey: 'test', baseURL: s.url, maxRetries: 0, ...(timeout ? { timeout } : {}) });
  const messages = [{ role: 'user' as const, content: '写 6 个任务' }];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });

  it('429 surfaces as RateLimitError with retry-after headers', async () => {
    const s = await start({ faults: { rateLimit429: 1 } });
    const err = await clientFor(s)
      .chat.completions.create({ model: 'm', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(Number(e.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(e.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(s.stats().outcomes.rate_limited).toBe(1);
  });

  it('500 surfaces as InternalServerError', async () => {
    const s = await start({ faults: { serverError500: 1 } });
    await expect(clientFor(s).chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect(s.stats().outcomes.server_error).toBe(1);
  });

  it('truncate cuts the reply mid-item with finish_reason length', async () => {
    const s = await start({ seed: 3, faults: { truncate: 1 }, junkRate: 0, nearDuplicateRate: 0 });
    for (let i = 0; i < 5; i++) {
      const r = await clientFor(s).chat.completions.create({ model: 'm', messages });
      expect(r.choices[0]!.finish_reason).toBe('length');
      const parsed = parseReply(r.choices[0]!.message.content!, 'length');
      expect(parsed.tasks.length).toBeLessThan(6);
      expect(parsed.tasks.length).toBeGreaterThanOrEqual(1);
    }
    expect(s.stats().outcomes.truncated).toBe(5);
    expect(s.stats().tasksEmitted).toBeLessThan(30);
  });

  it('garbage gives a reply with no parseable task', async () => {
    const s = await start({ faults: { garbage: 1 } });
    const r = await clientFor(s).chat.completions.create({ model: 'm', messages });
    expect(parseReply(r.choices[0]!.message.content!).tasks).toEqual([]);
    expect(s.stats()).toMatchObject({ tasksEmitted: 0, outcomes: { garbage: 1 } });
  });

  it('close() finishes while a request hangs, and the hung client times out on its own', async () => {
    const s = await start({ faults: { hang: 1 } });
    await expect(clientFor(s, 300).chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    const pending = clientFor(s, 60_000)
      .chat.completions.create({ model: 'm', messages })
      .catch((e: unknown) => e);
    while (s.stats().outcomes.hang < 2) await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    await s.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('requireApiKey answers 401 without the right bearer token', async () => {
    const s = await start({ requireApiKey: 'test-key-right' });
    await expect(new OpenAI({ apiKey: 'test-key-wrong', baseURL: s.url, maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const ok = await new OpenAI({ apiKey: 'test-key-right', baseURL: s.url, maxRetries: 0 }).chat.completions.create({
      model: 'm',
      messages,
    });
    expect(ok.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(s.stats().outcomes).toMatchObject({ unauthorized: 1, ok: 1 });
  });

  it('mixes in near-duplicates of earlier tasks and junk of every kind at the configured rates', async () => {
    const s = await start({ seed: 12, nearDuplicateRate: 0.2, junkRate: 0.2 });
    const client = clientFor(s);
    const seen: string[] = [];
    let similarToEarlier = 0;
    for (let i = 0; i < 15; i++) {
      const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: '写 20 个任务' }] });
      for (const t of parseReply(r.choices[0]!.message.content!).tasks) {
        const key = dedupKey(cleaned(t));
        if (seen.some((k) => similarity(k, key) >= 0.7)) similarToEarlier++;
        seen.push(key);
      }
    }
    const stats = s.stats();
    expect(stats.tasksEmitted).toBe(300);
    expect(stats.nearDuplicatesEmitted).toBeGreaterThan(30);
    expect(stats.nearDuplicatesEmitted).toBeLessThan(90);
    // Every near-duplicate is ≥ 0.7 similar to something emitted before it.
    expect(similarToEarlier).toBeGreaterThanOrEqual(stats.nearDuplicatesEmitted);
    expect(similarToEarlier).toBeLessThan(stats.nearDuplicatesEmitted + 30);
    const junk = Object.values(stats.junkEmitted);
    expect(junk.reduce((a, b) => a + b, 0)).toBeGreaterThan(30);
    expect(junk.filter((n) => n > 0).length).toBeGreaterThanOrEqual(6);
  });

  it('the same seed gives the same replies; shape weights choose the shape; latency delays answers', async () => {
    const contents = async (s: Simulator): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++)
        out.push((await clientFor(s).chat.completions.create({ model: 'm', messages })).choices[0]!.message.content!);
      return out;
    };
    expect(await contents(await start({ seed: 99 }))).toEqual(await contents(await start({ seed: 99 })));

    const alpaca = await start({ shapes: { 'alpaca-text': 1 } });
    for (const c of await contents(alpaca)) expect(c).toMatch(/^(?:.*\n\n)?1\. 指令/);

    const slow = await start({ latencyMs: 200 });
    const t0 = performance.now();
    await clientFor(slow).chat.completions.create({ model: 'm', messages });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('rejects bad options', async () => {
    await expect(startSimulator({ junkRate: 2 })).rejects.toThrow(/junkRate/);
    await expect(startSimulator({ faults: { hang: -1 } })).rejects.toThrow(/faults.hang/);
    await expect(startSimulator({ shapes: { fenced: 0 } })).rejects.toThrow(/shapes/);
  });
});
