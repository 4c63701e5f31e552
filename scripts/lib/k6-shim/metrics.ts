// Metrics as k6 keeps them: four kinds of sink, sub-metrics selected by tags, and thresholds in
// k6's expression syntax. Written from k6's documented behaviour, not from its code.

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type Tags = Record<string, string>;
export interface Sample { metric: string; type: MetricType; value: number; time: number; tags: Tags }

/** Go-style durations as k6 options use them: '300ms', '30s', '5m', '1m30s', '1h'. */
export function parseDuration(v: string | number | undefined, fallbackMs = 0): number {
  if (v === undefined || v === '') return fallbackMs;
  if (typeof v === 'number') return v; // k6 reads bare numbers as milliseconds
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let ms = 0, m: RegExpExecArray | null, end = 0;
  while ((m = re.exec(v))) { ms += Number(m[1]) * { ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[m[2] as 'ms']; end = re.lastIndex; }
  if (end !== v.length || !end) throw new Error(`invalid duration "${v}"`);
  return ms;
}

export class Sink {
  values: number[] = [];
  private sorted = true;
  count = 0; sum = 0; min = Infinity; max = -Infinity; last = 0; nonZero = 0;
  constructor(readonly type: MetricType) {}
  add(v: number): void {
    this.count++; this.sum += v; this.last = v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v !== 0) this.nonZero++;
    if (this.type === 'trend') { if (this.values.length && v < this.values[this.values.length - 1]) this.sorted = false; this.values.push(v); }
  }
  /** Percentile with linear interpolation between the two nearest ranks. */
  p(pct: number): number {
    if (!this.values.length) return 0;
    if (!this.sorted) { this.values.sort((a, b) => a - b); this.sorted = true; }
    const i = (pct / 100) * (this.values.length - 1);
    const lo = this.values[Math.floor(i)], hi = this.values[Math.ceil(i)];
    return lo + (hi - lo) * (i - Math.floor(i));
  }
  /** One aggregate by k6's name: avg, min, max, med, p(N), count, rate, value, passes, fails. */
  stat(name: string, durationS: number): number {
    const pm = /^p\((\d+(?:\.\d+)?)\)$/.exec(name);
    if (pm) return this.p(Number(pm[1]));
    switch (name) {
      case 'avg': return this.count ? this.sum / this.count : 0;
      case 'min': return this.count ? this.min : 0;
      case 'max': return this.count ? this.max : 0;
      case 'med': return this.p(50);
      case 'count': return this.type === 'counter' ? this.sum : this.count;
      case 'rate': return this.type === 'rate' ? (this.count ? this.nonZero / this.count : 0) : durationS > 0 ? this.sum / durationS : 0;
      case 'value': return this.last;
      case 'passes': return this.nonZero;
      case 'fails': return this.count - this.nonZero;
    }
    throw new Error(`unknown aggregation "${name}"`);
  }
  /** The `values` object k6 puts in handleSummary's data for this kind of metric. */
  summary(trendStats: string[], durationS: number): Record<string, number> {
    const pick = (names: string[]) => Object.fromEntries(names.map((n) => [n, this.stat(n, durationS)]));
    if (this.type === 'trend') return pick(trendStats);
    if (this.type === 'counter') return pick(['count', 'rate']);
    if (this.type === 'rate') return pick(['rate', 'passes', 'fails']);
    return pick(['value', 'min', 'max']);
  }
}

// What a threshold may aggregate, by metric type (https://grafana.com/docs/k6/latest/using-k6/thresholds/#aggregation-methods-by-type).
const AGG_BY_TYPE: Record<MetricType, RegExp> = {
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/, counter: /^(count|rate)$/, rate: /^rate$/, gauge: /^value$/,
};

export interface Threshold {
  /** as written, e.g. 'p(95)<500' */
  source: string;
  agg: string;
  op: string;
  limit: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  ok: boolean;
  /** the value last compared, for reports */
  actual?: number;
}

export function parseThreshold(t: string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string }): Threshold {
  const o = typeof t === 'string' ? { threshold: t } : t;
  const m = /^\s*(avg|min|max|med|count|rate|value|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(o.threshold);
  if (!m) throw new Error(`invalid threshold "${o.threshold}" (k6 syntax: AGG OP NUMBER, e.g. p(95)<500, rate<0.01)`);
  const pct = /^p\((.*)\)$/.exec(m[1]);
  if (pct && Number(pct[1]) > 100) throw new Error(`invalid threshold "${o.threshold}": a percentile is between 0 and 100, not ${pct[1]}`);
  return { source: o.threshold, agg: m[1], op: m[2], limit: Number(m[3]), abortOnFail: !!o.abortOnFail, delayAbortEvalMs: parseDuration(o.delayAbortEval), ok: true };
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b,
  '==': (a, b) => a === b, '===': (a, b) => a === b, '!=': (a, b) => a !== b,
};

interface Metric { name: string; type: MetricType; isTime: boolean; sink: Sink; subs: Map<string, { tags: Tags; sink: Sink }> }

/** `name{tag:value,tag2:value2}` -> the parent metric's name and the tags a sample must carry. */
export function parseSubmetric(key: string): { name: string; tags: Tags } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`invalid metric name "${key}"`);
  const tags: Tags = {};
  for (const part of (m[2] ?? '').split(',').filter((x) => x.trim())) {
    const i = part.indexOf(':');
    if (i < 0) throw new Error(`invalid sub-metric "${key}": expected {tag:value}`);
    tags[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/^["']|["']$/g, '');
  }
  return { name: m[1].trim(), tags };
}

export class Registry {
  readonly metrics = new Map<string, Metric>();
  /** key as written in options.thresholds -> its thresholds */
  readonly thresholds = new Map<string, Threshold[]>();
  private listeners: ((s: Sample) => void)[] = [];
  /** sub-metrics followed without a threshold (k6's http_req_duration{expected_response:true}) */
  private readonly tracked = new Set<string>();

  define(name: string, type: MetricType, isTime = false): void {
    const m = this.metrics.get(name);
    if (m && m.type !== type) throw new Error(`metric "${name}" is already a ${m.type}, not a ${type}`);
    if (!m) this.metrics.set(name, { name, type, isTime, sink: new Sink(type), subs: new Map() });
    for (const key of [...this.thresholds.keys(), ...this.tracked]) this.attach(key);
  }

  track(key: string): void { this.tracked.add(key); this.attach(key); }

  setThresholds(all: Record<string, (string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string })[]>): void {
    for (const [key, list] of Object.entries(all)) {
      this.thresholds.set(key, list.map(parseThreshold));
      this.attach(key);
    }
  }

  /** Sub-metric sinks exist as soon as both the threshold and its metric are known. */
  private attach(key: string): void {
    const { name, tags } = parseSubmetric(key);
    const m = this.metrics.get(name);
    if (m && Object.keys(tags).length && !m.subs.has(key)) m.subs.set(key, { tags, sink: new Sink(m.type) });
  }

  onSample(fn: (s: Sample) => void): void { this.listeners.push(fn); }

  add(s: Sample): void {
    const m = this.metrics.get(s.metric);
    if (!m) throw new Error(`metric ${s.metric} was never defined`);
    m.sink.add(s.value);
    for (const sub of m.subs.values()) if (Object.entries(sub.tags).every(([k, v]) => s.tags[k] === v)) sub.sink.add(s.value);
    for (const fn of this.listeners) fn(s);
  }

  sink(key: string): Sink | undefined {
    const { name, tags } = parseSubmetric(key);
    const m = this.metrics.get(name);
    return Object.keys(tags).length ? m?.subs.get(key)?.sink : m?.sink;
  }

  /** Evaluates every threshold; returns the ones that fail, as "key: expression". */
  /** Failed thresholds. With `final` (the end of the run), a threshold on a metric that got no sample
   *  at all fails too, saying so: a load test that sent nothing has proved nothing. */
  evaluate(durationS: number, final = false): string[] {
    const failed: string[] = [];
    for (const [key, list] of this.thresholds) {
      const { name } = parseSubmetric(key);
      const m = this.metrics.get(name);
      if (!m) throw new Error(`threshold on unknown metric "${name}"`);
      for (const t of list) {
        if (!AGG_BY_TYPE[m.type].test(t.agg)) throw new Error(`threshold "${t.source}" on ${key}: ${t.agg} is not an aggregation of a ${m.type}`);
        const sink = this.sink(key) ?? new Sink(m.type);
        t.actual = sink.stat(t.agg, durationS);
        // The metric itself never sampled (not one tagged slice of it: a ramp step not reached is fine).
        const never = final && m.sink.count === 0;
        t.ok = COMPARE[t.op](t.actual, t.limit) && !never;
        if (!t.ok) failed.push(`${key}: ${t.source}${never ? ` (no sample of ${name} at all)` : ''}`);
      }
    }
    return failed;
  }

  /** Thresholds with abortOnFail that fail now, once their delayAbortEval has passed. */
  abortingNow(elapsedMs: number, durationS: number): string[] {
    this.evaluate(durationS);
    const out: string[] = [];
    for (const [key, list] of this.thresholds) for (const t of list) if (t.abortOnFail && !t.ok && elapsedMs >= t.delayAbortEvalMs) out.push(`${key}: ${t.source}`);
    return out;
  }
}
