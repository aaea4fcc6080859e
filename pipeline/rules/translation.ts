/**
 * translation_damage: a task about a property of English text that its Chinese content does not have.
 * Machine translation of an English dataset turns `Capitalize every word: the sun is bright` into
 * `将句子中的每个单词大写 | 阳光明媚`: the task no longer makes sense, and any answer teaches nonsense.
 * Fires only when the input and the output have no Latin letter at all (the English content was
 * translated away); with the English kept (`把 apple 改成复数`) the task is fine. Covered: letters a word
 * starts with, alphabetical order, capital letters, letter counts, British/American spelling. Not
 * covered (not precise enough on the fixtures): tense and plural, which Chinese can express with words
 * (了, 们), rhyme, which Chinese has, and puns. Translated code keywords are `markup_garbage`.
 */
import { quoteMatch } from './evidence.ts';
import { anyOf } from './pattern.ts';
import type { Rule } from './types.ts';

const ENGLISH_PROPERTY = anyOf(
  'u',
  // 以字母 B 开头, 以“S”结尾
  String.raw`以(?:字母)?\s?[“"'‘「]?[A-Za-z][”"'’」]?\s?(?:字母)?(?:开头|开始|打头|结尾|结束)`,
  String.raw`(?:首字母|第一个字母)(?:是|为)\s?[“"'‘「]?[A-Za-z](?![A-Za-z])`,
  // 按字母顺序 (not 按拼音首字母, which is a Chinese order)
  String.raw`(?<!拼音)(?:按|以|依|照)(?:照)?(?:英文)?字母(?:表)?(?:的)?(?:顺序|排序|排列|先后)`,
  String.raw`(?<!拼音)字母(?:表)?顺序`,
  // capital letters
  String.raw`(?:首字母|每个(?:单)?词|单词|所有字母|全部字母|专有名词)[^，。？！\n]{0,6}?大写`,
  String.raw`(?:转换|改|变|转|写)(?:为|成)(?:全部?)?(?:大写|小写)(?:字母|形式)?`,
  String.raw`大小写|大写字母|小写字母|驼峰`,
  // letter counts, English spelling variants
  String.raw`(?:几|多少)个字母|字母(?:的)?(?:个数|数量|数目)`,
  String.raw`英式(?:英语|拼写)|美式(?:英语|拼写)`,
);
/** 大写 of Chinese numerals and amounts (壹贰叁) is a Chinese task. */
const CHINESE_CAPITALS = /数字|金额|人民币|汉字|中文大写|数目|钱|元|发票|支票/u;
/** An instruction that asks for English or spells out its own English content keeps the task sound. */
const ASKS_FOR_ENGLISH = /英文(?:单词|名称|名字|翻译)|英语(?:单词|名称|翻译)|翻译成英|译成英|拼音/u;
const LATIN = /[A-Za-z]/u;
/** Cheap gate: every branch needs one of these. */
const HINT = /字母|大写|小写|驼峰|英式|美式|开头|开始|打头|结尾|结束/u;

export const translationRule: Rule = ({ instruction, input, output }) => {
  if (LATIN.test(input) || LATIN.test(output) || output === '') return undefined;
  if (!HINT.test(instruction)) return undefined;
  const m = ENGLISH_PROPERTY.exec(instruction);
  if (m === null || ASKS_FOR_ENGLISH.test(instruction)) return undefined;
  if (/大写|小写/u.test(m[0]) && CHINESE_CAPITALS.test(instruction)) return undefined;
  return {
    reason: 'translation_damage',
    detail: `instruction ${quoteMatch(instruction, m)} is about English letters, and the input and output have none`,
  };
};
