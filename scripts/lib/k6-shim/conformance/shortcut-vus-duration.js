// The vus + duration shortcut is one constant-vus scenario named "default": 2 VUs for 600 ms with
// 200 ms iterations run 3 each
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#duration
// expect exit: 0
// expect metric: iterations count >= 4
// expect metric: iterations count <= 6
// expect metric: constant_vus rate == 1
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const constantVus = new Rate('constant_vus');
export const options = { vus: 2, duration: '600ms' };

export default async function () {
  constantVus.add(exec.scenario.name === 'default' && exec.scenario.executor === 'constant-vus');
  await new Promise((r) => setTimeout(r, 200));
}
