// Params.responseCallback overrides the callback for one request, and a callback judges every
// redirect hop too (a 302 before the 200 is a failure when only 200 is expected)
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/set-response-callback/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// expect exit: 0
// expect metric: http_reqs count == 4
// expect metric: http_req_failed passes == 2
// expect metric: http_req_failed fails == 2
import http from 'k6/http';

const BASE = __ENV.BASE_URL;
const only200 = http.expectedStatuses(200);
export const options = { vus: 1, iterations: 1 };

export default function () {
  http.get(`${BASE}/status/404`); // the default, 200-399: failed
  http.get(`${BASE}/status/404`, { responseCallback: http.expectedStatuses(404) }); // expected
  http.get(`${BASE}/redirect/1`, { responseCallback: only200 }); // the 302 failed, the 200 expected
}
