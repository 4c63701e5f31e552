// A scenario runs its `exec` function with its own `env` and `tags`, and its samples carry the
// scenario tag
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/#options
// expect exit: 0
// expect check: "the scenario's env and name" passes 2 fails 0
// expect metric: iterations{flow:api} count == 2
// expect metric: checks{scenario:api} rate == 1
import exec from 'k6/execution';
import { check } from 'k6';

export const options = {
  scenarios: { api: { executor: 'per-vu-iterations', vus: 1, iterations: 2, exec: 'apiFlow', env: { TARGET: 'api' }, tags: { flow: 'api' } } },
  thresholds: { 'iterations{flow:api}': ['count==2'], 'checks{scenario:api}': ['rate==1'] },
};

export function apiFlow() {
  check(__ENV.TARGET, { "the scenario's env and name": (t) => t === 'api' && exec.scenario.name === 'api' });
}
