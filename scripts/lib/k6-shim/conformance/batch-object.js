// http.batch with an object of named requests (URL strings or request objects) returns an object keyed
// by the same names; an array of request objects returns an array
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/batch/
// expect exit: 0
// expect check: "named: a URL string" passes 1 fails 0
// expect check: "named: a request object with body and params" passes 1 fails 0
// expect check: "an array of request objects" passes 1 fails 0
// expect metric: http_reqs count == 4
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };

export default function () {
  const named = http.batch({
    front: `${BASE}/json`,
    echo: { method: 'POST', url: `${BASE}/echo`, body: 'hi', params: { headers: { 'X-Test': '1' } } },
  });
  check(named.front, { 'named: a URL string': (r) => r.status === 200 && r.json().name === 'k6' });
  check(named.echo.json(), { 'named: a request object with body and params': (e) => e.method === 'POST' && e.body === 'hi' && e.headers['x-test'] === '1' });
  const list = http.batch([{ method: 'GET', url: `${BASE}/json` }, { method: 'DELETE', url: `${BASE}/echo` }]);
  check(list, { 'an array of request objects': (a) => a[0].status === 200 && a[1].json().method === 'DELETE' });
}
