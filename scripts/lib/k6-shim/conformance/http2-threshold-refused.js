// k6 negotiates HTTP/2 over TLS when the server offers it; this runner speaks HTTP/1.1 only, so a
// threshold that selects HTTP/2 requests (proto:HTTP/2.0) would judge none: refused at init (107)
// doc: https://grafana.com/docs/k6/latest/using-k6/protocols/http-2/
// (the outcome is this runner's rule for what it does not do, docs/k6-runner.md "The k6 shim"; reading res.proto
// of an HTTPS response is refused the same way, shim.test.ts)
// expect exit: 107
// expect error: does not negotiate HTTP/2
// expect metric: iterations absent
import http from 'k6/http';

export const options = { vus: 1, iterations: 1, thresholds: { 'http_req_duration{proto:HTTP/2.0}': ['p(95)<500'] } };

export default function () {
  http.get(`${__ENV.BASE_URL}/json`);
}
