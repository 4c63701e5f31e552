// check() counts passes and fails per check name, feeds the `checks` rate, returns false if any
// condition failed, and tags its samples with the tags given
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6/check/
// doc: https://grafana.com/docs/k6/latest/using-k6/checks/
// expect exit: 0
// expect check: "is one" passes 2 fails 0
// expect check: "is two" passes 0 fails 2
// expect metric: checks rate == 0.5
// expect metric: checks{page:home} rate == 1
// expect metric: check_returned count == 0
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const returned = new Counter('check_returned');
export const options = { vus: 1, iterations: 2, thresholds: { 'checks{page:home}': ['rate==1'] } };

export default function () {
  check(1, { 'is one': (x) => x === 1 }, { page: 'home' });
  // false: one condition failed; counts 0 towards check_returned
  returned.add(check(1, { 'is two': (x) => x === 2 }, { page: 'other' }) ? 1 : 0);
}
