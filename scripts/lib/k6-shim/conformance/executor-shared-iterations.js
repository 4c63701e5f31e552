// shared-iterations: the VUs share one pool of `iterations`; iterationInTest numbers them 0..n-1
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/shared-iterations/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#scenario
// expect exit: 0
// expect metric: iterations count == 7
// expect metric: iteration_numbers count == 21
// expect check: "executor is shared-iterations" passes 7 fails 0
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

// 0 + 1 + ... + 6 = 21 when each number is used once
const numbers = new Counter('iteration_numbers');
export const options = { scenarios: { pool: { executor: 'shared-iterations', vus: 3, iterations: 7 } } };

export default async function () {
  numbers.add(exec.scenario.iterationInTest);
  check(exec.scenario.executor, { 'executor is shared-iterations': (e) => e === 'shared-iterations' });
  await new Promise((r) => setTimeout(r, 20));
}
