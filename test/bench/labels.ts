/** Labelled cases for the rules: the fixture set and any `--labels` file share this format. */
import fs from 'node:fs';
import { z } from 'zod';
import { RULE_REASONS } from '../../pipeline/rules/index.ts';

/** A reason a labeller may give: one the rules know, or `other` (junk no rule can see: a wrong answer). */
const LabelReason = z.enum([...RULE_REASONS, 'other']);

export const LabelledCase = z
  .object({
    instruction: z.string(),
    input: z.string().default(''),
    output: z.string(),
    verdict: z.enum(['keep', 'reject']),
    reason: LabelReason.optional(),
    /** Other reasons that also fit (a task can be junk twice over); a rule giving one of them is right. */
    also: z.array(LabelReason).optional(),
    note: z.string().optional(),
    /** `finish_reason` of the completion the output is the whole of, when known (`length`: cut by the limit). */
    finish_reason: z.string().nullable().optional(),
  })
  .refine((c) => (c.verdict === 'reject') === (c.reason !== undefined), { message: 'reason is required for reject and only for reject' });

export type LabelledCase = z.infer<typeof LabelledCase>;

export class LabelsError extends Error {}

/** Reads a labelled JSONL file; a bad line is a one-line error naming file and line. */
export function readLabels(file: string): LabelledCase[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LabelsError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const cases: LabelledCase[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new LabelsError(`${file}:${i + 1}: not JSON`);
    }
    const parsed = LabelledCase.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new LabelsError(`${file}:${i + 1}: ${issue.path.join('.') || 'record'}: ${issue.message}`);
    }
    cases.push(parsed.data);
  });
  return cases;
}
