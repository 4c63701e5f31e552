// k6's JSON output (`k6 run --out json=FILE`), both ways: one JSON object per line, a `Metric` line
// the first time a metric appears, then a `Point` line per sample
// (https://grafana.com/docs/k6/latest/results-output/real-time/json/). The shim writes it, so it can
// stand in for k6; the load command reads it from the operator's k6 while k6 runs.
import { createWriteStream } from 'node:fs';
import { parseSubmetric, type Sample, type MetricType, type Registry } from './metrics.ts';

interface MetricData {
  name?: string; type: MetricType; contains: 'time' | 'data' | 'default'; tainted?: null; thresholds: string[]; submetrics: SubmetricData[] | null;
}
/** A sub-metric a threshold made (`name{tag:value}`): its own thresholds, and what selects it. */
interface SubmetricData extends MetricData { sub: { name: string; parent: string; suffix: string; tags: Record<string, string> } }
interface MetricLine { type: 'Metric'; metric: string; data: MetricData }
interface PointLine { type: 'Point'; metric: string; data: { time: string; value: number; tags: Record<string, string> | null } }

const DATA = new Set(['data_sent', 'data_received']);

/** A metric's header line as k6 writes it: its type, what it holds, its thresholds and the sub-metrics
 *  thresholds made of it, each with its own (https://grafana.com/docs/k6/latest/results-output/real-time/json/). */
export function metricData(registry: Registry, name: string, type: MetricType): MetricData {
  const m = registry.metrics.get(name);
  const contains = m?.isTime ? 'time' : DATA.has(name) ? 'data' : 'default';
  const subs = [...registry.thresholds.keys()].filter((k) => k.startsWith(`${name}{`)).map((key): SubmetricData => {
    const suffix = key.slice(name.length + 1, -1);
    return {
      name: key, type, contains, tainted: null, thresholds: (registry.thresholds.get(key) ?? []).map((t) => t.source), submetrics: null,
      sub: { name: suffix, parent: name, suffix, tags: parseSubmetric(key).tags },
    };
  });
  return {
    name, type, contains, tainted: null, thresholds: (registry.thresholds.get(name) ?? []).map((t) => t.source), submetrics: subs.length ? subs : null,
  };
}

/** Writes samples as k6 does; the registry gives each metric's header (type, thresholds, sub-metrics). */
export function jsonOutput(file: string, registry: () => Registry): { sample: (s: Sample) => void; close: () => Promise<void> } {
  const out = createWriteStream(file);
  const seen = new Set<string>();
  let closed = false;
  return {
    sample: (s) => {
      if (closed) return; // a VU thread's last batch may land after the run has ended: the output is complete
      if (!seen.has(s.metric)) {
        seen.add(s.metric);
        const m: MetricLine = { type: 'Metric', metric: s.metric, data: metricData(registry(), s.metric, s.type) };
        out.write(`${JSON.stringify(m)}\n`);
      }
      // k6's tag values are strings (the shim keeps what the script set, e.g. a number in vu.metrics.tags)
      const tags = Object.fromEntries(Object.entries(s.tags).map(([k, v]) => [k, String(v)]));
      const p: PointLine = { type: 'Point', metric: s.metric, data: { time: new Date(s.time).toISOString(), value: s.value, tags } };
      out.write(`${JSON.stringify(p)}\n`);
    },
    close: () => { closed = true; return new Promise((resolve) => out.end(resolve)); },
  };
}

/** Reads k6's JSON lines as they come (chunks may end mid-line) and hands each Point on as a Sample,
 *  the shape the shim's onSample gives: time in ms, tags as strings, the type from its Metric line. */
export function jsonReader(onSample: (s: Sample) => void): { push: (chunk: string) => void } {
  const types = new Map<string, MetricType>();
  const line = (text: string) => {
    let j: MetricLine | PointLine;
    try { j = JSON.parse(text); } catch { return; } // not ours to judge: k6 may add other kinds of line
    if (j.type === 'Metric') types.set(j.metric, j.data.type);
    else if (j.type === 'Point') {
      const tags = Object.fromEntries(Object.entries(j.data.tags ?? {}).map(([k, v]) => [k, String(v)]));
      onSample({ metric: j.metric, type: types.get(j.metric) ?? 'trend', value: j.data.value, time: k6Time(j.data.time), tags });
    }
  };
  return { push: splitLines(line) };
}

/** Whole lines from chunks of text (a chunk may end mid-line). */
export function splitLines(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    lines.filter((l) => l.trim()).forEach(onLine);
  };
}

/** Go writes nanoseconds ("…45.625742514+02:00"); milliseconds are what the samples carry. */
export const k6Time = (t: string): number => Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
