// Each VU has a cookie jar that sends Set-Cookie cookies back, and it is emptied for every iteration;
// Response.cookies lists what a response set
// doc: https://grafana.com/docs/k6/latest/using-k6/cookies/
// doc: https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/#the-default-function-life-cycle
// expect exit: 0
// expect check: "Response.cookies has the cookie set" passes 2 fails 0
// expect check: "the jar sends the cookie back" passes 2 fails 0
// expect metric: cookie_at_start rate == 0
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';

const BASE = __ENV.BASE_URL;
const cookieAtStart = new Rate('cookie_at_start');
export const options = { vus: 1, iterations: 2 };

export default function () {
  cookieAtStart.add('sid' in http.get(`${BASE}/cookies`).json().cookies);
  check(http.get(`${BASE}/cookies/set?sid=abc`), { 'Response.cookies has the cookie set': (r) => r.cookies.sid[0].value === 'abc' });
  check(http.get(`${BASE}/cookies`).json(), { 'the jar sends the cookie back': (b) => b.cookies.sid === 'abc' });
}
