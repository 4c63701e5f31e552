// Arrival-rate executors start with preAllocatedVUs active (vus) and initialised (vus_max); more VUs,
// up to maxVUs, only when an iteration finds none of them idle
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: vus max == 2
// expect metric: vus_max value == 2
// expect metric: dropped_iterations absent
// expect metric: iterations count >= 3
// expect metric: two_active rate == 1

import exec from 'k6/execution';
import { Rate } from 'k6/metrics';

const twoActive = new Rate('two_active');

// 4 quick iterations in 1 s: two pre-allocated VUs are enough, the other 8 of maxVUs are never needed
export const options = {
  scenarios: { open: { executor: 'constant-arrival-rate', rate: 4, timeUnit: '1s', duration: '1s', preAllocatedVUs: 2, maxVUs: 10 } },
};

export default function () {
  twoActive.add(exec.instance.vusActive === 2);
}
