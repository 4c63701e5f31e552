// k6 runs setup() and teardown() in implicit groups: their requests carry the group tag "::setup" /
// "::teardown" (the default function's, outside any group, ""), and each emits an iteration_duration
// in its group, not counted in iterations
// doc: https://grafana.com/docs/k6/latest/using-k6/workaround-iteration-duration/
// doc: https://grafana.com/docs/k6/latest/using-k6/tags-and-groups/#groups
// expect exit: 0
// expect metric: http_reqs{group:::setup} count == 1
// expect metric: http_reqs{group:::teardown} count == 2
// expect metric: http_reqs{group:} count == 1
// expect metric: iteration_duration{group:::setup} count == 1
// expect metric: iteration_duration{group:::teardown} count == 1
// expect metric: iterations count == 1
// expect threshold: http_reqs{group:::setup} count==1 ok
import http from 'k6/http';

export const options = {
  vus: 1, iterations: 1, summaryTrendStats: ['count', 'max'],
  thresholds: {
    'http_reqs{group:::setup}': ['count==1'], 'http_reqs{group:::teardown}': ['count==2'], 'http_reqs{group:}': ['count==1'],
    'iteration_duration{group:::setup}': ['max>=0'], 'iteration_duration{group:::teardown}': ['max>=0'],
  },
};

export function setup() {
  http.get(`${__ENV.BASE_URL}/json`);
}

export default function () {
  http.get(`${__ENV.BASE_URL}/json`);
}

export function teardown() {
  http.get(`${__ENV.BASE_URL}/json`);
  http.get(`${__ENV.BASE_URL}/json`);
}
