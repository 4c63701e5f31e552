// data_sent and data_received count the bytes on the wire: a GET without a body still sends its
// request line and headers, and a 1000-byte body arrives with a status line and headers
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: data_sent count > 0
// expect metric: data_received count > 1000
import http from 'k6/http';

export const options = { vus: 1, iterations: 1 };

export default function () {
  http.get(`${__ENV.BASE_URL}/bytes/1000`);
}
