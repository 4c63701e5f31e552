// setup() runs once; a copy of what it returns is passed to the default function and to teardown,
// and what an iteration changes in its copy does not reach teardown
// doc: https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/
// expect exit: 0
// expect metric: setup_runs count == 1
// expect check: "default gets setup's data" passes 4 fails 0
// expect check: "teardown gets setup's data, unchanged" passes 1 fails 0
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const setupRuns = new Counter('setup_runs');
export const options = { vus: 2, iterations: 4 };

export function setup() {
  setupRuns.add(1);
  return { token: 'abc', list: [1, 2] };
}

export default function (data) {
  check(data, { "default gets setup's data": (d) => d.token === 'abc' && d.list[1] === 2 });
  data.changed = true;
}

export function teardown(data) {
  check(data, { "teardown gets setup's data, unchanged": (d) => d.token === 'abc' && !('changed' in d) });
}
