/**
 * Seed tasks: the hand-written examples every prompt is built from. Read from the project's own
 * `seeds/zh_seed_tasks.jsonl` or any file `datasets.ts` understands, then cleaned like model output.
 */
import path from 'node:path';
import { readDatasetFile, DatasetError } from './datasets.ts';
import { packagePath } from './paths.ts';
import { cleanField, cleanInput } from './text.ts';
import type { SeedTask } from './types.ts';

export const DEFAULT_SEED_FILE = packagePath('seeds', 'zh_seed_tasks.jsonl');

export function loadSeeds(file: string = DEFAULT_SEED_FILE): SeedTask[] {
  const tasks = readDatasetFile(file);
  if (tasks.length === 0) throw new DatasetError(`${file}:1: no seed tasks`);
  const base = path.basename(file);
  return tasks.map((t) => {
    const seed: SeedTask = {
      id: t.id ?? `${base}:${t.line}`,
      instruction: cleanField(t.instruction),
      input: cleanInput(t.input),
      output: cleanField(t.output),
      isClassification: t.isClassification ?? false,
    };
    if (seed.output === '') throw new DatasetError(`${file}:${t.line}: "output" is empty`);
    if (t.name !== undefined) seed.name = t.name;
    if (t.category !== undefined) seed.category = t.category;
    return seed;
  });
}
