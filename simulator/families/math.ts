/** Arithmetic word problems with computed answers, inline or with the numbers given as input. */
import type { Rng } from '../random.ts';
import { fill } from '../random.ts';
import { CITIES } from '../lexicon.ts';
import type { SimTask } from './common.ts';
import { fitOutput, personName } from './common.ts';

/** Up to two decimals, without trailing zeros. */
function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

const SCENES = ['周末，', '放学后，', '为了准备聚会，', '下班路上，', '趁着超市打折，', '开学前，', '过节前，', ''];
const ITEMS: readonly (readonly [string, string])[] = [
  ['笔记本', '本'],
  ['苹果', '斤'],
  ['铅笔', '支'],
  ['矿泉水', '瓶'],
  ['面包', '个'],
  ['毛巾', '条'],
  ['鸡蛋', '盒'],
  ['酸奶', '杯'],
  ['橡皮', '块'],
  ['牛奶', '箱'],
  ['袜子', '双'],
  ['饺子皮', '袋'],
];
const ASK_SUFFIX = ['请写出计算过程。', '列式计算。', '请一步步算出答案。', '', '', '并说明思路。'];

const MATH_PADDING = ['计算时注意单位要统一。', '可以把结果代回题目检查一遍。'];
const MATH_PREFIXES = [
  '小学数学题：',
  '帮孩子检查作业：',
  '一道应用题：',
  '考考你：',
  '请帮我算一算：',
  '周末作业里有这样一道题：',
  '数学题求解：',
  '这道题我算了两遍都不一样：',
  '期中考试题：',
  '请用算术方法解答：',
];

type Problem = { question: string; solution: string };
type Template = (rng: Rng) => Problem;

const TEMPLATES: readonly Template[] = [
  (rng) => {
    const p = personName(rng);
    const [item, unit] = rng.pick(ITEMS);
    const a = rng.between(2, 9);
    const price = rng.between(2, 25);
    const cost = a * price;
    const paid = rng.pick([50, 100, 200, 500].filter((m) => m > cost));
    return {
      question: `${rng.pick(SCENES)}${p}${rng.pick(['在超市', '在小卖部', '在文具店', '在菜场', ''])}买了${a}${unit}${item}，每${unit}${price}元，${rng.pick(['付了', '给了收银员', '拿出'])}${paid}元，${rng.pick(['应找回多少钱？', '应该找回多少元？', '还能找回多少钱？'])}`,
      solution: `先算总价：${a}×${price}=${cost}（元）。再算找零：${paid}−${cost}=${paid - cost}（元）。答：应找回${paid - cost}元。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const [how, lo, hi] = rng.pick([
      ['骑自行车', 10, 20],
      ['开车', 50, 100],
      ['步行', 4, 6],
      ['坐大巴', 60, 90],
      ['划船', 5, 9],
    ] as const);
    const v = rng.between(lo, hi);
    const t = rng.between(2, 6);
    return {
      question: `${p}${how}${rng.pick(['去郊外', '回老家', '去邻县', '外出', '沿着江边'])}，平均每小时行${v}千米，${rng.pick(['走了', '一共用了', '连续行进了'])}${t}小时，${rng.pick(['共行了多少千米？', '一共走了多远？', '行驶的路程是多少千米？'])}`,
      solution: `路程=速度×时间，${v}×${t}=${v * t}（千米）。答：一共行了${v * t}千米。`,
    };
  },
  (rng) => {
    const [p1, p2] = [personName(rng), personName(rng)];
    const a = rng.between(4, 20);
    const b = rng.between(4, 20);
    const g = gcd(a * b, a + b);
    const exact = (a * b) % (a + b) === 0;
    const answer = exact ? String((a * b) / (a + b)) : `${(a * b) / g}/${(a + b) / g}（约${num((a * b) / (a + b))}）`;
    return {
      question: `${rng.pick(['一项工程', '一批零件', '一块麦田的收割', '一份翻译稿', '整理一间仓库'])}，${p1}单独做要${a}天完成，${p2}单独做要${b}天完成。两人合作，${rng.pick(['需要几天完成？', '多少天可以完成？', '几天能做完？'])}`,
      solution: `把工作总量看作1，${p1}每天完成1/${a}，${p2}每天完成1/${b}，合作每天完成1/${a}+1/${b}=${a + b}/${a * b}。所需天数为1÷${a + b}/${a * b}=${answer}天。`,
    };
  },
  (rng) => {
    const goods = rng.pick(['外套', '电饭煲', '书包', '台灯', '运动鞋', '行李箱', '羽绒服', '电风扇']);
    const price = rng.between(8, 60) * 10;
    const d = rng.pick([5, 6, 7, 8, 9, 8.5, 7.5]);
    const off = rng.pick([0, 10, 20, 30, 50]);
    const final = (price * d) / 10 - off;
    return {
      question: `一件${goods}原价${price}元，${rng.pick(['商场', '网店', '专卖店', '商场周年庆'])}打${d}折${off > 0 ? `，结账时再减${off}元` : ''}，${rng.pick(['最后要付多少钱？', '实际需要支付多少元？', '现在买要花多少钱？'])}`,
      solution: `打${d}折后的价格：${price}×${d / 10}=${num((price * d) / 10)}（元）。${off > 0 ? `再减${off}元：${num((price * d) / 10)}−${off}=${num(final)}（元）。` : ''}答：需要支付${num(final)}元。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const k = rng.between(3, 6);
    const scores = Array.from({ length: k }, () => rng.between(60, 100));
    const sum = scores.reduce((a, b) => a + b, 0);
    return {
      question: `${p}最近${k}次${rng.pick(['数学测验', '英语听写', '体育测试', '月考', '物理小测'])}的成绩分别是${scores.join('分、')}分，${rng.pick(['平均分是多少？', '这几次的平均成绩是多少？'])}`,
      solution: `总分：${scores.join('+')}=${sum}。平均分：${sum}÷${k}=${num(sum / k)}。答：平均分是${num(sum / k)}分。`,
    };
  },
  (rng) => {
    const [place, group] = rng.pick([
      ['某小学', '名学生'],
      ['一个小区', '户居民'],
      ['某图书馆', '位注册读者'],
      ['一家工厂', '名工人'],
      ['某合作社', '位社员'],
    ] as const);
    const a = rng.between(3, 40) * 100;
    const pct = rng.between(2, 30);
    const now = a + (a * pct) / 100;
    return {
      question: `${place}去年有${a}${group}，今年比去年${rng.pick(['增加了', '多了', '增长了'])}${pct}%，今年有多少${group.slice(1)}？`,
      solution: `增加的数量：${a}×${pct}%=${(a * pct) / 100}。今年：${a}+${(a * pct) / 100}=${now}。答：今年有${now}${group}。`,
    };
  },
  (rng) => {
    const l = rng.between(4, 30);
    const w = rng.between(3, 20);
    const [field, act] = rng.pick([
      ['菜地', '铺一层有机肥'],
      ['草坪', '重新铺草皮'],
      ['客厅地面', '铺地砖'],
      ['墙面', '刷涂料'],
      ['操场角落', '铺塑胶'],
    ] as const);
    const c = rng.between(5, 80);
    return {
      question: `一块长${l}米、宽${w}米的长方形${field}，要${act}，每平方米${rng.pick(['需要', '花费', '成本'])}${c}元，一共需要多少钱？`,
      solution: `面积：${l}×${w}=${l * w}（平方米）。费用：${l * w}×${c}=${l * w * c}（元）。答：一共需要${l * w * c}元。`,
    };
  },
  (rng) => {
    const chickens = rng.between(3, 30);
    const rabbits = rng.between(2, 25);
    const heads = chickens + rabbits;
    const feet = chickens * 2 + rabbits * 4;
    return {
      question: `${rng.pick(['笼子里', '农场的围栏里', '院子里'])}有鸡和兔共${heads}只，${rng.pick(['数一数脚，一共有', '它们的脚加起来共有'])}${feet}只。鸡和兔各有多少只？`,
      solution: `假设全是鸡，应有脚${heads}×2=${heads * 2}只，比实际少${feet}−${heads * 2}=${feet - heads * 2}只。每只兔比鸡多2只脚，所以兔有${feet - heads * 2}÷2=${rabbits}只，鸡有${heads}−${rabbits}=${chickens}只。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const x = rng.between(1, 50) * 1000;
    const r = rng.pick([1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]);
    const n = rng.between(1, 5);
    const interest = (x * r * n) / 100;
    return {
      question: `${p}把${x}元存入银行，定期${n}年，年利率${r}%，${rng.pick(['到期能拿到多少利息？', '按单利计算，到期利息是多少元？', '到期时本金和利息一共多少钱？'])}`,
      solution: `利息=本金×年利率×年数=${x}×${r}%×${n}=${num(interest)}（元）。本息合计${num(x + interest)}元。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const a = rng.between(5, 14);
    const k = rng.between(3, 5);
    const n = rng.between(2, 10);
    const rel = rng.pick(['爸爸', '妈妈', '舅舅', '姑姑']);
    return {
      question: `${p}今年${a}岁，${rel}的年龄是${p}的${k}倍。${n}年后，${rel}${rng.pick(['多少岁？', '比' + p + '大几岁？'])}`,
      solution: `${rel}今年${a}×${k}=${a * k}岁，${n}年后是${a * k}+${n}=${a * k + n}岁。两人年龄差始终是${a * k - a}岁。`,
    };
  },
  (rng) => {
    const h = rng.between(8, 20);
    const m = rng.pick([0, 10, 15, 20, 30, 40, 45, 50]);
    const d = rng.between(35, 170);
    const end = h * 60 + m + d;
    const pad = (x: number): string => String(x).padStart(2, '0');
    return {
      question: `${rng.pick(['一场讲座', '一部电影', '一场篮球赛', '一节网课', '一场话剧', '一次会议'])}从${h}:${pad(m)}开始，${rng.pick(['持续', '共进行', '时长'])}${d}分钟，几点几分结束？`,
      solution: `${d}分钟=${Math.floor(d / 60)}小时${d % 60}分钟。${h}:${pad(m)}往后推${Math.floor(d / 60)}小时${d % 60}分钟，结束时间是${Math.floor(end / 60) % 24}:${pad(end % 60)}。`,
    };
  },
  (rng) => {
    const [p1, p2] = [personName(rng), personName(rng)];
    const a = rng.between(1, 5);
    const b = rng.between(1, 5);
    const unit = rng.between(100, 3000);
    const total = unit * (a + b);
    return {
      question: `${p1}和${p2}合伙${rng.pick(['摆摊卖水果', '开网店', '承包果园', '做手工皂', '经营早餐铺'])}，约定按${a}:${b}分配利润。这个月一共赚了${total}元，两人各分多少？`,
      solution: `总份数${a}+${b}=${a + b}，每份${total}÷${a + b}=${unit}元。${p1}分${unit}×${a}=${unit * a}元，${p2}分${unit}×${b}=${unit * b}元。`,
    };
  },
  (rng) => {
    const v1 = rng.between(40, 90);
    const v2 = rng.between(40, 90);
    const t = rng.between(2, 6);
    const [a, b] = [personName(rng), personName(rng)];
    return {
      question: `甲乙两地相距${(v1 + v2) * t}千米，${a}从甲地出发，每小时行${v1}千米；${b}同时从乙地出发，每小时行${v2}千米。两人相向而行，${rng.pick(['几小时后相遇？', '经过多长时间相遇？'])}`,
      solution: `两人每小时共行${v1}+${v2}=${v1 + v2}千米，相遇时间=${(v1 + v2) * t}÷${v1 + v2}=${t}（小时）。答：${t}小时后相遇。`,
    };
  },
  (rng) => {
    const g = rng.pick([2, 3, 4, 5, 6, 8, 10]);
    const k = rng.between(8, 60);
    const tree = rng.pick(['银杏树', '樱花树', '柳树', '桂花树', '香樟树']);
    return {
      question: `在一条长${g * k}米的${rng.pick(['小路', '河堤', '公路', '林荫道'])}一侧，每隔${g}米种一棵${tree}，两端都要种，一共需要多少棵？`,
      solution: `间隔数：${g * k}÷${g}=${k}。两端都种，棵数比间隔数多1，所以需要${k}+1=${k + 1}棵。`,
    };
  },
  (rng) => {
    const c = rng.pick([5, 6, 6.5, 7, 7.5, 8, 9]);
    const price = rng.pick([7, 7.5, 8, 8.2, 8.5]);
    const d = rng.between(1, 12) * 50;
    const litres = (c * d) / 100;
    return {
      question: `一辆汽车每百公里耗油${c}升，油价每升${price}元，${rng.pick(['开', '跑', '行驶'])}${d}千米需要多少油费？`,
      solution: `耗油量：${d}÷100×${c}=${num(litres)}（升）。油费：${num(litres)}×${price}=${num(litres * price)}（元）。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const w = rng.between(15, 60);
    const h = rng.between(2, 8);
    const days = rng.between(2, 6);
    const k = rng.between(2, 8);
    return {
      question: `${p}${rng.pick(['暑假做兼职', '周末在书店帮忙', '课余做家教', '在咖啡店打工'])}，每小时${w}元，每天工作${h}小时，每周${days}天，${k}周能挣多少钱？`,
      solution: `每天${w}×${h}=${w * h}元，每周${w * h}×${days}=${w * h * days}元，${k}周共${w * h * days}×${k}=${w * h * days * k}元。`,
    };
  },
  (rng) => {
    const p = personName(rng);
    const pages = rng.between(120, 600);
    const per = rng.between(12, 45);
    const days = Math.ceil(pages / per);
    return {
      question: `一本${pages}页的${rng.pick(['小说', '历史书', '科普读物', '传记', '散文集'])}，${p}每天读${per}页，至少需要多少天读完？`,
      solution: `${pages}÷${per}=${Math.floor(pages / per)}……${pages % per}。${pages % per === 0 ? '正好读完' : '余下的页数还需要再读一天'}，所以至少需要${days}天。`,
    };
  },
  (rng) => {
    const salt = rng.between(5, 60);
    const water = rng.between(80, 500);
    return {
      question: `把${salt}克盐完全溶解在${water}克水中，${rng.pick(['所得盐水的浓度是多少？', '这杯盐水的含盐率是多少？'])}`,
      solution: `盐水总质量：${salt}+${water}=${salt + water}克。浓度：${salt}÷${salt + water}×100%≈${num((salt / (salt + water)) * 100)}%。`,
    };
  },
];

/** Data sets for problems whose numbers come as input: [what the rows are, row labels, value range, unit]. */
const DATA_SETS: readonly (readonly [string, readonly string[], number, number, string])[] = [
  ['{p}一天的开销', ['早餐', '午餐', '晚餐', '交通', '咖啡', '水果', '日用品', '话费', '书籍', '健身', '零食', '停车'], 5, 90, '元'],
  ['{p}期末考试的成绩', ['语文', '数学', '英语', '物理', '化学', '生物', '历史', '地理', '政治'], 55, 100, '分'],
  ['{shop}一周每天卖出的{goods}数量', ['周一', '周二', '周三', '周四', '周五', '周六', '周日'], 10, 99, ''],
  ['{city}上半年每月的降水量（毫米）', ['1月', '2月', '3月', '4月', '5月', '6月'], 5, 240, ''],
  ['{p}所在年级各班的图书借阅量', ['一班', '二班', '三班', '四班', '五班', '六班', '七班'], 20, 160, '本'],
  ['{shop}各种水果今天的销量（斤）', ['苹果', '香蕉', '橙子', '葡萄', '西瓜', '梨', '桃子', '草莓'], 8, 120, ''],
  ['{p}家一年四个季度的电费', ['第一季度', '第二季度', '第三季度', '第四季度'], 150, 900, '元'],
  ['{p}这周每天走的步数（千步）', ['周一', '周二', '周三', '周四', '周五', '周六', '周日'], 2, 25, ''],
];
const DATA_QUESTIONS: readonly (readonly string[])[] = [
  [
    '下面是{intro}，请算出总数和平均数。',
    '根据下面{intro}，求合计和平均值。',
    '这是{intro}，一共是多少？平均每项多少？',
    '请统计{intro}的总和与平均数。',
  ],
  [
    '根据下面{intro}，找出最高和最低的一项，并算出两者相差多少。',
    '下面列出了{intro}。最大值和最小值分别是哪一项？相差多少？',
    '看看{intro}，哪项最多、哪项最少？差距是多少？',
  ],
  [
    '下面列出了{intro}。哪一项占总数的比例最大？比例是多少？',
    '根据{intro}，算一算占比最高的是哪一项。',
    '{intro}如下，请找出占比最大的一项并给出百分比。',
  ],
];

function withData(rng: Rng): SimTask {
  const [what, labels, lo, hi, unit] = rng.pick(DATA_SETS);
  const intro = fill(what, {
    p: personName(rng),
    city: rng.pick(CITIES),
    shop: rng.pick(['一家水果店', '一个早餐摊', '一家网店', '社区菜店', '校门口的小卖部']),
    goods: rng.pick(['西瓜', '包子', '台灯', '鲜花', '雨伞', '笔记本']),
  });
  const keep = rng.between(Math.min(4, labels.length), labels.length);
  const rows: [string, number][] = (labels.length <= 7 ? labels.slice(0, keep) : rng.sample(labels, Math.min(keep, 7))).map((k) => [
    k,
    rng.between(lo, hi),
  ]);
  const sep = rng.pick(['：', ' ', ': ', '：']);
  const input = rows.map(([k, v]) => `${k}${sep}${v}${unit}`).join(rng.pick(['\n', '\n', '；']));
  const total = rows.reduce((sum, [, v]) => sum + v, 0);
  const max = rows.reduce((a, b) => (b[1] > a[1] ? b : a));
  const min = rows.reduce((a, b) => (b[1] < a[1] ? b : a));
  const q = rng.int(3);
  const instruction = fill(rng.pick(DATA_QUESTIONS[q]!), { intro });
  const output = [
    `总数：${rows.map(([, v]) => v).join('+')}=${total}${unit}。平均数：${total}÷${rows.length}=${num(total / rows.length)}${unit}。`,
    `最高的是${max[0]}（${max[1]}${unit}），最低的是${min[0]}（${min[1]}${unit}），相差${max[1]}−${min[1]}=${max[1] - min[1]}${unit}。`,
    `总数为${total}${unit}，最大的一项是${max[0]}，为${max[1]}${unit}，占比${max[1]}÷${total}≈${num((max[1] / total) * 100)}%。`,
  ][q]!;
  return { instruction, input, output: fitOutput(output, rng, MATH_PADDING), category: '计算' };
}

export function math(rng: Rng): SimTask {
  if (rng.chance(0.35)) return withData(rng);
  const { question, solution } = rng.pick(TEMPLATES)(rng);
  const suffix = rng.pick(ASK_SUFFIX);
  if (rng.chance(0.3)) {
    // The problem as input, a short instruction in front of it.
    return {
      instruction: rng.pick([
        '解答下面这道应用题。',
        '请计算下面的问题，写出过程。',
        '帮孩子讲讲这道题怎么做。',
        '这道数学题怎么解？',
        '请列式解答下面的应用题。',
      ]),
      input: question,
      output: fitOutput(solution, rng, MATH_PADDING),
      category: '计算',
    };
  }
  const prefix = rng.chance(0.5) ? rng.pick(MATH_PREFIXES) : '';
  return { instruction: prefix + question + suffix, input: '', output: fitOutput(solution, rng, MATH_PADDING), category: '计算' };
}
