// abortOnFail stops a test as soon as its threshold is crossed (exit 99), long before its duration
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#abort-a-test-when-a-threshold-is-crossed
// expect exit: 99
// expect threshold: errors count<3 crossed
// expect metric: iterations count < 100
import { Counter } from 'k6/metrics';
import { setTimeout } from 'k6/timers';

const errors = new Counter('errors');
export const options = {
  scenarios: { long: { executor: 'constant-vus', vus: 1, duration: '30s' } },
  thresholds: { errors: [{ threshold: 'count<3', abortOnFail: true }] },
};

// 20 iterations a second: 30 s would make 600
export default async function () {
  errors.add(1);
  await new Promise((r) => setTimeout(r, 50));
}
