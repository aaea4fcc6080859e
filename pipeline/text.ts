/**
 * Text clean-up applied to every field before it is filtered, stored or compared. Every way text comes
 * in (replies, batch output, answers, dialogue turns, imports, seeds) goes through `cleanField`, so what
 * it removes never reaches the database's accepted rows or an export.
 */
import { unescapeEntities } from './entities.ts';
import type { Task } from './types.ts';

/**
 * Characters NFKC would damage in Chinese text: the full-width punctuation of Chinese typography
 * (，→ , ：→ :), the ideographic space, the ellipsis (… → ...), circled numbers, and superscripts,
 * subscripts and fractions, which carry meaning in formulas (x² is not x2). Everything else
 * (full-width letters, digits and symbols like ＋, compatibility ideographs, ligatures) is normalised.
 */
const NFKC_UNSAFE = /[\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f\u2025\u2026\u2460-\u24ff\u3000！（），．：；？～]/u;
const NFKC_SAFE_RUNS = new RegExp(`[^${NFKC_UNSAFE.source.slice(1, -1)}]+`, 'gu');

/** Markers models use for "this task has no input"; compared after trimming and lower-casing. */
const EMPTY_INPUT_MARKERS = new Set([
  '<无输入>',
  '＜无输入＞',
  '无输入',
  '无需输入',
  '不需要输入',
  '没有输入',
  '无输入。',
  '<无>',
  '无',
  '(无)',
  '（无）',
  '空',
  '<空>',
  '<noinput>',
  'noinput',
  'none',
  'n/a',
  'null',
  '<none>',
  '-',
]);

/**
 * Characters removed, per class (they carry no text, and a model must not learn to write them):
 * - C0 controls except tab and newline (NUL included), and DEL;
 * - zero-width characters (U+200B–U+200D, U+2060, U+FEFF, soft hyphen U+00AD); a zero-width joiner
 *   between two emoji is kept, since it is part of the emoji;
 * - bidirectional controls: embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, and the
 *   marks U+200E, U+200F, U+061C, which can make text display other than it reads.
 * Lone surrogates (half a character: the text lost something in decoding) become U+FFFD, and a field
 * with U+FFFD is rejected by `markup_garbage`: neither ever reaches an export.
 */
const REMOVED = /[\u0000-\u0008\u000b-\u001f\u007f\u00ad\u200b\u200c\u200e\u200f\u061c\u2060\ufeff\u202a-\u202e\u2066-\u2069]/gu;
const STRAY_JOINER = /(?<!\p{Extended_Pictographic}\ufe0f?)\u200d|\u200d(?!\p{Extended_Pictographic})/gu;
/** Without the u flag a regex sees code units, so a surrogate half without its partner matches. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Quick test: does `s` need `cleanCharacters` at all? */
const NEEDS_CHARACTER_CLEANING =
  /[\u0000-\u0008\u000b-\u001f\u007f\u00ad\u200b-\u200f\u061c\u2060\ufeff\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

/** `s` without the characters listed at REMOVED, and with lone surrogates as U+FFFD. */
export function cleanCharacters(s: string): string {
  if (!NEEDS_CHARACTER_CLEANING.test(s)) return s;
  return s.replace(LONE_SURROGATE, '\ufffd').replace(REMOVED, '').replace(STRAY_JOINER, '');
}

/**
 * A task about HTML entities or escaping quotes them on purpose (HTML里的&lt;表示什么？): its fields are
 * not unescaped.
 */
const ABOUT_ESCAPING = /实体|转义|字符引用|entit|escap|HTML\s?编码/iu;

export function isAboutEscaping(instruction: string): boolean {
  return ABOUT_ESCAPING.test(instruction);
}

/** NFKC everywhere it is safe (see NFKC_UNSAFE). */
export function safeNfkc(s: string): string {
  return s.replace(NFKC_SAFE_RUNS, (run) => run.normalize('NFKC'));
}

export interface CleanOptions {
  /** Decode HTML character references (`&quot;` → `"`). Default true; false for a task about escaping. */
  unescape?: boolean;
}

/** Unify line endings, decode HTML character references, remove invisible characters, safe NFKC, trim. */
export function cleanField(s: string, options: CleanOptions = {}): string {
  const lines = s.replace(/\r\n?/g, '\n');
  return safeNfkc(cleanCharacters(options.unescape === false ? lines : unescapeEntities(lines))).trim();
}

/** Quotes a marker may come in: “<无输入>”. */
const MARKER_QUOTES = /^[“"'「『]([^\n]{1,20})[”"'」』]$/u;

/** Like cleanField, but an empty-input marker becomes "". */
export function cleanInput(s: string, options: CleanOptions = {}): string {
  const cleaned = cleanField(s, options);
  const marker = (MARKER_QUOTES.exec(cleaned)?.[1] ?? cleaned).trim().toLowerCase();
  return EMPTY_INPUT_MARKERS.has(marker) ? '' : cleaned;
}

/**
 * A task as it is filtered, compared and stored, whatever brought it (reply, batch, import, `dedup`):
 * every field cleaned, empty-input markers turned into "".
 */
export function cleanTask(raw: Task): Task {
  const options: CleanOptions = { unescape: !isAboutEscaping(raw.instruction) };
  const task: Task = {
    instruction: cleanField(raw.instruction, options),
    input: cleanInput(raw.input, options),
    output: cleanField(raw.output, options),
  };
  if (raw.category) task.category = cleanField(raw.category);
  return task;
}

/** Length in characters (code points), which is what a Chinese reader counts. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
