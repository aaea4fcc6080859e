import { anyOf } from './pattern.ts';
/**
 * Is an input a stand-in for something that is not there: `[图片]`, `<image>`, `（一家杂货店的照片）`, a
 * markdown image, a bare link? Shared by needs_non_text (a missing picture) and missing_input (a
 * missing text). Linear: bounded patterns only.
 */

export type InputStandIn = { kind: 'media'; evidence: string } | { kind: 'url'; evidence: string } | { kind: 'text'; evidence: string };

/** The whole input is one short bracketed phrase. */
const BRACKETED = /^[[【<＜(（{]([^\]】>＞)）}\n]{1,30})[\]】>＞)）}]$/u;
/** Inner text of a bracketed phrase that only says "no input": not a stand-in, just empty. */
const EMPTY_WORDS = /^(?:no ?input|none|null|n\/a|无输入|没有输入|无需输入|不需要输入|无|空|略)[a-z]?$/iu;
/**
 * A text stand-in names what should be there ([文章], [提供的产品说明], （插入文章）); a bracketed sentence
 * ([我爱苹果]) is the content itself, in brackets.
 */
const TEXT_LABEL =
  /文章|段落|文本|文字|链接|网址|说明|描述|数据|表|列表|清单|名单|家谱|代码|程序|文件|文档|材料|信息|内容|句子|诗|故事|问题|报告|邮件|评论|产品|姓名|名字|名称|地址|日期|号码|主题|标题|摘要|示例|例子|样本|插入|输入|提供|附|此处|在此|这里|省略|…|\.\.\.|xxx|text|article|link|data|insert/iu;
/** Inner text that is data, not a label: [1, 2, 3], (x > 0). */
const DATA_LIKE = /[\d,，、;；=+*/|]/u;
export const MEDIA_WORD =
  /图|照片|相片|画作|插画|截图|截屏|视频|影片|录像|音频|录音|音乐|歌曲|扫描|海报|幻灯片|image|img|photo|picture|pic\b|video|audio|screenshot|drawing/iu;
const MARKDOWN_IMAGE = /!\[[^\]\n]{0,200}\]\s?[([]/u;
const MEDIA_TAG =
  /<(?:img|image|video|audio|图片|图像|照片|视频)\b[^>\n]{0,300}>|\[(?:image|img|photo|picture|video|audio|图片|图像|照片|视频|音频)\]/iu;
const MEDIA_URL = anyOf(
  'iu',
  String.raw`https?:\/\/\S{0,300}?\.(?:jpe?g|png|gif|webp|bmp|svg|mp3|mp4|wav|mov|avi|pdf)\b`,
  String.raw`https?:\/\/(?:i\.)?(?:imgur|images\.unsplash|youtu\.?be|www\.youtube|vimeo)\S{0,300}`,
);
const URL = /https?:\/\/[^\s，。、)）\]]{1,500}|www\.[^\s，。、)）\]]{1,500}/iu;

export function inputStandIn(input: string): InputStandIn | undefined {
  if (input === '') return undefined;
  const media = MARKDOWN_IMAGE.exec(input) ?? MEDIA_TAG.exec(input) ?? MEDIA_URL.exec(input);
  if (media) return { kind: 'media', evidence: media[0] };
  const bracketed = BRACKETED.exec(input);
  if (bracketed) {
    const inner = bracketed[1]!.trim();
    if (EMPTY_WORDS.test(inner) || DATA_LIKE.test(inner)) return undefined;
    if (MEDIA_WORD.test(inner)) return { kind: 'media', evidence: input };
    return TEXT_LABEL.test(inner) ? { kind: 'text', evidence: input } : undefined;
  }
  const url = URL.exec(input);
  // A link with at most a short label around it ("链接：https://…") stands for a page to open.
  if (url && input.length - url[0].length <= 12) return { kind: 'url', evidence: url[0] };
  return undefined;
}
