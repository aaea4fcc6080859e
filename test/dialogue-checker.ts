/**
 * An independent checker of exported training lines: LLaMA-Factory's and OpenAI's role rules, written from
 * their documentation rather than from the exporter's code, so the two can disagree.
 */
type Json = Record<string, unknown>;
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Problems of one line of a file in `format`; [] when a trainer would take it. Also returns its exchanges. */
export function checkLine(format: string, line: string, system: string | null): { problems: string[]; exchanges: number } {
  const problems: string[] = [];
  let record: Json;
  try {
    record = JSON.parse(line) as Json;
  } catch {
    return { problems: ['not JSON'], exchanges: 0 };
  }
  const alternate = (roles: unknown[], user: string, assistant: string): number => {
    if (roles.length === 0 || roles.length % 2 !== 0) problems.push(`odd or empty turn count ${roles.length}`);
    roles.forEach((r, i) => {
      if (r !== (i % 2 === 0 ? user : assistant)) problems.push(`turn ${i} has role ${String(r)}`);
    });
    return Math.floor(roles.length / 2);
  };
  if (format === 'sharegpt') {
    const turns = record.conversations;
    if (!Array.isArray(turns)) return { problems: ['no conversations'], exchanges: 0 };
    for (const t of turns as Json[]) if (!isText(t.value)) problems.push('empty value');
    if (system === null ? 'system' in record : record.system !== system) problems.push('system mismatch');
    return {
      problems,
      exchanges: alternate(
        turns.map((t: Json) => t.from),
        'human',
        'gpt',
      ),
    };
  }
  if (format === 'messages') {
    const messages = record.messages;
    if (!Array.isArray(messages)) return { problems: ['no messages'], exchanges: 0 };
    let rest = messages as Json[];
    if (system !== null) {
      if (rest[0]?.role !== 'system' || rest[0]?.content !== system) problems.push('no system message first');
      rest = rest.slice(1);
    }
    for (const m of rest) if (!isText(m.content)) problems.push('empty content');
    return {
      problems,
      exchanges: alternate(
        rest.map((m) => m.role),
        'user',
        'assistant',
      ),
    };
  }
  // alpaca, LLaMA-Factory's multi-turn form: history is [[user, assistant], ...] before instruction/output.
  if (!isText(record.instruction) || !isText(record.output) || typeof record.input !== 'string')
    problems.push('bad instruction/input/output');
  const history = record.history ?? [];
  if (!Array.isArray(history) || !history.every((h) => Array.isArray(h) && h.length === 2 && isText(h[0]) && isText(h[1]))) {
    problems.push('bad history');
    return { problems, exchanges: 0 };
  }
  return { problems, exchanges: history.length + 1 };
}
