// per-vu-iterations: each VU runs exactly `iterations`; the total is vus * iterations
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/per-vu-iterations/
// expect exit: 0
// expect metric: iterations count == 6
// expect metric: by_vu{vu:1} count == 2
// expect metric: by_vu{vu:2} count == 2
// expect metric: by_vu{vu:3} count == 2
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const byVu = new Counter('by_vu');
export const options = {
  scenarios: { each: { executor: 'per-vu-iterations', vus: 3, iterations: 2 } },
  thresholds: { 'by_vu{vu:1}': ['count==2'], 'by_vu{vu:2}': ['count==2'], 'by_vu{vu:3}': ['count==2'] },
};

export default function () {
  byVu.add(1, { vu: String(exec.vu.idInTest) });
}
