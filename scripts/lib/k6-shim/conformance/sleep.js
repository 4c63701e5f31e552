// sleep(t) blocks the VU for t seconds (timers do not fire meanwhile) and counts in iteration_duration
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6/sleep/
// expect exit: 0
// expect metric: iterations count == 3
// expect metric: iteration_duration min >= 200
// expect check: "a timer does not fire during sleep" passes 3 fails 0
import { sleep, check } from 'k6';
import { setTimeout } from 'k6/timers';

export const options = { vus: 1, iterations: 3 };

export default function () {
  let fired = false;
  setTimeout(() => { fired = true; }, 0);
  sleep(0.2);
  check(fired, { 'a timer does not fire during sleep': (f) => f === false });
}
