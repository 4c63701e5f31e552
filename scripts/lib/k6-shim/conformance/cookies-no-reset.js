// With noCookiesReset the VU's cookie jar keeps its cookies from one iteration to the next
// doc: https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#no-cookies-reset
// expect exit: 0
// expect metric: cookie_at_start passes == 1
// expect metric: cookie_at_start fails == 1
import http from 'k6/http';
import { Rate } from 'k6/metrics';

const BASE = __ENV.BASE_URL;
const cookieAtStart = new Rate('cookie_at_start');
export const options = { vus: 1, iterations: 2, noCookiesReset: true };

export default function () {
  // iteration 0 starts without the cookie, iteration 1 with it
  cookieAtStart.add('sid' in http.get(`${BASE}/cookies`).json().cookies);
  http.get(`${BASE}/cookies/set?sid=abc`);
}
