// One HTTP request emits one sample of each http_req_* metric, and the summary also holds
// http_req_duration{expected_response:true}
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/#http
// doc: https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
// expect exit: 0
// expect metric: http_reqs count == 1
// expect metric: http_req_blocked count == 1
// expect metric: http_req_connecting count == 1
// expect metric: http_req_tls_handshaking count == 1
// expect metric: http_req_tls_handshaking max == 0
// expect metric: http_req_sending count == 1
// expect metric: http_req_waiting count == 1
// expect metric: http_req_receiving count == 1
// expect metric: http_req_duration count == 1
// expect metric: http_req_duration{expected_response:true} count == 1
// expect metric: http_req_failed fails == 1
// expect metric: iterations count == 1
// expect metric: iteration_duration count == 1
import http from 'k6/http';

export const options = { vus: 1, iterations: 1, summaryTrendStats: ['count', 'max'] };

export default function () {
  http.get(`${__ENV.BASE_URL}/json`);
}
