/**
 * missing_input: the instruction points at a text that should come with it (下面的文章, 给定的句子, 以下
 * 列表, "the following passage") and the input is empty, or the input is only a stand-in for that text
 * (`[文章]`). Not when the instruction carries the text itself (将以下短语改为否定句：“我会去”, 解释以下术语：
 * 数据仓库, 下面这句话是对还是错？科学家预测…), and not for a specification (编写一个函数，返回给定数组中的最大值 is a complete task).
 */
import { quoteMatch } from './evidence.ts';
import { inputStandIn } from './placeholder-input.ts';
import type { Rule } from './types.ts';

/** Texts an instruction can point at. Not 数组/列表/字符串/数字 after 给定: those specify a program. */
const TEXT_NOUN =
  '文章|段落|短文|文本|文字|文段|句子|语句|句|话|英文|中文|文言文|外文|诗歌|诗|歌词|故事|对话|新闻|报道|报告|邮件|信件|评论|摘录|材料|资料|选段|节选|演讲稿|剧本|合同|简历|' +
  '代码|程序|脚本|文档|单词|词语|词汇|短语|成语|列表|清单|表格|数据|数字|问题|陈述|说法|观点|论点|标题|描述|产品描述|推文|帖子|消息|文件|书名|名单|食谱|方程|等式|公式|主题';
/** After a bare 这/该/此 only nouns that are surely a text to read: not 这个问题/这个主题/这个话题, which point back into the instruction. */
const POINTED_NOUN =
  '文章|段落|短文|文本|文段|句子|诗歌|诗|歌词|故事|对话|新闻|报道|报告|邮件|信件|评论|摘录|材料|选段|节选|演讲稿|剧本|合同|简历|代码|程序|脚本|文档|列表|清单|表格|推文|帖子|食谱';
const DEICTIC_TEXT = new RegExp(
  `(?:下面|下方|以下|下列|如下|上述|附上|随附|所附)(?!哪|几)(?:的|这|给出的)?(?:一|两|几)?(?:个|段|篇|首|组|句|份|则|条|封|行|位)?[^，。？！:：“"「\\n]{0,6}?(?:${TEXT_NOUN})` +
    `|(?<![应因如彼从就])(?:这|该|此)(?:篇|段|首|则|份|封|句|组|些|个)(?:[^，。？！:：“"「\\n]{0,4}?)(?:${POINTED_NOUN})|这(?:句|段)话` +
    `|(?:给定|所给|提供|给出)的(?:一|两|几)?(?:个|段|篇|首|组|句|份|则|条|封)?[^，。？！:：“"「\\n]{0,6}?(?:${TEXT_NOUN})` +
    '|\\b(?:the\\s+)?(?:following|given|below|above|attached|provided)\\s+' +
    '(?:text|passage|article|paragraph|sentences?|list|table|code|poem|story|words?|data|email|review)\\b',
  'iu',
);
/** After the pointer, the text is in the instruction itself: a colon or quote followed by content, or a new line. */
const CARRIED = /[:：]\s*\S|[“"「『‘《]\s*\S|\n\s*\S/u;
/**
 * Or in the next sentence: 下面这句话是对还是错？科学家预测…, 回答下列问题。联合国的宗旨是什么？ Not when that
 * sentence is more instruction (总结下面的文章。要求不超过100字).
 */
const CARRIED_NEXT =
  /^[^。？！?!\n]{0,40}[。？！?!]\s*(?!请|要求|注意|不超过|不少于|字数|限|用|使用|并|然后|同时|输出|回答|答案|格式|要|务必|必须|尽量|保持|以|按)[^\n]{4,}/u;
/** In a programming task, "the given list/number/string" is the shape of an argument, not a text to read. */
const SPEC_NOUN = /列表|数字|数据|字符串|数组|整数|单词/u;
const SPEC_CONTEXT = /函数|算法|程序|编程|代码|编写|实现|Python|Java|SQL/u;

export const inputRule: Rule = ({ instruction, input }) => {
  const standIn = inputStandIn(input);
  if (standIn?.kind === 'text') {
    return { reason: 'missing_input', detail: `input "${standIn.evidence.slice(0, 40)}" stands in for a text that is not there` };
  }
  if (input !== '') return undefined;
  const m = DEICTIC_TEXT.exec(instruction);
  if (m === null) return undefined;
  const rest = instruction.slice(m.index + m[0].length);
  if (CARRIED.test(rest) || CARRIED_NEXT.test(rest)) return undefined;
  if (CARRIED.test(instruction.slice(0, m.index))) return undefined;
  if (SPEC_NOUN.test(m[0]) && SPEC_CONTEXT.test(instruction)) return undefined;
  return { reason: 'missing_input', detail: `instruction ${quoteMatch(instruction, m)} points at a text, and the input is empty` };
};
