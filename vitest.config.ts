import { defineConfig } from 'vitest/config';

/**
 * Two projects, by folder: fast tests of modules (`test/*.test.ts`), and end-to-end tests in `test/e2e/`
 * and the simulator's own that run the real CLI, the real SQLite file and the simulator over HTTP
 * (`npm run test:unit`, `npm run test:e2e`; `npm test` runs both). A new e2e test goes in test/e2e/.
 */
const E2E = ['test/e2e/**/*.test.ts', 'simulator/test/**/*.test.ts'];

export default defineConfig({
  test: {
    // Most e2e time is spent waiting on child processes and servers, not computing: two files at a time
    // finish sooner than vitest's default of one worker per core less one (a single worker on 2 cores);
    // three overloaded a shared 2-core machine enough to push timing-bound tests past their bounds.
    maxWorkers: 2,
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: E2E, testTimeout: 20_000 } },
      // CLI and server tests come close to vitest's 5 s default on a loaded 2-core machine.
      { test: { name: 'e2e', include: E2E, testTimeout: 60_000, hookTimeout: 60_000, globalSetup: ['test/setup/cli-build.ts'] } },
    ],
  },
});
