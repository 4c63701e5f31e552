// http.put, http.patch, http.del and http.request send their method, body and params
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/put/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/patch/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/del/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/request/
// expect exit: 0
// expect metric: http_reqs count == 4
// expect check: "put(url, body)" passes 1 fails 0
// expect check: "patch(url, body)" passes 1 fails 0
// expect check: "del(url, body)" passes 1 fails 0
// expect check: "request(method, url, body, params)" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

const URL = `${__ENV.BASE_URL}/echo`;
export const options = { vus: 1, iterations: 1 };

export default function () {
  check(http.put(URL, 'a').json(), { 'put(url, body)': (e) => e.method === 'PUT' && e.body === 'a' });
  check(http.patch(URL, 'b').json(), { 'patch(url, body)': (e) => e.method === 'PATCH' && e.body === 'b' });
  check(http.del(URL, 'c').json(), { 'del(url, body)': (e) => e.method === 'DELETE' && e.body === 'c' });
  const r = http.request('POST', URL, 'd', { headers: { 'X-Via': 'request' } });
  check(r.json(), { 'request(method, url, body, params)': (e) => e.method === 'POST' && e.body === 'd' && e.headers['x-via'] === 'request' });
}
