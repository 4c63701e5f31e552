// Params.tags tag the request's metrics (the name tag too); a threshold on NAME{tag:value} selects them
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-http/params/
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/#set-thresholds-for-specific-tags
// expect exit: 0
// expect metric: http_reqs count == 3
// expect metric: http_reqs{kind:api} count == 2
// expect metric: http_reqs{name:users} count == 1
// expect metric: http_req_duration{kind:api} count == 2
// expect threshold: http_reqs{kind:api} count==2 ok
import http from 'k6/http';

const BASE = __ENV.BASE_URL;
export const options = {
  vus: 1, iterations: 1, summaryTrendStats: ['count', 'max'],
  thresholds: { 'http_reqs{kind:api}': ['count==2'], 'http_reqs{name:users}': ['count==1'], 'http_req_duration{kind:api}': ['max<10000'] },
};

export default function () {
  http.get(`${BASE}/json`, { tags: { kind: 'api' } });
  http.get(`${BASE}/echo?user=7`, { tags: { kind: 'api', name: 'users' } });
  http.get(`${BASE}/json`);
}
