/**
 * Where the package's own files are. The same code runs from source (`pipeline/x.ts`) and from the build
 * (`dist/pipeline/x.js`), so paths are found from the package root, not from this file's folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'templates'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`zh-self-instruct: no package root above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A file or folder of the package, e.g. `packagePath('templates', 'alpaca.train.txt')`. */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}

/** The default database, relative to the working directory (a project's `data/`). */
export const DEFAULT_DB = 'data/pipeline.db';
/** The default folder that receives exports and their `LATEST`. */
export const DEFAULT_EXPORT_DIR = 'data/exports';
/** The report's HTML file. */
export const DEFAULT_REPORT = 'data/report.html';

/**
 * Creates the default database's folder (`data/` under the working directory) when it is missing, so
 * a first run works in an empty folder. Any other database's folder is left to the user: a typo in a
 * path given on purpose should not make folders.
 */
export function makeDefaultDbFolder(db: string): void {
  if (path.resolve(db) === path.resolve(DEFAULT_DB)) fs.mkdirSync(path.dirname(path.resolve(db)), { recursive: true });
}
