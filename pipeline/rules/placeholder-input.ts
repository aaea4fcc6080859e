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
const EMPTY_WORDS = /^(?:no ?input|none|null|n\/a|无输入|没有输入|无|空|略)$/iu;
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
    return { kind: MEDIA_WORD.test(inner) ? 'media' : 'text', evidence: input };
  }
  const url = URL.exec(input);
  // A link with at most a short label around it ("链接：https://…") stands for a page to open.
  if (url && input.length - url[0].length <= 12) return { kind: 'url', evidence: url[0] };
  return undefined;
}
