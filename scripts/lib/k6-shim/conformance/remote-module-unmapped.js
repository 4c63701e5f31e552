// A remote module with no local copy in the module map is refused before the test starts (exit 107),
// naming the URL and how to map it: this runner fetches nothing
// doc: https://grafana.com/docs/k6/latest/using-k6/modules/#remote-modules
// (k6 would fetch it; the outcome is this runner's rule for what it does not do, docs/k6-runner.md "The k6 shim")
// module: https://jslib.k6.io/k6-utils/1.4.0/index.js modules/k6-utils/index.js
// expect exit: 107
// expect error: remote module https://jslib.k6.io/k6-summary/0.0.2/index.js
// expect error: --module https://jslib.k6.io/k6-summary/0.0.2/index.js=FILE
// expect metric: iterations absent
import { randomIntBetween } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';

export const options = { vus: 1, iterations: 1 };

export default function () {
  randomIntBetween(1, 2);
}

export function handleSummary(data) {
  return { stdout: textSummary(data) };
}
