/**
 * empty_output and placeholder_output: the answer is missing, or a stand-in for content the model did not
 * (or could not) give: `[插入图片]`, `<图片>`, `（此处应为…）`, `<nooutput>`, a markdown image or a bare
 * image link as the whole answer. Letter templates keep their slots: 亲爱的[收件人] is an answer.
 */
import { quote, quoteMatch } from './evidence.ts';
import type { Rule } from './types.ts';
import { anyOf } from './pattern.ts';

/** Something a reader can read: a letter, a digit, a symbol such as an emoji. */
const READABLE = /[\p{L}\p{N}\p{So}]/u;
/** A stand-in the model writes where content should be. */
const STAND_IN_WORD = anyOf(
  'iu',
  String.raw`插入`,
  String.raw`此处`,
  String.raw`这里应`,
  String.raw`放置`,
  String.raw`附上`,
  String.raw`添加`,
  String.raw`图`,
  String.raw`表格`,
  String.raw`照片`,
  String.raw`相片`,
  String.raw`截图`,
  String.raw`视频`,
  String.raw`音频`,
  String.raw`录音`,
  String.raw`链接`,
  String.raw`标志`,
  String.raw`徽标`,
  String.raw`设计`,
  String.raw`示意`,
  String.raw`logo`,
  String.raw`image`,
  String.raw`img`,
  String.raw`photo`,
  String.raw`picture`,
  String.raw`video`,
  String.raw`audio`,
  String.raw`chart`,
  String.raw`graph`,
  String.raw`insert`,
  String.raw`placeholder`,
  String.raw`nooutput`,
  String.raw`no output`,
  String.raw`noinput`,
  String.raw`无输出`,
  String.raw`无输入`,
  String.raw`无回答`,
  String.raw`略`,
  String.raw`省略`,
  String.raw`待补充`,
  String.raw`待填写`,
  String.raw`内容`,
);
/** The whole (trimmed) output is one short bracketed phrase with no data in it. */
const WHOLE_BRACKETED = /^[[【<＜(（{〔]([^\]】>＞)）}〕\n]{1,40})[\]】>＞)）}〕]$/u;
const DATA_LIKE = /[\d,，、;；=+*|]/u;
/** A line that is only a bracketed stand-in for a picture or an inserted part. */
const STAND_IN_LINE = new RegExp(
  String.raw`^[ \t]*[[【<＜(（〔][ \t]*(?:插入|此处|这里|请插入|附|添加)?[^\]】>＞)）〕\n]{0,20}?` +
    String.raw`(?:图片|图像|图表|照片|截图|示意图|插图|视频|音频|image|img|photo|picture|chart|video)[^\]】>＞)）〕\n]{0,20}[\]】>＞)）〕][ \t]*$`,
  'imu',
);
/** "(此处应为…)", "[此处插入…]": the model saying where content would go. */
const HERE_WOULD_BE =
  /[[【(（〔<＜]\s*(?:请在此处|此处|在这里|这里|在此)(?:应|应该|应当|将|可|可以|会)?(?:为|是|插入|放|放置|显示|添加|附上|省略|填写|展示)/u;
/** Template markers leaking into the answer. */
const MARKER = /<\s*(?:nooutput|no output|noinput|no input|无输出|无输入)\s*>/iu;
const MARKDOWN_IMAGE = /!\[[^\]\n]{0,200}\]\([^)\n]{0,500}\)/gu;
const IMAGE_TAG = /<img\b[^>\n]{0,500}>|<(?:图片|图像|照片)\b[^>\n]{0,500}>/giu;
const IMAGE_URL = /https?:\/\/\S{1,500}\.(?:jpe?g|png|gif|webp|bmp|svg)(?:\?\S{0,200})?/giu;
/** Asking for markup or code: then an image tag or link is the answer, not a stand-in. */
const ASKS_FOR_MARKUP = /HTML|Markdown|markdown|代码|标签|网页|前端|XML|JSX|语法|CSS|img|<|链接/u;
/** Every stand-in above has a bracket; every picture answer a link or a tag. Cheap scans first. */
const BRACKET_HINT = /[[【<＜(（〔]|https?:/u;
const IMAGE_HINT = /!\[|<img|<图|<照|https?:/iu;
/** Entities decoded so an escaped stand-in (&lt;图片&gt;) is seen for what it is. */
const ENTITY = /&(?:lt|gt|quot|amp|#39|apos);/gu;
const DECODED: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&amp;': '&', '&#39;': "'", '&apos;': "'" };

export const placeholderRule: Rule = ({ instruction, output }) => {
  if (!READABLE.test(output)) {
    return { reason: 'empty_output', detail: output.trim() === '' ? 'output is empty' : `output has nothing to read: ${quote(output)}` };
  }
  const text = output.includes('&') ? output.replace(ENTITY, (e) => DECODED[e] ?? e).trim() : output;
  const whole = WHOLE_BRACKETED.exec(text);
  if (whole && !DATA_LIKE.test(whole[1]!) && STAND_IN_WORD.test(whole[1]!)) {
    return { reason: 'placeholder_output', detail: `the whole output is a stand-in: ${quote(output)}` };
  }
  if (!BRACKET_HINT.test(output)) return undefined;
  let m = HERE_WOULD_BE.exec(output) ?? MARKER.exec(output);
  if (m) return { reason: 'placeholder_output', detail: `output has a stand-in for content: ${quoteMatch(output, m)}` };
  m = STAND_IN_LINE.exec(output);
  if (m) return { reason: 'placeholder_output', detail: `output has a stand-in line: ${quoteMatch(output, m)}` };
  if (IMAGE_HINT.test(text) && !ASKS_FOR_MARKUP.test(instruction)) {
    // A picture as the answer: what is left without image links and tags is next to nothing.
    const rest = text.replace(MARKDOWN_IMAGE, '').replace(IMAGE_TAG, '').replace(IMAGE_URL, '');
    if (rest.length < text.length && countReadable(rest) < 12) {
      return { reason: 'placeholder_output', detail: `the answer is a picture link: ${quote(text)}` };
    }
  }
  return undefined;
};

function countReadable(s: string): number {
  let n = 0;
  for (const ch of s) if (READABLE.test(ch)) n++;
  return n;
}
