/**
 * Batch result lines are provider output: readResultLine reads a chat line and an embeddings line the
 * way the online client reads a reply, and turns anything else into a failed line, never a throw.
 */
import { describe, expect, it } from 'vitest';
import { inputLine, readResultLine } from '../pipeline/runtime/batch.ts';

const at = '2026-12-07T00:00:00.000Z';
const chat = () => ({ maxTokens: 100 });
const embeddings = (count: number) => () => ({ maxTokens: 0, embeddings: { count } });

function line(body: unknown, status = 200): string {
  return JSON.stringify({ custom_id: 'zhsi-7', response: { status_code: status, body }, error: null });
}

describe('readResultLine', () => {
  it('reads a chat completion line', () => {
    const r = readResultLine(
      line({
        choices: [{ message: { content: '好' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
      at,
      chat,
    );
    expect(r?.lineId).toBe(7);
    expect(r?.result).toMatchObject({ kind: 'reply', reply: { content: '好', usage: { promptTokens: 3, completionTokens: 1 } } });
  });

  it('reads an embeddings line into vectors, in index order', () => {
    const body = {
      data: [
        { index: 1, embedding: [0, 2] },
        { index: 0, embedding: [1, 0] },
      ],
      usage: { prompt_tokens: 5, total_tokens: 5 },
    };
    const r = readResultLine(line(body), at, embeddings(2));
    expect(r?.result.kind).toBe('reply');
    if (r?.result.kind !== 'reply' || !('vectors' in r.result.reply)) throw new Error('not embeddings');
    expect(r.result.reply.vectors.map((v) => [...v])).toEqual([
      [1, 0],
      [0, 2],
    ]);
    expect(r.result.reply.usage).toEqual({ promptTokens: 5, completionTokens: 0, totalTokens: 5 });
  });

  it('turns unusable embeddings into a failed line: no data, too few, NaN (null in JSON), zero, mixed dimensions', () => {
    const bad = [
      {},
      { data: [{ index: 0, embedding: [1, 0] }] },
      { data: [{ embedding: [1, null] }, { embedding: [0, 1] }] },
      { data: [{ embedding: [0, 0] }, { embedding: [0, 1] }] },
      { data: [{ embedding: [1, 0, 0] }, { embedding: [0, 1] }] },
    ];
    for (const body of bad) {
      const r = readResultLine(line(body), at, embeddings(2));
      expect(r?.result.kind, JSON.stringify(body)).toBe('failed');
    }
  });

  it('never throws: not JSON, a wrong shape, an error line', () => {
    expect(readResultLine('{"custom_id": "zhsi-1", "response": ', at, chat)).toBeUndefined();
    expect(readResultLine(JSON.stringify({ custom_id: 'zhsi-1', response: { status_code: 'x' } }), at, chat)?.result.kind).toBe('failed');
    const expired = JSON.stringify({ custom_id: 'zhsi-2', response: null, error: { code: 'batch_expired', message: 'late' } });
    expect(readResultLine(expired, at, chat)?.result).toMatchObject({ kind: 'failed', error: 'batch_expired: late' });
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => readResultLine(deep, at, embeddings(1))).not.toThrow();
  });
});

describe('inputLine', () => {
  it('writes a chat line with messages, and an embeddings line with the params alone', () => {
    const c = JSON.parse(inputLine(3, '{"model":"m","max_tokens":9}', '[{"role":"user","content":"你好"}]'));
    expect(c).toEqual({
      custom_id: 'zhsi-3',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'm', max_tokens: 9, messages: [{ role: 'user', content: '你好' }] },
    });
    const e = JSON.parse(inputLine(4, '{"model":"e","input":["一","二"]}', 'null', '/v1/embeddings'));
    expect(e).toEqual({ custom_id: 'zhsi-4', method: 'POST', url: '/v1/embeddings', body: { model: 'e', input: ['一', '二'] } });
  });
});
