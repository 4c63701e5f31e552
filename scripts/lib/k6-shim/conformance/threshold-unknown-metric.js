// A threshold on a metric that does not exist is invalid configuration: the test does not start (exit 104)
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/
// doc: https://pkg.go.dev/go.k6.io/k6/errext/exitcodes
// expect exit: 104
// expect error: no_such_metric
// expect metric: ran absent
import { Counter } from 'k6/metrics';

const ran = new Counter('ran');
export const options = { vus: 1, iterations: 1, thresholds: { ran: ['count>=0'], no_such_metric: ['count>0'] } };

export default function () {
  ran.add(1);
}
