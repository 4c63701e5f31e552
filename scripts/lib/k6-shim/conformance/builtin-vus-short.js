// vus and vus_max are always collected, so a run shorter than a second has them too
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/
// expect exit: 0
// expect metric: vus max == 1
// expect metric: vus_max value == 1
// expect metric: iterations count == 1

export const options = { vus: 1, iterations: 1 };

export default function () {}
