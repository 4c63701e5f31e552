// Params.timeout (a duration string, or a number of milliseconds) ends a slow request with error_code 1050
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// doc: https://grafana.com/docs/k6/latest/javascript-api/error-codes/
// expect exit: 0
// expect check: "timed out: status 0, error_code 1050" passes 2 fails 0
// expect metric: iteration_duration max < 2000
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };

export default function () {
  // the answer comes after 2 s: two requests waiting for it would take 4 s
  for (const timeout of ['100ms', 100]) {
    const r = http.get(`${BASE}/delay/2000`, { timeout });
    check(r, { 'timed out: status 0, error_code 1050': (x) => x.status === 0 && x.error_code === 1050 });
  }
}
