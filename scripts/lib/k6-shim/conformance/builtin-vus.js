// vus (active VUs) and vus_max (pre-allocated VUs) are always collected
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: vus max == 2
// expect metric: vus_max value == 2
import { setTimeout } from 'k6/timers';

export const options = { scenarios: { pair: { executor: 'per-vu-iterations', vus: 2, iterations: 1 } } };

// both VUs are active for a little over a second
export default async function () {
  await new Promise((r) => setTimeout(r, 1100));
}
