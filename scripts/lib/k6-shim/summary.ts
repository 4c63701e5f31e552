// What handleSummary receives (k6's summary data) and, without handleSummary, the end-of-test
// summary printed the way k6 prints it in its default "compact" mode
// (https://grafana.com/docs/k6/latest/results-output/end-of-test/): thresholds first, then the
// checks, then the metrics by category (CUSTOM, HTTP, EXECUTION, NETWORK, WEBSOCKET).
import { createHash } from 'node:crypto';
import { Sink, type MetricType, type Registry } from './metrics.ts';

interface Check { name: string; path: string; id: string; passes: number; fails: number }
interface Group { name: string; path: string; id: string; groups: Group[]; checks: Check[] }
/** k6's ids are the MD5 of the path ("" for the root group: d41d8cd9…). */
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Checks by group path ("::outer::inner") and name, as the root_group tree of handleSummary's data. */
export class CheckTally {
  private readonly root: Group = { name: '', path: '', id: md5(''), groups: [], checks: [] };
  group(path: string): Group {
    let g = this.root;
    for (const name of path.split('::').slice(1)) {
      const p = `${g.path}::${name}`;
      let next = g.groups.find((x) => x.path === p);
      if (!next) g.groups.push((next = { name, path: p, id: md5(p), groups: [], checks: [] }));
      g = next;
    }
    return g;
  }
  count(groupPath: string, name: string, ok: boolean): void {
    const g = this.group(groupPath);
    const path = `${groupPath}::${name}`;
    let c = g.checks.find((x) => x.name === name);
    if (!c) g.checks.push((c = { name, path, id: md5(path), passes: 0, fails: 0 }));
    c[ok ? 'passes' : 'fails']++;
  }
  tree(): Group { return structuredClone(this.root); }
}

export interface SummaryData {
  root_group: Group;
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  metrics: Record<string, { type: MetricType; contains: 'time' | 'default' | 'data'; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
  setup_data?: unknown;
}

export function emptyData(): SummaryData {
  return {
    root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [] },
    options: { summaryTrendStats: [], summaryTimeUnit: '', noColor: false }, state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 0 }, metrics: {},
  };
}

/** k6 always follows these sub-metrics, thresholds or not. */
export const DEFAULT_SUBMETRICS = ['http_req_duration{expected_response:true}'];
const DATA = new Set(['data_sent', 'data_received']);

export function summaryData(registry: Registry, checks: CheckTally, trendStats: string[], durationMs: number, setupData: unknown): SummaryData {
  const d = emptyData();
  d.options.summaryTrendStats = trendStats;
  d.state = { isStdOutTTY: !!process.stdout.isTTY, isStdErrTTY: !!process.stderr.isTTY, testRunDurationMs: durationMs };
  d.root_group = checks.tree();
  const s = durationMs / 1000;
  for (const m of registry.metrics.values()) {
    const subs = [...registry.thresholds.keys(), ...DEFAULT_SUBMETRICS].filter((k) => k.startsWith(`${m.name}{`));
    const own = registry.thresholds.has(m.name);
    if (!m.sink.count && !own && !subs.some((k) => registry.thresholds.has(k))) continue; // k6 shows metrics that had samples (or thresholds)
    for (const key of [m.name, ...new Set(subs)]) {
      const sink = registry.sink(key);
      const th = registry.thresholds.get(key);
      if (key !== m.name && !th && !sink?.count) continue;
      d.metrics[key] = {
        type: m.type, contains: m.isTime ? 'time' : DATA.has(m.name) ? 'data' : 'default',
        values: (sink ?? new Sink(m.type)).summary(trendStats, s),
        ...(th ? { thresholds: Object.fromEntries(th.map((t) => [t.source, { ok: t.ok }])) } : {}),
      };
    }
  }
  if (setupData !== undefined) d.setup_data = setupData;
  return d;
}

// ---------- the text ----------

const category = (name: string) => (name.startsWith('http_') ? 'HTTP' : name.startsWith('ws_') ? 'WEBSOCKET' : DATA.has(name) ? 'NETWORK'
  : ['iterations', 'iteration_duration', 'vus', 'vus_max', 'dropped_iterations', 'group_duration'].includes(name) ? 'EXECUTION' : name === 'checks' ? '' : 'CUSTOM');
const ORDER = ['CUSTOM', 'HTTP', 'EXECUTION', 'NETWORK', 'WEBSOCKET'];

/** Go's way of writing a duration, as k6 prints them: 0s, 5µs, 148.21ms, 1.35s, 1m2s. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  const trim = (v: number) => String(+v.toFixed(2));
  if (ms < 1) return `${trim(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  return `${Math.floor(ms / 60_000)}m${trim((ms % 60_000) / 1000)}s`;
}
/** Bytes in SI units, as k6 prints data_sent / data_received: 4.9 kB, 1.3 MB. */
export function formatBytes(b: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  for (; b >= 1000 && i < units.length - 1; i++) b /= 1000;
  return `${i ? +b.toFixed(1) : Math.round(b)} ${units[i]}`;
}
const num = (v: number) => String(+v.toFixed(6));
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const dots = (label: string, indent: number) => `${' '.repeat(indent)}${label}${'.'.repeat(Math.max(3, 39 - indent - label.length))}: `;

function valueText(m: SummaryData['metrics'][string]): string {
  const v = m.values;
  const fmt = m.contains === 'time' ? formatMs : num;
  switch (m.type) {
    case 'trend': return Object.entries(v).map(([k, x]) => `${k}=${fmt(x)}`.padEnd(k.startsWith('p(') ? 15 : 13)).join(' ').trimEnd();
    case 'counter': return m.contains === 'data' ? `${formatBytes(v.count).padEnd(7)}${formatBytes(v.rate)}/s` : `${num(v.count).padEnd(7)}${num(v.rate)}/s`;
    case 'rate': return `${pct(v.rate).padEnd(7)}${v.passes} out of ${v.passes + v.fails}`;
    case 'gauge': return `${num(v.value).padEnd(7)}min=${num(v.min).padEnd(8)}max=${num(v.max)}`;
  }
}

/** The end-of-test summary in k6's compact layout. */
export function textSummary(d: SummaryData, registry: Registry): string {
  const out: string[] = [''];
  const thresholds = [...registry.thresholds];
  if (thresholds.length) {
    out.push('  █ THRESHOLDS', '');
    for (const [key, list] of thresholds) {
      out.push(`    ${key}`);
      const isTime = d.metrics[key]?.contains === 'time';
      const isRate = d.metrics[key]?.type === 'rate';
      for (const t of list) {
        const actual = t.actual === undefined ? '' : ` ${t.agg}=${isTime ? formatMs(t.actual) : isRate && t.agg === 'rate' ? pct(t.actual) : num(t.actual)}`;
        out.push(`    ${t.ok ? '✓' : '✗'} '${t.source}'${actual}`);
      }
      out.push('');
    }
    out.push('');
  }
  out.push('  █ TOTAL RESULTS', '');
  const checks = d.metrics.checks;
  if (checks) {
    const total = checks.values.passes + checks.values.fails;
    const rate = d.state.testRunDurationMs ? total / (d.state.testRunDurationMs / 1000) : 0;
    out.push(`${dots('checks_total', 4)}${String(total).padEnd(7)} ${num(rate)}/s`);
    out.push(`${dots('checks_succeeded', 4)}${pct(total ? checks.values.passes / total : 0).padEnd(7)} ${checks.values.passes} out of ${total}`);
    out.push(`${dots('checks_failed', 4)}${pct(total ? checks.values.fails / total : 0).padEnd(7)} ${checks.values.fails} out of ${total}`, '');
    // every group's checks under the group's name, as k6's summary nests them
    const walk = (g: Group, depth: number) => {
      const pad = ' '.repeat(4 + 2 * depth);
      if (depth) out.push(`${' '.repeat(2 + 2 * depth)}█ ${g.name}`);
      for (const c of g.checks) {
        out.push(`${pad}${c.fails ? '✗' : '✓'} ${c.name}`);
        if (c.fails) out.push(`${pad}  ↳  ${Math.floor((100 * c.passes) / (c.passes + c.fails))}% — ✓ ${c.passes} / ✗ ${c.fails}`);
      }
      g.groups.forEach((x) => walk(x, depth + 1));
    };
    walk(d.root_group, 0);
    out.push('');
  }
  const names = Object.keys(d.metrics).filter((k) => !k.includes('{')).sort();
  for (const cat of ORDER) {
    const mine = names.filter((n) => category(n) === cat);
    if (!mine.length) continue;
    out.push(`    ${cat}`);
    for (const n of mine) {
      out.push(`${dots(n, 4)}${valueText(d.metrics[n])}`);
      for (const sub of Object.keys(d.metrics).filter((k) => k.startsWith(`${n}{`))) out.push(`${dots(`{ ${sub.slice(n.length + 1, -1)} }`, 6)}${valueText(d.metrics[sub])}`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
