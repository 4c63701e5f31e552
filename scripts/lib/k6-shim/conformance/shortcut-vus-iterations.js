// The vus + iterations shortcut is one shared-iterations scenario named "default"
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#iterations
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#get-test-options
// expect exit: 0
// expect metric: iterations count == 5
// expect check: "scenario default, shared-iterations" passes 5 fails 0
// expect check: "exec.test.options holds the derived scenario" passes 5 fails 0
import exec from 'k6/execution';
import { check } from 'k6';

export const options = { vus: 2, iterations: 5 };

export default function () {
  check(exec.scenario, { 'scenario default, shared-iterations': (s) => s.name === 'default' && s.executor === 'shared-iterations' });
  check(exec.test.options, {
    'exec.test.options holds the derived scenario': (o) => o.scenarios.default.executor === 'shared-iterations' && o.scenarios.default.iterations === 5,
  });
}
