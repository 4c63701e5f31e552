// Settings of a load run, all from environment variables (k6 run -e KEY=VALUE, or the
// environment), and the scenarios and thresholds they make. No k6 import: plain data.

export type ScenarioName = 'smoke' | 'workshop' | 'ramp';

export interface Settings {
  scenario: ScenarioName;
  baseUrl: string;
  /** hostname -> address, like curl --resolve (k6 options.hosts) */
  hosts: Record<string, string>;
  /** virtual users (participants); for ramp, the workshop size the ramp must hold */
  vus: number;
  /** workspaces /user001/ … : VU n uses workspace ((n-1) mod workspaces)+1 */
  workspaces: number;
  /** each participant's workspace password (USER_CREDENTIALS: user:password lines), when the deployment asks */
  credentials: Record<string, string>;
  durationMs: number;
  /** mean think time between a participant's jobs; each pause is 0.5-1.5 × this */
  thinkMs: number;
  jobTimeoutMs: number;
  pingEveryMs: number;
  ramp: { start: number; step: number; max: number; holdMs: number };
  runId: string;
  summaryJson: string;
  limits: Limits;
}

/**
 * Threshold limits (docs/k6-runner.md, "Thresholds", says why each is where it is). p95 rather than the mean:
 * one participant in twenty having a bad time is what a workshop notices.
 */
export interface Limits {
  /** opening a workspace (the page and its system_stats): 1 s keeps a participant's flow */
  pageMs: number;
  /** queue-manager API calls (submit an 85 KB workflow, poll a job): the page polls every 2 s */
  apiMs: number;
  /** the /ws upgrade: part of opening the page */
  wsConnectMs: number;
  /** a message round trip on /ws: how fast queue and job events reach the page */
  wsRttMs: number;
  /** the slowest user's mean queue wait, at most this × the mean of all jobs */
  fairness: number;
  /** below this mean wait nobody notices an ordering, so the mean counts as at least this */
  fairnessFloorMs: number;
}

export function duration(v: string | undefined, fallbackMs: number): number {
  if (!v) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`invalid duration "${v}" (e.g. 30s, 5m)`);
  return Number(m[1]) * ({ ms: 1, s: 1e3, m: 6e4, h: 3.6e6 } as Record<string, number>)[m[2] ?? 's'];
}

const int = (v: string | undefined, d: number, name: string): number => {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, not "${v}"`);
  return n;
};
const num = (v: string | undefined, d: number) => (v === undefined || v === '' ? d : Number(v));

export function settings(env: Record<string, string | undefined>): Settings {
  const scenario = (env.SCENARIO ?? 'smoke') as ScenarioName;
  if (!['smoke', 'workshop', 'ramp'].includes(scenario)) throw new Error(`SCENARIO must be smoke, workshop or ramp, not "${scenario}"`);
  const baseUrl = (env.BASE_URL ?? 'https://comfy.ahelme.net').replace(/\/+$/, '');
  const host = /^[a-z]+:\/\/([^/:]+)/i.exec(baseUrl)?.[1] ?? '';
  return {
    scenario, baseUrl,
    hosts: env.RESOLVE ? { [host]: env.RESOLVE } : {},
    vus: int(env.VUS, 20, 'VUS'),
    workspaces: int(env.WORKSPACES, 20, 'WORKSPACES'),
    credentials: Object.fromEntries((env.USER_CREDENTIALS ?? '').split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]).filter(([u, p]) => u && p)),
    durationMs: duration(env.DURATION, 5 * 60_000),
    thinkMs: duration(env.THINK, 15_000),
    jobTimeoutMs: duration(env.JOB_TIMEOUT, 120_000),
    pingEveryMs: duration(env.PING_EVERY, 5_000),
    ramp: {
      start: int(env.RAMP_START, 10, 'RAMP_START'), step: int(env.RAMP_STEP, 10, 'RAMP_STEP'),
      max: int(env.RAMP_MAX, 100, 'RAMP_MAX'), holdMs: duration(env.RAMP_HOLD, 25_000),
    },
    runId: env.RUN_ID ?? 'k6',
    summaryJson: env.SUMMARY_JSON ?? 'load-summary.json',
    limits: {
      pageMs: num(env.P95_PAGE_MS, 1000), apiMs: num(env.P95_API_MS, 500),
      wsConnectMs: num(env.P95_WS_CONNECT_MS, 1000), wsRttMs: num(env.P95_WS_RTT_MS, 250),
      fairness: num(env.FAIRNESS, 2.5), fairnessFloorMs: num(env.FAIRNESS_FLOOR_MS, 1000),
    },
  };
}

export const workspace = (s: Settings, vu: number): string => `user${String(((vu - 1) % s.workspaces) + 1).padStart(3, '0')}`;

/** A workshop participant: their workspace, and their password when the deployment asks for one. */
export interface Participant { user: string; password?: string }

/** Every workspace's participant, user001 first: what the script's SharedArray holds (VU n is
 *  participant n, wrapping around past the last). */
export function participants(s: Settings): Participant[] {
  return Array.from({ length: s.workspaces }, (_, i) => {
    const user = workspace(s, i + 1);
    return s.credentials[user] ? { user, password: s.credentials[user] } : { user };
  });
}

/** The ramp's steps: each adds users over 5 s, then holds them. */
export const RAMP_RISE_MS = 5_000;
export function rampSteps(s: Settings): { users: number; startMs: number; endMs: number }[] {
  const steps = [];
  let t = 0;
  for (let users = s.ramp.start; users <= s.ramp.max; users += s.ramp.step || s.ramp.max) {
    steps.push({ users, startMs: t, endMs: t + RAMP_RISE_MS + s.ramp.holdMs });
    t += RAMP_RISE_MS + s.ramp.holdMs;
  }
  return steps;
}

const last = <T>(a: T[]): T | undefined => a[a.length - 1];
const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

/** k6 scenarios for the chosen scenario (only that one runs). */
export function scenarios(s: Settings): Record<string, Record<string, unknown>> {
  switch (s.scenario) {
    case 'smoke':
      // every participant once: open the workspace, one job, its output
      return { smoke: { executor: 'per-vu-iterations', vus: s.vus, iterations: 1, maxDuration: secs(s.jobTimeoutMs + 60_000), gracefulStop: '10s' } };
    case 'workshop':
      // a session per participant for the whole duration; in-flight jobs may finish after it
      return { workshop: { executor: 'constant-vus', vus: s.vus, duration: secs(s.durationMs), gracefulStop: secs(s.jobTimeoutMs + 10_000) } };
    case 'ramp': {
      const stages = rampSteps(s).flatMap((st) => [{ duration: secs(RAMP_RISE_MS), target: st.users }, { duration: secs(s.ramp.holdMs), target: st.users }]);
      return { ramp: { executor: 'ramping-vus', startVUs: 0, stages, gracefulRampDown: '5s', gracefulStop: '30s' } };
    }
  }
}

/** A threshold that never fails: it only makes k6 report that sub-metric to handleSummary. */
export const REPORT_ONLY = 'max>=0';
export const isReportOnly = (expr: string) => /^(max|count)>=0$/.test(expr);

/** When a participant's session ends, in ms after the scenario started (smoke: after one job). */
export function sessionLengthMs(s: Settings): number {
  if (s.scenario === 'workshop') return s.durationMs;
  if (s.scenario === 'ramp') return last(rampSteps(s))?.endMs ?? 0;
  return Infinity;
}

type Threshold = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };

/** The pass/fail criteria: no failures; p95 latencies within the limits; fairness (in handleSummary). */
export function thresholds(s: Settings): Record<string, Threshold[]> {
  const L = s.limits;
  const criteria = (tag: string, extra?: (t: string) => Threshold): Record<string, Threshold[]> => {
    const w = (t: string) => [extra ? extra(t) : t];
    const sub = (metric: string, more = '') => (tag || more ? `${metric}{${[more, tag].filter(Boolean).join(',')}}` : metric);
    return {
      [sub('http_req_failed')]: w('rate==0'),
      [sub('jobs_failed')]: w('rate==0'),
      [sub('ws_failed')]: w('rate==0'),
      [sub('checks')]: w('rate==1'),
      [sub('page_load')]: w(`p(95)<${L.pageMs}`),
      [sub('http_req_duration', 'kind:api')]: w(`p(95)<${L.apiMs}`),
      [sub('ws_connecting')]: w(`p(95)<${L.wsConnectMs}`),
      [sub('ws_rtt')]: w(`p(95)<${L.wsRttMs}`),
    };
  };
  const perUser: Record<string, Threshold[]> = {};
  const users = Math.min(s.workspaces, s.scenario === 'ramp' ? last(rampSteps(s))?.users ?? 0 : s.vus);
  for (let n = 1; n <= users; n++) perUser[`queue_wait{user:${workspace(s, n)}}`] = [REPORT_ONLY];
  if (s.scenario !== 'ramp') return { ...criteria(''), ...perUser };
  // ramp: each step judged on its own samples (tagged users:N); a broken step stops the run
  // once that step is over, so the headroom is the last step that held.
  const out: Record<string, Threshold[]> = { ...perUser };
  for (const st of rampSteps(s)) {
    Object.assign(out, criteria(`users:${st.users}`, (t) => ({ threshold: t, abortOnFail: true, delayAbortEval: secs(st.endMs) })));
    out[`http_reqs{users:${st.users}}`] = ['count>=0'];
  }
  return out;
}
