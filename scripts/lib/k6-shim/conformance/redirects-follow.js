// Redirects are followed (up to maxRedirects, 10 by default); the Response is the last one's, and
// every hop is a request k6 makes
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#max-redirects
// expect exit: 0
// expect check: "followed to the end" passes 1 fails 0
// expect metric: http_reqs count == 4
import http from 'k6/http';
import { check } from 'k6';

export const options = { vus: 1, iterations: 1 };

export default function () {
  // /redirect/3 → /redirect/2 → /redirect/1 → /redirect/0 (200)
  check(http.get(`${__ENV.BASE_URL}/redirect/3`), {
    'followed to the end': (r) => r.status === 200 && r.url.endsWith('/redirect/0') && r.json().redirected === true,
  });
}
