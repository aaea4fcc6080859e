/**
 * `npm run build`: dist/ from scratch. tsc emits only what it compiles, so every other file under
 * pipeline/ and simulator/ (page.browser.js, read next to the compiled module by import.meta.url) is
 * copied beside its module, and the bins are made executable. dist/ is emptied first: a file left from
 * an older build would ship in the tarball and hide a missing one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
const SOURCE_DIRS = ['pipeline', 'simulator'];

/** Files tsc does not emit: not .ts, and not tests (which stay out of the package). */
function assets(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test') found.push(...assets(file));
    } else if (!entry.name.endsWith('.ts')) found.push(file);
  }
  return found;
}

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
let copied = 0;
for (const dir of SOURCE_DIRS) {
  for (const file of assets(path.join(root, dir))) {
    const target = path.join(dist, path.relative(root, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(file, target);
    copied++;
  }
}
// The bins run directly (`npx zh-self-instruct` in a clone execs the file): tsc writes them without the x bit.
const { bin } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin ?? {})) fs.chmodSync(path.join(root, file), 0o755);
process.stdout.write(`build: dist/ compiled, ${copied} asset file(s) copied\n`);
