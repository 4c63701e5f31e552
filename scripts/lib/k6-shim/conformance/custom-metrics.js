// Counter sums, Gauge keeps the last value (and min/max), Rate is the share of non-zero values,
// Trend gives avg/min/med/max
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/create-custom-metrics/
// doc: https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/#metric-schema
// expect exit: 0
// expect metric: my_counter count == 3
// expect metric: my_gauge value == 3
// expect metric: my_gauge max == 5
// expect metric: my_rate rate == 0.75
// expect metric: my_trend avg == 150
// expect metric: my_trend med == 150
// expect metric: my_trend max == 200
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

const counter = new Counter('my_counter');
const gauge = new Gauge('my_gauge');
const rate = new Rate('my_rate');
const trend = new Trend('my_trend', true);
export const options = { vus: 1, iterations: 1 };

export default function () {
  counter.add(1);
  counter.add(2);
  gauge.add(5);
  gauge.add(3);
  [true, false, true, 1].forEach((v) => rate.add(v));
  trend.add(100);
  trend.add(200);
}
