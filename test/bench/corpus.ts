/**
 * Deterministic synthetic corpus of Chinese dedup keys for the dedup benchmark (and a seeded PRNG the
 * property tests share). Keys look like normalized instruction+input: an instruction from a few dozen
 * templates, often followed by an input made of common words and a long tail of rarer "words" drawn
 * from a few thousand CJK characters, with occasional ASCII (code, English words, numbers). About 10%
 * of keys are planted near-duplicates: an earlier key with a random number of character edits (0 to
 * ~45% of its length), so plenty fall on each side of the default 0.7 threshold.
 */
import { dedupKey } from '../../pipeline/dedup/similarity.ts';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** xorshift32 with a multiplicative output mix; plenty for test data, and seedable. */
export function createRng(seed: number): Rng {
  let state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (Math.imul(state ^ (state >>> 16), 0x45d9f3b) >>> 0) / 0x100000000;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

/** Sampler over items with weights 1/(rank+1)^exponent (Zipf-like, as word frequencies are). */
function zipf<T>(items: readonly T[], exponent: number): (rng: Rng) => T {
  const cumulative = new Float64Array(items.length);
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    total += 1 / (i + 1) ** exponent;
    cumulative[i] = total;
  }
  return (rng) => {
    const x = rng.next() * total;
    let lo = 0;
    let hi = items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return items[lo]!;
  };
}

const TEMPLATES = [
  '请写一篇关于{topic}的{genre}',
  '用{count}句话概括{topic}的要点',
  '把下面这段话翻译成{language}',
  '解释一下{topic}是什么意思',
  '给出{count}个关于{topic}的建议',
  '以{topic}为主题写一首{genre}',
  '判断下面这句话的情感是积极还是消极',
  '总结下面文章的主要内容',
  '为{topic}列一个提纲',
  '比较{topic}和{topic}的不同之处',
  '假如你是一名{role}，请回答顾客关于{topic}的问题',
  '改写下面的句子，让它更正式',
  '找出下面文字中的错别字并改正',
  '根据下面的信息写一封{genre}',
  '{topic}对日常生活有什么影响？',
  '怎样向小学生讲清楚{topic}？',
  '列举{count}种与{topic}有关的职业',
  '为一家做{topic}的公司起{count}个名字',
  '用{language}写一段简短的自我介绍',
  '请分析下面这段代码的作用',
  '写一个函数，计算{topic}相关的统计数据',
  '给下面的段落加一个标题',
  '作为{role}，你会怎么看待{topic}？',
  '把下面的内容整理成表格',
  '描述一次难忘的{topic}经历',
  '为{topic}设计一份{count}天的计划',
  '从下面的句子里提取所有人名和地名',
  '给下面这篇{genre}打分，并说明理由',
  '回答下面的问题：',
  '续写下面的故事',
  '判断下面的说法是否正确，并解释原因',
  '用通俗的语言说明{topic}的原理',
];

/** Optional openings and closing requirements, so instructions vary beyond their template. */
const OPENINGS = ['', '', '', '请', '请你', '帮我', '麻烦你', '你能', '试着', '我想让你', '现在请', '能不能'];
const REQUIREMENTS = [
  '',
  '',
  '',
  '',
  '，不超过{words}字',
  '，语言要简洁',
  '，适合初中生阅读',
  '，并举一个例子',
  '，用表格的形式给出',
  '，分点作答',
  '，语气要亲切',
  '，最后给出结论',
  '，不要使用专业术语',
  '，控制在{count}段以内',
  '，要有说服力',
];

const SLOTS: Record<string, readonly string[]> = {
  topic: [
    '气候变化',
    '人工智能',
    '健康饮食',
    '城市交通',
    '网络安全',
    '传统节日',
    '垃圾分类',
    '时间管理',
    '远程办公',
    '新能源汽车',
    '儿童教育',
    '睡眠质量',
    '旅游攻略',
    '理财规划',
    '环境保护',
    '中国历史',
    '太空探索',
    '手机摄影',
    '团队合作',
    '心理健康',
    '科学实验',
    '古典音乐',
    '足球比赛',
    '家庭烹饪',
    '阅读习惯',
    '外语学习',
    '电子商务',
    '社交媒体',
    '宠物护理',
    '志愿服务',
    '乡村振兴',
    '数据隐私',
    '老年人生活',
    '面试技巧',
    '运动损伤',
    '植物养护',
    '诗词鉴赏',
    '博物馆',
    '茶文化',
    '书法',
    '地震预防',
    '天气预报',
    '量子计算',
    '区块链',
    '疫苗接种',
    '短视频',
  ],
  genre: ['短文', '诗', '故事', '演讲稿', '邮件', '广告词', '说明文', '日记', '新闻稿', '评论', '对联', '信'],
  count: ['三', '五', '两', '十', '四', '六', '3', '5', '7', '10'],
  language: ['英文', '日文', '法语', '文言文', '德语', '粤语', '西班牙语'],
  role: ['医生', '老师', '律师', '厨师', '导游', '客服人员', '程序员', '记者', '营养师', '历史学家'],
  words: ['五十', '一百', '两百', '三百', '五百', '80', '150', '200', '300'],
};

/** Common words of input text, written for this corpus; roughly in order of how often they occur. */
const COMMON_WORDS = [
  '的',
  '是',
  '我们',
  '一个',
  '在',
  '了',
  '和',
  '他',
  '这个',
  '有',
  '不',
  '他们',
  '可以',
  '也',
  '就',
  '都',
  '人',
  '时候',
  '因为',
  '所以',
  '但是',
  '如果',
  '已经',
  '非常',
  '自己',
  '什么',
  '没有',
  '工作',
  '问题',
  '可能',
  '需要',
  '今天',
  '公司',
  '学生',
  '老师',
  '孩子',
  '朋友',
  '城市',
  '方法',
  '事情',
  '发展',
  '重要',
  '开始',
  '知道',
  '觉得',
  '一些',
  '这些',
  '每天',
  '进行',
  '通过',
  '提高',
  '影响',
  '社会',
  '生活',
  '时间',
  '地方',
  '产品',
  '服务',
  '顾客',
  '研究',
  '结果',
  '数据',
  '系统',
  '技术',
  '经济',
  '政府',
  '市场',
  '文化',
  '历史',
  '世界',
  '国家',
  '环境',
  '能力',
  '关系',
  '水平',
  '情况',
  '机会',
  '经验',
  '建议',
  '目标',
  '计划',
  '成功',
  '失败',
  '努力',
  '希望',
  '喜欢',
  '认为',
  '看到',
  '听说',
  '参加',
  '发现',
  '完成',
  '准备',
  '决定',
  '选择',
  '帮助',
  '解决',
  '讨论',
  '介绍',
  '比较',
  '变化',
];

const PUNCTUATION = ['，', '。', '、', '；', '：', '？', '！', '“', '”', '（', '）'];

/** Code-like ASCII inputs; names come from `word` so they vary from key to key. */
const ASCII_FRAGMENTS: readonly ((word: () => string, num: () => number) => string)[] = [
  (w, n) => `def ${w()}(${w()}): return ${w()} * ${n()}`,
  (w, n) => `for ${w()} in range(${n()}): ${w()}.append(${w()})`,
  (w, n) => `SELECT ${w()}, ${w()} FROM ${w()} WHERE ${w()} > ${n()}`,
  (w, n) => `const ${w()} = ${w()}.filter((${w()}) => ${w()} < ${n()});`,
  (w, n) => `if ${w()} == ${n()}: print(${w()})`,
  (w) => `${w()}.${w()}(${w()}, ${w()})`,
  (w, n) => `let ${w()} = [${n()}, ${n()}, ${n()}];`,
  (w) => `class ${w()}: pass`,
];

/** Syllables of the pseudo-English vocabulary (words of 1–3 syllables, Zipf-distributed). */
const SYLLABLES = [
  'ka',
  'to',
  'ri',
  'men',
  'sh',
  'ing',
  'tion',
  'er',
  'lo',
  'pa',
  'th',
  'ou',
  'st',
  'an',
  'be',
  'com',
  'pre',
  'ex',
  'ly',
  'ment',
  'ple',
  'ver',
  'dis',
  'con',
  'al',
  'ic',
  'ful',
  'ness',
  'ro',
  'mi',
  'su',
  'de',
  'ta',
  'no',
  'gra',
  'cli',
  'mo',
  'ven',
  'ab',
  'ur',
  'ge',
  'qui',
  'fa',
  'wor',
  'ty',
  'bo',
  'lu',
  'si',
  'ca',
  'pro',
  'ny',
  'ze',
  'ju',
];

/** The CJK characters of the rare-word tail: ones from the vocabulary above first, then the PRNG's. */
function characterPool(rng: Rng, size: number): string[] {
  const seen = new Set<string>();
  const pool: string[] = [];
  const text = [...COMMON_WORDS, ...Object.values(SLOTS).flat()].join('');
  for (const ch of text) {
    if (/\p{Script=Han}/u.test(ch) && !seen.has(ch)) {
      seen.add(ch);
      pool.push(ch);
    }
  }
  while (pool.length < size) {
    const ch = String.fromCharCode(0x4e00 + rng.int(0x9fa5 - 0x4e00 + 1));
    if (!seen.has(ch)) {
      seen.add(ch);
      pool.push(ch);
    }
  }
  return pool;
}

export interface CorpusKey {
  key: string;
  /** Index of the key this one was planted from, or -1. */
  plantedFrom: number;
  /** Character edits applied when planting (0 = exact copy). */
  edits: number;
}

export interface CorpusOptions {
  seed?: number;
  /** Share of planted near-duplicates. */
  plantedShare?: number;
}

/**
 * An endless, deterministic stream of keys: the first N keys are the same for every N, so a run over
 * 50k keys extends the one over 10k.
 */
export function* corpusKeys(options: CorpusOptions = {}): Generator<CorpusKey> {
  const rng = createRng(options.seed ?? 20240611);
  const plantedShare = options.plantedShare ?? 0.1;
  const chars = characterPool(rng, 3500);
  const drawChar = zipf(chars, 0.8);
  const rareWords: string[] = [];
  for (let i = 0; i < 30000; i++) {
    const len = 2 + (rng.next() < 0.3 ? 1 : 0) + (rng.next() < 0.1 ? 1 : 0);
    let w = '';
    for (let j = 0; j < len; j++) w += drawChar(rng);
    rareWords.push(w);
  }
  const drawRare = zipf(rareWords, 0.6);
  const drawCommon = zipf(COMMON_WORDS, 1.0);
  const slotSamplers = Object.fromEntries(Object.entries(SLOTS).map(([k, v]) => [k, zipf(v, 0.8)]));
  const drawTemplate = zipf(TEMPLATES, 0.5);

  // Half of the topics are open-ended phrases, as generated instructions mostly are.
  const topic = (): string => {
    if (rng.next() < 0.5) return slotSamplers.topic!(rng);
    let t = '';
    const words = 1 + rng.int(3);
    for (let i = 0; i < words; i++) t += rng.next() < 0.3 ? drawCommon(rng) : drawRare(rng);
    return t;
  };
  const instruction = (template: string): string =>
    ((/^[请假作]/.test(template) ? '' : rng.pick(OPENINGS)) + template + rng.pick(REQUIREMENTS)).replace(/\{(\w+)\}/g, (_, slot: string) =>
      slot === 'topic' ? topic() : slotSamplers[slot]!(rng),
    );
  const englishWords: string[] = [];
  for (let i = 0; i < 5000; i++) {
    let w = '';
    const parts = 1 + rng.int(3);
    for (let j = 0; j < parts; j++) w += rng.pick(SYLLABLES);
    englishWords.push(w);
  }
  const drawEnglish = zipf(englishWords, 0.8);
  const englishWord = (): string => drawEnglish(rng);
  const sentence = (): string => {
    const words = 4 + rng.int(14);
    let s = '';
    for (let i = 0; i < words; i++) {
      const r = rng.next();
      s += r < 0.3 ? drawCommon(rng) : r < 0.97 ? drawRare(rng) : String(rng.int(2025));
      if (rng.next() < 0.12) s += rng.pick(PUNCTUATION);
    }
    return s + (rng.next() < 0.8 ? '。' : '？');
  };
  const input = (needed: boolean): string => {
    if (!needed && rng.next() < 0.4) return '';
    const r = rng.next();
    if (r < 0.06) return rng.pick(ASCII_FRAGMENTS)(englishWord, () => rng.int(1000));
    if (r < 0.1) return Array.from({ length: 3 + rng.int(8) }, englishWord).join(' ');
    const sentences = 1 + rng.int(4);
    let s = '';
    for (let i = 0; i < sentences; i++) s += sentence();
    return s;
  };
  const editChar = (): string => (rng.next() < 0.9 ? drawChar(rng) : rng.pick(PUNCTUATION));

  const history: string[] = [];
  for (;;) {
    let item: CorpusKey;
    if (history.length > 0 && rng.next() < plantedShare) {
      const from = rng.int(history.length);
      const units = [...history[from]!];
      const r = rng.next();
      const edits = r < 0.15 ? 0 : Math.round(units.length * (0.02 + rng.next() * 0.43));
      for (let e = 0; e < edits; e++) {
        const op = rng.next();
        const at = rng.int(units.length + 1);
        if (op < 0.5 && at < units.length) units[at] = editChar();
        else if (op < 0.75 || units.length === 0) units.splice(at, 0, editChar());
        else units.splice(Math.min(at, units.length - 1), 1);
      }
      item = { key: units.join(''), plantedFrom: from, edits };
    } else {
      const template = drawTemplate(rng);
      const needsInput = /下面|这篇|这句|以下/.test(template);
      item = { key: dedupKey({ instruction: instruction(template), input: input(needsInput) }), plantedFrom: -1, edits: 0 };
    }
    history.push(item.key);
    yield item;
  }
}

/** The first `count` keys of the stream. */
export function corpus(count: number, options: CorpusOptions = {}): CorpusKey[] {
  const out: CorpusKey[] = [];
  for (const item of corpusKeys(options)) {
    if (out.length >= count) break;
    out.push(item);
  }
  return out;
}
