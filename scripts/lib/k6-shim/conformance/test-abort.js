// exec.test.abort(reason) stops the whole test at once with exit code 108; teardown still runs
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#test
// expect exit: 108
// expect error: enough
// expect metric: iterations count == 2
// expect metric: teardown_ran count == 1
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const teardownRan = new Counter('teardown_ran');
export const options = { scenarios: { pool: { executor: 'shared-iterations', vus: 1, iterations: 20 } } };

export default function () {
  // iterations 0 and 1 complete; 2 is aborted, and with it the test
  if (exec.scenario.iterationInTest === 2) exec.test.abort('enough');
}

export function teardown() {
  teardownRan.add(1);
}
