// ramping-arrival-rate: the start rate ramps linearly through the stages; 0 → 20/s over 1 s starts
// the area under the ramp, 10 iterations
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/ramping-arrival-rate/
// expect exit: 0
// expect metric: iterations count >= 9
// expect metric: iterations count <= 10

export const options = {
  scenarios: {
    ramp: { executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', preAllocatedVUs: 3, stages: [{ target: 20, duration: '1s' }] },
  },
};

export default function () {}
