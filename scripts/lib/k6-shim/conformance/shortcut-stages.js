// The stages shortcut is one ramping-vus scenario named "default", starting at `vus` (default 1)
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#stages
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#get-test-options
// expect exit: 0
// expect metric: default_ramping_vus rate == 1
// expect metric: active_vus max == 2
// expect metric: first_start min < 200
import exec from 'k6/execution';
import { Gauge, Rate, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const active = new Gauge('active_vus');
const defaultRampingVus = new Rate('default_ramping_vus');
// startVUs 1: the first VU starts at once (from 0 VUs it would wait for the ramp, 250 ms)
const firstStart = new Trend('first_start', true);
export const options = { stages: [{ duration: '500ms', target: 2 }, { duration: '500ms', target: 2 }] };

export default async function () {
  if (exec.vu.iterationInScenario === 0) firstStart.add(exec.instance.currentTestRunDuration);
  active.add(exec.instance.vusActive);
  defaultRampingVus.add(exec.scenario.name === 'default' && exec.scenario.executor === 'ramping-vus'
    && exec.test.options.scenarios.default.stages[0].target === 2);
  await new Promise((r) => setTimeout(r, 100));
}
