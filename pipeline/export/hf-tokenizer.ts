/**
 * A Hugging Face `tokenizer.json` (what a trainer's `AutoTokenizer.from_pretrained` loads) read with
 * @lenml/tokenizers, a port of transformers.js's tokenizers: the same normalizer, pre-tokenizer, added
 * tokens and model as the trainer's, and its chat template from the `tokenizer_config.json` beside it.
 *
 * Speed: the library's byte-pair merge (a heap of objects, pairs looked up by JSON.stringify) takes ~4 ms
 * for a 175-character Chinese row, ~70 minutes for a million. Counting byte-level BPE files (Qwen,
 * DeepSeek, LLaMA-3, GPT-2 style) goes through bpe-count.ts (no per-call objects, a cache of pre-token
 * counts), checked against the unpatched library on PROBES when built; other files are counted by the
 * library, whose merge step `fastMerge` replaces, for BPE models, with the same rule on numbered
 * symbols (bpe-merge.ts). test/tokenizer.test.ts checks both against an unpatched
 * instance.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { byteLevelCounter } from './bpe-count.ts';
import { buildMerges } from './bpe-merge.ts';

/** What a trainer's folder or a Hugging Face model repo holds, and how to get it when there is none. */
const HOW_TO_GET =
  "expected a Hugging Face tokenizer.json: use the one in the trainer's model folder (what from_pretrained loads) " +
  "or download it from the model's Hugging Face repo; for a model with only a SentencePiece .model, " +
  '`AutoTokenizer.from_pretrained(folder).save_pretrained(out)` writes one';

export interface TokenizerFile {
  /** The path read. */
  file: string;
  sha256: string;
  json: Record<string, unknown>;
  /** tokenizer_config.json beside it (chat template, special tokens), or null when there is none. */
  config: Record<string, unknown> | null;
}

/** Reads and checks a tokenizer.json; anything else is a usage error naming the file and what was expected. */
export function readTokenizerFile(file: string): TokenizerFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${file}: cannot read (${code}); ${HOW_TO_GET}`, { option: 'tokenizer' });
  }
  const bad = (what: string): UsageError =>
    new UsageError(`${file}: ${what}, not a tokenizer.json; ${HOW_TO_GET}`, { option: 'tokenizer' });
  const head = bytes.subarray(0, 64).toString('latin1').trimStart();
  if (!head.startsWith('{')) {
    // A SentencePiece model is a protobuf: its first byte is the field tag 0x0a, then binary.
    if (bytes[0] === 0x0a || file.endsWith('.model')) throw bad('a SentencePiece model (binary)');
    throw bad(bytes.subarray(0, 512).includes(0) ? 'a binary file' : 'not JSON');
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  const model = (json as { model?: unknown } | null)?.model;
  if (typeof json !== 'object' || json === null || typeof model !== 'object' || model === null || !('vocab' in model))
    throw bad('a JSON file without a "model" with a "vocab"');
  let config: Record<string, unknown> | null = null;
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  if (fs.existsSync(configFile)) {
    try {
      config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`${configFile}: not JSON (${(err as Error).message}); fix or remove it`, { option: 'tokenizer' });
    }
  }
  return { file, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), json: json as Record<string, unknown>, config };
}

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface HfTokenizer {
  /** Token ids of `text` alone, without BOS/EOS. */
  encode(text: string): number[];
  /** Tokens of `text` alone, without BOS/EOS (special-token text in it is read as the trainer reads it). */
  count(text: string): number;
  /** Tokens of the conversation rendered by the model's chat template, or null when it has none. */
  countChat: ((turns: readonly ChatTurn[]) => number) | null;
  /** How `count` counts: 'byte-level BPE' (bpe-count.ts) or 'library (why)'. */
  countPath: string;
}

/** The library's tokenizer, as far as this module uses it. */
interface Lenml {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  apply_chat_template(turns: ChatTurn[], options: { tokenize: boolean; return_tensor: false }): number[] | string;
  model?: unknown;
  chat_template?: unknown;
}

/** Builds the tokenizer; `fast` false keeps the library's own merge (what the tests compare with). */
export async function buildHfTokenizer(source: TokenizerFile, options: { fast?: boolean } = {}): Promise<HfTokenizer> {
  const { TokenizerLoader, tokenizers } = await import('@lenml/tokenizers');
  let tokenizer: Lenml;
  try {
    tokenizer = TokenizerLoader.fromPreTrained({
      tokenizerJSON: source.json as never,
      tokenizerConfig: (source.config ?? {}) as never,
    }) as unknown as Lenml;
  } catch (err) {
    throw new UsageError(`${source.file}: cannot build a tokenizer from it (${(err as Error).message}); ${HOW_TO_GET}`, {
      option: 'tokenizer',
    });
  }
  const libraryCount = (text: string): number => tokenizer.encode(text, { add_special_tokens: false }).length;
  let count = libraryCount;
  let countPath = 'library (fast counting off)';
  if (options.fast !== false) {
    // Checked before fastMerge patches the library: the probes compare with the library's own merge.
    const fast = byteLevelCounter(tokenizer, source.json, tokenizers.PreTrainedTokenizer.prototype);
    if ('unsupported' in fast) countPath = `library (${fast.unsupported})`;
    else {
      const differs = PROBES.find((text) => fast.count(text) !== libraryCount(text));
      if (differs === undefined) [count, countPath] = [fast.count, 'byte-level BPE'];
      else countPath = `library (the byte-level count differs on ${JSON.stringify(differs)})`;
    }
    fastMerge(tokenizer.model);
  }
  const hasTemplate = typeof source.config?.chat_template === 'string' || Array.isArray(source.config?.chat_template);
  return {
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }),
    count,
    countChat: hasTemplate ? chatCounter(tokenizer, count) : null,
    countPath,
  };
}

/**
 * Texts the byte-level count must agree on with the library before it is used, one per way it could
 * go wrong (a library update that changes a step it replicates would show here): scripts, digits,
 * whitespace runs, added-token text, contractions, emoji, combining marks, lone surrogates.
 */
export const PROBES: readonly string[] = [
  '今天的会议改到下午三点，请大家准时参加。',
  // The long s and fullwidth letters after an apostrophe: the library reads (?i:'s|…) as ASCII [sS] only.
  "It's a well-known fact: they'll say we'd've LOVED it! it'ſ so 'ＲＥ",
  'def area(r):\n    return 3.14159 * r ** 2\n\n\t# 注释\r\n',
  '2026年12月7日 共计1,234,567.89元 ＡＢＣ１２３',
  '表情😀👍🏽👨‍👩‍👧 还有 かな カナ 한국어 Ελληνικά русский',
  '   前后空格   \n\n\n  ',
  '<|im_start|>user\n你好<|im_end|>\n<|endoftext|><tool_call></tool_call><|im_end',
  'e\u0301 café Å \u212b',
  'bad \ud800 surrogates \udc00\ud83d end\ud83d',
  '啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊',
  '',
];

const MARK = /\uE000(\d+)\uE001/g;

/**
 * Counts a conversation as apply_chat_template(tokenize) does: the rendered text encoded without added
 * special tokens. Rendering through the library's Jinja interpreter costs ~8 ms a row (it builds objects
 * for every value), so each shape of conversation (its sequence of roles) is rendered once with marked
 * contents and the real contents are put in the marks' places. That is the template's own output as long
 * as it only inserts the contents: checked against a real rendering the first time a shape is seen (a
 * template that changes them renders every row of that shape), and contents a template may look into
 * (empty, surrounding whitespace it could trim, markup such as `</think>` it could split on) are always
 * rendered as they are.
 */
function chatCounter(tokenizer: Lenml, encode: (text: string) => number): (turns: readonly ChatTurn[]) => number {
  const render = (turns: readonly ChatTurn[]): string =>
    tokenizer.apply_chat_template([...turns], { tokenize: false, return_tensor: false }) as unknown as string;
  const join = (parts: readonly string[], turns: readonly ChatTurn[]): string => {
    let text = parts[0]!;
    for (let i = 0; i < turns.length; i++) text += turns[i]!.content + parts[i + 1]!;
    return text;
  };
  const shapes = new Map<string, string[] | null>();
  return (turns) => {
    const opaque = turns.every(
      (t) => t.content !== '' && t.content.trim() === t.content && !t.content.includes('<') && !/[\uE000\uE001]/.test(t.content),
    );
    if (!opaque) return encode(render(turns));
    const key = turns.map((t) => t.role).join(',');
    let parts = shapes.get(key);
    if (parts === undefined) {
      const marked = render(turns.map((t, i) => ({ role: t.role, content: `\uE000${i}\uE001` })));
      const order = [...marked.matchAll(MARK)].map((m) => Number(m[1]));
      parts = order.length === turns.length && order.every((m, i) => m === i) ? marked.split(MARK).filter((_, i) => i % 2 === 0) : null;
      if (parts !== null && join(parts, turns) !== render(turns)) parts = null;
      shapes.set(key, parts);
    }
    return encode(parts === null ? render(turns) : join(parts, turns));
  };
}

/** The fields of the library's BPE model that `fastMerge` reads (checked at run time: a library update may rename them). */
interface BpeModel {
  bpe: (token: string) => string[];
  bpe_ranks: Map<string, number>;
  merges: [string, string][];
  cache: { get(key: string): string[] | undefined; put(key: string, value: string[]): void };
  max_length_to_cache: number;
  end_of_word_suffix?: unknown;
  continuing_subword_suffix?: unknown;
}

function isBpe(model: unknown): model is BpeModel {
  const m = model as Partial<BpeModel> | null;
  // The library's models are callable (functions with fields).
  return (
    (typeof m === 'object' || typeof m === 'function') &&
    m !== null &&
    typeof m.bpe === 'function' &&
    m.bpe_ranks instanceof Map &&
    Array.isArray(m.merges) &&
    typeof m.cache?.get === 'function' &&
    !m.end_of_word_suffix &&
    !m.continuing_subword_suffix
  );
}

/**
 * Replaces the model's merge with bpe-merge.ts's on numbered symbols: the same rule (lowest rank first,
 * leftmost on ties, a later duplicate of a merge wins) and the same strings out, so the library's encode
 * around it (vocabulary lookup, unknown and byte-fallback tokens) is unchanged. A word with a character
 * no merge names keeps the library's merge.
 */
function fastMerge(model: unknown): void {
  if (!isBpe(model)) return;
  const built = buildMerges(model.merges, []);
  if (typeof built === 'string') return;
  const { symbolOf, names, merge } = built;
  const original = model.bpe.bind(model);
  let input = new Int32Array(256);
  model.bpe = (token: string): string[] => {
    if (token.length === 0) return [];
    const cached = model.cache.get(token);
    if (cached !== undefined) return cached;
    const chars = Array.from(token);
    if (chars.length < 2) return chars;
    if (input.length < chars.length) input = new Int32Array(chars.length * 2);
    for (let i = 0; i < chars.length; i++) {
      const id = symbolOf.get(chars[i]!);
      if (id === undefined) return original(token);
      input[i] = id;
    }
    merge.count(input, chars.length);
    const result = merge.symbols().map((id) => names[id]!);
    if (token.length < model.max_length_to_cache) model.cache.put(token, result);
    return result;
  };
}
