/**
 * The config file (`--config FILE`): JSON with a section per command, every option of `generate` and
 * `export` in the library's spelling, so a nightly crontab line stays short. Flags override the file.
 * Its JSON schema is published as `zh-self-instruct.schema.json` (`npm run schema` writes it).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { UsageError } from './errors.ts';
import { exportSettingsSchema, generateSettingsSchema } from './options.ts';

/** What the CLI's output takes from the file too (the library has no terminal). */
const outputSchema = z.strictObject({
  logFormat: z.enum(['auto', 'text', 'json']).optional().meta({ description: 'auto: a bar on a terminal, JSON lines otherwise.' }),
  logFile: z.string().min(1).optional().meta({ description: 'Also append JSON log lines to this file.' }),
  quiet: z.boolean().optional().meta({ description: 'No progress output; warnings, errors and the summary only.' }),
});

/** Sections hold options as given: defaults are the library's, applied after flags are merged in. */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  generate: generateSettingsSchema.partial().extend(outputSchema.shape).optional(),
  export: exportSettingsSchema.partial().optional(),
});

export type Config = z.output<typeof configSchema>;

/** Reads and checks a config file; any problem is one UsageError naming the file and the key. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const result = configSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (at === '' ? k : `${at}.${k}`)).join(', ');
    throw new UsageError(`${file}: unknown key ${keys}`);
  }
  throw new UsageError(`${file}: ${at === '' ? '(top level)' : at}: ${issue.message}`);
}

/** The published JSON schema of the config file. */
export function configJsonSchema(): Record<string, unknown> {
  // Defaults are the library's: the file's schema lists them in the descriptions, and each key is optional.
  return { title: 'zh-self-instruct config', ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) };
}
