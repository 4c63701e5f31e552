// setResponseCallback(expectedStatuses(...)) decides which statuses are expected: the others count
// in http_req_failed, and only the expected ones in http_req_duration{expected_response:true}
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/set-response-callback/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/expected-statuses/
// doc: https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
// expect exit: 0
// expect metric: http_req_failed passes == 1
// expect metric: http_req_failed fails == 2
// expect metric: http_req_duration{expected_response:true} count == 2
// (http_req_failed is a Rate of failures: "passes" counts the failed requests)
import http from 'k6/http';

http.setResponseCallback(http.expectedStatuses(404, { min: 200, max: 299 }));
export const options = { vus: 1, iterations: 1, summaryTrendStats: ['count', 'max'] };

export default function () {
  for (const status of [200, 404, 500]) http.get(`${__ENV.BASE_URL}/status/${status}`);
}
