// A threshold that is not "<aggregation> <operator> <value>" is invalid configuration: the test does
// not start, exit code 104 (k6's InvalidConfig)
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#threshold-expression-syntax
// doc: https://pkg.go.dev/go.k6.io/k6/errext/exitcodes
// expect exit: 104
// expect error: p95 < 500
import { Counter } from 'k6/metrics';

const ran = new Counter('ran');
export const options = { vus: 1, iterations: 1, thresholds: { http_req_duration: ['p95 < 500'] } };

export default function () {
  ran.add(1);
}
