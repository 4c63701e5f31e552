// http.post sends a string body with the headers given, and an object body x-www-form-urlencoded
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/post/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// expect exit: 0
// expect check: "a string body and its headers arrive" passes 1 fails 0
// expect check: "an object body is form-urlencoded" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };

export default function () {
  const json = http.post(`${BASE}/echo`, JSON.stringify({ name: 'Bert' }), {
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'r1' },
  });
  check(json.json(), {
    'a string body and its headers arrive': (e) => e.method === 'POST' && e.body === '{"name":"Bert"}'
      && e.headers['content-type'] === 'application/json' && e.headers['x-request-id'] === 'r1',
  });
  const form = http.post(`${BASE}/echo`, { name: 'Bert', n: '1' });
  check(form.json(), {
    // the order of the fields is not the point: compare them sorted
    'an object body is form-urlencoded': (e) => e.headers['content-type'].startsWith('application/x-www-form-urlencoded')
      && e.body.split('&').sort().join('&') === 'n=1&name=Bert',
  });
}
