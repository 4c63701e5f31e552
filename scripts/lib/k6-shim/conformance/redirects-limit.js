// options.maxRedirects caps the redirects followed; Params.redirects overrides it per request
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#max-redirects
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// expect exit: 0
// expect check: "maxRedirects 1: stops at the second hop" passes 1 fails 0
// expect check: "redirects 0: not followed" passes 1 fails 0
// expect check: "redirects 5 overrides maxRedirects" passes 1 fails 0
// expect metric: http_reqs count == 7
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1, maxRedirects: 1 };

export default function () {
  check(http.get(`${BASE}/redirect/3`), { 'maxRedirects 1: stops at the second hop': (r) => r.status === 302 && r.url.endsWith('/redirect/2') });
  check(http.get(`${BASE}/redirect/1`, { redirects: 0 }), { 'redirects 0: not followed': (r) => r.status === 302 && r.url.endsWith('/redirect/1') });
  check(http.get(`${BASE}/redirect/3`, { redirects: 5 }), { 'redirects 5 overrides maxRedirects': (r) => r.status === 200 && r.url.endsWith('/redirect/0') });
}
