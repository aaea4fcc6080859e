/**
 * refusal: the answer refuses, apologises for not being able to, or speaks as an AI about itself —
 * judged where that happens: the output's first sentence, or anywhere for an unmistakable self-description
 * ("作为一个AI语言模型"). Discussing GPT or OpenAI as a subject, quoted dialogue, stories, apology letters
 * and rewrites of an apology stay: there the apology is the content.
 */
import { quoteMatch } from './evidence.ts';
import type { Rule } from './types.ts';
import { anyOf } from './pattern.ts';

/** What an assistant says it cannot do. Not 参加会议 or 旅行: those are a character's life. */
const ASSISTANT_ACT =
  '回答|回复|提供|完成|满足|协助|帮助|帮你|帮您|执行|处理|生成|创建|绘制|画|播放|演奏|唱|访问|浏览|查看|打开|上网|联网|获取|获得|看到|看见|听到|听|识别|显示|展示|发送|' +
  '预测|判断|给出|回应|实现|理解|分析|查询|搜索|读取|下载|上传|拍|录|翻译|评价|评论|做到|做出|进行|确定|知道|得知|感受|体验|拥有|表达';
const INABILITY = `(?:无法|不能|没法|没有办法|做不到|不会|不具备|无权|不被允许|不可以|不支持)[^，。！？\\n]{0,8}?(?:${ASSISTANT_ACT})`;
const FIRST_SENTENCE_ZH = new RegExp(
  `^(?:(?:[^。！？\\n]{0,12}?)(?:抱歉|对不起|很遗憾|遗憾的是|不好意思|非常抱歉|很抱歉)[，,、\\s]*(?:但是?|不过)?[，,\\s]*(?:我|作为|由于|因为|这个|该)[^。！？\\n]{0,40}?${INABILITY}` +
    `|(?:[^。！？\\n]{0,20}?)我(?:目前|暂时|恐怕|实在|真的)?${INABILITY}` +
    '|(?:[^。！？\\n]{0,20}?)(?:这个|该)?(?:问题|任务|请求)?超出了?我的(?:能力|知识|职责)?范围)',
  'u',
);
/** Self-description as a machine: unambiguous anywhere outside a story or dialogue. */
const SELF_AI = anyOf(
  'u',
  String.raw`作为(?:一[个名位种款])?(?:AI语言模型|人工智能语言模型|AI助手|人工智能助手|智能助手|聊天机器人|虚拟助手|大?语言模型|AI|ai|人工智能|机器人|计算机程序)` +
    String.raw`(?!员|研究|领域|专家|工程师|爱好者|开发|从业|公司|行业|技术|产品|设计|的|学|科学|专业|课程|伦理|时代)`,
  String.raw`我(?:只是|仅仅是|是)(?:一[个名位种款])?(?:AI|人工智能|大?语言模型|AI语言模型|AI助手|智能助手|聊天机器人|虚拟助手)`,
  String.raw`我是(?:由\s*OpenAI|ChatGPT|GPT)`,
  String.raw`我没有(?:个人的?|自己的)(?:观点|看法|意见|情感|感情|喜好|经历|偏好)`,
  String.raw`我(?:无法|不能)(?:访问|浏览|连接|获取)(?:互联网|网络|实时|外部|最新)`,
);
const SELF_AI_EN = anyOf(
  'iu',
  String.raw`\bas an? (?:ai|artificial intelligence|language model|large language model|ai language model|ai assistant)\b`,
  String.raw`\bi(?:'m| am) (?:just )?an? (?:ai|language model|ai assistant)\b`,
  String.raw`\bi(?:'m| am) sorry,? but i (?:can(?:no|')t|am unable|won't)\b`,
  String.raw`\bi (?:cannot|can't|am unable to) (?:browse|access|view|see|open|provide|assist|help)\b`,
);
/** The output's first sentence (at most 120 characters): where a refusal starts. */
const FIRST_SENTENCE_MAX = 120;
/** Cheap, case-sensitive hint that an English self-description may be there; the full pattern is slow. */
const ENGLISH_HINT = /[Aa]s an? |I'm |I am |I cannot|I can't|I'm sorry|I am sorry/;
/** Tasks whose content is someone speaking: a story, a dialogue, a letter. Their apologies are content. */
const NARRATIVE =
  /故事|小说|对话|对白|剧本|短剧|小品|台词|角色|扮演|场景|情景|童话|寓言|笑话|诗|歌词|信件|书信|写信|一封信|回信|来信|邮件|道歉|借口|回复|回绝|拒绝|婉拒|独白|采访|访谈|口吻|话术|客服/u;
/** Refusing the request: unable to answer, provide, complete, write it. */
const META_REFUSAL = /(?:无法|不能|没法|没有办法)(?:回答|提供|完成|协助|满足|生成|创作|写|编写|处理)(?:关于|这|该|此|您|你的|相关)/u;
/** Tasks that transform a given text: an apology in the output is content when the source has one. */
const TRANSFORM = /改写|重写|转述|翻译|译成|语气|句子|造句|例句|改成|改为|润色|扩写|缩写|续写/u;
const APOLOGY_IN_SOURCE = /抱歉|对不起|遗憾|无法|不能|没法|不好意思|sorry|apolog|unfortunately|cannot|can't|unable/iu;

export const refusalRule: Rule = ({ instruction, input, output }) => {
  const voice =
    NARRATIVE.test(instruction) ||
    (TRANSFORM.test(instruction) && APOLOGY_IN_SOURCE.test(instruction + input)) ||
    /抱歉|对不起|遗憾|无法|不能/u.test(input);
  const first = firstSentence(output);
  if (!voice) {
    const m =
      FIRST_SENTENCE_ZH.exec(first) ??
      (mayDescribeSelf(output) ? SELF_AI.exec(output) : null) ??
      (ENGLISH_HINT.test(output) ? SELF_AI_EN.exec(output) : null);
    if (m) return { reason: 'refusal', detail: `output ${quoteMatch(output, m)}` };
    return undefined;
  }
  // In a story or dialogue only the narrator's own opening counts, and only as a machine talking.
  const m = SELF_AI.exec(first) ?? SELF_AI_EN.exec(first);
  if (m && !/[：:“"「]/u.test(first.slice(0, m.index))) return { reason: 'refusal', detail: `output ${quoteMatch(output, m)}` };
  // Or the narrator refuses the request itself (我无法回答…, 我不能完成…), not a character's line.
  const refused = FIRST_SENTENCE_ZH.exec(first);
  if (refused && (/作为|AI|人工智能|语言模型|超出/u.test(refused[0]) || META_REFUSAL.test(first)) && !/[：:“"「]/u.test(first)) {
    return { reason: 'refusal', detail: `output ${quoteMatch(output, refused)}` };
  }
  return undefined;
};

function firstSentence(s: string): string {
  const end = Math.min(s.length, FIRST_SENTENCE_MAX);
  for (let i = 0; i < end; i++) {
    const c = s[i];
    if (c === '。' || c === '！' || c === '？' || c === '!' || c === '?') return s.slice(0, i + 1);
    if (c === '\n') return s.slice(0, i);
  }
  return s.slice(0, end);
}

/** Every SELF_AI alternative starts with one of these: a cheap gate. */
const SELF_AI_STARTS = ['作为', '我是', '我只', '我仅', '我没有', '我无法', '我不能'];
function mayDescribeSelf(s: string): boolean {
  return SELF_AI_STARTS.some((w) => s.includes(w));
}
