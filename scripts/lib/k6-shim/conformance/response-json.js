// json() parses the body and caches it; json(selector) picks a part of it by a gjson path
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/response-json/
// expect exit: 0
// expect check: "json() parses the body" passes 1 fails 0
// expect check: "json() returns the cached value" passes 1 fails 0
// expect check: "json(selector) follows gjson paths" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

export const options = { vus: 1, iterations: 1 };

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/json`); // {"name":"k6","items":[{"id":1},{"id":2},{"id":3}],"nested":{"value":42}}
  check(res, {
    'json() parses the body': (r) => r.json().name === 'k6' && r.json().items.length === 3,
    'json() returns the cached value': (r) => r.json() === r.json(),
  });
  check(res, {
    'json(selector) follows gjson paths': (r) => r.json('nested.value') === 42 && r.json('items.1.id') === 2 && r.json('items.#') === 3,
  });
}
