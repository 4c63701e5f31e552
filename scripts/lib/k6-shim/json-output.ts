// k6's JSON output (`k6 run --out json=FILE`), both ways: one JSON object per line, a `Metric` line
// the first time a metric appears, then a `Point` line per sample
// (https://grafana.com/docs/k6/latest/results-output/real-time/json/). The shim writes it, so it can
// stand in for k6; the load command reads it from the operator's k6 while k6 runs.
import { createWriteStream } from 'node:fs';
import type { Sample, MetricType } from './metrics.ts';

interface MetricLine { type: 'Metric'; metric: string; data: { name?: string; type: MetricType; contains: 'time' | 'default'; thresholds: string[]; submetrics: null } }
interface PointLine { type: 'Point'; metric: string; data: { time: string; value: number; tags: Record<string, string> | null } }

/** Writes samples as k6 does; `isTime` says which metrics hold durations (k6's `contains: "time"`). */
export function jsonOutput(file: string, isTime: (metric: string) => boolean): { sample: (s: Sample) => void; close: () => Promise<void> } {
  const out = createWriteStream(file);
  const seen = new Set<string>();
  return {
    sample: (s) => {
      if (!seen.has(s.metric)) {
        seen.add(s.metric);
        const m: MetricLine = { type: 'Metric', metric: s.metric, data: { name: s.metric, type: s.type, contains: isTime(s.metric) ? 'time' : 'default', thresholds: [], submetrics: null } };
        out.write(`${JSON.stringify(m)}\n`);
      }
      // k6's tag values are strings (the shim keeps what the script set, e.g. a number in vu.metrics.tags)
      const tags = Object.fromEntries(Object.entries(s.tags).map(([k, v]) => [k, String(v)]));
      const p: PointLine = { type: 'Point', metric: s.metric, data: { time: new Date(s.time).toISOString(), value: s.value, tags } };
      out.write(`${JSON.stringify(p)}\n`);
    },
    close: () => new Promise((resolve) => out.end(resolve)),
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
