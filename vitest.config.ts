import { defineConfig } from 'vitest/config';

// One stack at a time: both nginx modes use the host's ports 80/443 and the VPN address,
// so test files run one after another in a single process.
export default defineConfig({
  test: {
    include: ['stack/**/*.test.ts', 'suites/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['node_modules/**', 'suites/load/**', 'suites/browser/**'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 300_000,
    env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
    reporters: ['default', ['json', { outputFile: 'reports/tests.json' }], ['junit', { outputFile: 'reports/tests-junit.xml' }]],
  },
});
