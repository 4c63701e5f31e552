// A Gauge has one aggregation, `value`: a threshold on its `max` is invalid configuration (exit 104)
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#aggregation-methods-by-type
// doc: https://pkg.go.dev/go.k6.io/k6/errext/exitcodes
// expect exit: 104
// expect error: max
// expect metric: level absent
import { Gauge } from 'k6/metrics';

const level = new Gauge('level');
export const options = { vus: 1, iterations: 1, thresholds: { level: ['max<10'] } };

export default function () {
  level.add(5);
}
