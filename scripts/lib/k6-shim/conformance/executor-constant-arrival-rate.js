// constant-arrival-rate: `rate` iterations start per timeUnit, spaced evenly (10/s: one every 100 ms)
// doc: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
// expect exit: 0
// expect metric: iterations count >= 9
// expect metric: iterations count <= 10
// expect metric: right_executor rate == 1
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';

const rightExecutor = new Rate('right_executor');
export const options = {
  scenarios: { open: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 2 } },
};

export default function () {
  rightExecutor.add(exec.scenario.executor === 'constant-arrival-rate');
}
