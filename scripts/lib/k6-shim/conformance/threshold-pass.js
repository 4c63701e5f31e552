// Thresholds that hold pass the test: exit 0, each marked ok in the summary data
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/
// doc: https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
// expect exit: 0
// expect threshold: latency p(95)<100 ok
// expect threshold: latency avg<50 ok
// expect threshold: errors rate==0 ok
// expect threshold: requests count==3 ok
import { Counter, Rate, Trend } from 'k6/metrics';

const latency = new Trend('latency', true);
const errors = new Rate('errors');
const requests = new Counter('requests');
export const options = {
  vus: 1, iterations: 3,
  thresholds: { latency: ['p(95)<100', 'avg<50'], errors: ['rate==0'], requests: ['count==3'] },
};

export default function () {
  latency.add(20);
  errors.add(false);
  requests.add(1);
}
