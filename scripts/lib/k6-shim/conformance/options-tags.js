// options.tags are set on every metric of the test: requests, checks, custom metrics, iterations
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#tags
// doc: https://grafana.com/docs/k6/latest/using-k6/tags-and-groups/#test-wide-tags
// expect exit: 0
// expect metric: http_reqs{env:conformance} count == 2
// expect metric: checks{env:conformance} rate == 1
// expect metric: custom_counter{env:conformance} count == 2
// expect metric: iterations{env:conformance} count == 2
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const custom = new Counter('custom_counter');
export const options = {
  vus: 1, iterations: 2, tags: { env: 'conformance' },
  thresholds: {
    'http_reqs{env:conformance}': ['count==2'], 'checks{env:conformance}': ['rate==1'],
    'custom_counter{env:conformance}': ['count==2'], 'iterations{env:conformance}': ['count==2'],
  },
};

export default function () {
  check(http.get(`${__ENV.BASE_URL}/json`), { 'status is 200': (r) => r.status === 200 });
  custom.add(1);
}
