// An arrival-rate iteration that finds no free VU is not started but counted in dropped_iterations:
// 10/s for 1 s on one VU busy 350 ms per iteration starts 3 and drops 7
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/concepts/dropped-iterations/
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
// expect exit: 0
// expect metric: iterations count >= 2
// expect metric: iterations count <= 4
// expect metric: dropped_iterations count >= 6
// expect metric: dropped_iterations count <= 8
import { setTimeout } from 'k6/timers';

export const options = {
  scenarios: { starved: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, maxVUs: 1 } },
};

export default async function () {
  await new Promise((r) => setTimeout(r, 350));
}
