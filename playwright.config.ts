// Playwright Test: `npx playwright test` runs suites/browser/*.spec.ts in Chromium (the system's,
// as the browser checks use it). The main path is `comfy-verify verify` (the browser suite's
// checks); these specs run the same checks under Playwright's runner, with its HTML report and
// traces of failures.
import { defineConfig } from '@playwright/test';
import { CHROMIUM_PATH, CHROMIUM_ARGS } from './suites/lib/browser.ts';

export default defineConfig({
  testDir: 'suites/browser',
  testMatch: '*.spec.ts',
  // One local stack at a time on a machine: one worker, and time to bring the stack up.
  workers: 1,
  timeout: 180_000,
  reporter: [['list'], ['html', { outputFolder: 'reports/playwright', open: 'never' }]],
  outputDir: 'reports/playwright-traces',
  use: {
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    ignoreHTTPSErrors: true,
    trace: 'retain-on-failure',
  },
});
