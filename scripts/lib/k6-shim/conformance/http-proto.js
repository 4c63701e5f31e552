// Over plain HTTP k6 speaks HTTP/1.1 (HTTP/2 only over TLS): res.proto is "HTTP/1.1" and the request's
// samples carry the tag proto:HTTP/1.1
// doc: https://grafana.com/docs/k6/latest/using-k6/protocols/http-2/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/
// expect exit: 0
// expect check: "proto is HTTP/1.1" passes 1 fails 0
// expect metric: http_reqs{proto:HTTP/1.1} count == 1
import http from 'k6/http';
import { check } from 'k6';

export const options = { vus: 1, iterations: 1, thresholds: { 'http_reqs{proto:HTTP/1.1}': ['count==1'] } };

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/json`);
  check(res, { 'proto is HTTP/1.1': (r) => r.proto === 'HTTP/1.1' });
}
