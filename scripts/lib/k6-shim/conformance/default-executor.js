// A script without options runs one iteration of one VU: scenario "default" with the shared-iterations
// executor (vus 1, iterations 1), and exec.test.options shows it so
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#iterations
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/shared-iterations/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#test
// expect exit: 0
// expect metric: iterations count == 1
// expect check: "the scenario is default, shared-iterations" passes 1 fails 0
// expect check: "exec.test.options shows it" passes 1 fails 0
import exec from 'k6/execution';
import { check } from 'k6';

export default function () {
  check(exec.scenario, { 'the scenario is default, shared-iterations': (s) => s.name === 'default' && s.executor === 'shared-iterations' });
  check(exec.test.options.scenarios.default, {
    'exec.test.options shows it': (s) => s.executor === 'shared-iterations' && s.vus === 1 && s.iterations === 1,
  });
}
