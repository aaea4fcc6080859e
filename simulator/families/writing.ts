/** Writing tasks: short pieces, letters, dialogues, copy, poems and fables, naming, and writing from notes. */
import type { Rng } from '../random.ts';
import { fill } from '../random.ts';
import { AUDIENCES, CITIES, DOMAINS, ORGANIZATIONS, SEASONS } from '../lexicon.ts';
import type { SimTask } from './common.ts';
import { countWord, fitInstruction, fitOutput, fullName, numbered, pickOther, withConstraints, withLeadIn } from './common.ts';

// ---------------------------------------------------------------------------------------------------
// short prose

const TIMES = [
  '清晨',
  '黄昏',
  '深夜',
  '雨后',
  '初雪时',
  '深秋',
  '盛夏午后',
  '除夕夜',
  '开学第一天',
  '周末早上',
  '梅雨季',
  '立春那天',
  '台风过后',
  '停电的晚上',
];
const PLACES = [
  '菜市场',
  '老街',
  '地铁站',
  '校园操场',
  '外婆家的小院',
  '江边',
  '图书馆',
  '医院走廊',
  '小区门口',
  '山间小路',
  '火车站台',
  '早餐铺',
  '旧书摊',
  '公园长椅',
  '夜班公交',
  '渔港',
  '田埂',
  '天台',
  '胡同口',
  '理发店',
  '县城汽车站',
  '海边栈道',
  '工地食堂',
  '修车铺',
  '老电影院',
  '码头',
];
const FIGURES = [
  '修鞋的老师傅',
  '卖花的阿婆',
  '值夜班的保安',
  '送报的少年',
  '摆摊的夫妻',
  '退休的老教师',
  '外卖骑手',
  '一只流浪猫',
  '老邮递员',
  '扫街的环卫工',
  '守店的小姑娘',
  '下棋的老人',
  '晚归的学生',
  '卖烤红薯的大叔',
];
const EXPERIENCES = [
  '独自旅行',
  '学骑自行车',
  '给家人做饭',
  '参加志愿服务',
  '上台演讲',
  '离家住校',
  '养一盆花',
  '领到工资',
  '熬夜看流星雨',
  '搬家',
  '去外地求学',
  '当众道歉',
  '参加长跑比赛',
  '教爷爷用手机',
  '在异乡过年',
  '照顾生病的朋友',
  '坐绿皮火车',
  '赶早市',
];
const ACTIVITIES = [
  '远足',
  '家访',
  '义卖',
  '露营',
  '探亲',
  '大扫除',
  '采茶',
  '赶集',
  '返乡',
  '毕业旅行',
  '搬家',
  '夜爬',
  '看海',
  '拔河比赛',
  '社区演出',
  '骑行',
  '钓鱼',
  '摘果子',
  '走亲戚',
  '义务植树',
  '下乡支教',
  '同学聚会',
  '秋游',
  '野炊',
];
const GENRES = ['散文', '随笔', '记叙文', '微型小说', '日记', '小故事', '短文', '回忆录片段'];
const PROSE_OPENERS = [
  '以“{t}”为题，写一篇',
  '写一篇题为“{t}”的',
  '请围绕“{t}”创作一篇',
  '用第一人称写一篇关于{t}的',
  '以{t}为素材写一篇',
  '帮我写一篇主题为“{t}”的',
  '给校刊写一篇关于{t}的',
  '题目是“{t}”，请写一篇',
];
const PROSE_LENGTHS = ['{n}字左右的', '', '不超过{n}字的', '短小的', '约{n}字的'];
const PROSE_TAILS = [
  '。',
  '，表达{e}之情。',
  '，写出人物的细节。',
  '，结尾要有回味。',
  '，写出声音和气味。',
  '，用上比喻和拟人。',
  '，要有一个小转折。',
  '，语言朴素真挚。',
  '，写给{u}读。',
  '，开头直接进入场景。',
  '，注意环境描写。',
];
const EMOTIONS = ['思乡', '离别', '期待', '孤独', '温暖', '释然', '怀念', '希望', '感激', '惆怅'];
const PROSE_LINES = [
  '{time}的{place}，总带着一种说不出的味道。',
  '我记得那天的{place}格外安静，只有风从身边轻轻吹过。',
  '人们来来往往，谁也没有注意到角落里那个小小的变化。',
  '那一刻我忽然明白，有些东西要慢下来才能看见。',
  '{time}的光线落在{place}，把一切都照得柔和起来。',
  '后来我又去过很多次{place}，却再也没有遇到那样的{time}。',
  '有位老人坐在一旁，笑着和我说起许多年前的旧事。',
  '我站了很久，直到天色完全变了，才慢慢往回走。',
  '生活大概就是这样，平常的日子里藏着许多温柔。',
  '回想起来，那是我第一次认真地打量身边的世界。',
];

function prose(rng: Rng): SimTask {
  const time = rng.pick(TIMES);
  const place = rng.pick(PLACES);
  const form = rng.int(4);
  const title = [
    `${time}的${place}`,
    `${place}里的${rng.pick(FIGURES)}`,
    `第一次${rng.chance(0.5) ? `在${rng.pick(CITIES)}` : ''}${rng.pick(EXPERIENCES)}`,
    `${rng.pick(SEASONS)}${rng.pick(['里', '', '的一个周末'])}${rng.pick(['在' + rng.pick(PLACES), '和' + rng.pick(['外婆', '同桌', '父亲', '老同学', '邻居'])])}的一次${rng.pick(ACTIVITIES)}`,
  ][form]!;
  const slots = { t: title, n: rng.pick([200, 300, 400, 500, 600, 800]), e: rng.pick(EMOTIONS), u: rng.pick(AUDIENCES) };
  const core = fill(rng.pick(PROSE_OPENERS) + rng.pick(PROSE_LENGTHS) + rng.pick(GENRES) + rng.pick(PROSE_TAILS), slots);
  const instruction = fitInstruction(withConstraints(core, rng, 0.25), core);
  const lines = rng.sample(PROSE_LINES, rng.between(4, 5)).map((l) => fill(l, { time, place }));
  const output = form === 0 ? lines.join('') : `“${title}”，这几个字让我想起很多。${lines.slice(1).join('')}`;
  return { instruction, input: '', output: fitOutput(output, rng), category: '写作' };
}

// ---------------------------------------------------------------------------------------------------
// letters and emails

const LETTERS = [
  '感谢信',
  '道歉邮件',
  '请假邮件',
  '邀请函',
  '推荐信',
  '投诉信',
  '慰问信',
  '辞职信',
  '催办邮件',
  '祝贺信',
  '说明信',
  '回复邮件',
];
const RECIPIENTS = [
  '班主任',
  '部门经理',
  '房东',
  '客户王总',
  '多年未见的老同学',
  '物业管理处',
  '导师',
  '合作方的项目负责人',
  '社区居委会',
  '孩子的英语老师',
  '前同事',
  '图书馆管理员',
  '酒店前台经理',
  '学校后勤处',
  '外地的表哥',
  '培训机构的顾问',
  '公司人事部',
  '供货商',
  '新来的实习生',
  '老家的村委会',
  '志愿者团队',
  '装修公司',
];
const DAYS = ['下周三', '本周五', '下个月初', '十号', '国庆节', '月底', '明天下午', '下周一上午', '周末', '二十号'];
const REASONS = ['去医院复查', '参加孩子的家长会', '办理租房手续', '回老家处理家事', '参加职业资格考试', '陪父母体检'];
const PROJECTS = [
  '新版官网',
  '年度预算',
  '展会布置',
  '社区义诊',
  '毕业设计',
  '仓库盘点',
  '新品发布',
  '夏令营',
  '校庆筹备',
  '客户回访',
  '门店装修',
  '年终晚会',
  '员工培训',
  '投标方案',
  '志愿服务',
  '图书捐赠',
  '运动会',
  '课题申报',
  '数据迁移',
  '产品说明书',
];
const HELPS = ['加班赶工', '耐心指导新人', '协调各方资源', '提供关键数据', '帮忙审稿', '临时顶班', '垫付费用', '熬夜改方案'];
const MATTER_FORMS = [
  '说明{day}因{reason}需要请假',
  '感谢对方在{project}中{help}',
  '邀请对方{day}来参加{project}的总结会',
  '为{project}因{cause}延误表示歉意',
  '确认{project}在{day}的时间安排',
  '提醒对方{day}前反馈{project}的意见',
  '询问{project}中{cost}的费用明细',
  '祝贺{project}在{day}顺利完成',
  '反映{place}{issue}的问题',
  '推荐{person}负责{project}',
  '说明{day}起{place}因{cause}暂停开放',
];
const CAUSES = ['人手不足', '天气原因', '设备故障', '供货延迟', '预算调整', '场地变更', '审批没通过'];
const COSTS = ['场地', '物料', '交通', '餐饮', '设计', '人工'];
const ISSUES = ['长期无人打扫', '夜里太吵', '灯坏了很久', '经常被占用', '漏水', '没有无障碍通道'];
const LETTER_FRAMES = [
  '写一封{l}给{r}，内容是{m}。',
  '帮我给{r}写一封{l}，{m}。',
  '请以我的名义给{r}写{l}，主要是{m}。',
  '我需要给{r}发一封{l}，目的是{m}，请帮我起草。',
  '起草一封{l}：收件人是{r}，事由是{m}。',
  '替我写一封简短的{l}，对象是{r}，要{m}。',
  '请写一封得体的{l}，向{r}{m}。',
  '给{r}的{l}怎么写？事情是这样的：要{m}。',
];

function letter(rng: Rng): SimTask {
  const l = rng.pick(LETTERS);
  const r = rng.pick(RECIPIENTS);
  const m = fill(rng.pick(MATTER_FORMS), {
    day: rng.pick(DAYS),
    reason: rng.pick(REASONS),
    project: rng.pick(PROJECTS),
    help: rng.pick(HELPS),
    place: rng.pick(PLACES),
    cause: rng.pick(CAUSES),
    cost: rng.pick(COSTS),
    issue: rng.pick(ISSUES),
    person: `同事${fullName(rng)}`,
  });
  const core = fill(rng.pick(LETTER_FRAMES), { l, r, m });
  const instruction = fitInstruction(withConstraints(core, rng, 0.4), core);
  const toYou = m.replace(/对方/gu, '您');
  const body = rng.pick([`写这封信，是想${toYou}。`, `冒昧打扰，这次来信主要是${toYou}。`, `有一件事需要跟您说一下：${toYou}。`]);
  const middle = rng.pick([
    '具体情况如果需要进一步说明，我可以随时补充。',
    '给您添麻烦了，还请谅解。',
    '这段时间多亏您的帮助，心里一直很感激。',
    '如有不妥之处，欢迎您直接指出。',
    '相关安排我已经提前做好准备，不会影响后续的进度。',
  ]);
  const output = `尊敬的${r}：\n您好！${body}${middle}\n期待您的回复，祝一切顺利！\n此致\n敬礼\n${fullName(rng)}`;
  return { instruction, input: '', output: fitOutput(output, rng), category: '写作' };
}

// ---------------------------------------------------------------------------------------------------
// dialogues

const ROLE_PAIRS: readonly (readonly [string, string])[] = [
  ['顾客', '店员'],
  ['医生', '病人'],
  ['老师', '家长'],
  ['面试官', '求职者'],
  ['导游', '游客'],
  ['房东', '租客'],
  ['经理', '新员工'],
  ['图书管理员', '读者'],
  ['快递员', '收件人'],
  ['教练', '学员'],
  ['记者', '环卫工人'],
  ['父亲', '女儿'],
  ['奶奶', '孙子'],
  ['宿管阿姨', '新生'],
  ['志愿者', '老人'],
  ['餐厅服务员', '食客'],
  ['药剂师', '顾客'],
  ['客服', '用户'],
  ['班长', '转学生'],
  ['厨师', '学徒'],
  ['社区民警', '居民'],
  ['出租车司机', '乘客'],
  ['主持人', '嘉宾'],
  ['两位老同学', '班主任'],
  ['村支书', '返乡青年'],
  ['健身教练', '上班族'],
  ['店长', '兼职学生'],
  ['产品经理', '程序员'],
  ['外婆', '外孙女'],
  ['律师', '当事人'],
];
const SETTINGS = [
  '在公交车上',
  '在医院走廊里',
  '在小区楼下',
  '在食堂排队时',
  '在电梯里',
  '在下班路上',
  '在家长会后',
  '在雨天的屋檐下',
  '在夜市的摊位前',
  '在候车室里',
];
const DIALOGUE_OPENERS = ['写一段', '请编一段', '创作一段', '设计一段', '帮我写一段', '模拟一段'];
const DIALOGUE_CORES = [
  '{a}和{b}之间关于{s}的对话',
  '{a}与{b}聊{s}的对话',
  '{a}向{b}请教{s}的对话',
  '{a}给{b}讲{s}的情景对话',
  '{a}和{b}围绕{s}的{x}展开的对话',
  '{a}和{b}因为{s}产生分歧的对话',
];
const DIALOGUE_TAILS = [
  '。',
  '，不少于六句。',
  '，语言口语化。',
  '，要有一点幽默感。',
  '，结尾留个悬念。',
  '，体现出两人的性格。',
  '，适合课堂表演。',
  '，控制在十句以内。',
];

function dialogue(rng: Rng): SimTask {
  const [a, b] = rng.pick(ROLE_PAIRS);
  const domain = rng.pick(DOMAINS);
  const s = rng.pick(domain.subjects);
  const setting = rng.chance(0.45) ? rng.pick(SETTINGS) + '，' : '';
  const core =
    setting +
    rng.pick(DIALOGUE_OPENERS) +
    fill(rng.pick(DIALOGUE_CORES), { a, b, s, x: rng.pick(domain.aspects) }) +
    rng.pick(DIALOGUE_TAILS);
  const instruction = fitInstruction(withConstraints(core, rng, 0.2), core);
  const lines = [
    `${a}：最近大家都在聊${s}，你了解吗？`,
    `${b}：听说过一些，不过说实话，还不太明白。`,
    `${a}：${rng.pick(['其实没那么复杂，关键是先弄清楚它跟我们有什么关系。', '我一开始也是这样，后来慢慢琢磨才懂了一点。', '我给你举个例子你就明白了。'])}`,
    `${b}：${rng.pick(['那你说说，平时生活里能用上吗？', '原来是这样，那需要注意什么呢？', '听起来挺有意思，我回去也查查。'])}`,
    `${a}：${rng.pick(['当然，关键是别急着下结论，多了解几方面的说法。', '注意别轻信网上的夸张说法，多看看靠谱的资料。', '有空我们可以一起研究研究。'])}`,
  ];
  return { instruction, input: '', output: fitOutput(lines.join('\n'), rng), category: '写作' };
}

// ---------------------------------------------------------------------------------------------------
// copywriting and speeches

const PRODUCTS = [
  '一款保温杯',
  '一家社区面包店',
  '一款儿童护眼台灯',
  '一家猫咪咖啡馆',
  '一款折叠自行车',
  '一家老字号酱菜铺',
  '一款降噪耳机',
  '一家二手书店',
  '一款家用咖啡机',
  '一家山间民宿',
  '一款记账软件',
  '一款电动牙刷',
  '一家手工皮具店',
  '一款露营帐篷',
  '一家素食餐厅',
  '一款智能体重秤',
  '一家花店',
  '一款无糖酸奶',
  '一家少儿编程班',
  '一家社区洗衣房',
  '一款农家土蜂蜜',
  '一款防晒衣',
  '一款旅行收纳袋',
  '一家中式糕点铺',
  '一款宠物自动喂食器',
  '一款老年人智能手表',
  '一家桌游吧',
  '一款有机蔬菜礼盒',
  '一款手冲咖啡豆',
  '一款乳胶枕',
];
const FEATURES = [
  '品质可靠、价格实在',
  '设计简洁、使用方便',
  '环保材料、安全放心',
  '手工制作、用心十足',
  '续航持久、携带轻便',
  '服务贴心、环境温馨',
  '性价比高、售后有保障',
  '口味地道、用料讲究',
  '新店开业、优惠多多',
  '老少皆宜、操作简单',
  '本地直供、新鲜到家',
  '颜值高、适合送礼',
];
const CHANNELS = [
  '朋友圈',
  '商品详情页',
  '公众号开头',
  '门店海报',
  '电梯广告',
  '短信推送',
  '开业传单',
  '社区团购群',
  '直播间口播',
  '电台广告',
];
const COPY_OPENERS = ['为{p}写一段', '请给{p}写', '替{p}拟一段', '给{p}准备一段', '帮忙为{p}写'];
const COPY_MIDDLES = ['{c}宣传文案', '适合{c}的推广语', '{c}用的文案', '发在{c}的介绍文字'];
const COPY_TAILS = [
  '，突出{f}。',
  '，卖点是{f}。',
  '，强调{f}，语言要抓人。',
  '，面向{u}，突出{f}。',
  '，控制在五十字以内。',
  '，风格活泼一点。',
  '，不要夸大其词。',
];
const OCCASION_SPEECHES = [
  '新生开学典礼',
  '公司年会',
  '社区邻里节',
  '毕业典礼',
  '退休欢送会',
  '运动会开幕式',
  '读书月启动仪式',
  '志愿者表彰会',
  '新店开业仪式',
  '家长会',
  '项目启动会',
  '敬老院慰问活动',
  '校园科技节',
  '婚礼答谢宴',
  '十周年庆典',
  '新员工欢迎会',
  '校友返校日',
  '春节团拜会',
];
const SPEAKERS = ['校长', '部门负责人', '学生代表', '社区主任', '新郎的父亲', '老员工代表', '班主任', '志愿者队长', '店长', '家长代表'];
const SPEECH_FRAMES = [
  '为{o}写一段{n}字左右的发言稿开头。',
  '我要在{org}的{o}上讲话，请帮我写个开场白。',
  '请写一篇{o}上的简短致辞，致辞人是{r}。',
  '以{r}的身份，为{org}的{o}写一段发言。',
  '帮我准备{o}的讲话稿，我是{r}，语气要真诚。',
  '{org}要办{o}，请以{r}的口吻写一段致辞。',
];
const SPEECH_STARTS = ['为', '请为', '帮我为', '替{r}为', '以{r}的名义为'];
const SPEECH_KINDS = ['发言稿开头', '致辞', '开场白', '结束语', '主持词', '欢迎词', '感言'];
const SPEECH_TAILS = [
  '。',
  '，语气真诚。',
  '，不要太官方。',
  '，提到{x}。',
  '，控制在{n}字左右。',
  '，要有一点幽默。',
  '，结尾号召大家行动。',
];
const SPEECH_MENTIONS = ['过去一年的变化', '志愿者的付出', '一位老同事', '大家的坚持', '明年的计划', '一次难忘的经历', '家人的支持'];

function copy(rng: Rng): SimTask {
  if (rng.chance(0.55)) {
    const p = rng.pick(PRODUCTS);
    const f = rng.pick(FEATURES);
    const slots = { p, f, c: rng.pick(CHANNELS), u: rng.pick(AUDIENCES) };
    const core = fill(rng.pick(COPY_OPENERS) + rng.pick(COPY_MIDDLES) + rng.pick(COPY_TAILS), slots);
    const instruction = fitInstruction(withConstraints(core, rng, 0.3), core);
    const output = `${rng.pick(['生活里的小美好，从这里开始。', '好东西，值得被更多人知道。', '别再将就了！'])}${p.replace(/^一(款|家)/u, '这$1')}，${f}。${rng.pick(
      [
        '每一个细节都经过反复打磨，只为让你用得更安心。',
        '不管是自己用还是送朋友，都是不错的选择。',
        '来试一次，你就会明白为什么老顾客一直在回头。',
      ],
    )}${rng.pick(['现在就来体验吧！', '期待与你相遇。', '欢迎随时来看看。'])}`;
    return { instruction, input: '', output: fitOutput(output, rng), category: '写作' };
  }
  const o = rng.pick(OCCASION_SPEECHES);
  const slots = { o, n: rng.pick([100, 150, 200, 300]), r: rng.pick(SPEAKERS), org: rng.pick(ORGANIZATIONS), x: rng.pick(SPEECH_MENTIONS) };
  const composed = `${rng.pick(SPEECH_STARTS)}${rng.chance(0.5) ? '{org}的' : ''}{o}${rng.pick(['写一段', '写一篇', '准备一段', '拟一份'])}${rng.pick(SPEECH_KINDS)}${rng.pick(SPEECH_TAILS)}`;
  const core = fill(rng.chance(0.6) ? composed : rng.pick(SPEECH_FRAMES), slots);
  const instruction = fitInstruction(withConstraints(core, rng, 0.35), core);
  const output = `${rng.pick(['尊敬的各位来宾，亲爱的朋友们：', '各位领导、各位同事：', '亲爱的同学们、老师们：'])}\n大家好！很荣幸能在${o}上和大家说几句话。${rng.pick(
    [
      '回首这段时间，我们一起经历了许多，也收获了许多。',
      '今天我们相聚在这里，是因为心里都有一份共同的期待。',
      '此时此刻，我的心情既激动又感慨。',
    ],
  )}${rng.pick(['愿我们带着这份热情继续前行，把每一件平凡的事做好。', '感谢每一位付出的人，是你们让这一天变得有意义。', '让我们一起珍惜今天，也一起期待明天。'])}`;
  return { instruction, input: '', output: fitOutput(output, rng), category: '写作' };
}

// ---------------------------------------------------------------------------------------------------
// short poems and fables

const IMAGES = [
  '路灯',
  '月光',
  '炊烟',
  '老槐树',
  '雨伞',
  '候鸟',
  '站台',
  '麦田',
  '风筝',
  '灯塔',
  '旧信封',
  '露水',
  '石桥',
  '石阶',
  '晚霞',
  '蒲公英',
  '渡船',
  '窗花',
  '银杏叶',
  '远山',
  '小巷',
  '秋千',
  '茶杯',
  '萤火虫',
  '旧自行车',
  '晾衣绳',
  '井台',
  '芦苇',
  '雪人',
  '列车',
];
const IMAGE_QUALIFIERS = [
  '雨夜里',
  '褪了色',
  '远方',
  '清晨',
  '故乡',
  '老街上',
  '冬夜',
  '站台边',
  '旧时光里',
  '山那边',
  '晚风中',
  '城市尽头',
  '童年',
];
const POEM_RECIPIENTS = ['远方的朋友', '母亲', '毕业的同学', '十年后的自己', '家乡', '启蒙老师', '刚出生的孩子', '守夜的人'];
const POEM_OPENERS = ['写一首', '请创作一首', '帮我写一首', '试着写一首', '我想要一首', '为朗诵会写一首'];
const POEM_CLAUSES = [
  '关于{i}的',
  '以{i}为意象的',
  '借{i}抒发{e}的',
  '写给{w}的',
  '描写{season}{i}的',
  '从{i}写到{e}的',
  '表达{e}、出现{i}的',
];
const POEM_FORMS = ['四行小诗', '现代诗', '短诗', '三行诗', '小诗', '自由诗', '儿童诗', '散文诗'];
const POEM_TAILS = [
  '。',
  '，不超过八行。',
  '，语言清新一些。',
  '，要押韵。',
  '，情感真挚。',
  '，最后一句点题。',
  '，适合小学生朗读。',
  '，不要堆砌辞藻。',
];
const POEM_LINES = [
  '{i}在风里站了很久',
  '它记得每一个经过的人',
  '像一句没说完的话',
  '把{e}轻轻放在黄昏',
  '我在{i}旁等一场迟到的雨',
  '光落下来，时间就慢了',
  '远方有人把名字写进夜色',
  '{i}不说话，却什么都懂',
  '有些路，要一个人走完',
  '直到{e}长成了春天',
];
const ANIMALS = [
  '狐狸',
  '乌龟',
  '兔子',
  '蚂蚁',
  '喜鹊',
  '小熊',
  '山羊',
  '蜗牛',
  '松鼠',
  '老牛',
  '猫头鹰',
  '小鹿',
  '蜜蜂',
  '青蛙',
  '刺猬',
  '燕子',
  '狮子',
  '老鼠',
  '乌鸦',
  '大象',
  '小猴',
  '蚯蚓',
  '白鹅',
  '螃蟹',
];
const MORALS = [
  '坚持比天赋更重要',
  '合作才能走得更远',
  '不要只看表面',
  '做事要量力而行',
  '骄傲使人落后',
  '诚实是最好的通行证',
  '学会倾听别人的意见',
  '机会总是留给有准备的人',
  '小事也不能马虎',
  '帮助别人也是帮助自己',
  '知错能改',
  '不要贪小便宜',
  '分享让快乐加倍',
  '遇事要冷静',
  '尊重每一个不同的人',
  '答应别人的事要做到',
  '羡慕别人不如做好自己',
  '团结的力量大',
];
const TRAITS = ['骄傲', '胆小', '爱吹牛', '贪吃', '勤快', '粗心', '聪明', '固执', '热心肠', '懒洋洋', '爱抱怨', '急性子'];
const FABLE_SETTINGS = ['森林里', '池塘边', '农场上', '山谷里', '冬天来临前', '一场大雨之后', '河岸上', '果园里'];
const FABLE_OPENERS = ['写一个', '编一则', '请创作一个', '给孩子讲一个', '帮我写一个'];
const FABLE_CORES = [
  '{a}和{b}在{where}的寓言故事',
  '关于{a}和{b}的短寓言',
  '以{a}为主角、{b}为配角的童话',
  '发生在{where}的{a}与{b}的小故事',
];
const FABLE_TAILS = ['，说明“{m}”的道理。', '，寓意是{m}。', '，让孩子明白{m}。', '，结尾点出{m}。', '，讲的道理是{m}，三百字以内。'];

function poemOrFable(rng: Rng): SimTask {
  if (rng.chance(0.5)) {
    const i = rng.pick(IMAGES);
    const e = rng.pick(EMOTIONS);
    const image = rng.chance(0.6) ? `${rng.pick(IMAGE_QUALIFIERS)}的${i}` : i;
    const slots = { i: image, e, w: rng.pick(POEM_RECIPIENTS), season: rng.pick(SEASONS) };
    const form = rng.pick(POEM_FORMS);
    const core = fill(rng.pick(POEM_OPENERS) + rng.pick(POEM_CLAUSES) + form + rng.pick(POEM_TAILS), slots);
    const instruction = fitInstruction(withConstraints(core, rng, 0.15), core);
    const lineCount = form.startsWith('四行') ? 4 : form.startsWith('三行') ? 3 : rng.between(4, 6);
    const lines = rng.sample(POEM_LINES, lineCount).map((l) => fill(l, { i, e }));
    const signature = ['\n——写给所有在路上的人', '\n——记于一个安静的夜晚', '\n——给还在等待的你'];
    return { instruction, input: '', output: fitOutput(`《${i}》\n${lines.join('\n')}`, rng, signature), category: '创作' };
  }
  const a = rng.pick(ANIMALS);
  const b = pickOther(ANIMALS, a, rng);
  const m = rng.pick(MORALS);
  const traitA = rng.chance(0.6) ? rng.pick(TRAITS) + '的' : '';
  const core = fill(rng.pick(FABLE_OPENERS) + rng.pick(FABLE_CORES) + rng.pick(FABLE_TAILS), {
    a: traitA + a,
    b,
    m,
    where: rng.pick(FABLE_SETTINGS),
  });
  const instruction = fitInstruction(withConstraints(core, rng, 0.2), core);
  const output = `从前，有一只${a}和一只${b}。${rng.pick([
    `${a}总觉得自己本领大，常常不把${b}放在眼里。`,
    `${a}和${b}约好一起去山那边找过冬的食物。`,
    `有一年大旱，${a}和${b}都为找水发愁。`,
  ])}${rng.pick([
    `路上遇到了麻烦，${a}只顾着自己往前冲，结果吃了大亏；${b}却不慌不忙，想出了办法。`,
    `${b}一步一步慢慢来，从不偷懒，最后反而比${a}先到。`,
    `它们起初谁也不服谁，后来才发现，只有两个一起想办法，才能渡过难关。`,
  ])}后来，${a}常常想起这件事。这个故事告诉我们：${m}。`;
  return { instruction, input: '', output: fitOutput(output, rng), category: '创作' };
}

export function write(rng: Rng): SimTask {
  const r = rng.next();
  if (r < 0.25) return prose(rng);
  if (r < 0.5) return letter(rng);
  if (r < 0.65) return dialogue(rng);
  if (r < 0.82) return copy(rng);
  return poemOrFable(rng);
}

// ---------------------------------------------------------------------------------------------------
// naming and brainstorming

const SHOPS = [
  '咖啡馆',
  '面馆',
  '花店',
  '书店',
  '宠物美容店',
  '烘焙坊',
  '茶饮店',
  '文具店',
  '健身工作室',
  '手工陶艺馆',
  '干洗店',
  '水果店',
  '理发店',
  '民宿',
  '自习室',
  '二手家具店',
  '素食餐厅',
  '童装店',
  '眼镜店',
  '社区菜店',
  '桌游吧',
  '修车铺',
  '包子铺',
  '酒馆',
  '瑜伽馆',
  '画材店',
  '农家乐',
  '早餐店',
  '旧物改造工作室',
  '社区食堂',
  '裁缝铺',
  '馄饨店',
  '果汁吧',
  '琴行',
  '汉服体验馆',
];
const SHOP_PLACES = [
  '大学城',
  '老街',
  '写字楼底商',
  '新建小区',
  '地铁站旁',
  '景区入口',
  '菜市场旁',
  '县城中心',
  '江边步行街',
  '高新区',
  '医院对面',
  '古镇里',
  '小学门口',
  '工业园区',
  '海边',
  '山脚下',
  '火车站附近',
  '老小区里',
];
const NAME_REQUIREMENTS = [
  '好记、有亲切感',
  '带一点文艺气息',
  '不超过四个字',
  '能让人联想到本地特色',
  '适合年轻人',
  '有点幽默感',
  '显得专业可靠',
  '读起来顺口',
  '有烟火气',
  '适合老年顾客',
  '带一个数字',
  '中英文都好念',
  '听起来温暖',
  '有复古感',
  '简洁大气',
];
const NAME_OPENERS = [
  '为一家开在{place}的{shop}起',
  '我打算在{place}开一家{shop}，帮我想',
  '给{place}新开的{shop}取',
  '{place}有家{shop}要改名，请拟',
  '朋友在{place}开了家{shop}，帮忙起',
];
const NAME_TAILS = [
  '，要求{req}。',
  '，最好{req}。',
  '，并说明寓意，{req}。',
  '，{req}，再各写一句理由。',
  '，风格{req}。',
  '，{req}就行。',
];
const SHOP_FOCUS = [
  '平价快餐',
  '精品手作',
  '亲子家庭',
  '夜宵',
  '健康轻食',
  '社区老年顾客',
  '上班族早餐',
  '学生党',
  '外卖',
  '高端定制',
  '本地老味道',
  '周末休闲',
  '小众文艺',
  '宠物友好',
  '二十四小时营业',
];
const NAME_CHARS_A = ['晨', '暖', '拾', '慢', '青', '山', '木', '小', '长', '初', '半', '云', '知', '野', '简', '南', '朝', '星'];
const NAME_CHARS_B = ['光', '屋', '集', '里', '坊', '巷', '间', '记', '舍', '角', '味', '堂', '岛', '园', '铺', '所'];
const EVENTS = [
  '垃圾分类宣传周',
  '校园读书节',
  '安全生产月',
  '无偿献血活动',
  '城市马拉松',
  '老年人防诈骗讲座',
  '植树节义务劳动',
  '家庭节水挑战',
  '光盘行动',
  '文明养犬倡议',
  '防欺凌主题周',
  '夜市开街活动',
  '乡村丰收节',
  '社区运动会',
  '全民健身日',
  '旧物交换集市',
  '消防安全宣传日',
  '爱眼日义诊',
  '图书漂流活动',
  '低碳出行周',
];
const SLOGAN_OPENERS = ['为{org}的{event}想', '{org}要办{event}，请拟', '请给{event}设计', '帮{org}的{event}写', '{event}需要宣传，请写'];
const SLOGAN_TAILS = ['，要朗朗上口。', '，每条不超过十二个字。', '，{req}。', '，适合印在横幅上。', '。', '，面向{u}。'];
const SLOGAN_PARTS_A = ['从我做起', '人人参与', '一起行动', '让改变发生', '点滴之间', '你我同行', '用心守护'];
const SLOGAN_PARTS_B = ['共建美好家园', '生活更有温度', '明天会更好', '城市更加美丽', '传递一份善意', '健康每一天', '幸福看得见'];
const TOPIC_OPENERS = [
  '围绕{s}，为面向{u}的{f}栏目想',
  '我在{city}做一个{d}类的{f}账号，请围绕{s}想',
  '请为一场关于{s}的{f}拟',
  '想做几期关于{s}的{f}给{u}看，帮我列',
  '{d}{f}下期要聊{s}，请出',
  '给{u}做一期关于{s}的{f}，请拟',
  '{city}的{u}想了解{s}，请为{f}想',
  '以{s}为主题策划一组{f}，列出',
];
const TOPIC_FORMATS = ['短文', '播客', '讲座', '主题班会', '推文', '读书会', '科普专栏', '直播', '公开课', '社区课堂', '短评'];

export function brainstorm(rng: Rng): SimTask {
  const count = rng.between(3, 6);
  const n = countWord(count, rng);
  const u = rng.pick(AUDIENCES);
  const req = rng.pick(NAME_REQUIREMENTS);
  const r = rng.next();
  if (r < 0.45) {
    const shop = rng.pick(SHOPS);
    const focus = rng.pick([
      `（主打${rng.pick(SHOP_FOCUS)}）`,
      `，主打${rng.pick(SHOP_FOCUS)}`,
      `，店面${rng.pick(['不大', '在二楼', '靠街角', '带个小院', '有露台'])}`,
    ]);
    const core = fill(rng.pick(NAME_OPENERS) + `${n}个${rng.pick(['店名', '名字', '招牌名', '候选名'])}` + focus + rng.pick(NAME_TAILS), {
      place: rng.pick(SHOP_PLACES),
      shop,
      req,
    });
    const names = Array.from({ length: count }, () => `${rng.pick(NAME_CHARS_A)}${rng.pick(NAME_CHARS_B)}${shop.slice(-1)}`);
    const explained = [...new Set(names)].map(
      (x) =>
        `${x}：${rng.pick(['读起来顺口，容易记住', '有一种温暖、放松的感觉', '简洁大方，和店铺气质相符', '带点诗意，容易被人记住', '朴实亲切，老少皆宜'])}`,
    );
    const output = `${rng.pick(['这里有几个备选：', '可以参考下面这些名字：', '结合店铺的位置和定位，建议如下：'])}\n${numbered(explained)}`;
    return { instruction: withLeadIn(core, rng, 0.15), input: '', output: fitOutput(output, rng), category: '头脑风暴' };
  }
  if (r < 0.7) {
    const event = rng.pick(EVENTS);
    const core = fill(
      rng.pick(SLOGAN_OPENERS) + `${n}${rng.pick(['条宣传口号', '句标语', '个口号', '条横幅标语'])}` + rng.pick(SLOGAN_TAILS),
      { org: rng.pick(ORGANIZATIONS), event, req, u },
    );
    const slogans = Array.from({ length: count }, () => `${rng.pick(SLOGAN_PARTS_A)}，${rng.pick(SLOGAN_PARTS_B)}`);
    const output = `${rng.pick(['可以考虑下面这些口号：', '几条备选标语如下：'])}\n${numbered([...new Set(slogans)])}\n${rng.pick(['口号短一些更容易传播。', '可以根据活动现场的风格再做调整。'])}`;
    return { instruction: core, input: '', output: fitOutput(output, rng), category: '头脑风暴' };
  }
  const domain = rng.pick(DOMAINS);
  const s = rng.pick(domain.subjects);
  const core = fill(
    rng.pick(TOPIC_OPENERS) +
      `${n}个${rng.pick(['选题', '标题', '题目', '话题'])}` +
      rng.pick(['。', '，要有吸引力。', '，不要标题党。', '，并各写一句简介。', '，兼顾{a}。', '，从{a}切入。']),
    {
      s,
      u,
      d: domain.name,
      city: rng.pick(CITIES),
      f: rng.pick(TOPIC_FORMATS),
      a: rng.pick(domain.aspects),
    },
  );
  const titles = rng.sample(
    [
      `一文读懂${s}`,
      `关于${s}，你可能一直想错了`,
      `${s}与我们的日常生活`,
      `给${u}的${s}入门课`,
      `${s}的过去、现在和未来`,
      `五分钟了解${s}`,
      `${s}背后的那些故事`,
      `从一个小问题看${s}`,
    ],
    count,
  );
  return {
    instruction: core,
    input: '',
    output: fitOutput(`${rng.pick(['参考选题：', '可以试试这些题目：'])}\n${numbered(titles)}`, rng),
    category: '头脑风暴',
  };
}

// ---------------------------------------------------------------------------------------------------
// writing from notes (with input)

const NOTE_EVENTS = [
  '消防安全演练',
  '年度体检',
  '羽毛球友谊赛',
  '读书分享会',
  '电梯维修',
  '团建徒步',
  '家长开放日',
  '新人培训',
  '防汛检查',
  '季度总结会',
  '社区义诊',
  '跳蚤市场',
  '书法兴趣课',
  '停车场划线施工',
  '疫苗接种',
  '迎新晚会',
  '员工生日会',
  '消杀作业',
];
const NOTE_VENUES = [
  '三楼大会议室',
  '小区中心广场',
  '学校报告厅',
  '公司一楼大厅',
  '社区活动中心',
  '体育馆二号场',
  '二号楼架空层',
  '图书馆负一楼',
];
const NOTE_REMINDERS = [
  '请提前十分钟到场',
  '请携带身份证件',
  '穿运动鞋，带好水',
  '期间请勿使用电梯',
  '如不能参加请提前告知负责人',
  '现场提供茶点',
  '请把车辆移出施工区域',
  '请家长陪同未成年人',
  '名额有限，先到先得',
];
const NOTE_FORMS = ['通知', '邮件', '群公告', '短信', '海报文字', '公告'];
const NOTE_FRAMES = [
  '根据下面的要点写一则{f}。',
  '把下列信息整理成一条完整的{f}。',
  '请用下面的信息起草{f}，语气礼貌。',
  '参考以下内容，写一份{f}。',
  '下面是活动信息，帮我写成{f}发出去。',
  '以{o}的名义，根据要点写一则{f}。',
  '按照下面几条信息，编写一条简洁的{f}。',
];

export function writeFromNotes(rng: Rng): SimTask {
  const event = rng.pick(NOTE_EVENTS);
  const month = rng.between(1, 12);
  const day = rng.between(3, 28);
  const hour = rng.between(8, 19);
  const minute = rng.pick(['00', '30', '15', '45']);
  const venue = rng.pick(NOTE_VENUES);
  const contact = fullName(rng);
  const phone = `1${rng.pick(['3', '5', '8'])}${String(rng.between(100000000, 999999999))}`;
  const reminders = rng.sample(NOTE_REMINDERS, rng.between(1, 2));
  const org = rng.pick(ORGANIZATIONS);
  const f = rng.pick(NOTE_FORMS);
  const when = `${month}月${day}日${hour}:${minute}`;
  const labels = rng.chance(0.5) ? ['事项', '时间', '地点', '联系人', '备注'] : ['活动', '日期和时间', '地点', '负责人', '提醒'];
  const lines = [
    `${labels[0]}：${event}`,
    `${labels[1]}：${when}`,
    `${labels[2]}：${venue}`,
    `${labels[3]}：${contact}，${phone}`,
    `${labels[4]}：${reminders.join('；')}`,
  ];
  const input = rng.chance(0.5) ? lines.join('\n') : lines.map((l) => `- ${l}`).join('\n');
  const core = fill(rng.pick(NOTE_FRAMES), { f, o: org });
  const output = `${rng.pick(['各位好：', '通知', '大家好！'])}\n${org}定于${month}月${day}日${hour}:${minute}在${venue}举行${event}。${reminders.join('，')}。如有疑问，请联系${contact}（${phone}）。\n${org}\n${month}月${day - 2}日`;
  return { instruction: withConstraints(core, rng, 0.25), input, output: fitOutput(output, rng), category: '写作' };
}
