// handleSummary's work: the verdict from k6's threshold results, plus what k6 cannot express as a
// threshold: fairness across users (from per-user sub-metrics) and, for the ramp, the headroom
// (the largest user count whose step met every threshold). Plain data in, text and JSON out.
import { isReportOnly, rampSteps, type Settings } from './config.ts';

/** The part of k6's handleSummary data used here. */
export interface SummaryData {
  state: { testRunDurationMs: number };
  root_group: { checks: { name: string; passes: number; fails: number }[] };
  metrics: Record<string, { type: string; contains: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
}

export interface ThresholdRow { metric: string; expression: string; ok: boolean; value: number | null; unit: string }
export interface Fairness { ok: boolean; ratio: number | null; limit: number; meanMs: number | null; slowest: { user: string; meanMs: number } | null; users: Record<string, { jobs: number; meanMs: number }> }
export interface RampStep { users: number; startMs: number; reached: boolean; ok: boolean; failed: string[] }
export interface LoadSummary {
  scenario: string;
  target: string;
  vus: number;
  workspaces: number;
  durationMs: number;
  verdict: 'pass' | 'fail';
  reasons: string[];
  thresholds: ThresholdRow[];
  fairness: Fairness;
  ramp?: { steps: RampStep[]; headroom: number; brokeAt: number | null; needed: number };
  limits: Settings['limits'];
  checks: { name: string; passes: number; fails: number }[];
  metrics: SummaryData['metrics'];
}

const fmt = (v: number | null, unit: string) => (v === null ? 'n/a' : unit === 'ms' ? `${Math.round(v)} ms` : `${+v.toFixed(4)}`);

export function report(s: Settings, data: SummaryData): { text: string; json: LoadSummary } {
  const rows: ThresholdRow[] = [];
  for (const [metric, m] of Object.entries(data.metrics)) {
    for (const [expression, t] of Object.entries(m.thresholds ?? {})) {
      if (isReportOnly(expression)) continue;
      const agg = /^(\w+(?:\(\d+(?:\.\d+)?\))?)/.exec(expression)?.[1] ?? '';
      rows.push({ metric, expression, ok: t.ok, value: m.values[agg] ?? null, unit: m.contains === 'time' ? 'ms' : '' });
    }
  }

  // Fairness: each user's mean queue wait against the mean of all jobs.
  const users: Fairness['users'] = {};
  for (const [key, m] of Object.entries(data.metrics)) {
    const u = /^queue_wait\{user:([\w-]+)\}$/.exec(key)?.[1];
    if (u && m.values.count) users[u] = { jobs: m.values.count, meanMs: m.values.avg };
  }
  const all = data.metrics.queue_wait?.values;
  const meanMs = all?.count ? all.avg : null;
  const slowest = Object.entries(users).sort((a, b) => b[1].meanMs - a[1].meanMs)[0];
  const ratio = meanMs === null || !slowest ? null : slowest[1].meanMs / Math.max(meanMs, s.limits.fairnessFloorMs);
  const fairness: Fairness = {
    ok: ratio === null || ratio <= s.limits.fairness, ratio, limit: s.limits.fairness, meanMs,
    slowest: slowest ? { user: slowest[0], meanMs: slowest[1].meanMs } : null, users,
  };

  const reasons: string[] = [];
  let ramp: LoadSummary['ramp'];
  if (s.scenario === 'ramp') {
    const steps: RampStep[] = rampSteps(s).map((st) => {
      const tag = `users:${st.users}`;
      const mine = rows.filter((r) => r.metric.includes(tag));
      return {
        users: st.users, startMs: st.startMs, reached: (data.metrics[`http_reqs{${tag}}`]?.values.count ?? 0) > 0, ok: mine.every((r) => r.ok),
        failed: mine.filter((r) => !r.ok).map((r) => `${r.metric.replace(new RegExp(`,?${tag}`), '').replace('{}', '')} ${r.expression} (${fmt(r.value, r.unit)})`),
      };
    });
    let headroom = 0, brokeAt: number | null = null;
    for (const st of steps) {
      if (!st.reached) break;
      if (!st.ok) { brokeAt = st.users; break; }
      headroom = st.users;
    }
    ramp = { steps, headroom, brokeAt, needed: s.vus };
    if (headroom < s.vus) reasons.push(`the stack held ${headroom} users within the thresholds, fewer than the ${s.vus} needed${brokeAt ? ` (at ${brokeAt}: ${steps.find((x) => x.users === brokeAt)!.failed.join('; ')})` : ''}`);
  } else {
    for (const r of rows) if (!r.ok) reasons.push(`${r.metric} ${r.expression}: measured ${fmt(r.value, r.unit)}`);
  }
  if (!fairness.ok) reasons.push(`unfair queue: ${fairness.slowest!.user} waited ${fmt(fairness.slowest!.meanMs, 'ms')} on average, ${fairness.ratio!.toFixed(2)}× the mean ${fmt(meanMs, 'ms')} (limit ${s.limits.fairness}×)`);

  const json: LoadSummary = {
    scenario: s.scenario, target: s.baseUrl, vus: s.vus, workspaces: s.workspaces, durationMs: data.state.testRunDurationMs,
    verdict: reasons.length ? 'fail' : 'pass', reasons, thresholds: rows, fairness, ramp, limits: s.limits,
    checks: data.root_group.checks.map(({ name, passes, fails }) => ({ name, passes, fails })), metrics: data.metrics,
  };
  return { text: text(json), json };
}

function text(r: LoadSummary): string {
  const lines = [`\n${r.verdict === 'pass' ? 'PASS' : 'FAIL'}: ${r.scenario} scenario against ${r.target} (${r.ramp ? `ramp to ${r.ramp.steps[r.ramp.steps.length - 1]?.users} users` : `${r.vus} users`}, ${Math.round(r.durationMs / 1000)} s)`];
  if (r.ramp) {
    for (const st of r.ramp.steps.filter((x) => x.reached)) lines.push(`  ${st.ok ? '✓' : '✗'} ${String(st.users).padStart(3)} users${st.ok ? '' : `: ${st.failed.join('; ')}`}`);
    lines.push(`  headroom: ${r.ramp.headroom} users within every threshold${r.ramp.brokeAt ? `; broke at ${r.ramp.brokeAt}` : ' (the ramp never broke them)'}`);
  } else {
    for (const t of r.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression} (${fmt(t.value, t.unit)})`);
  }
  const f = r.fairness;
  lines.push(`  ${f.ok ? '✓' : '✗'} fairness: slowest user's mean queue wait ${f.ratio === null ? 'n/a' : `${f.ratio.toFixed(2)}×`} the mean (limit ${f.limit}×)`);
  for (const reason of r.reasons) lines.push(`  → ${reason}`);
  return `${lines.join('\n')}\n`;
}
