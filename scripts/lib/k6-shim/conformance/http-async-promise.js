// http.asyncRequest returns a Promise (`instanceof Promise` holds in the script, as libraries check),
// which resolves to the Response
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/asyncrequest/
// expect exit: 0
// expect check: "asyncRequest returns a Promise" passes 1 fails 0
// expect check: "it resolves to the Response" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

export const options = { vus: 1, iterations: 1 };

export default async function () {
  const pending = http.asyncRequest('GET', `${__ENV.BASE_URL}/json`);
  check(pending, { 'asyncRequest returns a Promise': (p) => p instanceof Promise && Object.getPrototypeOf(p) === Promise.prototype });
  const res = await pending;
  check(res, { 'it resolves to the Response': (r) => r.status === 200 && r.json('name') === 'k6' });
}
