/**
 * needs_non_text: the task depends on something a text model cannot take in or produce. It fires on
 * dependence, never on a topic word: 列出五种音乐流派, 创业需要哪些文件, 写一段视频脚本, 用 Markdown 表格
 * 或 Mermaid 画流程图 are text tasks. What counts as dependence:
 * - a deictic reference to a missing artifact (这张照片, 下面的视频, 附件中的表格, "this image"), unless
 *   the input carries it in words;
 * - an input that stands in for one (`[图片]`, `<image>`, a markdown image, a link to open);
 * - a request to produce one (画/绘制 + a picture, 生成一张 + 插画/图片, 录一段音频, "draw");
 * - a real-world action (打开网址, 设置提醒, 打电话, 预订, searching the web, live data).
 * Not dependence: a word in another sense (生动的图像 is imagery, 人物素描 a character sketch in words), a
 * picture reference inside the text the task works on (确定句子中的宾语：她在唱一首歌), a famous work named
 * (描述这幅画 with the input 莫奈《睡莲》: answerable from knowledge), an action as the topic of a text
 * task (在预订机票时提升客户体验的点子).
 */
import { quoteMatch } from './evidence.ts';
import { inputStandIn, MEDIA_WORD } from './placeholder-input.ts';
import type { Hit, Rule } from './types.ts';
import { anyOf } from './pattern.ts';

/** A determiner pointing at one particular thing: 这张, 下面的, 给定的, 附件中的. Not 应该/因此 or 以下哪. */
const DETERMINER =
  '(?:(?<![应因如彼从就])(?:这|那|此|该)(?:张|幅|个|段|首|部|份|些|条|则|组)?\\s?(?:[^，。？！\\n]{0,6}?的)?' +
  '|(?:下面|下方|以下|下列|如下|上面|上述|给定)(?!哪|几|是|关于)(?:的|这)?(?:一)?(?:张|幅|个|段|份|组)?[^，。？！\\n]{0,8}?' +
  '|(?:所给|给出|提供|所提供|附上|附带|随附|上传|收到)的[^，。？！\\n]{0,8}?|附件(?:中|里)的?)';
/** Artifacts that cannot be given in text at all. */
const PURE_MEDIA =
  '图片|照片|相片|图像|截图|截屏|画作|绘画|插图|插画|视频|影片|录像|短片|音频|录音|扫描件|幻灯片|地图|image|picture|photo|video|audio|screenshot';
/** 这幅画, 这张X光片, 下面这张图: a classifier for flat pictures is enough. */
const PICTURE_CLASSIFIER =
  /(?:这|那|下面|以下|上面|给定|所给)(?:的|这)?(?:一)?[幅张][^，。？！\n]{0,6}?(?:画|图|(?<!明信|名|卡|纸)片|照|相|海报)(?!刻)/u;
/** Charts: given in text only as data. */
const CHART = '图表|统计图|柱状图|条形图|饼图|折线图|散点图|直方图|曲线图|示意图';
/** Attachments: a file the model would have to open. */
const ATTACHMENT = '附件|PDF|Excel|电子表格|压缩包|文件夹';

const DEICTIC_MEDIA = new RegExp(`${DETERMINER}(?:${PURE_MEDIA})`, 'iu');
const DEICTIC_CHART = new RegExp(`${DETERMINER}(?:${CHART})`, 'u');
const DEICTIC_ATTACHMENT = new RegExp(`(?:${ATTACHMENT})(?:中|里|内)|(?:附上|附带|随附|上传)的(?:文件|文档|表格)`, 'iu');
/** "in the photo" without a determiner: 照片中的人物, 如图所示. */
const IN_MEDIA = /(?:图片|照片|相片|图像|画面|视频|录音|音频|截图)(?:中|里|上)(?:的|有|出现|显示|所示)|如图(?:所示|中)|图中(?:的|所示)/u;
/** "Based on the video": a definite reference without a determiner. */
const BASED_ON_MEDIA =
  /(?:根据|按照|参考|结合|观看|看完|看了)(?:这|该)?(?:视频|图片|照片|录音|音频|截图|图像|录像)(?!的?(?:格式|类型|技巧|方法|原理|种类))/u;
/** An input that describes a picture or recording in words (五颜六色的花田照片, 画面：…) stands in for it fairly. */
const DESCRIBES_MEDIA = /图片|图像|图中|照片|相片|画面|视频|镜头|录音|音频|影像|截图|描述|描绘|画中|画里/u;

/** Words in another sense than a picture: imagery, a character sketch in words. Rewritten before matching. */
const OTHER_SENSE = /(?:生动|鲜明|丰富|形象|感官|视觉|诗意|强烈)的?(?:图像|画面|意象)|(?:人物|性格|文字|角色)(?:素描|速写)/gu;
/** An instruction that works on a text it quotes (改写这句话：“…”): what follows the colon is that text. */
const WORKS_ON_TEXT = /句子|这句话|句|短语|词语|单词|文本|段落|语句|陈述|标题|文字/u;
const CONTENT_AFTER_COLON = /[:：]\s*\S/u;
const QUOTED = /[“「『][^”」』\n]{2,200}[”」』]|"[^"\n]{2,200}"/gu;

/** The part of an instruction that can refer to a picture: quoted text and quoted content left out. */
function referencePart(instruction: string): string {
  let part = instruction.replace(QUOTED, '“”');
  const colon = CONTENT_AFTER_COLON.exec(part);
  if (colon && WORKS_ON_TEXT.test(part.slice(0, colon.index))) part = part.slice(0, colon.index + 1);
  return part.replace(OTHER_SENSE, '描写');
}

/** A work of art named by title or painter: answerable from knowledge, as a described picture is. */
const NAMED_WORK = new RegExp(
  '《[^》\n]{1,30}》|' +
    '蒙娜丽莎|最后的晚餐|星夜|星月夜|向日葵|呐喊|睡莲|日出|格尔尼卡|戴珍珠耳环的少女|记忆的永恒|创造亚当|清明上河图|富春山居图|' +
    '千里江山图|韩熙载夜宴图|步辇图|洛神赋图|奔马图|维纳斯的诞生|夜巡|自由引导人民|拾穗者|' +
    '梵高|梵·高|莫奈|达芬奇|达·芬奇|毕加索|米开朗基罗|伦勃朗|齐白石|徐悲鸿|张大千|塞尚|马奈|雷诺阿|高更|蒙德里安|达利|拉斐尔|维米尔|克里姆特|蒙克|波提切利|米勒|德拉克罗瓦',
  'u',
);
/** A picture reference that can be to a painting. */
const PAINTING = /画|作品|艺术品/u;
/** An input short enough to be a title or a name, not a text: 星夜, 米开朗基罗创造亚当. */
const NAME_LIKE = /^[^。？！?!\n]{1,30}$/u;
/** General questions about media are text: 为什么照片中会有红眼？ */
const GENERAL_QUESTION = /为什么|为何|如何|怎么|怎样|通常|一般|常见|原理|技巧|方法|步骤|教程|哪些/u;
const ENGLISH_DEICTIC = new RegExp(
  String.raw`\b(?:this|these|that|the (?:attached|following|given|above|below|provided)|attached|in the)\s+` +
    String.raw`(?:image|picture|photo(?:graph)?|video|audio|recording|screenshot|chart|graph|diagram)s?\b`,
  'iu',
);

/** Listening to or opening something. */
const LISTEN = /(?:听|收听)(?:一下|一听|完)?(?:这|那|下面|以下|给定|附件)/u;
const OPEN_WEB =
  /(?:访问|打开|浏览|点击|点开|登录|进入)(?:一下)?(?:这个|该|以下|下面的?|给定的?|此|这些)?(?:网址|链接|网页|网站|页面|URL|url)(?!的|速度|量|次数|设计|安全|体验|方式)/u;
const DEICTIC_WEB = new RegExp(`${DETERMINER}(?:网址|链接|网页|网站|页面|URL|url)`, 'u');
const ACCESS_VERB =
  /访问|打开|浏览|点击|点开|阅读|总结|概括|摘要|查看|登录|summari[sz]e|\bread\b|\bopen\b|\bvisit\b|\bwatch\b|\blisten\b/iu;
const URL_IN_TEXT = /https?:\/\/\S{1,300}|www\.\S{1,300}/iu;

/** Producing a picture, a recording, a video. */
const PRODUCE_IMAGE = new RegExp(
  String.raw`(?:生成|制作|创建|创作|做|给我|发|提供|输出|渲染|合成|配上|配)(?:一下)?(?:一|1|几|两|三)?(?:张|幅|个|段|部|组|份)?[^，。？！\n]{0,12}?` +
    String.raw`(?:图片|照片|相片|插画|插图|图画|画作|水彩画|油画|素描|壁纸|头像|表情包|GIF|gif|动图|视频|短视频|动画|音频|录音|截图|效果图|渲染图|图像)` +
    String.raw`(?=$|[，。！？；：,.!?;:\s）)]|并|然后|来|用|以|给|发|吧)`,
  'u',
);
/** 画/绘制 a picture or an image chart; text diagrams (flowcharts, tables, mind maps, timelines) are text. */
const DRAW =
  /(?:绘制|手绘|画出|(?:^|[请你我来帮给为替用，。、\s])画(?!蛇|饼|龙点睛|家|面|廊|展|册|风|质|外音)(?:一下)?(?:一|1|几|两|三)?(?:张|幅|个|只|条|棵|座|朵|份)?)[^，。？！\n]{0,16}/u;
const TEXT_DIAGRAM = anyOf(
  'u',
  String.raw`流程图`,
  String.raw`时序图`,
  String.raw`序列图`,
  String.raw`类图`,
  String.raw`状态图`,
  String.raw`ER图`,
  String.raw`E-R图`,
  String.raw`甘特图`,
  String.raw`思维导图`,
  String.raw`脑图`,
  String.raw`时间线`,
  String.raw`时间轴`,
  String.raw`表格`,
  String.raw`统计表`,
  String.raw`数据表`,
  String.raw`树状图`,
  String.raw`结构图`,
  String.raw`架构图`,
  String.raw`关系图`,
  String.raw`图表`,
  String.raw`大纲`,
  String.raw`清单`,
  String.raw`列表`,
  String.raw`ASCII`,
  String.raw`字符画`,
  String.raw`Mermaid`,
  String.raw`mermaid`,
  String.raw`Markdown`,
  String.raw`markdown`,
  String.raw`文字`,
  String.raw`文本`,
  String.raw`代码`,
  String.raw`程序`,
  String.raw`HTML`,
  String.raw`SVG`,
  String.raw`CSS`,
  String.raw`Python`,
  String.raw`canvas`,
  String.raw`turtle`,
  String.raw`matplotlib`,
  String.raw`函数`,
  String.raw`算法`,
  String.raw`LaTeX`,
  String.raw`TikZ`,
);
const RECORD = new RegExp(
  String.raw`(?:(?<![记目收抄登摘实著备语])录|录制|(?<![节球合竞])拍|拍摄|剪辑)(?:一下)?(?:一|1|几)?` +
    String.raw`(?:段|个|首|张|部|组)?[^，。？！\n]{0,10}?(?:音频|视频|录音|语音|歌|播客|照片|相片|短片|影片|vlog|Vlog)` +
    String.raw`(?=$|[，。！？；：,.!?;:\s）)]|并|然后|来|用|以|给|发|吧)`,
  'u',
);
const PERFORM = /(?:播放|演奏|演唱|弹奏|哼唱|唱)(?:一下|一首|一段|一曲|这首|这段|下面|以下)/u;
const ENGLISH_PRODUCE = anyOf(
  'iu',
  String.raw`\b(?:draw|paint|sketch)\s+(?:a|an|me|the|some)\b`,
  String.raw`\b(?:generate|create|make|produce|render)\s+(?:an?\s+|the\s+)?(?:image|picture|photo|drawing|illustration|video|audio|gif)\b`,
);

/** Things in the world, or live data. */
const ACTION = anyOf(
  'u',
  String.raw`打(?:个|一个|一通)?电话`,
  String.raw`拨打`,
  String.raw`发短信`,
  String.raw`发微信`,
  String.raw`设置[^，。？！\n]{0,10}?(?:闹钟|提醒|定时器|倒计时|日程)`,
  String.raw`提醒我`,
  String.raw`叫醒我`,
  String.raw`(?:预订|预定|订)[^，。？！\n]{0,10}?(?:机票|火车票|车票|酒店|房间|餐厅|座位|外卖)`,
  String.raw`帮我(?:在[^，。？！\n]{1,8}?)?(?:买|购买|下单|点一?份|订|预约|挂号|支付|转账|付款|发送|寄)`,
  String.raw`(?:转账|付款)给`,
  String.raw`搜索并`,
  String.raw`上网(?:搜索|查|查询|查找|找)`,
  String.raw`在(?:网上|互联网上?|谷歌|百度|淘宝|京东)上?(?:搜索|查找|查询|找)`,
  String.raw`(?:从|在)(?:网站|网页|网络|网上|互联网|Instagram|推特|Twitter|微博|Facebook|抖音)[^，。\n]{0,10}?(?:收集|获取|抓取|爬取|下载|查找|找到)`,
  String.raw`(?:查找|寻找|搜索|找到|推荐)(?:一下)?(?:我)?附近`,
  String.raw`(?:下载|上传|打开|登录)(?:一下)?(?:这个|该|以下|下面的?|给定的?|此|我的)`,
  String.raw`(?:打开|下载|解压|上传)(?:一下)?(?:附件|文件|压缩包|文档|链接|网址|网页)`,
);
/** Live data: what the time, the weather or a price is now. */
const LIVE =
  /(?:查询|查找|搜索|告诉我)(?:一下)?(?:今天|今日|现在|当前|实时|最新|此刻)(?:的)?[^，。？！\n]{0,6}?(?:天气|气温|股价|汇率|新闻|头条|热搜|航班|比分|路况|价格|油价|金价|时间|几点|日期)|(?:今天|今日|现在|此刻|当前|实时)[^，。？！\n]{0,6}?(?:天气|气温|股价|汇率|新闻|航班|比分|路况)(?:是|如何|怎么样|怎样|多少)/u;
/** Asking how, why or which: knowledge, not an action. A topic word alone (记忆方法) is not a question. */
const HOW_TO = /如何|怎么(?!样)|怎样|为什么|注意|哪些|(?:的|些|种|个)小?(?:步骤|方法|教程|技巧|指南|好处|坏处|利弊|优缺点|区别|流程|原理)/u;
/**
 * The action is the topic of a text task, not a request to do it: ideas or examples about it, a
 * service that does it, what a customer or an assistant does (在预订机票时提升客户体验的点子, 用来拨打国际电话的服务).
 */
const ACTION_AS_TOPIC =
  /点子|想法|建议|举例|例子|示例|服务|应该|采取|步骤|客户|顾客|用户|客服|助手|机器人|对话|剧本|场景|模拟|(?:用来|用于|可以)(?:打|拨|预|订|设|搜)|时(?:[，,]|$)|的时候/u;
/** Code that makes a picture or an animation is text. */
const CODE = /代码|程序|CSS|HTML|SVG|Python|JavaScript|函数|canvas|matplotlib|turtle|LaTeX|TikZ|Mermaid/u;

/** The painting a picture reference points at is named in the instruction or is the whole input. */
function paintingNamed(instruction: string, input: string, inputGivesIt: boolean): boolean {
  return NAMED_WORK.test(instruction) || (inputGivesIt && (NAMED_WORK.test(input) || NAME_LIKE.test(input)));
}

function hit(where: string, text: string, m: RegExpExecArray, what: string): Hit {
  return { reason: 'needs_non_text', detail: `${where} ${quoteMatch(text, m)}: ${what}` };
}

/** Cheap gates: every media pattern needs one of these characters, every web pattern one of those. */
const MEDIA_HINT =
  /[图照相画绘素视影录音频片截屏幻灯地像表插海报附件唱奏播拍歌曲动壁头听]|PDF|Excel|GIF|gif|image|picture|photo|video|audio|screenshot|draw|paint|sketch/iu;
const WEB_HINT = /[网链页址]|URL|url|http|www/u;

export const nonTextRule: Rule = ({ instruction: whole, input }) => {
  // Links are looked for in the whole instruction (总结这篇文章：https://…), pictures only where they can be referred to.
  const instruction = referencePart(whole);
  const standIn = inputStandIn(input);
  const inputGivesIt = input !== '' && standIn === undefined;
  // A picture or a recording can be given in text only as a description of it.
  const inputDescribesMedia = inputGivesIt && DESCRIBES_MEDIA.test(input);

  if (standIn?.kind === 'media') {
    return { reason: 'needs_non_text', detail: `input "${standIn.evidence.slice(0, 40)}" stands in for a missing picture or recording` };
  }
  if (standIn?.kind === 'url' && (ACCESS_VERB.test(instruction) || MEDIA_WORD.test(instruction))) {
    return { reason: 'needs_non_text', detail: `input is a link to open: "${standIn.evidence.slice(0, 40)}"` };
  }
  const media = MEDIA_HINT.test(instruction);
  const web = WEB_HINT.test(instruction);
  let m: RegExpExecArray | null = null;
  if (media) m = DEICTIC_MEDIA.exec(instruction) ?? PICTURE_CLASSIFIER.exec(instruction) ?? ENGLISH_DEICTIC.exec(instruction);
  if (m && !inputDescribesMedia && !(PAINTING.test(m[0]) && paintingNamed(whole, input, inputGivesIt))) {
    return hit('instruction', instruction, m, 'refers to a picture or recording that is not there');
  }
  m = media ? DEICTIC_CHART.exec(instruction) : null;
  if (m && (input === '' || standIn !== undefined || !/\d/u.test(input))) {
    return hit('instruction', instruction, m, 'refers to a chart whose data is not given');
  }
  m = media ? DEICTIC_ATTACHMENT.exec(instruction) : null;
  if (m && !inputGivesIt) return hit('instruction', instruction, m, 'refers to an attachment');
  m = media ? (IN_MEDIA.exec(instruction) ?? BASED_ON_MEDIA.exec(instruction)) : null;
  if (m && !inputDescribesMedia && !GENERAL_QUESTION.test(instruction)) {
    return hit('instruction', instruction, m, 'refers to a picture that is not there');
  }
  m = media ? LISTEN.exec(instruction) : null;
  if (m) return hit('instruction', instruction, m, 'asks to listen to a recording');
  m = web ? OPEN_WEB.exec(instruction) : null;
  if (m && !HOW_TO.test(instruction)) return hit('instruction', instruction, m, 'asks to open a web page');
  m = web ? DEICTIC_WEB.exec(instruction) : null;
  if (m && ACCESS_VERB.test(instruction)) return hit('instruction', instruction, m, 'refers to a web page to read');
  m = WEB_HINT.test(whole) ? URL_IN_TEXT.exec(whole) : null;
  if (m && ACCESS_VERB.test(whole)) return hit('instruction', whole, m, 'asks to open a link');

  const howTo = HOW_TO.test(instruction);
  if (!howTo && media) {
    m = (CODE.test(instruction) ? null : PRODUCE_IMAGE.exec(instruction)) ?? RECORD.exec(instruction) ?? PERFORM.exec(instruction);
    if (m) return hit('instruction', instruction, m, 'asks for a picture, recording or performance');
    m = DRAW.exec(instruction);
    if (m && !TEXT_DIAGRAM.test(instruction)) return hit('instruction', instruction, m, 'asks for a drawing');
    m = ENGLISH_PRODUCE.exec(instruction);
    if (m && !TEXT_DIAGRAM.test(instruction)) return hit('instruction', instruction, m, 'asks for a picture or recording');
  }
  if (!howTo && !ACTION_AS_TOPIC.test(instruction)) {
    m = ACTION.exec(instruction);
    if (m) return hit('instruction', instruction, m, 'asks for an action in the world');
  }
  m = LIVE.exec(instruction);
  if (m) return hit('instruction', instruction, m, 'asks for live data');
  return undefined;
};
