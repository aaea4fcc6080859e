/**
 * The config file (`--config FILE`): JSON with a section per command, every option of `generate` and
 * `export` in the library's spelling, so a nightly crontab line stays short. Flags override the file.
 * Its JSON schema is published as `zh-self-instruct.schema.json` (`npm run schema` writes it).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { UsageError } from './errors.ts';
import { exportSettingsSchema, generateSettingsSchema, renameOptions } from './options.ts';

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

/**
 * Reads and checks a config file; any problem is one UsageError naming the file and the key. A key's
 * old name (`generate.template`, …) is read as the new one, with one deprecation line through `warn`.
 */
export function loadConfig(file: string, warn: (line: string) => void = (line) => process.stderr.write(`warning: ${line}\n`)): Config {
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
  if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
    const sections = { ...(json as Record<string, unknown>) };
    for (const section of ['generate', 'export'] as const) {
      const value = sections[section];
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      try {
        sections[section] = renameOptions(section, value as Record<string, unknown>, (from, to) =>
          warn(`${file}: ${section}.${from} is deprecated; use ${section}.${to}`),
        );
      } catch (err) {
        throw new UsageError(`${file}: ${section}: ${(err as UsageError).detail}`);
      }
    }
    json = sections;
  }
  const result = configSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (at === '' ? k : `${at}.${k}`)).join(', ');
    const guess = issue.keys.length === 1 ? closest(issue.keys[0]!, knownKeys(issue.path)) : undefined;
    throw new UsageError(
      `${file}: unknown key ${keys}` + (guess === undefined ? '' : ` (did you mean ${at === '' ? guess : `${at}.${guess}`}?)`),
    );
  }
  throw new UsageError(`${file}: ${at === '' ? '(top level)' : at}: ${issue.message}`);
}

/** The keys allowed where an unknown one was found: the top level or a command's section. */
function knownKeys(at: readonly PropertyKey[]): string[] {
  if (at.length === 0) return Object.keys(configSchema.shape);
  const section = configSchema.shape[String(at[0]) as keyof typeof configSchema.shape];
  const inner = section instanceof z.ZodOptional ? section.unwrap() : undefined;
  return inner instanceof z.ZodObject && at.length === 1 ? Object.keys(inner.shape) : [];
}

/**
 * The known key nearest to a typo, as commander suggests flags: the smallest edit distance (a swap of
 * neighbours counts one), case ignored, within a third of the typo's length; none when nothing is near.
 */
export function closest(typo: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(typo.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(typo.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Damerau–Levenshtein (optimal string alignment) distance. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The published JSON schema of the config file. */
export function configJsonSchema(): Record<string, unknown> {
  // Defaults are the library's: the file's schema lists them in the descriptions, and each key is optional.
  return { title: 'zh-self-instruct config', ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) };
}
