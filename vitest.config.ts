import { defineConfig } from 'vitest/config';

/**
 * Two projects: fast unit tests of pure modules, and end-to-end tests that run the real CLI, the real
 * SQLite file and the simulator over HTTP (`npm run test:unit`, `npm run test:e2e`; `npm test` runs both).
 */
const E2E = [
  'test/bad-input.test.ts', 'test/batch.test.ts', 'test/dedup-cli.test.ts', 'test/e2e.test.ts', 'test/export.test.ts',
  'test/faults.test.ts', 'test/lock.test.ts', 'test/ratelimit.test.ts', 'test/run-safety.test.ts', 'test/package.test.ts',
  'test/library.test.ts', 'test/answer-cli.test.ts', 'test/dialogue-e2e.test.ts', 'test/disk-full.test.ts', 'test/judge.test.ts',
  'test/judge-answers.test.ts', 'test/report-browser.test.ts', 'test/report.test.ts', 'test/rules.test.ts', 'test/two-stage.test.ts',
  'test/two-stage-batch.test.ts', 'test/yield-guard.test.ts', 'test/hostile.test.ts', 'test/card.test.ts', 'test/first-run.test.ts',
  'test/e2e/**/*.test.ts',
  'simulator/test/**/*.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: E2E, testTimeout: 20_000 } },
      // CLI and server tests come close to vitest's 5 s default on a loaded 2-core machine.
      { test: { name: 'e2e', include: E2E, testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
});
