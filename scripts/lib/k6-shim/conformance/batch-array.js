// http.batch with an array (of arrays, of URL strings) sends the requests in parallel and returns
// an array of Responses in the order given
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/batch/
// expect exit: 0
// expect check: "an array of Responses, in order" passes 1 fails 0
// expect check: "sent in parallel" passes 1 fails 0
// expect check: "URL strings are GET requests" passes 1 fails 0
// expect metric: http_reqs count == 5
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };

export default function () {
  // /delay answers after 300 ms with how many requests of the same key it held at once
  const key = `batch-${Date.now()}`;
  const rs = http.batch([
    ['GET', `${BASE}/delay/300?key=${key}&n=1`],
    ['POST', `${BASE}/delay/300?key=${key}&n=2`, 'x', { tags: { n: 'second' } }],
    ['GET', `${BASE}/delay/300?key=${key}&n=3`, null, { headers: { 'X-N': '3' } }],
  ]);
  check(rs, { 'an array of Responses, in order': (a) => Array.isArray(a) && a.length === 3 && a.every((r, i) => r.status === 200 && r.url.endsWith(`n=${i + 1}`)) });
  check(rs, { 'sent in parallel': (a) => a.every((r) => r.json().together === 3) });
  const gets = http.batch([`${BASE}/echo?a`, `${BASE}/echo?b`]);
  check(gets, { 'URL strings are GET requests': (a) => a[0].json().method === 'GET' && a[1].json().url === '/echo?b' });
}
