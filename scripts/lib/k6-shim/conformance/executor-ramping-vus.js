// ramping-vus: the VU count follows the stages from startVUs; vus_max is the most any stage needs
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/ramping-vus/
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: active_vus max == 3
// expect metric: vus_max value == 3
import exec from 'k6/execution';
import { Gauge } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const active = new Gauge('active_vus');
export const options = {
  scenarios: {
    ramp: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '900ms', target: 3 }, { duration: '400ms', target: 3 }], gracefulRampDown: '0s' },
  },
};

export default async function () {
  active.add(exec.instance.vusActive);
  await new Promise((r) => setTimeout(r, 50));
}
