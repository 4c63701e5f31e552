// group() tags what runs in it with the nested path ("::outer::inner") and emits group_duration,
// tagged with the group's own path, for the time its function took
// doc: https://grafana.com/docs/k6/latest/using-k6/tags-and-groups/#groups
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6/group/
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#threshold-on-group-duration
// expect exit: 0
// expect metric: checks{group:::outer::inner} rate == 1
// expect metric: http_reqs{group:::outer} count == 2
// expect metric: group_duration{group:::outer} count == 2
// expect metric: group_duration{group:::outer::inner} count == 2
// expect metric: group_duration{group:::outer} min >= 100
// expect check: "inside inner" passes 2 fails 0
// expect check: "at the root" passes 0 fails 2
import http from 'k6/http';
import { group, check, sleep } from 'k6';

export const options = {
  vus: 1, iterations: 2, summaryTrendStats: ['count', 'min', 'max'],
  thresholds: {
    'checks{group:::outer::inner}': ['rate==1'], 'http_reqs{group:::outer}': ['count==2'],
    'group_duration{group:::outer}': ['min>=100'], 'group_duration{group:::outer::inner}': ['max>=0'],
  },
};

export default function () {
  group('outer', () => {
    http.get(`${__ENV.BASE_URL}/json`);
    group('inner', () => { check(1, { 'inside inner': (x) => x === 1 }); });
    sleep(0.1);
  });
  check(0, { 'at the root': (x) => x === 1 });
}
