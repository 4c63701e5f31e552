import { defineConfig } from 'vitest/config';

/** The test files that bring up a stack (or `stack up`, or docker compose). Both nginx modes use the
 *  host's ports 80/443 and the VPN address, and clean-up counts what a run left: one at a time. */
const STACK = [
  'suites/platform.test.ts',
  'scripts/commands/verify.compose.test.ts',
  'scripts/commands/remote.test.ts',
  'scripts/commands/load.test.ts',
  'scripts/commands/smoke.auth.test.ts',
  'scripts/commands/verify.nginx.test.ts',
  'scripts/commands/verify.secrets.test.ts',
  'stack/cleanup.test.ts',
];

export default defineConfig({
  test: {
    // One worker per pool (vitest 3 sizes every pool from these root options, not per project).
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000,
    env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
    reporters: ['default', ['json', { outputFile: 'reports/tests.json' }], ['junit', { outputFile: 'reports/tests-junit.xml' }]],
    // Two projects side by side, each in its own pool: the stack files one after another in a child
    // process, and beside them, in a worker thread, every file that needs no stack (unit tests, the k6
    // shim, nginx -t in throwaway containers, the CLI's input errors). Those bind nothing beyond
    // loopback's ephemeral ports, so the stack's host and exposure checks cannot see them.
    projects: [
      { extends: true, test: { name: 'stack', include: STACK, pool: 'forks' } },
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['stack/**/*.test.ts', 'suites/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['node_modules/**', 'suites/load/**', 'suites/browser/**', ...STACK],
          pool: 'threads',
        },
      },
    ],
  },
});
