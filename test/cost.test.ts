/** Prices, cost and the budget caps, and the token counts they rest on. */
import { describe, expect, it } from 'vitest';
import { Budget } from '../pipeline/budget.ts';
import { costUsd, DEFAULT_PRICES, loadPriceFile, parsePriceFlag, PriceError, priceFor } from '../pipeline/llm/cost.ts';
import { encodingFor, TokenCounter } from '../pipeline/llm/tokens.ts';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { tempDir, writeTemp } from './helpers.ts';

describe('prices', () => {
  it('finds a dated model under its family, the longest name first', () => {
    expect(priceFor('gpt-4o-mini-2024-07-18', DEFAULT_PRICES)).toEqual(DEFAULT_PRICES['gpt-4o-mini']);
    expect(priceFor('gpt-4o-2024-08-06', DEFAULT_PRICES)).toEqual(DEFAULT_PRICES['gpt-4o']);
    expect(priceFor('gpt-4.1-nano', DEFAULT_PRICES)).toEqual(DEFAULT_PRICES['gpt-4.1-nano']);
    expect(priceFor('gpt-4oo', DEFAULT_PRICES)).toBeUndefined();
    expect(priceFor('deepseek-chat', DEFAULT_PRICES)).toBeUndefined();
  });

  it('costs tokens per million, the Batch API at half price unless the table says otherwise', () => {
    const price = { input: 0.15, output: 0.6 };
    expect(costUsd({ promptTokens: 1_000_000, completionTokens: 500_000 }, price)).toBeCloseTo(0.45, 10);
    expect(costUsd({ promptTokens: 1_000_000, completionTokens: 500_000 }, price, true)).toBeCloseTo(0.225, 10);
    expect(costUsd({ promptTokens: 1_000_000, completionTokens: 0 }, { ...price, batchInput: 0.1 }, true)).toBeCloseTo(0.1, 10);
  });

  it('reads a price file and says what is wrong with a bad one', () => {
    const dir = tempDir();
    const good = writeTemp(dir, 'p.json', JSON.stringify({ 'deepseek-chat': { input: 0.27, output: 1.1 } }));
    expect(priceFor('deepseek-chat', { ...DEFAULT_PRICES, ...loadPriceFile(good) })).toEqual({ input: 0.27, output: 1.1 });
    expect(() => loadPriceFile(writeTemp(dir, 'bad.json', '{"m": {"input": -1, "output": 2}}'))).toThrow(/bad\.json: m\.input/);
    expect(() => loadPriceFile(writeTemp(dir, 'typo.json', '{"m": {"inptu": 1, "output": 2}}'))).toThrow(PriceError);
    expect(() => loadPriceFile(writeTemp(dir, 'broken.json', '{'))).toThrow(/not valid JSON/);
    expect(parsePriceFlag('0.27,1.10')).toEqual({ input: 0.27, output: 1.1 });
    expect(() => parsePriceFlag('cheap')).toThrow(/INPUT,OUTPUT/);
  });
});

describe('Budget', () => {
  it('holds worst cases of requests in flight against the cap, and frees what they did not spend', () => {
    const b = new Budget({ maxCostUsd: 1 }, { costUsd: 0.5, requests: 10 });
    const first = b.start(0.2);
    expect(b.check(0.2)).toBeUndefined(); // 0.5 + 0.2 + 0.2 ≤ 1
    const second = b.start(0.2);
    expect(b.check(0.2)).toMatchObject({ reason: 'max-cost' }); // 0.5 + 0.4 + 0.2 > 1
    first(0.05);
    second(0.05);
    expect(b.spentUsd).toBeCloseTo(0.6, 10);
    expect(b.check(0.2)).toBeUndefined();
    expect(b.check(0.41)?.message).toMatch(/reached `maxCost` \$1: the run has spent \$0\.6000/);
  });

  it('counts requests of the whole run, in flight included', () => {
    const b = new Budget({ maxRequests: 12 }, { costUsd: 0, requests: 10 });
    b.start(0);
    expect(b.check(0)).toBeUndefined();
    b.start(0);
    expect(b.check(0)).toMatchObject({ reason: 'max-requests' });
    expect(new Budget({}).check(1e9)).toBeUndefined();
  });
});

describe('token counts', () => {
  it('match a plain tiktoken encoding exactly, cache or not', () => {
    const counter = new TokenCounter('cl100k_base');
    const plain = new Tiktoken(cl100k);
    const texts = [
      '请把下面这段话翻译成英文：今天天气很好，我们去公园散步吧。',
      '{"instruction": "写一首关于秋天的五言绝句。", "input": "", "output": "秋风吹落叶……"}\n\n  多个   空格\t和制表符',
      "It's 2024; numbers 1234567 and emoji 😀 mixed with 中文.",
    ];
    for (const t of texts) {
      expect(counter.count(t)).toBe(plain.encode(t).length);
      expect(counter.count(t)).toBe(plain.encode(t).length); // second time from the cache
    }
    expect(counter.countChat([{ role: 'user', content: texts[0]! }])).toBe(
      plain.encode(texts[0]!).length + plain.encode('user').length + 6,
    );
    expect(encodingFor('gpt-4o-mini')).toBe('o200k_base');
    expect(encodingFor('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encodingFor('qwen2.5-72b-instruct')).toBe('cl100k_base');
  });

  it('match js-tiktoken on generated text of every kind, in both encodings', () => {
    // Pieces the rank table has whole, pieces that need many merges (long CJK runs, rare scripts, bytes of
    // broken UTF-8 sequences), special-token text (counted as text), whitespace runs and digits.
    const alphabet = [
      ...'的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感',
      ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
      ...' \t\n\r',
      ...'，。！？；：“”‘’（）《》【】、…—·',
      ...'.,;:!?\'"()[]{}<>/\\|@#$%^&*-_=+~`',
      'ㄅ',
      'ㄆ',
      'あ',
      'カ',
      '한',
      'ไ',
      'ع',
      'ж',
      'é',
      'ß',
      '😀',
      '👍🏽',
      '👨‍👩‍👧',
      '𠮷',
      '\u200b',
      '\ufeff',
      '\ud800',
      '<|endoftext|>',
      '<|im_start|>',
      '   ',
      '\n\n\n',
      '1234567890',
      '。。。。',
      'https://example.com/a?b=1',
    ];
    let seed = 20261207;
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const texts: string[] = [];
    for (let i = 0; i < 400; i++) {
      let t = '';
      const length = 1 + Math.floor(random() * (i % 10 === 0 ? 400 : 60));
      // Runs of one kind make long pieces (a line of Chinese is one piece to the pattern).
      let kind = 0;
      for (let j = 0; j < length; j++) {
        if (random() < 0.2) kind = Math.floor(random() * 4);
        const pick =
          kind === 0 ? Math.floor(random() * 160) : kind === 1 ? 160 + Math.floor(random() * 62) : Math.floor(random() * alphabet.length);
        t += alphabet[Math.min(pick, alphabet.length - 1)];
      }
      texts.push(t);
    }
    for (const [name, ranks] of [
      ['cl100k_base', cl100k],
      ['o200k_base', o200k],
    ] as const) {
      const counter = new TokenCounter(name);
      const plain = new Tiktoken(ranks);
      const wrong = texts.filter((t) => counter.count(t) !== plain.encode(t, [], []).length);
      expect(wrong, name).toEqual([]);
    }
  });
});
