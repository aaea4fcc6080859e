/**
 * `npm test`: the lint, the type check and both vitest projects side by side. Much of the suite's time is
 * spent waiting on child processes and local servers, so tsc's 15–20 s of CPU and biome's few seconds fit
 * beside it instead of in front of it. Exits with the first failure's code; each tool prints its own output.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const [lint, typecheck, tests] = await Promise.all([
  run(bin('biome'), ['check', 'pipeline', 'simulator', 'test', 'scripts']),
  run(bin('tsc'), ['--noEmit']),
  run(bin('vitest'), ['run', ...extra]),
]);
if (lint !== 0) process.stderr.write('npm test: biome check failed (its findings are above)\n');
if (typecheck !== 0) process.stderr.write('npm test: tsc --noEmit failed (its errors are above)\n');
process.exit(lint || typecheck || tests);
