/**
 * The simulator as a judge, and the defects it plants for a judge to find.
 *
 * NOT A QUALITY MODEL. The scores are made up to test the judge's plumbing end to end (parsing,
 * id matching, storage, curated exports): a task gets a low score only because the simulator itself
 * planted a defect in it (it remembers which outputs it spoiled, and also spots its own placeholder
 * text); every other task gets a random "good" score. Nothing here judges real text.
 *
 * Planted defects pass every pipeline filter, as real flawed answers do: a wrong number or an answer
 * to another question (`wrong`), an answer cut off mid-sentence (`truncated`), a placeholder in place of
 * the answer (`placeholder`). They draw from their own random stream, so turning them on or off does
 * not change any other task the simulator writes.
 */
import type { SimTask } from './families/common.ts';
import type { Rng } from './random.ts';

export type DefectKind = 'wrong' | 'truncated' | 'placeholder';
export const DEFECT_KINDS: readonly DefectKind[] = ['wrong', 'truncated', 'placeholder'];

const PLACEHOLDERS = [
  '（此处省略具体内容）',
  '【待补充】',
  '[在此填写答案]',
  '答案：略。',
  '这里是回答的内容，请根据实际情况补充。',
  '……（内容待完善）',
];
const PLACEHOLDER_TEXT = /此处省略|待补充|\[在此填写|答案：略|请根据实际情况补充|内容待完善/;

/** Outputs kept to recognise later; older ones are forgotten past this many. */
const REGISTRY_LIMIT = 200_000;

const key = (output: string): string => output.normalize('NFKC').replace(/\s+/g, '');

export class DefectPlanter {
  private readonly planted = new Map<string, DefectKind>();
  readonly counts: Record<DefectKind, number> = { wrong: 0, truncated: 0, placeholder: 0 };

  constructor(
    private readonly rng: Rng,
    private readonly rate: number,
    private readonly other: () => SimTask,
  ) {}

  /** The task, or (with probability `rate`) a spoiled copy, remembered for the judge. */
  maybeSpoil(task: SimTask): SimTask {
    if (this.rate <= 0 || !this.rng.chance(this.rate)) return task;
    const kind = this.rng.pick(DEFECT_KINDS);
    const output = this.spoil(task.output, kind);
    if (output === undefined || key(output) === '' || output === task.input) return task;
    if (this.planted.size >= REGISTRY_LIMIT) this.planted.delete(this.planted.keys().next().value!);
    this.planted.set(key(output), kind);
    this.counts[kind]++;
    return { ...task, output };
  }

  private spoil(output: string, kind: DefectKind): string | undefined {
    switch (kind) {
      case 'wrong': {
        // A number changed (wrong arithmetic, a wrong date), else the answer to another question.
        const numbers = [...output.matchAll(/\d+/g)];
        if (numbers.length > 0) {
          const m = numbers[numbers.length - 1]!;
          const wrong = String(Number(m[0]) + 1 + this.rng.int(9));
          return output.slice(0, m.index) + wrong + output.slice(m.index + m[0].length);
        }
        return this.other().output;
      }
      case 'truncated': {
        const chars = [...output];
        if (chars.length < 12) return undefined;
        let at = Math.floor(chars.length * (0.35 + 0.3 * this.rng.next()));
        // Cut after a character, not after punctuation, so it reads as stopped mid-sentence.
        while (at > 4 && /[。！？，、；：.!?,;:）)」》\s]/.test(chars[at - 1]!)) at--;
        return chars.slice(0, at).join('');
      }
      case 'placeholder': {
        const chars = [...output];
        const lead = chars.slice(0, Math.min(chars.length, 6 + this.rng.int(10))).join('');
        return this.rng.chance(0.5) ? this.rng.pick(PLACEHOLDERS) : `${lead}${this.rng.pick(PLACEHOLDERS)}`;
      }
    }
  }

  /** The defect the simulator planted in this output, if it did (or its placeholder text shows). */
  defectOf(output: string): DefectKind | undefined {
    return this.planted.get(key(output)) ?? (PLACEHOLDER_TEXT.test(output) ? 'placeholder' : undefined);
  }
}

// ---------------------------------------------------------------------------------------------------
// answering judge prompts

/** The header code writes before each task of a judge prompt (pipeline/judge/rubric.ts renderTasks). */
const TASK_HEADER = /^### 任务 id=(\d+)\s*$/gm;

export interface JudgeTaskText {
  id: number;
  instruction: string;
  input: string;
  output: string;
}

export function isJudgePrompt(messages: readonly { role: string; content: string }[]): boolean {
  const last = messages.findLast((m) => m.role === 'user');
  return last !== undefined && /^### 任务 id=\d+\s*$/m.test(last.content);
}

/** The tasks of a judge prompt, by their header lines. */
export function judgeTasks(prompt: string): JudgeTaskText[] {
  const heads = [...prompt.matchAll(TASK_HEADER)];
  return heads.map((h, i) => {
    const body = prompt.slice(h.index + h[0].length, i + 1 < heads.length ? heads[i + 1]!.index : prompt.length);
    const field = (label: string, next: string | null): string => {
      const start = body.indexOf(`【${label}】`);
      if (start === -1) return '';
      const from = start + label.length + 2;
      const end = next === null ? -1 : body.indexOf(`\n【${next}】`, from);
      return body.slice(from, end === -1 ? undefined : end).trim();
    };
    const input = field('输入', '回答');
    return { id: Number(h[1]), instruction: field('指令', '输入'), input: input === '（无）' ? '' : input, output: field('回答', null) };
  });
}

export interface JudgeFaults {
  /** Per reply: one task left out (judged again in a later request). Default 0.04. */
  omit: number;
  /** Per reply: one item written twice. Default 0.03. */
  repeat: number;
  /** Per reply: an item for an id that was not asked for. Default 0.03. */
  extra: number;
}
export const DEFAULT_JUDGE_FAULTS: JudgeFaults = { omit: 0.04, repeat: 0.03, extra: 0.03 };

const FLAG_OF: Record<DefectKind, string[]> = { wrong: ['factual_error'], truncated: ['truncated'], placeholder: ['placeholder'] };
const REASON_OF: Record<DefectKind, string[]> = {
  wrong: ['回答中的数字或事实有误。', '回答与题目不符，内容有错误。'],
  truncated: ['回答在中途断掉，没有写完。', '回答不完整，结尾被截断。'],
  placeholder: ['回答只有占位内容，没有真正作答。', '回答用“待补充”之类的话敷衍。'],
};
const GOOD_REASONS = [
  '回答正确，表达清楚。',
  '内容完整，语言通顺。',
  '基本正确，但可以更具体一些。',
  '回答切题，条理清晰。',
  '正确但略显简略。',
];

interface Item {
  id: number;
  score: number;
  /** [clarity, correctness, helpfulness, fluency], as the rubric asks; some replies spell them out instead. */
  sub: number[] | { clarity: number; correctness: number; helpfulness: number; fluency: number };
  flags: string[];
  reason: string;
}

/** A judge reply for the prompt: JSON in the shapes real judges write (a JSON object in JSON mode). */
export function judgeReply(prompt: string, jsonMode: boolean, defects: DefectPlanter, rng: Rng, faults: JudgeFaults): string {
  const named = rng.chance(0.15); // a judge that spells the sub-scores out
  const items: Item[] = judgeTasks(prompt).map((t) => scoreTask(t, defects, rng, named));
  if (items.length > 1 && rng.chance(faults.omit)) items.splice(rng.int(items.length), 1);
  if (items.length > 0 && rng.chance(faults.repeat)) items.push({ ...rng.pick(items), score: 1 + rng.int(10) });
  if (rng.chance(faults.extra))
    items.push({ ...scoreTask({ id: 0, instruction: '', input: '', output: '' }, defects, rng, named), id: 900 + rng.int(99) });
  const wrapped = { [rng.pick(['results', 'results', 'judgments', 'scores'])]: items };
  if (jsonMode) return rng.chance(0.7) ? JSON.stringify(wrapped) : JSON.stringify(wrapped, null, 2);
  const r = rng.next();
  if (r < 0.25) return JSON.stringify(wrapped);
  if (r < 0.45) return JSON.stringify(items, null, 2);
  if (r < 0.75) {
    const before = rng.pick(['好的，以下是评审结果：', '评审如下。', '以下是对每条任务的评分：']);
    const after = rng.pick(['', '如需进一步说明请告诉我。', '以上评分仅供参考。']);
    return `${before}\n\n\`\`\`json\n${JSON.stringify(rng.chance(0.5) ? wrapped : items, null, 2)}\n\`\`\`\n\n${after}`;
  }
  // Slightly malformed, as models write it: a trailing comma, bare keys or single quotes.
  const text = JSON.stringify(items, null, 2);
  const r2 = rng.next();
  if (r2 < 0.4) return text.replace(/\n\]$/, ',\n]').replace(/"reason": "([^"]*)"\n/g, '"reason": "$1",\n');
  if (r2 < 0.7) return text.replace(/"([a-z_]+)":/g, '$1:');
  return text.replace(/"(id|score|flags|reason|sub|clarity|correctness|helpfulness|fluency)":/g, "'$1':");
}

function scoreTask(t: JudgeTaskText, defects: DefectPlanter, rng: Rng, named: boolean): Item {
  const defect = t.output === '' ? undefined : defects.defectOf(t.output);
  const shape = (s: [number, number, number, number]): Item['sub'] =>
    named ? { clarity: s[0], correctness: s[1], helpfulness: s[2], fluency: s[3] } : s;
  if (defect !== undefined) {
    const score = 1 + rng.int(3);
    const sub: [number, number, number, number] = [
      6 + rng.int(4),
      defect === 'wrong' ? 1 + rng.int(2) : 2 + rng.int(3),
      1 + rng.int(3),
      5 + rng.int(4),
    ];
    return { id: t.id, score, sub: shape(sub), flags: FLAG_OF[defect], reason: rng.pick(REASON_OF[defect]) };
  }
  // Made-up "good" scores, mostly 7–9: not a judgement of the text.
  const score = Math.min(10, Math.max(5, Math.round(8 + (rng.next() + rng.next() + rng.next() - 1.5) * 2)));
  const near = (): number => Math.min(10, Math.max(1, score + rng.int(3) - 1));
  return { id: t.id, score, sub: shape([near(), near(), near(), near()]), flags: [], reason: rng.pick(GOOD_REASONS) };
}
