// A module this runner does not implement (k6/browser) is refused, not pretended: exit 107 naming it
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-browser/
// (k6 itself has the module: the outcome is this runner's rule for what it lacks, docs/k6-runner.md "The k6 shim")
// expect exit: 107
// expect error: k6/browser
import { browser } from 'k6/browser';

export const options = { scenarios: { ui: { executor: 'shared-iterations', options: { browser: { type: 'chromium' } } } } };

export default async function () {
  const page = await browser.newPage();
  await page.close();
}
