// A module this runner does not implement (k6/net/grpc) is refused, not pretended: exit 107 naming it
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-net-grpc/
// (k6 itself has the module: the outcome is this runner's rule for what it lacks, docs/k6-runner.md "The k6 shim")
// expect exit: 107
// expect error: k6/net/grpc
import grpc from 'k6/net/grpc';

const client = new grpc.Client();
export const options = { vus: 1, iterations: 1 };

export default function () {
  client.connect('127.0.0.1:1', { plaintext: true });
}
