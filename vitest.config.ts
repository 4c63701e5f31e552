import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { relative } from 'node:path';

/** The test files that bring up a stack (or `stack up`, or docker compose), in the order they run.
 *  Both nginx modes use the host's ports 80/443 and the VPN address, and clean-up counts what a run
 *  left: one at a time, clean-up last. The platform test goes first: once its clean run's other checks
 *  are done, the idle-socket proof keeps the stack quiet for most of a minute, and the unit files, which
 *  run in the first minutes, have the cores then (in vitest's own order, by size, the load and remote
 *  tests came first, busy throughout, and the unit files slowed them). */
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

/** Stack files in STACK's order, the same on a fresh clone as on a warm cache (vitest's own order is
 *  by size, then by the last run's durations); the unit files as vitest orders them. */
class StackOrder extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const at = (f: TestSpecification) => STACK.indexOf(relative(f.project.config.root, f.moduleId));
    const unit = await super.sort(files.filter((f) => at(f) < 0));
    return [...files.filter((f) => at(f) >= 0).sort((a, b) => at(a) - at(b)), ...unit];
  }
}

export default defineConfig({
  test: {
    // One worker per pool (vitest 3 sizes every pool from these root options, not per project).
    fileParallelism: false,
    sequence: { sequencer: StackOrder },
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
