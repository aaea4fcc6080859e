/**
 * `npm test`: lint, then the type check and both vitest projects side by side. Most of the suite's time is
 * spent waiting on child processes and local servers, so tsc's 15–20 s of CPU fit beside it instead of in
 * front of it. Exits with the first failure's code; each tool prints its own output.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);

const lint = spawnSync(bin('biome'), ['check', 'pipeline', 'simulator', 'test', 'scripts'], { cwd: root, stdio: 'inherit' });
if (lint.status !== 0) process.exit(lint.status ?? 1);

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const [typecheck, tests] = await Promise.all([run(bin('tsc'), ['--noEmit']), run(bin('vitest'), ['run', ...extra])]);
if (typecheck !== 0) process.stderr.write('npm test: tsc --noEmit failed (its errors are above)\n');
process.exit(typecheck || tests);
