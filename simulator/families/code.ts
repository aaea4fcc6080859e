/** Programming tasks: explain, predict, review a snippet (input), or write a small function. */
import type { Rng } from '../random.ts';
import { fill } from '../random.ts';
import type { SimTask } from './common.ts';
import { fitOutput, fullName, withLeadIn } from './common.ts';

interface Snippet {
  lang: 'Python' | 'JavaScript';
  code: string;
  /** What it does, in Chinese. */
  does: string;
  /** What it prints, computed. */
  prints: string;
  complexity: string;
  review: string;
}

const LIST_NAMES = ['nums', 'values', 'data', 'items', 'numbers', 'scores', 'prices', 'ages', 'counts', 'readings'];
const WORDS = [
  'level',
  'racecar',
  'python',
  'noon',
  'banana',
  'refer',
  'kayak',
  'window',
  'stats',
  'rotor',
  'planet',
  'civic',
  'madam',
  'garden',
  'radar',
  'orange',
  'deified',
  'summer',
  'repaper',
  'coffee',
];
const SENTENCE_WORDS = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'to', 'park', 'red', 'apple'];

function numbers(rng: Rng, n: number, max = 50): number[] {
  return Array.from({ length: n }, () => rng.between(1, max));
}

type SnippetMaker = (rng: Rng) => Snippet;

const SNIPPETS: readonly SnippetMaker[] = [
  (rng) => {
    const f = rng.pick(['sum_even', 'even_total', 'add_evens', 'total_of_evens']);
    const xs = rng.pick(LIST_NAMES);
    const data = numbers(rng, rng.between(8, 14), 99);
    const result = data.filter((x) => x % 2 === 0).reduce((a, b) => a + b, 0);
    return {
      lang: 'Python',
      code: `def ${f}(${xs}):\n    total = 0\n    for x in ${xs}:\n        if x % 2 == 0:\n            total += x\n    return total\n\nprint(${f}([${data.join(', ')}]))`,
      does: `函数${f}遍历列表${xs}，把其中的偶数累加起来并返回总和`,
      prints: String(result),
      complexity: '只遍历一次列表，时间复杂度O(n)，额外空间O(1)',
      review: `可以写成更简洁的sum(x for x in ${xs} if x % 2 == 0)；另外最好加上类型注解和对空列表的说明`,
    };
  },
  (rng) => {
    const f = rng.pick(['word_count', 'count_words', 'tally_words']);
    const words = Array.from({ length: rng.between(7, 12) }, () => rng.pick(SENTENCE_WORDS));
    const counts = new Map<string, number>();
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    return {
      lang: 'Python',
      code: `def ${f}(text):\n    counts = {}\n    for word in text.split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n\nprint(${f}("${words.join(' ')}"))`,
      does: `函数${f}按空格切分字符串，用字典统计每个单词出现的次数`,
      prints: `{${[...counts].map(([w, c]) => `'${w}': ${c}`).join(', ')}}`,
      complexity: '每个单词处理一次，时间复杂度O(n)，字典最多占用O(n)空间',
      review: '没有处理大小写和标点，“The”和“the”会被算成两个词；也可以直接用collections.Counter',
    };
  },
  (rng) => {
    const f = rng.pick(['is_palindrome', 'check_palindrome', 'same_backwards']);
    const words = rng.sample(WORDS, rng.between(4, 7));
    const word = words[0]!;
    return {
      lang: 'Python',
      code: `def ${f}(s):\n    s = s.lower()\n    return s == s[::-1]\n\nfor w in [${words.map((w) => `"${w}"`).join(', ')}]:\n    print(w, ${f}(w))`,
      does: `函数${f}把字符串转成小写后与它的反转比较，判断是否为回文`,
      prints: words.map((w) => `${w} ${w === [...w].reverse().join('') ? 'True' : 'False'}`).join('；') || word,
      complexity: '反转和比较都是线性的，时间复杂度O(n)，切片会复制一份字符串，空间O(n)',
      review: '没有忽略空格和标点，像“A man a plan”这样的句子会判断错误，可以先过滤掉非字母字符',
    };
  },
  (rng) => {
    const f = rng.pick(['find_max', 'largest', 'max_value']);
    const xs = rng.pick(LIST_NAMES);
    const data = numbers(rng, rng.between(8, 14), 99);
    return {
      lang: 'Python',
      code: `def ${f}(${xs}):\n    best = ${xs}[0]\n    for x in ${xs}[1:]:\n        if x > best:\n            best = x\n    return best\n\nprint(${f}([${data.join(', ')}]))`,
      does: `函数${f}先假设第一个元素最大，再逐个比较，返回列表${xs}中的最大值`,
      prints: String(Math.max(...data)),
      complexity: '遍历一次，时间复杂度O(n)；切片会复制列表，额外空间O(n)',
      review: '传入空列表会抛出IndexError，需要先判断；切片复制可以改为从下标1开始循环',
    };
  },
  (rng) => {
    const xs = rng.pick(LIST_NAMES);
    const k = rng.between(10, 40);
    const data = numbers(rng, rng.between(8, 14), 60);
    return {
      lang: 'Python',
      code: `${xs} = [${data.join(', ')}]\nbig = [x for x in ${xs} if x > ${k}]\nprint(big, len(big))`,
      does: `用列表推导式从${xs}中挑出大于${k}的元素，再打印结果和个数`,
      prints: `[${data.filter((x) => x > k).join(', ')}] ${data.filter((x) => x > k).length}`,
      complexity: '列表推导式遍历一次，时间复杂度O(n)，新列表最多O(n)空间',
      review: `阈值${k}写死在代码里，可以提取成参数；变量名big不够清楚，可以改成更有含义的名字`,
    };
  },
  (rng) => {
    const f = rng.pick(['factorial', 'fact', 'prod_to', 'fac']);
    const ns = rng.sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], rng.between(3, 5));
    const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
    return {
      lang: 'Python',
      code: `def ${f}(n):\n    if n <= 1:\n        return 1\n    return n * ${f}(n - 1)\n\nprint([${f}(n) for n in (${ns.join(', ')})])`,
      does: `函数${f}用递归计算n的阶乘，n小于等于1时返回1作为终止条件，最后一行对几个数分别求阶乘`,
      prints: `[${ns.map(factorial).join(', ')}]`,
      complexity: '递归n层，时间复杂度O(n)，调用栈占用O(n)空间',
      review: 'n很大时会超过递归深度限制，可以改成循环；负数输入也应该明确处理',
    };
  },
  (rng) => {
    const f = rng.pick(['fib', 'fibonacci', 'nth_fib', 'fibo']);
    const ns = rng.sample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25], rng.between(3, 5));
    const fib = (n: number): number => {
      let [a, b] = [0, 1];
      for (let i = 0; i < n; i++) [a, b] = [b, a + b];
      return a;
    };
    return {
      lang: 'Python',
      code: `def ${f}(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nfor n in (${ns.join(', ')}):\n    print(n, ${f}(n))`,
      does: `函数${f}用两个变量迭代计算斐波那契数列的第n项，循环里依次打印几个n对应的结果`,
      prints: ns.map((n) => `${n} ${fib(n)}`).join('；'),
      complexity: '循环n次，时间复杂度O(n)，只用常数空间',
      review: '写法已经很简洁；可以补充对负数参数的检查，并写一个简短的文档字符串',
    };
  },
  (rng) => {
    const xs = rng.pick(LIST_NAMES);
    const data = [...new Set(numbers(rng, rng.between(8, 14), 99))].sort((x, y) => x - y);
    const target = rng.chance(0.6) ? rng.pick(data) : rng.between(1, 90);
    return {
      lang: 'Python',
      code: `def search(${xs}, target):\n    lo, hi = 0, len(${xs}) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if ${xs}[mid] == target:\n            return mid\n        if ${xs}[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n\nprint(search([${data.join(', ')}], ${target}))`,
      does: `这是二分查找：在有序列表${xs}中不断折半缩小范围，找到目标就返回下标，找不到返回-1`,
      prints: String(data.indexOf(target)),
      complexity: '每次把范围缩小一半，时间复杂度O(log n)，空间O(1)',
      review: '前提是列表必须有序，调用前最好说明或检查；也可以直接使用标准库bisect',
    };
  },
  (rng) => {
    const c = rng.between(-20, 40);
    const f = rng.pick(['toFahrenheit', 'cToF', 'celsiusToFahrenheit']);
    return {
      lang: 'JavaScript',
      code: `const ${f} = (c) => c * 9 / 5 + 32;\nconsole.log(${f}(${c}));`,
      does: `箭头函数${f}把摄氏温度换算成华氏温度，公式是乘以9/5再加32`,
      prints: String((c * 9) / 5 + 32),
      complexity: '只做一次算术运算，时间和空间都是O(1)',
      review: '没有检查参数类型，传入字符串会得到意外结果，可以先用Number()转换并判断NaN',
    };
  },
  (rng) => {
    const xs = rng.pick(LIST_NAMES);
    const data = numbers(rng, rng.between(7, 12), 19);
    const result = data
      .filter((n) => n % 2 === 1)
      .map((n) => n * n)
      .reduce((a, b) => a + b, 0);
    return {
      lang: 'JavaScript',
      code: `const ${xs} = [${data.join(', ')}];\nconst result = ${xs}\n  .filter((n) => n % 2 === 1)\n  .map((n) => n * n)\n  .reduce((a, b) => a + b, 0);\nconsole.log(result);`,
      does: `先用filter取出${xs}中的奇数，再用map求平方，最后用reduce求和`,
      prints: String(result),
      complexity: '三次遍历，时间复杂度仍是O(n)，filter和map各生成一个中间数组',
      review: '数据量很大时可以合并成一次reduce，省去中间数组；变量名result可以更具体',
    };
  },
  (rng) => {
    const f = rng.pick(['countVowels', 'vowelCount', 'numVowels']);
    const words = rng.sample(WORDS, rng.between(3, 6));
    const count = (w: string): number => [...w].filter((ch) => 'aeiou'.includes(ch)).length;
    return {
      lang: 'JavaScript',
      code: `function ${f}(str) {\n  let n = 0;\n  for (const ch of str) {\n    if ('aeiou'.includes(ch)) n++;\n  }\n  return n;\n}\nfor (const w of [${words.map((w) => `'${w}'`).join(', ')}]) {\n  console.log(w, ${f}(w));\n}`,
      does: `函数${f}逐个检查字符，统计字符串中元音字母a、e、i、o、u的个数`,
      prints: words.map((w) => `${w} ${count(w)}`).join('；'),
      complexity: '每个字符串遍历一次，时间复杂度O(总长度)，空间O(1)',
      review: '没有处理大写字母，可以先调用toLowerCase()；也可以用正则表达式一行写完',
    };
  },
  (rng) => {
    const d = rng.pick(['scores', 'sales', 'votes', 'points']);
    const names = rng.sample(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar'],
      rng.between(4, 7),
    );
    const vals = names.map(() => rng.between(10, 99));
    const top = names[vals.indexOf(Math.max(...vals))]!;
    return {
      lang: 'Python',
      code: `${d} = {${names.map((n, i) => `"${n}": ${vals[i]}`).join(', ')}}\nranked = sorted(${d}.items(), key=lambda kv: kv[1], reverse=True)\nprint(ranked[0][0])`,
      does: `把字典${d}的键值对按值从大到小排序，然后打印排在第一位的键`,
      prints: top,
      complexity: '排序的时间复杂度是O(n log n)，排序结果占用O(n)空间',
      review: '只需要最大值时用max(d, key=d.get)就够了，不必整体排序；并列第一时只会返回其中一个',
    };
  },
];

const EXPLAIN = [
  '解释下面这段{lang}代码的作用。',
  '这段代码是做什么的？',
  '请说明下面这段程序的逻辑。',
  '用中文讲讲下面这段{lang}程序在干什么。',
  '给初学者解释一下这段{lang}代码。',
  '读一读下面的代码，概括它的功能。',
  '我看不懂下面这段代码，能帮我讲讲吗？',
];
const PREDICT = [
  '下面的代码运行后会输出什么？请说明原因。',
  '预测这段{lang}程序的输出结果。',
  '不运行代码，推断下面程序打印的内容。',
  '这段代码最后打印出什么？',
];
const COMPLEXITY = ['分析下面代码的时间复杂度。', '这段代码的时间和空间复杂度分别是多少？', '从性能角度评价一下下面的{lang}代码。'];
const REVIEW = [
  '下面这段代码有哪些可以改进的地方？',
  '请审查下面的{lang}代码，指出潜在问题。',
  '这段代码在什么情况下会出问题？怎么改进？',
  '作为代码评审，你会对下面的代码提什么意见？',
];

/** Header comments as people leave them in real snippets; they also keep two snippets apart. */
const CODE_CONTEXTS = [
  '课程作业第{k}题',
  '处理传感器读数',
  '统计班级成绩',
  '整理库存数量',
  '面试题{k}',
  '数据清洗脚本的一部分',
  '{name}写的工具函数',
  '旧项目里的代码',
  '周报统计脚本',
  '刷题记录 {date}',
  '第{k}周练习',
  '帮{name}看的代码',
  '从同事那里拿到的片段',
  '实验{k}的辅助函数',
];
const SNIPPET_TAILS = [
  '',
  '',
  '我是初学者。',
  '重点说关键的几行。',
  '用通俗的话讲。',
  '顺便说说每个变量的作用。',
  '讲得简短一些。',
  '分步骤说明。',
];

export function codeSnippet(rng: Rng): SimTask {
  const s = rng.pick(SNIPPETS)(rng);
  const kind = rng.int(4);
  const frame = rng.pick([EXPLAIN, PREDICT, COMPLEXITY, REVIEW][kind]!);
  const instruction = fill(frame, { lang: s.lang }) + rng.pick(SNIPPET_TAILS);
  if (rng.chance(0.6)) {
    const context = fill(rng.pick(CODE_CONTEXTS), {
      k: rng.between(1, 30),
      name: fullName(rng),
      date: `${rng.between(1, 12)}月${rng.between(1, 28)}日`,
    });
    s.code = `${s.lang === 'Python' ? '#' : '//'} ${context}\n${s.code}`;
  }
  const output = [
    `这段代码的作用是：${s.does}。以示例中的调用为例，程序会输出${s.prints}。`,
    `输出是：${s.prints}\n原因：${s.does}，按照示例数据一步步计算即可得到这个结果。`,
    `${s.complexity}。具体来说，${s.does}。`,
    `主要有这几点建议：${s.review}。整体来看，${s.does}，逻辑是清楚的。`,
  ][kind]!;
  return { instruction, input: s.code, output: fitOutput(output, rng), category: '编程' };
}

const PURPOSES: readonly { what: string; name: string; code: string }[] = [
  {
    what: '判断一个整数是否为质数',
    name: 'is_prime',
    code: 'def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True',
  },
  {
    what: '计算列表中所有数字的平均值',
    name: 'average',
    code: 'def average(nums):\n    if not nums:\n        return 0\n    return sum(nums) / len(nums)',
  },
  {
    what: '把字符串中每个单词的首字母大写',
    name: 'capitalize_words',
    code: "def capitalize_words(text):\n    return ' '.join(w[:1].upper() + w[1:] for w in text.split())",
  },
  {
    what: '统计字符串中每个字符出现的次数',
    name: 'char_count',
    code: 'def char_count(s):\n    counts = {}\n    for ch in s:\n        counts[ch] = counts.get(ch, 0) + 1\n    return counts',
  },
  {
    what: '找出列表中第二大的数',
    name: 'second_largest',
    code: 'def second_largest(nums):\n    uniq = sorted(set(nums))\n    return uniq[-2] if len(uniq) >= 2 else None',
  },
  {
    what: '判断某一年是否为闰年',
    name: 'is_leap_year',
    code: 'def is_leap_year(y):\n    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)',
  },
  {
    what: '生成斐波那契数列的前n项',
    name: 'fib_list',
    code: 'def fib_list(n):\n    out, a, b = [], 0, 1\n    for _ in range(n):\n        out.append(a)\n        a, b = b, a + b\n    return out',
  },
  { what: '求两个正整数的最大公约数', name: 'gcd', code: 'def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a' },
  {
    what: '检查一个字符串里的括号是否成对匹配',
    name: 'balanced',
    code: "def balanced(s):\n    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n    for ch in s:\n        if ch in '([{':\n            stack.append(ch)\n        elif ch in pairs:\n            if not stack or stack.pop() != pairs[ch]:\n                return False\n    return not stack",
  },
  {
    what: '去掉列表中的重复元素并保持原来的顺序',
    name: 'dedupe',
    code: 'def dedupe(items):\n    seen = set()\n    out = []\n    for x in items:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out',
  },
  {
    what: '把秒数转换成“时:分:秒”的格式',
    name: 'format_seconds',
    code: "def format_seconds(total):\n    h, rest = divmod(total, 3600)\n    m, s = divmod(rest, 60)\n    return f'{h:02d}:{m:02d}:{s:02d}'",
  },
  { what: '把摄氏度转换为华氏度', name: 'c_to_f', code: 'def c_to_f(c):\n    return c * 9 / 5 + 32' },
  {
    what: '反转一句话中单词的顺序',
    name: 'reverse_words',
    code: "def reverse_words(sentence):\n    return ' '.join(reversed(sentence.split()))",
  },
  { what: '计算一个整数各位数字之和', name: 'digit_sum', code: 'def digit_sum(n):\n    return sum(int(d) for d in str(abs(n)))' },
];
const WRITE_FRAMES = [
  '用Python写一个函数{name}，{what}。',
  '请实现一个Python函数，{what}，并给出调用示例。',
  '写一段Python代码，{what}。',
  '我需要一个函数来{what}，请用Python实现。',
  '编写函数{name}：{what}。',
  '如何用Python{what}？请给出代码。',
  '帮我写个小工具函数，功能是{what}，语言用Python。',
  '请用简洁的Python代码{what}，并简单解释思路。',
];

const CODE_REQUIREMENTS = [
  '不要使用内置的排序函数',
  '加上必要的注释',
  '写上类型注解',
  '附带两个测试用例',
  '考虑输入为空的情况',
  '代码尽量简短',
  '变量名要有意义',
  '说明时间复杂度',
  '不使用第三方库',
  '给出调用示例',
  '处理非法输入',
  '写成可以复用的形式',
];

export function codeWrite(rng: Rng): SimTask {
  const p = rng.pick(PURPOSES);
  const reqs = rng.sample(CODE_REQUIREMENTS, rng.between(1, 3));
  const core = fill(rng.pick(WRITE_FRAMES), p);
  const instruction = withLeadIn(`${core.replace(/[。？]$/u, '')}，要求${reqs.join('、')}。`, rng, 0.5);
  const output = `${rng.pick(['可以这样实现：', '参考代码如下：', '一种简单的写法：'])}\n${p.code}\n${rng.pick(['思路很直接，边界情况也已经考虑到了。', '函数没有依赖第三方库，可以直接使用。', '可以再补充几个测试用例验证结果。'])}`;
  return { instruction, input: '', output: fitOutput(output, rng), category: '编程' };
}
