// setResponseCallback(null) turns off http_req_failed and the expected_response tag
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/set-response-callback/
// expect exit: 0
// expect metric: http_reqs count == 2
// expect metric: http_req_failed absent
import http from 'k6/http';

http.setResponseCallback(null);
export const options = { vus: 1, iterations: 1 };

export default function () {
  http.get(`${__ENV.BASE_URL}/status/200`);
  http.get(`${__ENV.BASE_URL}/status/500`);
}
