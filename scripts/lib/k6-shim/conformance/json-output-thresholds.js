// --out json: a metric's Metric line carries its thresholds and the sub-metrics thresholds made of it
// (each with its own thresholds and tags); a metric without any has "thresholds": [] and "submetrics": null
// doc: https://grafana.com/docs/k6/latest/results-output/real-time/json/
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#set-thresholds-for-specific-tags
// expect exit: 0
// expect file: out.json "metric":"requests","data":{"name":"requests","type":"counter","contains":"default","tainted":null,"thresholds":["count==2"],"submetrics":[{"name":"requests{kind:api}","type":"counter","contains":"default","tainted":null,"thresholds":["count==1"],"submetrics":null,"sub":{"name":"kind:api","parent":"requests","suffix":"kind:api","tags":{"kind":"api"}}}]}
// expect file: out.json "metric":"latency","data":{"name":"latency","type":"trend","contains":"time","tainted":null,"thresholds":["p(95)<1000","avg<1000"],"submetrics":null}
// expect file: out.json "metric":"untouched","data":{"name":"untouched","type":"gauge","contains":"default","tainted":null,"thresholds":[],"submetrics":null}
import { Counter, Trend, Gauge } from 'k6/metrics';

const requests = new Counter('requests');
const latency = new Trend('latency', true);
const untouched = new Gauge('untouched');
export const options = {
  vus: 1, iterations: 1,
  thresholds: { requests: ['count==2'], 'requests{kind:api}': ['count==1'], latency: ['p(95)<1000', 'avg<1000'] },
};

export default function () {
  requests.add(1, { kind: 'api' });
  requests.add(1, { kind: 'page' });
  latency.add(12);
  untouched.add(3);
}
