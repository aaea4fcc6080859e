/**
 * How many requirements an instruction states, for the report's evolution section: clauses (split at
 * ，；。！？ and line breaks) holding a cue of a requirement — a limit (不超过, 至少, 以内), an obligation
 * (要求, 必须, 需要, 请先), a prohibition (不要, 不得, 避免, 不使用), a form (分…点, 用…的语气, 以…为例,
 * 面向, 结尾). A rough measure, pure and linear: it says whether evolution adds requirements, not which.
 */
const CLAUSE = /[，,；;。！？!?\n]+/u;
const CUE =
  /不超过|不少于|至少|最多|以内|之内|要求|必须|务必|需要|请先|先.{0,8}再|不要|不得|不能|避免|不使用|不用|禁止|分[一二三四五六七八九十两\d]+[点条步段部]|用.{1,12}的(?:语气|口吻|风格|方式)|以.{1,20}为例|面向|针对|结尾|开头|格式|字以内|字左右|列出|逐步|分步|写出.{0,6}(?:过程|依据|步骤)/u;

export function countConstraints(instruction: string): number {
  let n = 0;
  for (const clause of instruction.slice(0, 4000).split(CLAUSE)) if (CUE.test(clause)) n++;
  return n;
}
