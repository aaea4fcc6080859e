/** Tasks about a given text (all with input): summarize, rewrite, extract, sentiment, classify. */
import type { Rng } from '../random.ts';
import { fill } from '../random.ts';
import { CITIES, DOMAINS, ORGANIZATIONS, SURNAMES } from '../lexicon.ts';
import type { SimTask } from './common.ts';
import { countWord, fitOutput, fullName, pickOther, withConstraints } from './common.ts';

// ---------------------------------------------------------------------------------------------------
// summarize: a paragraph composed from parts, and a summary built from the same parts

const GROUPS = [
  '年轻人',
  '家长',
  '上班族',
  '中小企业主',
  '退休老人',
  '大学生',
  '外卖骑手',
  '乡村教师',
  '个体商户',
  '新手父母',
  '自由职业者',
];
const BENEFITS = [
  '节省不少时间',
  '降低日常开支',
  '提高工作效率',
  '让生活更加便利',
  '帮助人们做出更好的决定',
  '缓解一部分压力',
  '带来新的就业机会',
  '让信息更透明',
];
const RISKS = [
  '带来新的安全隐患',
  '加重经济负担',
  '让人产生依赖',
  '拉大不同人群之间的差距',
  '引发隐私方面的担忧',
  '让一些老问题换个样子出现',
];
const DIFFICULTIES = [
  '如何让普通人真正用起来',
  '相关规则还不够完善',
  '成本仍然偏高',
  '缺少足够的专业人才',
  '各方的利益难以协调',
  '公众的认识还停留在表面',
];
const EXPERTS = [
  '一位长期关注这一领域的学者',
  '某大学的一位教授',
  '一位从业十多年的工程师',
  '一位社区工作者',
  '一名资深记者',
  '一位退休的老专家',
];
const ACTIONS = [
  '开设相关的公益课程',
  '组织居民体验活动',
  '把它纳入日常管理',
  '发放通俗易懂的宣传手册',
  '邀请专家进行答疑',
  '设立专门的咨询窗口',
];
const ADVICE = ['先了解基本常识', '评估自己的实际需要', '多听听专业人士的意见', '从小范围开始尝试', '留意信息的来源是否可靠'];

const PARAGRAPH_SENTENCES = [
  '近年来，{s}逐渐成为{d}领域讨论最多的话题之一。',
  '据{org}发布的一项调查，{city}有超过{pct}%的{g}表示听说过{s}。',
  '不少{g}认为，{s}能够{b}，但也有人担心它会{r}。',
  '{e}指出，真正的难点不在于{s}本身，而在于{diff}。',
  '在{city}，一些机构已经开始{act}，效果如何还有待观察。',
  '业内人士建议，{g}在接触{s}之前，最好{adv}。',
  '与几年前相比，人们对{s}的态度明显发生了变化。',
  '{year}年以来，围绕{s}的讨论从专业圈子扩展到了普通家庭。',
];

const SUMMARY_FRAMES = [
  '用一句话概括下面这段话的主要内容。',
  '请总结下面这段文字，不超过{n}字。',
  '阅读下面的材料，提炼出三个要点。',
  '为下面这段话写一个简短的摘要。',
  '下面这段话讲了什么？请简要概括。',
  '帮我把下面的内容压缩成一段{n}字以内的概述。',
  '读完下面的文字，说说作者的核心观点。',
  '请给下面这段文字拟一个标题，并写一句话摘要。',
  '概括下文的主要信息，写给没时间细读的{g}。',
  '提炼下面这段话的中心意思。',
  '这段材料太长了，请帮我总结成几句话。',
  '请归纳下面段落的要点，分条列出。',
];

export function summarize(rng: Rng): SimTask {
  const domain = rng.pick(DOMAINS);
  const slots = {
    s: rng.pick(domain.subjects),
    d: domain.name,
    org: rng.pick(ORGANIZATIONS),
    city: rng.pick(CITIES),
    pct: rng.between(12, 88),
    g: rng.pick(GROUPS),
    b: rng.pick(BENEFITS),
    r: rng.pick(RISKS),
    e: rng.pick(EXPERTS),
    diff: rng.pick(DIFFICULTIES),
    act: rng.pick(ACTIONS),
    adv: rng.pick(ADVICE),
    year: rng.between(2012, 2023),
  };
  const chosen = rng.sample(PARAGRAPH_SENTENCES, rng.between(4, 6));
  const input = chosen.map((p) => fill(p, slots)).join('');
  const instruction = withConstraints(fill(rng.pick(SUMMARY_FRAMES), { n: rng.pick([30, 50, 80, 100]), g: slots.g }), rng, 0.2);
  const output = rng.pick([
    `这段话主要讲了${slots.s}受到越来越多关注的情况：支持者认为它能${slots.b}，反对者担心它会${slots.r}。文中认为关键在于${slots.diff}。`,
    `要点如下：\n1. ${slots.s}在${slots.city}等地受到广泛关注；\n2. 它有望${slots.b}，也可能${slots.r}；\n3. 专家提醒，难点在于${slots.diff}。`,
    `概括来说：${slots.s}越来越受重视，利弊并存，真正的挑战是${slots.diff}，普通人接触前最好${slots.adv}。`,
  ]);
  return { instruction, input, output: fitOutput(output, rng), category: '摘要' };
}

// ---------------------------------------------------------------------------------------------------
// rewrite: a sentence in one register, the answer in another

const NOTICE_TIMES = [
  '明天上午',
  '本周六下午',
  '下周一全天',
  '今晚八点以后',
  '周三中午',
  '这个月十五号',
  '后天一早',
  '周末两天',
  '下周二晚上',
];
const NOTICE_PLACES = [
  '小区',
  '三号楼',
  '办公楼',
  '学校食堂',
  '地下车库',
  '东区宿舍',
  '图书馆二楼',
  '菜市场',
  '五单元',
  '体育馆',
  '员工餐厅',
];
const NOTICE_WORKS = [
  '停水检修',
  '停电维护',
  '更换电梯',
  '清洗外墙',
  '消杀',
  '更换管道',
  '升级门禁系统',
  '整修地面',
  '检修燃气',
  '安装充电桩',
];
const NOTICE_EFFECTS = [
  '大概要弄到中午',
  '估计要三四个小时',
  '进出可能不太方便',
  '到时候会有点吵',
  '具体结束时间还不确定',
  '可能要折腾一整天',
];
const NOTICE_REQUESTS = [
  '大家提前准备一下',
  '有事的话提前安排',
  '别把东西堆在走廊里',
  '注意安全',
  '车先挪一挪',
  '家里有老人的多留意',
  '提前存点水',
];
const NOTICE_FRAMES = [
  '{t}{p}要{w}，{e}，{r}。',
  '跟大家说一声，{p}{t}{w}，{e}，{r}哈。',
  '{p}的各位注意了：{t}{w}！{e}，{r}。',
  '通知一下，{t}要在{p}{w}，{r}，{e}。',
  '那个……{t}{p}{w}啊，{e}，{r}。',
];
const SERVICES = ['快递', '外卖', '客服', '维修', '物业', '售后', '宽带', '搬家公司', '家政', '驾校'];
const COMPLAINT_THINGS = ['态度', '速度', '回复', '处理方式', '安排', '效率', '服务'];
const COMPLAINT_WAITS = [
  '等了整整三天',
  '打了五六个电话',
  '前前后后跑了好几趟',
  '从早上等到下午',
  '催了一个星期',
  '留言了好几次',
  '换了三个客服',
];
const COMPLAINT_RESULTS = ['没有一个说法', '没人管', '还是没解决', '连个回音都没有', '问题越来越严重', '只会让我再等等'];
const COMPLAINT_FRAMES = [
  '你们{sv}的{th}也太差了吧，{when}的事，我{w}，到现在都{res}！',
  '什么{sv}啊，{th}这么差，{when}报的问题，我{w}，{res}！',
  '我真是服了你们的{sv}，{when}就联系了，{w}，结果{res}。',
  '受不了了，{sv}的{th}一塌糊涂，从{when}到现在，{w}还{res}！',
];
const COMPLAINT_WHENS = ['上周三', '昨天', '月初', '三天前', '国庆前', '上个月十号', '前天晚上', '周末'];
const FILLERS = [
  '我个人觉得吧，',
  '其实呢，',
  '说实话，',
  '怎么说呢，',
  '就是说，',
  '大家也都知道，',
  '这个问题吧，',
  '我的意思是，',
  '当然了，',
  '在某种程度上来说，',
  '从我的角度出发，',
  '讲真的，',
];
const VERBOSE_ENDINGS = [
  '，这样会比较好一些。',
  '，你们觉得呢？',
  '，大概就是这么个意思。',
  '，我觉得这个还是挺重要的。',
  '，嗯，就这些。',
  '，不知道我说清楚了没有。',
];
const CLAIMS = ['{g}在接触{s}之前，最好先{adv}', '{g}面对{s}，应该{adv}', '讨论{s}的时候，我们需要{adv}', '推进{s}这件事，可以考虑{act}'];
const DOCS = ['方案', '报告', '周报', '策划书', '会议纪要', '调研报告', '投标书', '教案', '预算表'];
const HARSH_BAD = ['乱', '粗糙', '啰嗦', '敷衍', '随意'];
/** [harsh, gentle] */
const HARSH_ISSUES: readonly (readonly [string, string])[] = [
  ['数据都对不上', '部分数据还需要再核对'],
  ['重点完全看不出来', '重点可以再突出一些'],
  ['错别字一大堆', '有几处错别字需要修改'],
  ['格式乱七八糟', '格式还可以再统一一下'],
  ['结论没有依据', '结论部分最好补充一些依据'],
  ['前后矛盾', '前后有几处说法不太一致'],
];
const HARSH_DEMANDS: readonly (readonly [string, string])[] = [
  ['今天下班前重新改一版', '今天下班前再调整一版'],
  ['明天一早给我', '明早发我看看'],
  ['赶紧返工', '抽空再修改一下'],
  ['周五之前必须交上来', '周五前交给我'],
  ['别再让我看到这种东西', '下次提交前自己先多检查一遍'],
];
const GOODS: readonly { name: string; specs: readonly string[] }[] = [
  { name: '保温杯', specs: ['容量500毫升', '保温12小时', '不锈钢内胆', '一只手就能打开'] },
  { name: '双肩包', specs: ['能放下15寸笔记本', '面料防泼水', '重量只有800克', '背带加厚'] },
  { name: '台灯', specs: ['三档亮度可调', '充满电能用一周', '可以折叠', '光线不闪'] },
  { name: '电饭煲', specs: ['容量3升', '有预约功能', '内胆不粘', '二十分钟快煮'] },
  { name: '运动鞋', specs: ['鞋底防滑', '重量很轻', '透气网面', '有三种配色'] },
  { name: '加湿器', specs: ['水箱4升', '噪音很小', '能定时关机', '没水自动断电'] },
];
const STYLES = ['正式', '礼貌', '简洁', '生动', '委婉', '有说服力', '书面化', '客气', '得体', '温和', '专业', '有感染力'];
const REWRITE_OPENERS = ['把下面这句话', '请把下面这段话', '帮我把这段文字', '将以下内容', '下面这段话请', '把这条消息', '麻烦把下面的话'];
const REWRITE_VERBS = ['改写得更{st}一些', '润色得{st}一点', '改成{st}的说法', '换成{st}的表达', '调整得更{st}', '改得{st}些'];
const REWRITE_TAILS = [
  '。',
  '，不改变原意。',
  '，要发到{where}。',
  '，保留关键信息。',
  '，长度差不多就行。',
  '，去掉多余的口头语。',
  '，让对方更容易接受。',
];

export function rewrite(rng: Rng): SimTask {
  const st = rng.pick(STYLES);
  const where = rng.pick(['工作群', '家长群', '小区业主群', '公司公告栏', '部门邮件里']);
  const instruction = fill(rng.pick(REWRITE_OPENERS) + rng.pick(REWRITE_VERBS) + rng.pick(REWRITE_TAILS), { st, where });
  const r = rng.next();
  let input: string;
  let output: string;
  if (r < 0.25) {
    const slots = {
      t: rng.pick(NOTICE_TIMES),
      p: rng.pick(NOTICE_PLACES),
      w: rng.pick(NOTICE_WORKS),
      e: rng.pick(NOTICE_EFFECTS),
      r: rng.pick(NOTICE_REQUESTS),
    };
    input = fill(rng.pick(NOTICE_FRAMES), slots);
    output = `各位好：因${slots.w}需要，${slots.p}将于${slots.t}进行施工，${slots.e.replace(/^大概|^估计/u, '预计')}。请大家提前做好相应安排，由此带来的不便，敬请谅解。感谢各位的理解与配合！`;
  } else if (r < 0.45) {
    const slots = {
      sv: rng.pick(SERVICES),
      th: rng.pick(COMPLAINT_THINGS),
      w: rng.pick(COMPLAINT_WAITS),
      res: rng.pick(COMPLAINT_RESULTS),
      when: rng.pick(COMPLAINT_WHENS),
    };
    input = fill(rng.pick(COMPLAINT_FRAMES), slots);
    output = `您好，我想反映一下${slots.sv}${slots.th}方面的问题。我${slots.when}就已反映，${slots.w}，目前问题仍未得到解决。希望您能尽快帮忙核实处理，谢谢！`;
  } else if (r < 0.7) {
    const s = rng.pick(rng.pick(DOMAINS).subjects);
    const claim = fill(rng.pick(CLAIMS), { g: rng.pick(GROUPS), s, adv: rng.pick(ADVICE), act: rng.pick(ACTIONS) });
    const [f1, f2] = rng.sample(FILLERS, 2);
    input = `${f1}关于${s}这个事情，${f2}${claim}${rng.pick(VERBOSE_ENDINGS)}`;
    output = `${claim}。${rng.pick(['这样更稳妥。', '不必急于一时。', '多听取几方面的意见会更好。'])}`;
  } else if (r < 0.88) {
    const doc = rng.pick(DOCS);
    const [issue, gentleIssue] = rng.pick(HARSH_ISSUES);
    const [demand, gentleDemand] = rng.pick(HARSH_DEMANDS);
    const who = rng.pick(['小', '老']) + rng.pick(SURNAMES);
    input = `${who}，${rng.pick(['', '我说句实话，', '我看了一下，', '刚才看了，'])}你这份${doc}写得太${rng.pick(HARSH_BAD)}了，${issue}，${demand}！`;
    output = `${who}，这份${doc}辛苦你了。整体思路是可以的，不过${gentleIssue}。麻烦你${gentleDemand}，有拿不准的地方随时找我商量。`;
  } else {
    const g = rng.pick(GOODS);
    const specs = rng.sample(g.specs, 3);
    const price = rng.between(39, 399);
    input = `这款${g.name}${specs.join('，')}，售价${price}元。`;
    output = `${rng.pick(['每天都离不开的好帮手来了！', '把好用装进日常。', '小物件，大不同。'])}这款${g.name}${specs[0]}，${specs[1]}，而且${specs[2]}，用起来省心又顺手。只要${price}元，就能让生活多一份便利。`;
  }
  return {
    instruction,
    input,
    output: fitOutput(output, rng, ['改写后语气更得体，原意保持不变。', '这样表达既清楚又不失礼貌。']),
    category: '改写',
  };
}

// ---------------------------------------------------------------------------------------------------
// extract: a short news paragraph whose names, places and dates are known

const EXTRACT_EVENTS = [
  '科普讲座',
  '志愿服务活动',
  '产品发布会',
  '校友座谈会',
  '非遗展览',
  '青少年编程比赛',
  '公益义卖',
  '农产品展销会',
  '学术研讨会',
  '读书沙龙',
];
const EXTRACT_TARGETS: readonly { label: string; key: 'people' | 'places' | 'dates' | 'orgs' }[] = [
  { label: '人名', key: 'people' },
  { label: '地名', key: 'places' },
  { label: '时间', key: 'dates' },
  { label: '机构名称', key: 'orgs' },
];
const EXTRACT_FRAMES = [
  '找出下面这段话中提到的所有{t}。',
  '从下文中提取{t}，用顿号隔开。',
  '请列出下面新闻里出现的{t}。',
  '下面这段文字提到了哪些{t}？',
  '把下面段落中的{t}和{t2}分别找出来。',
  '请从以下材料中抽取{t}，按出现顺序排列。',
  '阅读下面的短讯，整理出其中的{t}。',
  '标出下文中所有的{t}和{t2}。',
  '这则消息里出现了哪些{t}？逐一列出。',
  '信息抽取：从下面的文字中找出{t}。',
  '提取下面新闻中的{t}，再找出{t2}。',
];

export function extract(rng: Rng): SimTask {
  const people = [fullName(rng), fullName(rng), fullName(rng)];
  const city1 = rng.pick(CITIES);
  const city2 = pickOther(CITIES, city1, rng);
  const org1 = rng.pick(ORGANIZATIONS);
  const event = rng.pick(EXTRACT_EVENTS);
  const s = rng.pick(rng.pick(DOMAINS).subjects);
  const month = rng.between(1, 12);
  const day = rng.between(1, 25);
  const date1 = `${month}月${day}日`;
  const date2 = `${month}月${day + rng.between(1, 3)}日`;
  const count = rng.between(30, 900);
  const [p0, p1, p2] = people as [string, string, string];
  const first = rng.pick([
    `${date1}，${p0}和${p1}从${city1}出发，前往${city2}参加由${org1}主办的${event}。`,
    `据${org1}消息，${event}于${date1}在${city2}开幕，来自${city1}的${p0}和${p1}应邀出席。`,
    `${date1}上午，由${org1}牵头的${event}在${city2}举行，${p0}、${p1}等人专程从${city1}赶来。`,
  ]);
  const second = rng.pick([
    `${p1}在活动中介绍了${s}的最新情况，现场约有${count}人参加。`,
    `现场约${count}名观众听取了${p1}关于${s}的分享。`,
    `活动吸引了约${count}人参与，${p1}围绕${s}回答了大家的提问。`,
    `${p1}以${s}为题做了发言，到场人数约${count}人。`,
  ]);
  const third = rng.pick([
    `${p2}表示，下一次活动计划于${date2}在${city1}举行。`,
    `会后，${p2}透露，${city1}的分场活动将在${date2}启动。`,
    `负责组织工作的${p2}说，相关资料会在${date2}前整理完毕，并在${city1}巡回展示。`,
  ]);
  const input = first + second + third;
  const found = { people: [p0, p1, p2], places: [city1, city2], dates: [date1, date2], orgs: [org1] };
  const [t1, t2] = rng.sample(EXTRACT_TARGETS, 2);
  const frame = rng.pick(EXTRACT_FRAMES);
  const instruction = fill(frame, { t: t1!.label, t2: t2!.label });
  const answer = (t: (typeof EXTRACT_TARGETS)[number]): string => `${t.label}：${found[t.key].join('、')}`;
  const body = frame.includes('{t2}') ? `${answer(t1!)}\n${answer(t2!)}` : answer(t1!);
  const output = `${rng.pick(['文中提到的信息如下：', '提取结果：', '根据原文，整理如下：'])}\n${body}\n${rng.pick([
    `这段话报道的是${event}的相关情况。`,
    `另外，现场参加人数约为${count}人。`,
    `活动主题与${s}有关。`,
  ])}`;
  return { instruction, input, output: fitOutput(output, rng), category: '信息抽取' };
}

// ---------------------------------------------------------------------------------------------------
// sentiment

const REVIEW_TARGETS: readonly { name: string; aspects: readonly string[] }[] = [
  { name: '这家餐厅', aspects: ['菜的味道', '服务员的态度', '上菜速度', '环境', '分量'] },
  { name: '这款蓝牙耳机', aspects: ['音质', '续航', '佩戴感', '连接稳定性', '做工'] },
  { name: '这家酒店', aspects: ['房间卫生', '前台服务', '隔音', '早餐', '位置'] },
  { name: '这本书', aspects: ['内容', '翻译', '印刷质量', '排版', '故事节奏'] },
  { name: '这次快递', aspects: ['送货速度', '包装', '快递员的态度', '物流信息的更新'] },
  { name: '这双跑鞋', aspects: ['缓震', '透气性', '尺码', '耐磨程度', '外观'] },
  { name: '这台洗衣机', aspects: ['洗净效果', '噪音', '耗水量', '操作面板', '安装服务'] },
  { name: '这门网课', aspects: ['讲解', '课程安排', '作业批改', '答疑速度', '讲义'] },
  { name: '这款手机', aspects: ['拍照效果', '电池', '系统流畅度', '屏幕', '发热情况'] },
  { name: '这家理发店', aspects: ['手艺', '价格', '等待时间', '推销情况', '环境'] },
  { name: '这家健身房', aspects: ['器械', '教练', '卫生', '更衣室', '会员价格'] },
  { name: '这款电动车', aspects: ['续航', '刹车', '车座', '充电速度', '售后'] },
  { name: '这次的民宿', aspects: ['房东', '床品', '景色', '交通', '早餐'] },
  { name: '这家奶茶店', aspects: ['口味', '甜度', '出杯速度', '包装', '店员态度'] },
  { name: '这台空气炸锅', aspects: ['做出来的口感', '清洗难度', '噪音', '容量', '说明书'] },
  { name: '这家宠物医院', aspects: ['医生', '收费', '候诊时间', '环境', '护士'] },
];
const REVIEW_PREAMBLES = [
  '',
  '',
  '买了两周，',
  '第二次来了，',
  '朋友推荐的，',
  '说实话，',
  '用了一个月，',
  '昨天刚到货，',
  '带家人来的，',
  '纠结了很久才下单，',
];
const POSITIVE = ['很不错', '让人满意', '超出预期', '挺好的', '没得挑', '比想象中好很多', '值得表扬'];
const NEGATIVE = ['太差了', '让人失望', '很一般', '不太行', '有明显问题', '和宣传的不一样', '需要改进'];
const SENTIMENT_FRAMES = [
  '判断下面这条评论的情感倾向（正面、负面或中性）。',
  '这条用户评价是好评还是差评？请说明理由。',
  '分析下面评论的情感，并指出用户满意和不满意的地方。',
  '请给下面的评论打上情感标签。',
  '阅读下面的顾客反馈，判断顾客的态度。',
  '下面这段评价表达了什么样的情绪？',
  '对下面的评论做情感分类，并用一句话说明依据。',
  '帮我看看这条评价对商家是褒是贬。',
  '情感分析：判断下面评论的态度。',
  '这是好评还是差评？',
  '这位顾客对商家满意吗？',
  '判断情感：正面、负面还是中性？',
  '这条留言的态度如何？',
];
const REVIEW_DETAILS = [
  '等了{k}分钟',
  '花了{p}块钱',
  '是{who}推荐的',
  '第{k}次光顾',
  '活动价买的',
  '周末去的，人很多',
  '工作日去的，人不多',
  '收到时包装有点压扁',
];

export function sentiment(rng: Rng): SimTask {
  const target = rng.pick(REVIEW_TARGETS);
  const aspects = rng.sample(target.aspects, rng.between(2, 3));
  const mode = rng.pick(['pos', 'neg', 'mixed'] as const);
  const judged = aspects.map((a, i) => {
    const positive = mode === 'pos' || (mode === 'mixed' && i % 2 === 0);
    return { a, positive, word: rng.pick(positive ? POSITIVE : NEGATIVE) };
  });
  const closing =
    mode === 'pos'
      ? rng.pick(['下次还会再来。', '推荐给大家。', '总体很满意。'])
      : mode === 'neg'
        ? rng.pick(['不会再买了。', '劝大家慎重考虑。', '真的很失望。'])
        : rng.pick(['总的来说有好有坏。', '还算可以接受吧。', '看个人需求吧。']);
  const detail = rng.chance(0.6)
    ? fill(rng.pick(REVIEW_DETAILS), { k: rng.between(2, 40), p: rng.between(20, 900), who: rng.pick(['同事', '朋友', '邻居', '网友']) }) +
      '，'
    : '';
  const input = `${rng.pick(REVIEW_PREAMBLES)}${detail}${target.name}${judged.map((j) => `${j.a}${j.word}`).join('，')}，${closing}`;
  const label = mode === 'pos' ? '正面' : mode === 'neg' ? '负面' : '中性（褒贬参半）';
  const good = judged.filter((j) => j.positive).map((j) => j.a);
  const bad = judged.filter((j) => !j.positive).map((j) => j.a);
  const output = `情感倾向：${label}。${good.length > 0 ? `用户对${good.join('和')}比较满意` : '用户没有提到满意的地方'}；${bad.length > 0 ? `对${bad.join('和')}不太满意` : '没有明显的不满'}。${rng.pick([`结尾的“${closing.replace(/。$/u, '')}”也印证了这一判断。`, '整体语气和用词都与这个判断一致。'])}`;
  return { instruction: rng.pick(SENTIMENT_FRAMES), input, output: fitOutput(output, rng), category: '情感分析' };
}

// ---------------------------------------------------------------------------------------------------
// classify: items whose classes are known

interface Taxonomy {
  /** What the items are (食物, 动物…). */
  noun: string;
  classes: Readonly<Record<string, readonly string[]>>;
}

const TAXONOMIES: readonly Taxonomy[] = [
  {
    noun: '食物',
    classes: {
      水果: ['苹果', '香蕉', '葡萄', '橙子', '西瓜', '猕猴桃', '草莓', '芒果', '荔枝', '柚子', '蓝莓', '桃子'],
      蔬菜: ['菠菜', '白菜', '胡萝卜', '土豆', '西兰花', '茄子', '黄瓜', '芹菜', '南瓜', '洋葱', '莲藕', '生菜'],
      肉蛋类: ['牛肉', '鸡胸肉', '猪排', '羊肉', '鸭肉', '虾仁', '鲈鱼', '鸡蛋', '鹌鹑蛋'],
      主食: ['米饭', '馒头', '面条', '燕麦', '玉米', '全麦面包', '小米', '糙米'],
    },
  },
  {
    noun: '动物',
    classes: {
      哺乳动物: ['老虎', '海豚', '蝙蝠', '大熊猫', '鲸鱼', '袋鼠', '骆驼', '狐狸', '松鼠', '长颈鹿'],
      鸟类: ['企鹅', '麻雀', '老鹰', '鸵鸟', '丹顶鹤', '啄木鸟', '鹦鹉', '燕子'],
      鱼类: ['鲨鱼', '鲤鱼', '金枪鱼', '带鱼', '小丑鱼', '三文鱼'],
      爬行动物: ['鳄鱼', '蜥蜴', '乌龟', '眼镜蛇', '变色龙'],
      昆虫: ['蜜蜂', '蝴蝶', '蚂蚁', '蜻蜓', '瓢虫', '蝉'],
    },
  },
  {
    noun: '生活垃圾',
    classes: {
      可回收物: ['旧报纸', '塑料瓶', '易拉罐', '玻璃瓶', '纸箱', '旧衣服', '铁锅'],
      厨余垃圾: ['果皮', '剩饭', '菜叶', '鸡骨头', '茶叶渣', '蛋壳'],
      有害垃圾: ['废电池', '过期药品', '水银温度计', '废灯管', '油漆桶', '杀虫剂罐'],
      其他垃圾: ['用过的纸巾', '烟头', '陶瓷碎片', '一次性餐具', '尘土', '污损的塑料袋'],
    },
  },
  {
    noun: '国家',
    classes: {
      亚洲: ['日本', '印度', '泰国', '越南', '蒙古', '哈萨克斯坦', '马来西亚'],
      欧洲: ['法国', '德国', '意大利', '挪威', '波兰', '西班牙', '希腊'],
      非洲: ['埃及', '肯尼亚', '南非', '尼日利亚', '摩洛哥', '埃塞俄比亚'],
      美洲: ['巴西', '加拿大', '墨西哥', '阿根廷', '秘鲁', '智利'],
      大洋洲: ['澳大利亚', '新西兰', '斐济'],
    },
  },
  {
    noun: '运动项目',
    classes: {
      球类运动: ['篮球', '足球', '排球', '网球', '羽毛球', '乒乓球', '棒球'],
      水上运动: ['游泳', '跳水', '皮划艇', '冲浪', '赛艇'],
      冰雪运动: ['速度滑冰', '高山滑雪', '冰球', '冰壶'],
      田径项目: ['跳远', '铅球', '马拉松', '跨栏', '撑杆跳'],
    },
  },
  {
    noun: '词语',
    classes: {
      名词: ['桌子', '河流', '书包', '窗户', '城市', '时间', '月亮', '朋友'],
      动词: ['奔跑', '思考', '讨论', '写作', '修理', '收拾', '等待', '出发'],
      形容词: ['美丽', '安静', '勇敢', '温暖', '狭窄', '明亮', '辛苦', '清澈'],
    },
  },
  {
    noun: '职业',
    classes: {
      医疗卫生: ['护士', '药剂师', '牙医', '康复治疗师', '麻醉医生'],
      教育: ['小学教师', '辅导员', '教研员', '幼儿园老师'],
      建筑工程: ['电焊工', '造价师', '结构工程师', '测量员'],
      信息技术: ['前端工程师', '运维工程师', '数据分析师', '测试工程师'],
    },
  },
];
const CLASSIFY_FRAMES = [
  '把下面这些{noun}分类。',
  '请将下列{noun}按类别归类。',
  '下面的{noun}分别属于哪一类？',
  '给下面的{noun}分组，并写出每组的类别名称。',
  '请对以下{noun}进行分类整理。',
  '判断下列每一项属于什么类别。',
  '这些{noun}可以分成几类？请分别列出。',
  '按照常见的分类方法，整理下面的{noun}。',
  '帮孩子把下面的{noun}分一分类。',
  '将以下{count}个{noun}分门别类。',
];

export function classify(rng: Rng): SimTask {
  const tax = rng.pick(TAXONOMIES);
  const classNames = rng.sample(Object.keys(tax.classes), rng.between(2, Math.min(4, Object.keys(tax.classes).length)));
  const picked: { item: string; cls: string }[] = [];
  for (const cls of classNames) for (const item of rng.sample(tax.classes[cls]!, rng.between(2, 3))) picked.push({ item, cls });
  const shuffled = rng.sample(picked, picked.length);
  const sep = rng.pick(['、', '，', '\n']);
  const input = sep === '\n' ? shuffled.map((p) => p.item).join('\n') : shuffled.map((p) => p.item).join(sep);
  const instruction = fill(rng.pick(CLASSIFY_FRAMES), { noun: tax.noun, count: countWord(shuffled.length, rng) });
  const groups = classNames.map(
    (cls) =>
      `${cls}：${shuffled
        .filter((p) => p.cls === cls)
        .map((p) => p.item)
        .join('、')}`,
  );
  const output = `${rng.pick(['分类结果如下：', '可以分为以下几类：', `这些${tax.noun}可以分成${classNames.length}类：`])}\n${groups.join('\n')}`;
  return {
    instruction,
    input,
    output: fitOutput(output, rng, ['分类的依据是它们各自最基本的属性。', '如果换一种分类标准，分组结果也可能不同。']),
    category: '分类',
  };
}
