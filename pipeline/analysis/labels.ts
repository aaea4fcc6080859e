/** Chinese and English names of the pipeline's rejection reasons and funnel stages, for the report's charts and the dataset card. */

const REASONS: Record<string, [string, string]> = {
  instruction_too_short: ['指令过短', 'instruction too short'],
  instruction_too_long: ['指令过长', 'instruction too long'],
  needs_non_text: ['需要非文本', 'needs non-text'],
  starts_with_punctuation: ['以标点开头', 'starts with punctuation'],
  not_chinese: ['非中文为主', 'not mainly Chinese'],
  empty_output: ['输出为空', 'empty output'],
  refusal: ['拒答/自述', 'refusal / self-talk'],
  output_equals_input: ['输出等于输入', 'output equals input'],
  contains_secret: ['含密钥', 'contains a secret'],
  prompt_injection: ['提示词注入', 'prompt injection'],
  script_markup: ['可执行脚本', 'script markup'],
  translation_damage: ['翻译损坏', 'translation damage'],
  benchmark_overlap: ['与评测集重合', 'benchmark overlap'],
  near_duplicate: ['近似重复', 'near-duplicate'],
  target_reached: ['超出目标', 'beyond the target'],
};

/** The rules in the order filters.ts applies them; reasons added later go after these, before near_duplicate. */
export const RULE_ORDER = [
  'instruction_too_short',
  'instruction_too_long',
  'needs_non_text',
  'starts_with_punctuation',
  'not_chinese',
  'empty_output',
  'refusal',
  'output_equals_input',
];

export function reasonLabel(reason: string): string {
  const names = REASONS[reason];
  return names === undefined ? reason : `${names[0]} ${names[1]}`;
}

export function reasonZh(reason: string): string {
  return REASONS[reason]?.[0] ?? reason;
}
