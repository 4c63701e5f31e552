// A threshold crossed fails the test with exit code 99 and is marked not ok; the others stay ok
// doc: https://grafana.com/docs/k6/latest/using-k6/thresholds/
// doc: https://grafana.com/docs/learning-paths/automate-k6-cicd/handle-exit-code/
// expect exit: 99
// expect threshold: errors rate<0.1 crossed
// expect threshold: requests count==2 ok
import { Counter, Rate } from 'k6/metrics';

const errors = new Rate('errors');
const requests = new Counter('requests');
export const options = { vus: 1, iterations: 2, thresholds: { errors: ['rate<0.1'], requests: ['count==2'] } };

export default function () {
  errors.add(true);
  requests.add(1);
}
