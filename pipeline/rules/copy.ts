/**
 * output_equals_input: the answer repeats its input (ignoring case, spacing and full-width forms) though
 * the task asks for a change. Not when the right answer may be the input itself: correcting errors in a
 * sentence that has none, sorting a list already in order, picking out the one sentence given, or a
 * change asked for only "if needed". Tasks about English forms (tense, capitals, plural) are not excused:
 * their Chinese input cannot show the change, so the copy is a translation's damage.
 */
import { normalize } from '../dedup/similarity.ts';
import { quote } from './evidence.ts';
import { anyOf } from './pattern.ts';
import type { Rule } from './types.ts';

/** Normalised prefixes this long settle most pairs without normalising whole outputs. */
const PREFIX = 32;
/** Characters at the end of a prefix that normalising (NFKC, spacing) of the cut may have changed. */
const SLACK = 4;

/** Tasks whose right answer can be the input unchanged. */
const MAY_NOT_CHANGE = anyOf(
  'u',
  // correct the errors, if any
  String.raw`(?:改正|纠正|更正|修正|修改|校对|检查|编辑|修复|找出|指出|识别|删除|删去)[^。？！\n]{0,16}?(?:错误|语法|拼写|语病|错别字|病句|标点|不正确|正确)`,
  '(?:使|让)(?:其|它|句子|这句话)?(?:在)?语法(?:上)?(?:正确|准确|通顺)',
  // only if needed
  '如有|如果有|若有|如果需要|如有必要|必要的更改|必要时|是否(?:需要|有)',
  // pick out or match
  String.raw`(?:识别|找出|选出|选择|挑出|指出|判断|确定)[^。？！\n]{0,12}?(?:句子|哪|一句|语句)`,
  '匹配|配对',
);
/** Sorting (not 按…的顺序展开, an order of presentation): the input may be in order already, if it is a list. */
const SORT = /排序|排列|从小到大|从大到小|从低到高|从高到低|由低到高|由高到低|由小到大|由大到小|升序|降序/u;
const LIST_SEPARATORS = /[、,，;；\n|]/u;

/** Short items between separators, no sentence ends: 3, 8, 15 or 苹果、香蕉 (not prose with commas). */
function isList(input: string): boolean {
  if (/[。！？!?]/u.test(input)) return false;
  const items = input
    .split(LIST_SEPARATORS)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length >= 2 && items.every((item) => item.length <= 24);
}

/** English forms a Chinese input cannot show: a copy there is damage, not a right answer. */
const ENGLISH_FORM = /复数|单数|大写|小写|首字母|字母|过去时|现在时|将来时|完成时|时态|冠词|所有格|动名词|分词|缩写|缩略|英式|美式/u;

const TITLE_CASE = /首字母|驼峰|capitali[sz]e|title case/iu;
const UPPER = /大写|upper/iu;
const LOWER = /小写|lower/iu;

/**
 * Normalising ignores case, which is the whole change of a task about case: hello → HELLO is the answer
 * to 转换成大写, hello → hello is a copy, and so is HELLO → hello.
 */
function caseChangeAsked(instruction: string, input: string, output: string): boolean {
  if (input === output) return false;
  if (TITLE_CASE.test(instruction)) return true;
  const upper = UPPER.test(instruction);
  const lower = LOWER.test(instruction);
  if (upper && !lower) return output === output.toUpperCase();
  if (lower && !upper) return output === output.toLowerCase();
  return false;
}

export const copyRule: Rule = ({ instruction, input, output }) => {
  if (input === '') return undefined;
  const a = normalize(input.slice(0, PREFIX));
  const b = normalize(output.slice(0, PREFIX));
  const n = Math.min(a.length, b.length) - SLACK;
  if (n > 0 && a.slice(0, n) !== b.slice(0, n)) return undefined;
  if (normalize(input) !== normalize(output)) return undefined;
  if (caseChangeAsked(instruction, input.trim(), output.trim())) return undefined;
  const mayNotChange = MAY_NOT_CHANGE.test(instruction) || (SORT.test(instruction) && isList(input));
  if (mayNotChange && !ENGLISH_FORM.test(instruction)) return undefined;
  return { reason: 'output_equals_input', detail: `output repeats the input ${quote(output)}` };
};
