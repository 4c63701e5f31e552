// constant-vus: `vus` VUs loop over the function for `duration`; an iteration of 250 ms fits 4 times
// in 1 s per VU
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-vus/
// expect exit: 0
// expect metric: iterations count >= 6
// expect metric: iterations count <= 8
// expect metric: active_vus max == 2
import exec from 'k6/execution';
import { Gauge } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const active = new Gauge('active_vus');
export const options = { scenarios: { steady: { executor: 'constant-vus', vus: 2, duration: '1s' } } };

export default async function () {
  active.add(exec.instance.vusActive);
  await new Promise((r) => setTimeout(r, 250));
}
