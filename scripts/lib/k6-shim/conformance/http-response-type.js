// responseType: with discardResponseBodies the body is null, "text" gives a string, "binary" an ArrayBuffer
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#discard-response-bodies
// expect exit: 0
// expect check: "discarded: the body is null" passes 1 fails 0
// expect check: "text: a string" passes 1 fails 0
// expect check: "binary: an ArrayBuffer" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

const URL = `${__ENV.BASE_URL}/bytes/16`;
export const options = { vus: 1, iterations: 1, discardResponseBodies: true };

export default function () {
  check(http.get(URL), { 'discarded: the body is null': (r) => r.body === null });
  check(http.get(URL, { responseType: 'text' }), { 'text: a string': (r) => r.body === 'x'.repeat(16) });
  check(http.get(URL, { responseType: 'binary' }), {
    'binary: an ArrayBuffer': (r) => r.body instanceof ArrayBuffer && new Uint8Array(r.body).length === 16,
  });
}
