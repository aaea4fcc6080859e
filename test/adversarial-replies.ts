/**
 * Replies a misbehaving model sends, built to a given size: for the parser's fuzz test and benchmark.
 * Deterministic (no randomness), so a failure names its case.
 */

export const TASK = {
  instruction: '把下面这句话改写得更委婉一些。',
  input: '你这个方案根本行不通。',
  output: '这个方案可能还需要再斟酌一下。',
};

const repeatTo = (unit: string, chars: number): string => unit.repeat(Math.max(1, Math.ceil(chars / unit.length))).slice(0, chars);

/** Normal replies of about `chars` characters, in the shapes models use. */
export function normalReplies(chars: number): Record<string, string> {
  const one = JSON.stringify(TASK);
  const count = Math.max(1, Math.floor(chars / (one.length + 1)));
  const tasks = Array.from({ length: count }, (_, i) => ({ ...TASK, instruction: `${TASK.instruction}（第${i + 1}条）` }));
  const numbered = tasks
    .map((t, i) => `${i + 1}. 指令：${t.instruction}\n${i + 1}. 输入：${t.input}\n${i + 1}. 输出：${t.output}\n###\n`)
    .join('');
  return {
    'json array': JSON.stringify(tasks),
    'fenced json + chatter': `好的，以下是任务：\n\`\`\`json\n${JSON.stringify(tasks, null, 2)}\n\`\`\`\n希望有帮助！`,
    'numbered 指令/输入/输出': numbered,
  };
}

/** Degenerate replies of exactly `chars` characters (repetition loops, cut-off nesting, noise). */
export function adversarialReplies(chars: number): Record<string, string> {
  const half = Math.floor(chars / 2);
  const task = JSON.stringify(TASK);
  return {
    'nested [ balanced': '['.repeat(half) + ']'.repeat(chars - half),
    'nested { balanced': '{'.repeat(half) + '}'.repeat(chars - half),
    'nested [ unclosed': repeatTo('[', chars),
    'nested { unclosed': repeatTo('{', chars),
    'nested [{ unclosed': repeatTo('[{', chars),
    '{"instruction": repeated': repeatTo('{"instruction":', chars),
    '{"a": nesting': repeatTo('{"a":', chars),
    'task inside deep output': `[{"instruction":"${TASK.instruction}","output":${'['.repeat(half - 80)}${']'.repeat(half - 80)}}]`,
    'unbalanced ] } closers': repeatTo(']}', chars),
    'quotes and backslashes': repeatTo('"\\"{', chars),
    'fence ``` repeated': repeatTo('```json\n[', chars),
    'numbered 指令： repeated': repeatTo('1. 指令：', chars),
    'newlines only': repeatTo('\n', chars),
    'spaces then no label': repeatTo(' ', chars - 1) + 'x',
    '### separators': repeatTo('#', chars),
    'trailing commas': `[${repeatTo(`${task},`, chars - 2)}]`,
    'lone surrogates': repeatTo('\ud800{\udfff[', chars),
    'control characters': repeatTo('\u0000\u0001\u001b[{\u007f', chars),
  };
}
