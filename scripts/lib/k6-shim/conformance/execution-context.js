// __VU counts VUs from 1 and __ITER each VU's iterations from 0; exec.scenario.iterationInInstance
// numbers the scenario's iterations across all its VUs
// doc: https://grafana.com/docs/k6/latest/using-k6/execution-context-variables/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#scenario
// expect exit: 0
// expect metric: vu_numbers count == 9
// expect metric: iter_numbers count == 6
// expect metric: instance_numbers count == 15
// expect metric: iterations count == 6
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const vuNumbers = new Counter('vu_numbers'); // (1 + 2) * 3 iterations each
const iterNumbers = new Counter('iter_numbers'); // (0 + 1 + 2) * 2 VUs
const instanceNumbers = new Counter('instance_numbers'); // 0 + 1 + ... + 5, each used once
export const options = { scenarios: { each: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } } };

export default async function () {
  vuNumbers.add(__VU);
  iterNumbers.add(__ITER);
  instanceNumbers.add(exec.scenario.iterationInInstance);
  await new Promise((r) => setTimeout(r, 10));
}
