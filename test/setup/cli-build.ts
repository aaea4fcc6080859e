/**
 * vitest globalSetup: bundles the CLI once per test run into plain ESM JavaScript, so every CLI child
 * process a test starts runs `node main.js` instead of loading tsx's hooks and resolving some 200 modules,
 * which cost about a second of CPU per process here (a suite starts some 300). esbuild applies the same
 * transform tsx does; the bundle is split at the CLI's dynamic imports, as the source is loaded lazily. The
 * package's own build (tsc, `npm run build`) is what test/e2e/package.test.ts installs and runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Under node_modules/, so the bundle resolves the package's dependencies and finds the package root as the
 * source does; one folder per run, since two runs may share node_modules.
 */
const CLI_BUILD = path.join(ROOT, 'node_modules', '.cache', 'zh-self-instruct-test', String(process.pid));

/** Files other than modules (read next to their module by import.meta.url, as page.browser.js is). */
function assets(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : assets(file);
    return file.endsWith('.ts') ? [] : [file];
  });
}

export default async function setup(project: TestProject): Promise<() => void> {
  fs.rmSync(CLI_BUILD, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(ROOT, 'pipeline', 'cli', 'main.ts')],
    outdir: CLI_BUILD,
    bundle: true,
    splitting: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  // Every chunk sits in one folder, so each asset goes there under its own name.
  for (const asset of ['pipeline', 'simulator'].flatMap((dir) => assets(path.join(ROOT, dir)))) {
    const target = path.join(CLI_BUILD, path.basename(asset));
    if (fs.existsSync(target)) throw new Error(`cli-build: two assets named ${path.basename(asset)}`);
    fs.copyFileSync(asset, target);
  }
  project.provide('cliMain', path.join(CLI_BUILD, 'main.js'));
  return () => fs.rmSync(CLI_BUILD, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    cliMain: string;
  }
}
