// `count` is not an aggregation of a Trend (Trend: avg, min, max, med, p(N)), so a threshold using it is
// invalid configuration: the test does not start (exit 104) rather than pass on a value the type lacks
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#aggregation-methods-by-type
// doc: https://pkg.go.dev/go.k6.io/k6/errext/exitcodes
// expect exit: 104
// expect error: count
// expect metric: latency absent
import { Trend } from 'k6/metrics';

const latency = new Trend('latency', true);
export const options = { vus: 1, iterations: 1, thresholds: { latency: ['p(95)<1000', 'count>0'] } };

export default function () {
  latency.add(5);
}
