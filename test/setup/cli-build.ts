/**
 * vitest globalSetup: compiles pipeline/ and simulator/ once per test run into plain ESM JavaScript, so
 * every CLI child process a test starts runs `node main.js` instead of loading tsx's hooks, which cost
 * about a second of CPU per process here (a suite starts hundreds). The output is esbuild's transform of
 * each file on its own, the same transform tsx applies, with relative `.ts` imports renamed `.js`; the
 * package's own build (tsc, `npm run build`) is tested by test/e2e/package.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Under node_modules/, so the compiled files resolve the package's dependencies and its root as the source
 * does; one folder per run, since two runs may share node_modules.
 */
const CLI_BUILD = path.join(ROOT, 'node_modules', '.cache', 'zh-self-instruct-test', String(process.pid));
const SOURCES = ['pipeline', 'simulator'];

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : files(file);
    return [file];
  });
}

/** Every relative import stays a separate file: only its extension changes. */
const eachFileAlone: Plugin = {
  name: 'each-file-alone',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => ({ path: args.path.replace(/\.ts$/, '.js'), external: true }));
  },
};

export default async function setup(project: TestProject): Promise<() => void> {
  const all = SOURCES.flatMap((dir) => files(path.join(ROOT, dir)));
  fs.rmSync(CLI_BUILD, { recursive: true, force: true });
  await build({
    entryPoints: all.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')),
    outdir: CLI_BUILD,
    outbase: ROOT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    plugins: [eachFileAlone],
  });
  for (const file of all.filter((f) => !f.endsWith('.ts'))) {
    const target = path.join(CLI_BUILD, path.relative(ROOT, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(file, target);
  }
  project.provide('cliMain', path.join(CLI_BUILD, 'pipeline', 'cli', 'main.js'));
  return () => fs.rmSync(CLI_BUILD, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    cliMain: string;
  }
}
