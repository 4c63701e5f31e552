// Params.cookies are sent with that request only (replace: true overrides the jar's); jar.set adds a
// cookie the jar sends, and cookiesForURL lists it
// doc: https://grafana.com/docs/k6/latest/using-k6/cookies/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// expect exit: 0
// expect check: "a request cookie is sent" passes 1 fails 0
// expect check: "and not kept in the jar" passes 1 fails 0
// expect check: "jar.set cookies are sent" passes 1 fails 0
// expect check: "cookiesForURL lists them" passes 1 fails 0
// expect check: "replace: true overrides the jar" passes 1 fails 0
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
const cookiesSent = (params) => http.get(`${BASE}/cookies`, params).json().cookies;
export const options = { vus: 1, iterations: 1 };

export default function () {
  check(cookiesSent({ cookies: { my_cookie: 'hello' } }), { 'a request cookie is sent': (c) => c.my_cookie === 'hello' });
  check(cookiesSent(), { 'and not kept in the jar': (c) => !('my_cookie' in c) });
  const jar = http.cookieJar();
  jar.set(`${BASE}/cookies`, 'jar_cookie', 'fromjar');
  check(cookiesSent(), { 'jar.set cookies are sent': (c) => c.jar_cookie === 'fromjar' });
  check(jar.cookiesForURL(`${BASE}/cookies`), { 'cookiesForURL lists them': (c) => c.jar_cookie[0] === 'fromjar' });
  check(cookiesSent({ cookies: { jar_cookie: { value: 'replaced', replace: true } } }), { 'replace: true overrides the jar': (c) => c.jar_cookie === 'replaced' });
}
