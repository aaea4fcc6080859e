/**
 * Pure text analysis of instructions, on words already tagged by a segmenter (segmenter.ts): the
 * leading verb and its object (the Self-Instruct paper's verb–noun sunburst), opening phrases, distinct-2
 * and the entropy of the leading verbs. Every function is total and linear in its input. Both readers of the
 * store use it: the report and the dataset card.
 */

/** A word and its part-of-speech tag (jieba / ICTCLAS tag set: v verb, n noun, m numeral, p preposition…). */
export interface TaggedWord {
  word: string;
  tag: string;
}

/** Words read before the verb that are not the task itself: politeness, modal verbs, "you", "help me". */
const PREFIX = new Set([
  '请',
  '请你',
  '请您',
  '你',
  '您',
  '能',
  '能否',
  '可以',
  '可否',
  '帮',
  '帮我',
  '帮忙',
  '我',
  '我们',
  '麻烦',
  '麻烦你',
  '试着',
  '来',
  '要',
  '需要',
  '想',
  '希望',
  '现在',
  '接下来',
  '首先',
]);
/** Determiners jieba often tags as verbs (下列 → v): never a leading verb. */
const DETERMINERS = new Set(['下列', '以下', '下面', '如下', '上述', '给定', '这', '这个', '这些', '该', '此', '所给', '给出的']);
/** Light verbs whose real meaning is the noun after them: 对文本进行分类 → 分类. */
const LIGHT_VERBS = new Set(['进行', '做', '做出', '作出', '加以', '给予', '完成']);
/** Words jieba tags as nouns or idioms that instructions use as verbs. */
const VERB_LIKE = new Set([
  '总结',
  '翻译',
  '分类',
  '解释',
  '描述',
  '概括',
  '计算',
  '改写',
  '润色',
  '推荐',
  '比较',
  '分析',
  '评价',
  '介绍',
  '设计',
  '创作',
]);
/** 把/将/对 introduce the object before the verb. */
const OBJECT_FIRST = new Set(['把', '将', '对']);
/** How many words from the start the leading verb is looked for in. */
const VERB_WINDOW = 16;
/** Punctuation that ends a sentence: the verb is looked for in the first sentence only (commas do not end it). */
const SENTENCE_END = /^[。？！?!；;]+$/;
/** How many words after the verb its object is looked for in. */
const OBJECT_WINDOW = 8;

export const NO_VERB = '(无动词)';

export interface VerbObject {
  /** The leading verb, or NO_VERB. */
  verb: string;
  /** Its object noun, or null when none was found near the verb. */
  object: string | null;
}

const isPunct = (w: TaggedWord): boolean => w.tag === 'x' || w.tag === 'w' || /^[\p{P}\p{S}\s]+$/u.test(w.word);
const isVerb = (w: TaggedWord): boolean =>
  (w.tag.startsWith('v') && w.tag !== 'vn') || VERB_LIKE.has(w.word) || (w.tag === 'l' && VERB_LIKE.has(verbStem(w.word)));
const isNoun = (w: TaggedWord): boolean =>
  w.tag.startsWith('n') || w.tag === 'vn' || w.tag === 'j' || w.tag === 'l' || w.tag === 't' || w.tag === 'eng';

/** 翻译成 → 翻译, 改写为 → 改写: a verb with a result complement counts as the verb. */
function verbStem(word: string): string {
  if (word.length >= 3 && /[成为到]$/.test(word)) {
    const stem = word.slice(0, -1);
    if (VERB_LIKE.has(stem) || stem.length >= 2) return stem;
  }
  return word;
}

/**
 * The leading verb of an instruction and the noun it acts on: skip politeness and modal words, take the
 * first verb of the first sentence (within its first words) (a light verb hands over to the noun after it), then the last noun of the
 * phrase after it (写一篇关于环保的短文 → 写 / 短文), or the noun of a 把/将/对 phrase before it.
 */
export function leadingVerb(words: readonly TaggedWord[]): VerbObject {
  let i = 0;
  let fronted: string | null = null;
  let inFronted = false;
  const end = Math.min(words.length, VERB_WINDOW);
  for (; i < end; i++) {
    const w = words[i]!;
    if (isPunct(w)) {
      // Context often comes first (我孩子回家问了我，可以介绍…): only the end of a sentence ends the search.
      if (SENTENCE_END.test(w.word.trim()) && i > 0) break;
      inFronted = false;
      continue;
    }
    if (PREFIX.has(w.word) || DETERMINERS.has(w.word) || w.word === '是否') continue;
    if (OBJECT_FIRST.has(w.word)) {
      inFronted = true;
      continue;
    }
    if (isVerb(w)) {
      let verb = verbStem(w.word);
      let j = i + 1;
      if (LIGHT_VERBS.has(verb) && j < words.length && isNoun(words[j]!)) {
        verb = words[j]!.word;
        j++;
      }
      return { verb, object: fronted ?? objectAfter(words, j) };
    }
    if (inFronted && isNoun(w)) fronted = w.word;
  }
  return { verb: NO_VERB, object: null };
}

function objectAfter(words: readonly TaggedWord[], from: number): string | null {
  let object: string | null = null;
  const end = Math.min(words.length, from + OBJECT_WINDOW);
  for (let k = from; k < end; k++) {
    const w = words[k]!;
    if (isPunct(w)) break;
    // A second verb ends the phrase once it has a noun (给出建议并解释 → 建议); 是 inside 什么是X does not.
    if (isVerb(w) && object !== null && w.word !== '是') break;
    if (isNoun(w) && !DETERMINERS.has(w.word)) object = w.word;
  }
  return object;
}

/** The first two words that are not punctuation, joined: 生成/一个 → 生成一个, 请/解释 → 请解释. */
export function openingPhrase(words: readonly TaggedWord[]): string {
  let phrase = '';
  let taken = 0;
  for (const w of words) {
    if (isPunct(w)) {
      if (taken === 0) continue;
      break;
    }
    phrase += w.word;
    if (++taken === 2) break;
  }
  return phrase;
}

/** Counts of each value, largest first, ties by value so the order is stable. */
export function ranked(counts: ReadonlyMap<string, number>): { name: string; count: number }[] {
  return [...counts.entries()]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Shannon entropy in bits of a distribution given by counts; 0 for none or one value. */
export function entropyBits(counts: Iterable<number>): number {
  let total = 0;
  const values: number[] = [];
  for (const c of counts) {
    if (c > 0) {
      values.push(c);
      total += c;
    }
  }
  let h = 0;
  for (const c of values) {
    const p = c / total;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * distinct-2: distinct word bigrams over all word bigrams of the texts (punctuation left out), the
 * diversity measure of Li et al. 2016. It falls as the corpus grows, so compare it on samples of one size.
 */
export function distinct2(texts: Iterable<readonly TaggedWord[]>): { distinct: number; total: number; value: number } {
  const seen = new Set<string>();
  let total = 0;
  for (const words of texts) {
    let prev: string | null = null;
    for (const w of words) {
      if (isPunct(w)) {
        prev = null;
        continue;
      }
      if (prev !== null) {
        total++;
        seen.add(`${prev}\u0000${w.word}`);
      }
      prev = w.word;
    }
  }
  return { distinct: seen.size, total, value: total === 0 ? 0 : seen.size / total };
}
