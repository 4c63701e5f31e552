// A percentile outside 0-100 in a threshold fails parsing, so the test stops before running (exit 104)
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#aggregation-methods-by-type
// doc: https://pkg.go.dev/go.k6.io/k6/errext/exitcodes
// expect exit: 104
// expect error: p(101)
// expect metric: ran absent
import { Counter } from 'k6/metrics';

const ran = new Counter('ran');
export const options = { vus: 1, iterations: 1, thresholds: { http_req_duration: ['p(101)<500'] } };

export default function () {
  ran.add(1);
}
