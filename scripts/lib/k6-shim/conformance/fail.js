// fail() throws: that iteration ends there, its message goes to stderr, the next iteration runs and
// the test still exits 0
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6/fail/
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: iterations count == 3
// expect metric: after_fail count == 2
// expect log: status was not 200
import { fail } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const afterFail = new Counter('after_fail');
export const options = { vus: 1, iterations: 3 };

export default function () {
  if (exec.vu.iterationInScenario === 1) fail('status was not 200');
  afterFail.add(1);
}
