/**
 * JSON columns read back from the database are checked, not cast: a row written by an older version or
 * edited by hand must fail with a message naming the table and row, not as an odd value deep inside.
 */
import { z } from 'zod';
import { PipelineError } from '../errors.ts';

export const chatParamsSchema = z.object({
  model: z.string(),
  temperature: z.number(),
  top_p: z.number(),
  max_tokens: z.number().int().positive(),
});

export const chatMessagesSchema = z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }));

export const selectionSchema = z.object({
  sources: z.array(z.string()).nullable(),
  categories: z.array(z.string()).nullable(),
  includeSeeds: z.boolean(),
});

/** What a run's `options_json` is read back for; everything else in it is kept but not relied on. */
export const runOptionsSchema = z.looseObject({ similarity: z.number().optional() });

/** Parses and checks a stored JSON value; `where` names it (`requests 12 params_json`). */
export function readJsonColumn<S extends z.ZodType>(schema: S, text: string, where: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PipelineError('failed', `${where}: stored JSON does not parse`, { cause: err });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new PipelineError('failed', `${where}: stored JSON is not as expected${at}: ${issue?.message ?? 'invalid'}`, {
      cause: result.error,
    });
  }
  return result.data;
}
