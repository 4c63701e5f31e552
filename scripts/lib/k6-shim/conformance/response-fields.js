// A Response carries status, url, proto, remote address, the request, canonical header names and
// timings in ms, duration being sending + waiting + receiving
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/
// expect exit: 0
// expect check: "status and status_text" passes 1 fails 0
// expect check: "url is the URL fetched" passes 1 fails 0
// expect check: "proto is HTTP/1.1" passes 1 fails 0
// expect check: "remote_ip and remote_port are the server's" passes 1 fails 0
// expect check: "request.method and request.url" passes 1 fails 0
// expect check: "timings are numbers of ms" passes 1 fails 0
// expect check: "duration is sending + waiting + receiving" passes 1 fails 0
// expect check: "no TLS over http: tls_handshaking is 0" passes 1 fails 0
// expect check: "header names in canonical form" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
const TIMINGS = ['blocked', 'connecting', 'tls_handshaking', 'sending', 'waiting', 'receiving', 'duration'];
export const options = { vus: 1, iterations: 1 };

export default function () {
  const url = `${BASE}/json`;
  check(http.get(url), {
    'status and status_text': (r) => r.status === 200 && r.status_text.includes('OK'),
    'url is the URL fetched': (r) => r.url === url,
    'proto is HTTP/1.1': (r) => r.proto === 'HTTP/1.1',
    "remote_ip and remote_port are the server's": (r) => r.remote_ip === '127.0.0.1' && BASE.endsWith(`:${r.remote_port}`),
    'request.method and request.url': (r) => r.request.method === 'GET' && r.request.url === url,
    'timings are numbers of ms': (r) => TIMINGS.every((k) => typeof r.timings[k] === 'number' && r.timings[k] >= 0),
    'duration is sending + waiting + receiving': (r) => Math.abs(r.timings.duration - (r.timings.sending + r.timings.waiting + r.timings.receiving)) < 0.001,
    'no TLS over http: tls_handshaking is 0': (r) => r.timings.tls_handshaking === 0,
    // the fixture sends "content-type" and "x-fixture" in lower case
    'header names in canonical form': (r) => 'Content-Type' in r.headers && 'X-Fixture' in r.headers && !('x-fixture' in r.headers)
      && String(r.headers['X-Fixture']) === 'conformance',
  });
}
