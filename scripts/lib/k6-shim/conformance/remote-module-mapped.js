// A remote module (jslib) runs offline from a local copy named on the command line: --module URL=FILE
// maps the import to that file (its own relative imports resolve beside it), and nothing is fetched
// doc: https://grafana.com/docs/k6/latest/using-k6/modules/#remote-modules
// doc: https://grafana.com/docs/k6/latest/javascript-api/jslib/utils/
// (the module map is this runner's own flag; k6 fetches the URL itself: docs/k6-runner.md, "The k6 shim")
// module: https://jslib.k6.io/k6-utils/1.4.0/index.js modules/k6-utils/index.js
// expect exit: 0
// expect check: "the local copy's functions run" passes 1 fails 0
import { check } from 'k6';
import { randomIntBetween, randomItem, LOCAL_COPY } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';

export const options = { vus: 1, iterations: 1 };

export default function () {
  const n = randomIntBetween(3, 5);
  check(n, { "the local copy's functions run": (x) => LOCAL_COPY && x >= 3 && x <= 5 && ['a', 'b'].includes(randomItem(['a', 'b'])) });
}
