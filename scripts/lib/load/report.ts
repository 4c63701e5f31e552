// The load report an operator reads: reports/load/summary.json (everything) and
// reports/load/index.html (self-contained: verdict, thresholds, latencies, charts, per-user jobs).
import type { LoadSummary } from '../../../suites/load/lib/summary.ts';
import { LATENCIES, type Observer, type LatencyKey, type QueuePoint } from './observe.ts';
import { lineChart, bucketP95, percentile, clock } from './svg.ts';
import { engineText, type Engine } from './engine.ts';

/** reports/load/summary.json. The top level is what reports/index.html shows (verdict, facts,
 *  thresholds with ok); the rest is the detail behind load/index.html. */
export interface LoadReport {
  verdict: 'pass' | 'fail';
  reasons: string[];
  scenario: string;
  target: string;
  /** what ran the script: "comfy-verify k6 shim v0.1.0 (built in)" or "k6 v1.0.0 (the operator's k6 at /usr/local/bin/k6)" */
  engine: string;
  users: number;
  durationS: number;
  jobsCompleted: number;
  jobsFailed: number;
  /** ramp: the most users every threshold held for */
  headroom?: number;
  cpuMsPerVuSecond: number | null;
  thresholds: { name: string; ok: boolean; value: string; limit: string }[];
  run: {
    id: string; targetKind: 'local' | 'remote'; startedAt: string; durationMs: number;
    /** the local stack's mock GPU worker: ms per job */
    workerDelayMs?: number; aborted?: string; k6ExitCode: number; engine: Engine;
  };
  latency: Record<LatencyKey, Stats & { limitMs: number }>;
  jobs: { done: number; failed: number; jobTime: Stats; queueWait: Stats };
  series: { bucketMs: number; latencyP95: Record<LatencyKey, [number, number][]>; queue: QueuePoint[] };
  perUser: { user: string; jobs: number; failed: number; meanJobMs: number | null; meanWaitMs: number | null; maxJobMs: number | null }[];
  generator: ReturnType<Observer['generator']>;
  cleanup: { submitted: number; deleted: number; leftFinished: number; errors: string[] };
  /** what the k6 script's handleSummary wrote (k6-summary.json) */
  summary: LoadSummary;
}

interface Stats { count: number; avg: number | null; med: number | null; p90: number | null; p95: number | null; p99: number | null; max: number | null }

function stats(v: number[]): Stats {
  const q = (p: number) => (v.length ? Math.round(percentile(v, p)) : null);
  return { count: v.length, avg: v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : null, med: q(50), p90: q(90), p95: q(95), p99: q(99), max: v.length ? Math.round(Math.max(...v)) : null };
}
const mean = (v: number[]) => (v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : null);

export function buildReport(summary: LoadSummary, obs: Observer, run: Omit<LoadReport['run'], 'durationMs'> & { scenario: string; target: string; extraReasons: string[] },
  generator: LoadReport['generator'], cleanup: LoadReport['cleanup']): LoadReport {
  const durationMs = summary.durationMs;
  // about 60 points per chart, in round steps
  const bucketMs = [1, 2, 5, 10, 15, 30, 60, 120].map((x) => x * 1000).find((b) => durationMs / b <= 60) ?? 300_000;
  const limits: Record<LatencyKey, number> = { page: summary.limits.pageMs, api: summary.limits.apiMs, wsConnect: summary.limits.wsConnectMs, wsRtt: summary.limits.wsRttMs };
  const keys = Object.keys(LATENCIES) as LatencyKey[];
  const users = [...obs.users.values()].sort((a, b) => a.user.localeCompare(b.user)).map((u) => ({
    user: u.user, jobs: u.jobs, failed: u.failed, meanJobMs: mean(u.jobTimes), meanWaitMs: mean(u.waits), maxJobMs: u.jobTimes.length ? Math.round(Math.max(...u.jobTimes)) : null,
  }));
  const all = (f: (u: { jobTimes: number[]; waits: number[] }) => number[]) => [...obs.users.values()].flatMap(f);
  const reasons = [...summary.reasons, ...run.extraReasons];
  const { extraReasons: _x, scenario, target, ...r } = run;
  const fmt = (v: number | null, unit: string) => (v === null ? '–' : unit === 'ms' ? `${Math.round(v)} ms` : `${+(v * 100).toFixed(2)} %`);
  const thresholds = summary.ramp
    ? summary.ramp.steps.filter((st) => st.reached).map((st) => ({ name: `${st.users} users: every threshold`, ok: st.ok, value: st.ok ? 'held' : st.failed.join('; '), limit: '' }))
    : summary.thresholds.map((t) => ({ name: `${t.metric} ${t.expression}`, ok: t.ok, value: fmt(t.value, t.unit), limit: t.expression }));
  const f = summary.fairness;
  thresholds.push({ name: 'fairness (slowest user mean queue wait / mean)', ok: f.ok, value: f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`, limit: `≤ ${f.limit}×` });
  return {
    verdict: reasons.length ? 'fail' : 'pass', reasons, scenario, target, engine: engineText(run.engine), users: summary.vus, durationS: Math.round(durationMs / 1000),
    jobsCompleted: obs.jobsDone, jobsFailed: obs.jobsFailed, ...(summary.ramp ? { headroom: summary.ramp.headroom } : {}),
    cpuMsPerVuSecond: generator.cpuMsPerVuSecond, thresholds,
    run: { ...r, durationMs },
    latency: Object.fromEntries(keys.map((k) => [k, { ...stats(obs.latency[k].map(([, v]) => v)), limitMs: limits[k] }])) as LoadReport['latency'],
    jobs: { done: obs.jobsDone, failed: obs.jobsFailed, jobTime: stats(all((u) => u.jobTimes)), queueWait: stats(all((u) => u.waits)) },
    series: { bucketMs, latencyP95: Object.fromEntries(keys.map((k) => [k, bucketP95(obs.latency[k], bucketMs)])) as LoadReport['series']['latencyP95'], queue: obs.queue },
    perUser: users, generator, cleanup, summary,
  };
}

// ---------- HTML ----------

const esc = (s: unknown) => String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
const ms = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const COLORS: Record<LatencyKey, string> = { page: '#2563eb', api: '#7c3aed', wsConnect: '#0891b2', wsRtt: '#d97706' };

/** What each criterion means to a participant (the thresholds table's middle column). */
const CRITERIA: [RegExp, string, string][] = [
  [/^page_load/, 'Opening a workspace', 'GET /userNNN/ and its system_stats, one after the other, as the browser does'],
  [/^http_req_duration\{kind:api/, 'Queue API call', 'submitting a workflow (82 KB), polling a job: the page polls every 2 s'],
  [/^ws_connecting/, 'WebSocket connect', 'the /ws upgrade through nginx: part of opening the page'],
  [/^ws_rtt/, 'WebSocket round trip', 'a message out and its "pong:" back: how fast job events reach the page'],
  [/^http_req_failed/, 'Failed HTTP requests', 'any request answered with an error status or not at all'],
  [/^jobs_failed/, 'Failed jobs', 'refused, failed, or not finished within the job time limit'],
  [/^ws_failed/, 'WebSocket failures', 'a socket that would not open, closed under the participant, or lost a pong'],
  [/^checks/, 'Checks', 'the page is ComfyUI, system_stats answers, the job is accepted and completes, its image is served'],
];
const criterion = (metric: string) => CRITERIA.find(([re]) => re.test(metric)) ?? [null, metric, ''];
const order = (metric: string) => { const i = CRITERIA.findIndex(([re]) => re.test(metric)); return i < 0 ? CRITERIA.length : i; };
/** 'p(95)<500' -> 'p95 < 500 ms'; 'rate==0' -> 'none'. */
function limitText(expr: string, unit: string): string {
  if (expr === 'rate==0') return 'none';
  if (expr === 'rate==1') return 'all';
  const m = /^(\w+(?:\((\d+(?:\.\d+)?)\))?)\s*([<>=!]+)\s*(.+)$/.exec(expr);
  if (!m) return expr;
  const agg = m[2] ? `p${m[2]}` : m[1];
  return `${agg} ${m[3].replace('<=', '≤').replace('>=', '≥')} ${m[4]}${unit === 'ms' ? ' ms' : ''}`;
}

export function renderHtml(r: LoadReport): string {
  const s = r.summary;
  const pass = r.verdict === 'pass';
  const keys = Object.keys(LATENCIES) as LatencyKey[];
  const xMax = Math.max(r.run.durationMs, ...r.series.queue.map((q) => q.t));
  const stepMarkers = s.ramp?.steps.filter((x) => x.reached).map((st) => ({ t: st.startMs, label: `${st.users} users` }));
  const headline = pass
    ? s.ramp ? `PASS — the stack held ${s.ramp.headroom} participants within every threshold (${s.ramp.needed} needed)` : `PASS — ${s.vus} participants, every threshold met`
    : `FAIL — ${r.reasons.length} problem${r.reasons.length === 1 ? '' : 's'}`;

  const thresholdRows = s.ramp ? '' : [...s.thresholds].sort((a, b) => order(a.metric) - order(b.metric)).map((t) => {
    const [, name, why] = criterion(t.metric);
    return `<tr class="${t.ok ? 'ok' : 'bad'}"><td><b>${esc(name)}</b><div class="why">${esc(why)}</div></td><td class="lim">${esc(limitText(t.expression, t.unit))}</td>
<td class="num">${t.unit === 'ms' ? ms(t.value) : esc(t.value === null ? '–' : `${+(t.value * 100).toFixed(2)} %`)}</td><td class="res">${t.ok ? '✔ pass' : '✖ fail'}</td></tr>`;
  }).join('\n');
  const f = s.fairness;
  const fairnessRow = `<tr class="${f.ok ? 'ok' : 'bad'}"><td><b>Fairness</b><div class="why">the slowest user's mean queue wait against the mean of all jobs (a mean under ${ms(s.limits.fairnessFloorMs)} counts as ${ms(s.limits.fairnessFloorMs)}: nobody notices the order of sub-second waits)</div></td>
<td class="lim">≤ ${f.limit}× the mean</td><td class="num">${f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`}${f.slowest ? `<div class="why">${esc(f.slowest.user)}: ${ms(f.slowest.meanMs)} vs ${ms(f.meanMs)}</div>` : ''}</td><td class="res">${f.ok ? '✔ pass' : '✖ fail'}</td></tr>`;

  const rampTable = s.ramp ? `<table><thead><tr><th>users</th><th>result</th><th>what broke</th></tr></thead><tbody>
${s.ramp.steps.map((st) => `<tr class="${!st.reached ? 'skip' : st.ok ? 'ok' : 'bad'}"><td class="num">${st.users}</td><td class="res">${!st.reached ? 'not reached' : st.ok ? '✔ held' : '✖ broke'}</td><td>${esc(st.failed.join('; '))}</td></tr>`).join('\n')}
</tbody></table>
<p class="big">Headroom: <b>${s.ramp.headroom}</b> participants within every threshold${s.ramp.brokeAt ? `; the step to ${s.ramp.brokeAt} broke` : ' — the ramp reached its top without breaking them'}.</p>` : '';

  const latRows = keys.map((k) => {
    const l = r.latency[k];
    return `<tr><td><span class="dot" style="background:${COLORS[k]}"></span>${esc(LATENCIES[k].label)}</td><td class="num">${l.count}</td><td class="num">${ms(l.avg)}</td><td class="num">${ms(l.med)}</td><td class="num">${ms(l.p90)}</td><td class="num"><b>${ms(l.p95)}</b></td><td class="num">${ms(l.p99)}</td><td class="num">${ms(l.max)}</td><td class="num">${ms(l.limitMs)}</td></tr>`;
  }).join('\n');
  const jobRow = (label: string, l: Stats) => `<tr><td>${label}</td><td class="num">${l.count}</td><td class="num">${ms(l.avg)}</td><td class="num">${ms(l.med)}</td><td class="num">${ms(l.p90)}</td><td class="num"><b>${ms(l.p95)}</b></td><td class="num">${ms(l.p99)}</td><td class="num">${ms(l.max)}</td><td class="num">–</td></tr>`;

  const charts = keys.map((k) => lineChart({
    title: `${LATENCIES[k].label}: p95 per ${r.series.bucketMs / 1000} s`, xMaxMs: xMax, unit: 'ms', markers: stepMarkers,
    series: [{ name: 'p95', color: COLORS[k], points: r.series.latencyP95[k] }], limit: { value: r.latency[k].limitMs, label: `limit ${ms(r.latency[k].limitMs)}` },
  })).join('\n');
  const queueChart = lineChart({
    title: 'Queue depth (GET /api/queue/status every second) and participants', width: 1100, height: 240, xMaxMs: xMax, unit: '', markers: stepMarkers,
    series: [
      { name: 'pending jobs', color: '#dc2626', points: r.series.queue.map((q) => [q.t, q.pending]), area: true },
      { name: 'running jobs', color: '#16a34a', points: r.series.queue.map((q) => [q.t, q.running]) },
      { name: 'active participants (VUs)', color: '#64748b', points: r.series.queue.map((q) => [q.t, q.vus]), dash: true },
    ],
  });

  const maxJob = Math.max(1, ...r.perUser.map((u) => u.meanJobMs ?? 0));
  const userRows = r.perUser.map((u) => {
    const wait = u.meanWaitMs ?? 0, job = u.meanJobMs ?? 0;
    return `<tr class="${u.failed ? 'bad' : ''}"><td>${esc(u.user)}</td><td class="num">${u.jobs}</td><td class="num">${u.failed || ''}</td><td class="num">${ms(u.meanWaitMs)}</td><td class="num">${ms(u.meanJobMs)}</td><td class="num">${ms(u.maxJobMs)}</td>
<td class="barcell"><div class="bar"><span class="wait" style="width:${(100 * wait) / maxJob}%"></span><span class="run" style="width:${(100 * Math.max(0, job - wait)) / maxJob}%"></span></div></td></tr>`;
  }).join('\n');

  const g = r.generator;
  const saturated = (g.eventLoopDelayP99Ms ?? 0) > 50 || g.cpuShareOfOneCore > 0.8;
  const own = r.run.engine.kind === 'shim';
  const c = r.cleanup;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Load test: ${esc(s.scenario)} — ${pass ? 'PASS' : 'FAIL'}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;margin:0;background:#f8fafc}
main{max-width:1140px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#475569;font-size:13px}
.verdict{border-radius:8px;padding:14px 18px;margin:16px 0;font-size:19px;font-weight:600}
.verdict.pass{background:#dcfce7;color:#14532d;border:1px solid #86efac} .verdict.fail{background:#fee2e2;color:#7f1d1d;border:1px solid #fca5a5}
.verdict ul{margin:6px 0 0;padding-left:20px;font-size:14px;font-weight:400}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px} th,td{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600;font-size:13px} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.ok td.res{color:#15803d;font-weight:600} tr.bad td.res{color:#b91c1c;font-weight:700} tr.bad{background:#fef2f2} tr.skip{color:#94a3b8}
td.res,td.lim{white-space:nowrap} .why{color:#64748b;font-size:12px} code{font-size:13px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px} .chart{background:#fff;border:1px solid #e2e8f0;border-radius:6px;max-width:100%;height:auto}
.chart .grid{stroke:#e2e8f0} .chart .axis{stroke:#94a3b8} .chart .tick{font-size:10px;fill:#64748b} .chart .title{font-size:12px;font-weight:600;fill:#0f172a}
.chart .legend{font-size:11px;fill:#334155} .chart .limit{stroke:#dc2626;stroke-dasharray:6 4} .chart .limit-label{font-size:10px;fill:#dc2626}
.chart .marker{stroke:#cbd5e1;stroke-dasharray:2 3} .chart .marker-label{font-size:9px;fill:#94a3b8}
.dot{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px}
.barcell{width:34%} .bar{display:flex;height:12px;background:#f1f5f9;border-radius:3px;overflow:hidden;margin-top:3px}
.bar .wait{background:#f59e0b} .bar .run{background:#3b82f6}
.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
.big{font-size:16px} .note{color:#475569;font-size:13px} .warn{color:#b45309}
</style></head><body><main>
<h1>Load test — ${esc(s.scenario)} scenario</h1>
<div class="meta">${esc(r.target)} (${r.run.targetKind === 'local' ? `local stand-in stack, container-nginx mode${r.run.workerDelayMs !== undefined ? `, mock GPU worker ${r.run.workerDelayMs} ms per job` : ''}` : 'remote'})
 · started ${esc(r.run.startedAt.replace('T', ' ').slice(0, 19))} UTC · ran ${clock(r.run.durationMs)} · ${s.ramp ? `ramp ${s.ramp.steps[0]?.users}→${s.ramp.steps[s.ramp.steps.length - 1]?.users} users` : `${s.vus} participants`} · ${r.jobs.done} jobs completed, ${r.jobs.failed} failed · run id ${esc(r.run.id)} · engine: ${esc(r.engine)}</div>
<div class="verdict ${pass ? 'pass' : 'fail'}">${esc(headline)}${r.reasons.length ? `<ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}</div>

<h2>${s.ramp ? 'Ramp: each step judged on its own' : 'Thresholds'}</h2>
${s.ramp ? rampTable : ''}
<table><thead><tr><th>criterion</th><th>limit</th><th class="num">measured</th><th>result</th></tr></thead><tbody>
${thresholdRows}
${fairnessRow}
</tbody></table>

<h2>Latency</h2>
<table><thead><tr><th></th><th class="num">count</th><th class="num">avg</th><th class="num">median</th><th class="num">p90</th><th class="num">p95</th><th class="num">p99</th><th class="num">max</th><th class="num">p95 limit</th></tr></thead><tbody>
${latRows}
${jobRow('Job: submit → completed seen', r.jobs.jobTime)}
${jobRow('Job: queue wait (started − created)', r.jobs.queueWait)}
</tbody></table>

<h2>Over time</h2>
<div class="grid2">
${charts}
</div>
<p>${queueChart}</p>

<h2>Per user</h2>
<p class="note">Each participant's jobs: mean time from submitting to seeing it completed, split into <span class="key"><span style="background:#f59e0b"></span>queue wait<span style="background:#3b82f6"></span>the rest (run, events, polling)</span>.</p>
<table><thead><tr><th>user</th><th class="num">jobs</th><th class="num">failed</th><th class="num">mean queue wait</th><th class="num">mean job time</th><th class="num">slowest job</th><th></th></tr></thead><tbody>
${userRows}
</tbody></table>

<h2>The load generator and clean-up</h2>
<p class="note">Load generator (${esc(r.engine)}, ${own ? 'this process' : 'a process of its own'}): ${g.cpuSeconds} s CPU for ${g.vuSeconds} VU-seconds =
<b>${g.cpuMsPerVuSecond ?? '–'} ms CPU per VU per second</b>; ${Math.round(g.cpuShareOfOneCore * 100)} % of one core on average;${g.eventLoopDelayP99Ms === null ? '' : ` event-loop delay p99 ${g.eventLoopDelayP99Ms} ms (max ${g.eventLoopDelayMaxMs} ms);`} peak memory ${g.peakRssMb} MB.
${saturated ? '<span class="warn">The generator was busy enough to add to the latencies it measured: read them as upper bounds.</span>' : ''}</p>
<p class="note">Clean-up: this run submitted ${c.submitted} jobs (metadata <code>{"comfy-verify": true, "run": "${esc(r.run.id)}"}</code>); ${c.deleted} pending or running ones were deleted; ${c.leftFinished} finished ones stay in the queue's history, as the API cannot delete completed jobs.${c.errors.length ? ` <span class="warn">${esc(c.errors.length)} deletions failed: ${esc(c.errors.slice(0, 3).join('; '))}</span>` : ''}${r.run.aborted ? ` <span class="warn">The run stopped early: ${esc(r.run.aborted)}.</span>` : ''}</p>
</main></body></html>
`;
}
