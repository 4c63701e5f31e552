// http.get returns the Response: status 200 and the body as text; options.userAgent is the User-Agent sent
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/get/
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#user-agent
// expect exit: 0
// expect metric: http_reqs count == 3
// expect metric: iterations count == 3
// expect check: "status is 200" passes 3 fails 0
// expect check: "body is the text sent" passes 3 fails 0
// expect check: "User-Agent is options.userAgent" passes 3 fails 0
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 3, userAgent: 'conformance/1.0' };

export default function () {
  const res = http.get(`${BASE}/echo`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'body is the text sent': (r) => typeof r.body === 'string' && r.body.startsWith('{"method":"GET"'),
    'User-Agent is options.userAgent': (r) => r.json().headers['user-agent'] === 'conformance/1.0',
  });
}
