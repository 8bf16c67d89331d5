import { defineConfig } from 'vitest/config';

// The default suite: everything CI runs within its 15-minute budget.
// Longer suites live in test/slow and run with `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
