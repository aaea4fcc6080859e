/**
 * Translation tasks. Sentences are built from aligned English/Chinese pieces, so each input comes with
 * its translation. The English side of the input is fine (the filters look at instructions only).
 */
import type { Rng } from '../random.ts';
import type { SimTask } from './common.ts';
import { charLength } from '../../pipeline/text.ts';
import { MIN_OUTPUT_CHARS, fitOutput, withConstraints } from './common.ts';

type Pair = readonly [en: string, zh: string];

const SUBJECTS: readonly Pair[] = [
  ['My grandmother', '我奶奶'],
  ['The new teacher', '新来的老师'],
  ['Our neighbor', '我们的邻居'],
  ['My younger brother', '我弟弟'],
  ['A local farmer', '一位当地农民'],
  ['The team leader', '组长'],
  ['Several volunteers', '几位志愿者'],
  ['My best friend', '我最好的朋友'],
  ['The old doctor', '那位老医生'],
  ['Two students from our class', '我们班的两个同学'],
  ['The shop owner', '店主'],
  ['My aunt', '我姑姑'],
  ['A group of tourists', '一群游客'],
  ['The young engineer', '那位年轻的工程师'],
  ['Our manager', '我们经理'],
  ['My roommate', '我的室友'],
  ['The librarian', '图书管理员'],
  ['My father', '我爸爸'],
  ['The little girl next door', '隔壁的小女孩'],
  ['An old fisherman', '一位老渔夫'],
];
/** [past tense, base form, Chinese past, Chinese future]. */
const VERBS: readonly (readonly [string, string, string, string])[] = [
  ['planted tomatoes', 'plant tomatoes', '种了西红柿', '种西红柿'],
  ['fixed an old bicycle', 'fix an old bicycle', '修好了一辆旧自行车', '修一辆旧自行车'],
  ['cooked dinner for everyone', 'cook dinner for everyone', '给大家做了晚饭', '给大家做晚饭'],
  [
    'gave a short talk about saving water',
    'give a short talk about saving water',
    '做了一个关于节约用水的简短发言',
    '做一个关于节约用水的简短发言',
  ],
  ['cleaned the whole kitchen', 'clean the whole kitchen', '把整个厨房打扫了一遍', '把整个厨房打扫一遍'],
  ['met an old classmate', 'meet an old classmate', '见了一位老同学', '见一位老同学'],
  ['practiced calligraphy', 'practice calligraphy', '练了书法', '练书法'],
  ['bought fresh vegetables', 'buy fresh vegetables', '买了新鲜的蔬菜', '买新鲜的蔬菜'],
  ['read three chapters of a history book', 'read three chapters of a history book', '读了一本历史书的三章', '读一本历史书的三章'],
  ['organized a small book sale', 'organize a small book sale', '组织了一场小型图书义卖', '组织一场小型图书义卖'],
  ['took a long walk', 'take a long walk', '散了很久的步', '好好地散散步'],
  ['wrote a letter to an old friend', 'write a letter to an old friend', '给一位老朋友写了一封信', '给一位老朋友写一封信'],
  ['repaired the broken window', 'repair the broken window', '修好了坏掉的窗户', '修理坏掉的窗户'],
  ['baked two loaves of bread', 'bake two loaves of bread', '烤了两个面包', '烤两个面包'],
  ['sold homemade dumplings', 'sell homemade dumplings', '卖了自家包的饺子', '卖自家包的饺子'],
  ['taught a free English class', 'teach a free English class', '上了一堂免费的英语课', '上一堂免费的英语课'],
  ['collected old clothes for charity', 'collect old clothes for charity', '为慈善募集了旧衣服', '为慈善募集旧衣服'],
  ['played chess with the neighbors', 'play chess with the neighbors', '和邻居们下了棋', '和邻居们下棋'],
];
const PLACES: readonly Pair[] = [
  ['in the park', '在公园里'],
  ['at the train station', '在火车站'],
  ['near the river', '在河边'],
  ['at the community center', '在社区活动中心'],
  ['at home', '在家里'],
  ['in the school library', '在学校图书馆'],
  ['at the night market', '在夜市上'],
  ['in a small village', '在一个小村子里'],
  ['at the office', '在办公室'],
  ['in the backyard', '在后院'],
  ['by the lake', '在湖边'],
  ['at the old town square', '在老城广场'],
];
const PAST_TIMES: readonly Pair[] = [
  ['yesterday afternoon', '昨天下午'],
  ['last weekend', '上周末'],
  ['two days ago', '两天前'],
  ['last summer', '去年夏天'],
  ['earlier this morning', '今天早上'],
  ['on Sunday evening', '周日晚上'],
  ['during the holiday', '假期里'],
  ['last Tuesday', '上周二'],
];
const FUTURE_TIMES: readonly Pair[] = [
  ['tomorrow evening', '明天晚上'],
  ['next month', '下个月'],
  ['this Friday', '这周五'],
  ['after the holiday', '假期结束后'],
  ['next spring', '明年春天'],
  ['on Saturday morning', '周六上午'],
  ['in two weeks', '两周后'],
];
const TOPICS: readonly Pair[] = [
  ['learning a second language', '学习第二门语言'],
  ['working from home', '在家办公'],
  ['cooking at home', '在家做饭'],
  ['reading before bed', '睡前阅读'],
  ['taking public transport', '乘坐公共交通'],
  ['keeping a diary', '写日记'],
  ['growing your own vegetables', '自己种菜'],
  ['volunteering on weekends', '周末做志愿者'],
  ['living in a small town', '住在小城镇'],
  ['saving a little money every month', '每个月存一点钱'],
  ['walking to work', '步行上班'],
  ['having a pet', '养宠物'],
  ['learning to swim as an adult', '成年后学游泳'],
  ['getting up early', '早起'],
];
const PREDICATES: readonly Pair[] = [
  ['is more useful than many people expect', '比很多人想象的更有用'],
  ['is harder than it looks', '比看上去要难'],
  ['is a good way to save money', '是省钱的好办法'],
  ['can change your daily routine', '能改变一个人的日常作息'],
  ['is worth trying at least once', '至少值得尝试一次'],
  ['is becoming more popular', '正变得越来越流行'],
];
const REASONS: readonly Pair[] = [
  ['it helps you meet new people', '它能帮你结识新朋友'],
  ['it takes a lot of patience', '这需要很大的耐心'],
  ['it makes you think more clearly', '它能让人思路更清晰'],
  ['it saves time in the long run', '从长远看能节省时间'],
  ['it is good for both body and mind', '它对身心都有好处'],
  ['small habits add up over time', '小习惯日积月累会带来大变化'],
];
const CONDITIONS: readonly Pair[] = [
  ['feel tired in the afternoon', '下午总觉得累'],
  ['want to save more money', '想多存点钱'],
  ['are new to the city', '刚来到这座城市'],
  ['have trouble sleeping', '睡眠不好'],
  ['are preparing for an exam', '正在准备考试'],
  ['want to learn cooking', '想学做饭'],
  ['often forget things', '经常忘事'],
  ['feel stressed at work', '工作压力大'],
];
const ADVICE: readonly Pair[] = [
  ['take a short walk outside', '出去走一走'],
  ['make a simple budget', '做一个简单的预算'],
  ['ask your neighbors for advice', '问问邻居的建议'],
  ['go to bed at the same time every day', '每天在同一时间上床睡觉'],
  ['write everything down in a notebook', '把事情都记在本子上'],
  ['start with a few easy recipes', '从几道简单的菜开始'],
  ['break the work into small steps', '把任务拆成几个小步骤'],
];
const THINGS: readonly Pair[] = [
  ['weather', '天气'],
  ['train', '火车'],
  ['hotel room', '酒店房间'],
  ['meeting', '会议'],
  ['exam', '考试'],
  ['restaurant', '那家餐厅'],
  ['road', '那条路'],
  ['museum', '博物馆'],
  ['stadium', '体育馆'],
];
const ADJECTIVES: readonly Pair[] = [
  ['cold', '冷'],
  ['crowded', '拥挤'],
  ['long', '长'],
  ['expensive', '贵'],
  ['quiet', '安静'],
  ['small', '小'],
  ['old', '旧'],
];
const CONTRASTS: readonly Pair[] = [
  ['everyone stayed in a good mood', '大家的心情都很好'],
  ['we still enjoyed ourselves', '我们还是玩得很开心'],
  ['nobody complained', '没有人抱怨'],
  ['the view made up for it', '风景弥补了这一切'],
  ['the staff were very kind', '工作人员都很友善'],
  ['I learned a lot', '我学到了很多'],
];

function sentence(rng: Rng): Pair {
  const r = rng.next();
  if (r < 0.4) {
    const [sEn, sZh] = rng.pick(SUBJECTS);
    const [past, base, zhPast, zhFut] = rng.pick(VERBS);
    const [pEn, pZh] = rng.pick(PLACES);
    if (rng.chance(0.6)) {
      const [tEn, tZh] = rng.pick(PAST_TIMES);
      return [`${sEn} ${past} ${pEn} ${tEn}.`, `${sZh}${tZh}${pZh}${zhPast}。`];
    }
    const [tEn, tZh] = rng.pick(FUTURE_TIMES);
    return [`${sEn} will ${base} ${pEn} ${tEn}.`, `${sZh}${tZh}会${pZh}${zhFut}。`];
  }
  if (r < 0.6) {
    const [tEn, tZh] = rng.pick(TOPICS);
    const [pEn, pZh] = rng.pick(PREDICATES);
    const [rEn, rZh] = rng.pick(REASONS);
    return [`I think ${tEn} ${pEn}, because ${rEn}.`, `我觉得${tZh}${pZh}，因为${rZh}。`];
  }
  if (r < 0.8) {
    const [cEn, cZh] = rng.pick(CONDITIONS);
    const [aEn, aZh] = rng.pick(ADVICE);
    return [`If you ${cEn}, you should ${aEn}.`, `如果你${cZh}，就应该${aZh}。`];
  }
  const [thEn, thZh] = rng.pick(THINGS);
  const [adEn, adZh] = rng.pick(ADJECTIVES);
  const [coEn, coZh] = rng.pick(CONTRASTS);
  return [`The ${thEn} was ${adEn}, but ${coEn}.`, `${thZh}很${adZh}，但${coZh}。`];
}

const EN_TO_ZH = [
  '把下面的英文翻译成中文。',
  '请将以下英文段落译成通顺的中文。',
  '请把下面的话翻译成中文：',
  '请把这段英文翻译成自然的汉语。',
  '将下列句子译为中文，注意中文的语序。',
  '帮我把下面这几句英文翻成中文。',
  '请用简体中文翻译下面的内容。',
  '英译中：请翻译下面的句子。',
  '把下文翻译成中文，保持原意，语言口语化一些。',
  '下面这段英文是什么意思？请翻译出来。',
  '请逐句翻译下面的英文。',
  '我看不太懂下面这段英文，帮忙翻译一下。',
  '将这段英文翻译成中文，不要漏译。',
];
const ZH_TO_EN = [
  '把下面的中文翻译成英文。',
  '请将以下句子译成英文。',
  '中译英：请翻译下面这段话。',
  '请把这段话翻译成地道的英语。',
  '帮我把下面几句话翻成英文。',
  '将下列中文翻译为英文，注意时态。',
  '请用简单的英语翻译下面的内容。',
  '这几句话用英语怎么说？',
];

export function translate(rng: Rng): SimTask {
  const pairs = [sentence(rng), sentence(rng)];
  // Short sentence patterns could leave the Chinese side under 40 characters.
  while (pairs.length < 4) {
    const zhShort = charLength(pairs.map((p) => p[1]).join('')) < MIN_OUTPUT_CHARS;
    if (!zhShort && !(pairs.length < 3 && rng.chance(0.3))) break;
    pairs.push(sentence(rng));
  }
  const en = pairs.map((p) => p[0]).join(' ');
  const zh = pairs.map((p) => p[1]).join('');
  if (rng.chance(0.72)) {
    return { instruction: withConstraints(rng.pick(EN_TO_ZH), rng, 0.1), input: en, output: fitOutput(zh, rng), category: '翻译' };
  }
  return { instruction: rng.pick(ZH_TO_EN), input: zh, output: fitOutput(en, rng), category: '翻译' };
}
