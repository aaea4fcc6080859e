/**
 * markup_garbage: text still broken after cleaning has decoded HTML character references (text.ts): a
 * reference left over (escaped twice, `&amp;lt;` → `&lt;`, or unknown), HTML tags in Chinese prose,
 * mojibake (`Ã©`, `锟斤拷`, U+FFFD, which cleaning also puts for a lone surrogate), and code or SQL whose
 * keywords were translated (`如果 num > max_num：`, `返回 max_num`, `def 最大值（数组）：`, `主函数()`,
 * `选择 * 从 航班`, `<头>` in an HTML page). Real code and HTML that the task asks for are left alone.
 */
import { quoteMatch } from './evidence.ts';
import type { Rule } from './types.ts';
import type { Task } from '../types.ts';

const ENTITY = /&(?:[a-z]{2,8}|#\d{1,6}|#x[\da-f]{1,6});/iu;
const TAG = new RegExp(
  String.raw`<\/?(?:br|p|div|span|b|i|u|strong|em|font|li|ul|ol|table|tr|td|th|h[1-6]|a|caption|img|sup|sub|center|blockquote|图片|图像|图)` +
    String.raw`(?:\s[^<>\n]{0,200})?\/?>`,
  'iu',
);
/** A task about HTML, XML or code: then tags are the subject. Escaped tags in HTML code are still broken. */
const ABOUT_TAGS =
  /HTML|html|XML|xml|标签|网页|前端|代码|程序|脚本|JSX|Vue|React|SVG|Markdown|markdown|字体|颜色|加粗|粗体|斜体|样式|格式化/u;
/** A task about entities or encodings: then entities (and mojibake) are the subject. */
const ABOUT_ENCODING = /实体|转义|entit|escap|编码|解码|字符集|字符引用|乱码|mojibake/iu;
/** Mojibake: a UTF-8 lead byte read as Latin-1 followed by a continuation byte (Ã©, â€œ), or GBK's 锟斤拷. */
const MOJIBAKE_PAIR = /[\u00c2-\u00ef][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/gu;
const MOJIBAKE = /\uFFFD|锟斤拷|烫烫烫|屯屯屯/u;
/** Never exported, whatever the task is about: the text lost characters. */
const REPLACEMENT = /\uFFFD/u;
/** Code lines whose keywords a translator turned into Chinese. */
const TRANSLATED_CODE = new RegExp(
  [
    '^[ \\t]*(?:如果|否则如果|当)[ \\t]+[A-Za-z_][^\\n]{0,80}?(?:[<>=!]=?|&[lg]t;)[^\\n]{0,80}?[：:][ \\t]*$',
    '^[ \\t]*返回[ \\t]+[A-Za-z_][\\w.\\[\\]()]{0,60}[ \\t]*$',
    '^[ \\t]*对于[ \\t]*[A-Za-z_\\p{Script=Han}]{1,20}[ \\t]*(?:在|中)[^\\n]{0,60}[：:][ \\t]*$',
    '^[ \\t]*打印[ \\t]*[（(][^\\n]{0,80}[)）][ \\t]*$',
    // Chinese identifiers are legal (def 计算面积(半径):); full-width brackets or colons on the line are not
    '^[ \\t]*(?:def|class|function)[ \\t]*\\p{Script=Han}[^\\n]{0,60}?[（）：]',
    '^[ \\t]*(?:def|for|if|elif|else|while|class|try|except|with)\\b[^\\n]{0,120}：[ \\t]*$',
    // 定义 F2C(F):, 主函数()
    '^[ \\t]*定义[ \\t]+[A-Za-z_\\p{Script=Han}][\\w\\p{Script=Han}]{0,40}[ \\t]*[（(][^\\n]{0,80}[)）][ \\t]*[：:]',
    '主函数[ \\t]*[（(][ \\t]*[)）]',
    // 而低 <= 高：, 而（我<10）{ : a translated while
    '^[ \\t]*(?:而|当)[ \\t]*[（(]?[A-Za-z_\\p{Script=Han}][^\\n]{0,60}?(?:[<>]=?|[!=]=)[^\\n]{0,60}?(?:[：:]|\\{)[ \\t]*$',
    '^[ \\t]*(?:别的|否则)[ \\t]*[：:{][ \\t]*$',
    '^[ \\t]*返回(?:真|假|无)[ \\t]*$',
    // SELECT … FROM with translated keywords
    '^[ \\t]*(?:选择|SELECT)[ \\t]+(?:\\*|[A-Za-z_\\p{Script=Han}][^\\n]{0,80}?)[ \\t]+从[ \\t]+[A-Za-z_\\p{Script=Han}]',
    '^[ \\t]*选择[ \\t]+(?:\\*|[A-Za-z_][^\\n]{0,80}?)[ \\t]+FROM[ \\t]',
  ].join('|'),
  'mu',
);

/** Cheap single-class scans that let most texts skip the slower patterns. */
const MOJIBAKE_HINT = /[\uFFFD\u00c2-\u00ef锟烫屯]/u;
const CODE_HINT = /返回|打印|如果|对于|def|class |function |for |if |elif |while |else|try|except|with |定义|主函数|而|当|别的|否则|选择/u;
/** An HTML page whose tag names were translated (<头>, <正文>): only when real tags are there too. */
const REAL_HTML = /<(?:html|body|head|div|form|!DOCTYPE)\b/iu;
const TRANSLATED_TAG = /<\/?(?:头|头部|身体|正文|标题|段落|表单|按钮|链接|脚本|样式|元|输入|表格|行|列)(?:\s[^<>\n]{0,100})?>/u;

function fields(task: Task): [string, string][] {
  return [
    ['output', task.output],
    ['input', task.input],
    ['instruction', task.instruction],
  ];
}

export const markupRule: Rule = (task) => {
  for (const [name, text] of fields(task)) {
    const m = text.includes('\uFFFD') ? REPLACEMENT.exec(text) : null;
    if (m) return { reason: 'markup_garbage', detail: `${name} has a replacement character (lost in decoding) ${quoteMatch(text, m)}` };
  }
  // A question about an entity quotes it: HTML里的&lt;表示什么？ (cleaning left such a task escaped)
  if (ABOUT_ENCODING.test(task.instruction) || (ENTITY.test(task.instruction) && ABOUT_TAGS.test(task.instruction))) return undefined;
  for (const [name, text] of fields(task)) {
    if (!MOJIBAKE_HINT.test(text)) continue;
    const m = MOJIBAKE.exec(text) ?? secondPair(text);
    if (m) return { reason: 'markup_garbage', detail: `${name} has mojibake ${quoteMatch(text, m)}` };
  }
  const code = CODE_HINT.test(task.output) ? TRANSLATED_CODE.exec(task.output) : null;
  if (code) return { reason: 'markup_garbage', detail: `output has code with translated keywords ${quoteMatch(task.output, code)}` };
  const tag = task.output.includes('<') && REAL_HTML.test(task.output) ? TRANSLATED_TAG.exec(task.output) : null;
  if (tag) return { reason: 'markup_garbage', detail: `output has HTML with translated tag names ${quoteMatch(task.output, tag)}` };
  const aboutTags = ABOUT_TAGS.test(task.instruction);
  for (const [name, text] of fields(task)) {
    const m = (text.includes('&') ? ENTITY.exec(text) : null) ?? (aboutTags || !text.includes('<') ? null : TAG.exec(text));
    if (m) return { reason: 'markup_garbage', detail: `${name} has HTML ${quoteMatch(text, m)}` };
  }
  return undefined;
};

/** The second mojibake pair in `s`, if there are two: one odd pair may be a real accented word. */
function secondPair(s: string): RegExpExecArray | null {
  MOJIBAKE_PAIR.lastIndex = 0;
  if (MOJIBAKE_PAIR.exec(s) === null) return null;
  const m = MOJIBAKE_PAIR.exec(s);
  MOJIBAKE_PAIR.lastIndex = 0;
  return m;
}
