// handleSummary(data) gets the summary data (metrics with their values) and its return value decides
// the output: "stdout" is printed, any other key is a file path written
// doc: https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
// expect exit: 0
// expect stdout: iterations: 2, checks passed: 2
// expect file: reports/summary.json "root_group"
// expect file: reports/summary.json "checks"
import { check } from 'k6';

export const options = { vus: 1, iterations: 2 };

export default function () {
  check(true, { 'always': (x) => x });
}

export function handleSummary(data) {
  return {
    stdout: `iterations: ${data.metrics.iterations.values.count}, checks passed: ${data.metrics.checks.values.passes}\n`,
    'reports/summary.json': JSON.stringify(data),
  };
}
