/**
 * What a real model mixes into its replies and the pipeline must catch: near-duplicates of earlier
 * tasks, and junk that one of the filters rejects. Pure functions of a task and a random stream.
 */
import { DEFAULT_RULE_OPTIONS } from '../pipeline/rules/index.ts';
import { charLength } from '../pipeline/text.ts';
import type { SimTask } from './families/common.ts';
import type { Rng } from './random.ts';
import { DOMAINS } from './lexicon.ts';

/** One kind of junk per filter rule, named after what is wrong with the task. */
export type JunkKind =
  | 'non_text'
  | 'refusal'
  | 'empty_output'
  | 'output_equals_input'
  | 'leading_punctuation'
  | 'not_chinese'
  | 'too_short'
  | 'too_long';

export const JUNK_KINDS: readonly JunkKind[] = [
  'non_text',
  'refusal',
  'empty_output',
  'output_equals_input',
  'leading_punctuation',
  'not_chinese',
  'too_short',
  'too_long',
];

// ---------------------------------------------------------------------------------------------------
// near-duplicates

/** Characters a light edit may put in; none can form a word the filters look for. */
const EDIT_CHARS = ['的', '了', '是', '在', '和', '就', '也', '都', '这', '那', '些', '很', '再', '还', '又'];
// Not '…': NFKC turns it into three characters, too big an edit for a short key.
const EDIT_PUNCTUATION = ['。', '！', '？', '，'];

/**
 * An exact repeat (about a third of the time) or a light edit of `original`: one or two characters
 * changed, inserted or removed, or punctuation added. Never touches the first character, so the edit
 * cannot make the instruction start with punctuation. The dedup key stays ≥ 0.7 similar: at most two
 * edits on a key of at least eight characters.
 */
export function nearDuplicate(original: SimTask, rng: Rng): SimTask {
  if (rng.chance(0.35)) return { ...original };
  const instruction = [...original.instruction];
  const edits = rng.between(1, 2);
  for (let e = 0; e < edits; e++) {
    const op = rng.int(4);
    const at = 1 + rng.int(Math.max(1, instruction.length - 1));
    if (op === 0 && instruction.length > 8) instruction.splice(at, 1, rng.pick(EDIT_CHARS));
    else if (op === 1) instruction.splice(at, 0, rng.pick(EDIT_CHARS));
    else if (op === 2 && instruction.length > 8) instruction.splice(at, 1);
    else {
      const last = instruction[instruction.length - 1]!;
      if (EDIT_PUNCTUATION.includes(last)) instruction[instruction.length - 1] = rng.pick(EDIT_PUNCTUATION.filter((p) => p !== last));
      else instruction.push(rng.pick(EDIT_PUNCTUATION));
    }
  }
  // A model repeating itself rephrases the answer too, which the key does not see.
  const output = rng.chance(0.5)
    ? original.output
    : `${original.output}${rng.pick(['', '\n', ''])}${rng.pick(['希望对你有帮助。', '以上供参考。', '仅供参考。'])}`;
  return { ...original, instruction: instruction.join(''), output: output.length > 300 ? original.output : output };
}

// ---------------------------------------------------------------------------------------------------
// junk

function subject(rng: Rng): string {
  return rng.pick(rng.pick(DOMAINS).subjects);
}

/** Tasks that depend on a missing artifact or ask for a non-text one (a video script or a flowchart would be text). */
const NON_TEXT = [
  '请看下面这张图片，描述一下图中{s}的细节。',
  '为{s}拍一段一分钟的短视频。',
  '把这段音频里关于{s}的内容整理成文字稿。',
  '请打开附件中的表格，统计{s}相关的数据。',
  '访问下面的链接，总结网页上关于{s}的介绍。',
  '画一幅表现{s}的水彩画。',
  '绘制一张展示{s}的插画。',
  '根据这张照片判断{s}的年代。',
  '用关于{s}的数据绘制一张柱状图。',
  '下载这个文件，找出里面提到{s}的段落。',
  '听一下这首音乐，说说它和{s}有什么关系。',
  '看完这个视频后，写一段关于{s}的观后感。',
];
const REFUSALS = [
  '抱歉，作为一个AI语言模型，我无法{x}。',
  '对不起，我无法回答关于{s}的问题。',
  '作为一个人工智能，我没有个人观点，但关于{s}可以提供一些一般性的信息。',
  '很抱歉，我不能提供这方面的帮助。',
  '我是ChatGPT，由OpenAI开发的语言模型，关于{s}我无法给出确切答案。',
  'As an AI language model, I cannot help with {x}.',
  '作为一个语言模型，我不能访问实时信息，因此无法回答这个问题。',
  '抱歉，这个问题超出了我的能力范围，我无法完成。',
];
const REFUSAL_ACTIONS = ['浏览网页', '查看图片', '提供个人意见', '预测未来', '访问实时数据', 'do that'];
const LEADING_PUNCTUATION = ['，', '。', '、', '：', '）', '」', '-', '!', '?', '；', '…', '》'];
const ENGLISH_INSTRUCTIONS = [
  'Explain the main idea of {e} in simple words.',
  'Write a short story about {e} for children.',
  'Give three practical tips about {e}.',
  'Summarize the pros and cons of {e}.',
  'What is the most common mistake people make with {e}?',
  'Describe how {e} works in everyday life.',
  'List five facts about {e} that most people do not know.',
  'Write a polite email asking a colleague about {e}.',
];
const ENGLISH_TOPICS = [
  'saving money',
  'learning a new language',
  'working from home',
  'healthy breakfast',
  'public transport',
  'climate change',
  'time management',
  'online shopping',
  'team work',
  'recycling',
  'city parks',
  'job interviews',
  'sleep habits',
  'growing vegetables',
  'online privacy',
];
const TOO_SHORT = ['翻译', '写诗', '总结', '解释。', '作文', '续写', '造句', '谢谢', '继续', '你好', '改写'];
const FILLER_SENTENCES = [
  '这个任务需要结合实际情况来完成，请在回答时注意条理清楚。',
  '回答时请尽量使用通俗易懂的语言，避免过多的专业术语。',
  '需要特别说明的是，答案应当准确、完整，并且适合大多数读者阅读。',
  '在写作过程中请注意段落之间的衔接，使整篇内容读起来自然流畅。',
  '如果有多个方面需要说明，请分别列出，并在最后做一个简短的总结。',
  '请注意不要遗漏重要的信息，同时也不要加入与主题无关的内容。',
];
/** Past the real filter's limit by a margin, so "too long" junk stays junk. */
const TOO_LONG_CHARS = DEFAULT_RULE_OPTIONS.maxInstructionChars + 120;
const SAMPLE_INPUTS = [
  '今天的会议改到下午三点。',
  '这家店的面条很好吃，就是排队时间太长。',
  '请把窗户关上，外面要下雨了。',
  '周末我们一起去爬山吧。',
];

/** A task that one filter rule must reject; `base` supplies the parts that stay plausible. */
export function makeJunk(kind: JunkKind, base: SimTask, rng: Rng): SimTask {
  switch (kind) {
    case 'non_text':
      return { ...base, instruction: rng.pick(NON_TEXT).replace('{s}', subject(rng)) };
    case 'refusal':
      return { ...base, output: rng.pick(REFUSALS).replace('{s}', subject(rng)).replace('{x}', rng.pick(REFUSAL_ACTIONS)) };
    case 'empty_output':
      return { ...base, output: rng.pick(['', '', ' ', '\n']) };
    case 'output_equals_input': {
      const input = base.input !== '' ? base.input : rng.pick(SAMPLE_INPUTS);
      return { ...base, input, output: input };
    }
    case 'leading_punctuation':
      return { ...base, instruction: rng.pick(LEADING_PUNCTUATION) + base.instruction };
    case 'not_chinese':
      return { ...base, instruction: rng.pick(ENGLISH_INSTRUCTIONS).replace('{e}', rng.pick(ENGLISH_TOPICS)) };
    case 'too_short':
      return { ...base, instruction: rng.pick(TOO_SHORT) };
    case 'too_long': {
      let instruction = base.instruction;
      while (charLength(instruction) <= TOO_LONG_CHARS) instruction += rng.pick(FILLER_SENTENCES);
      return { ...base, instruction };
    }
  }
}
