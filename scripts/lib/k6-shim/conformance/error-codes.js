// error_code is 1400-1599 for an HTTP 4xx/5xx answer (1000 + status), 1212 for a refused connection,
// 0 without error; it also tags the request's metrics
// doc: https://grafana.com/docs/k6/latest/javascript-api/error-codes/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/
// expect exit: 0
// expect check: "200: no error_code" passes 1 fails 0
// expect check: "404: 1404" passes 1 fails 0
// expect check: "500: 1500" passes 1 fails 0
// expect check: "refused: 1212, status 0 and an error message" passes 1 fails 0
// expect metric: http_reqs{error_code:1404} count == 1
// expect metric: http_reqs{error_code:1212} count == 1
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1, thresholds: { 'http_reqs{error_code:1404}': ['count==1'], 'http_reqs{error_code:1212}': ['count==1'] } };

export default function () {
  check(http.get(`${BASE}/status/200`), { '200: no error_code': (r) => r.error_code === 0 && r.error === '' });
  check(http.get(`${BASE}/status/404`), { '404: 1404': (r) => r.status === 404 && r.error_code === 1404 });
  check(http.get(`${BASE}/status/500`), { '500: 1500': (r) => r.status === 500 && r.error_code === 1500 });
  check(http.get(__ENV.REFUSED_URL), {
    'refused: 1212, status 0 and an error message': (r) => r.error_code === 1212 && r.status === 0 && r.error.length > 0,
  });
}
