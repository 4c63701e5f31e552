// Small inline SVG charts for the load report: no script, no external file, readable when printed.

export interface Series { name: string; color: string; points: [number, number][]; dash?: boolean; area?: boolean }
export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
  /** x axis length in ms (points are [ms since start, value]) */
  xMaxMs: number;
  series: Series[];
  unit: string;
  /** a dashed horizontal line: the threshold */
  limit?: { value: number; label: string };
  /** vertical markers, e.g. ramp steps */
  markers?: { t: number; label: string }[];
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** A round number at or above v (1, 2, 2.5, 5 × 10^n). */
function niceCeil(v: number): number {
  if (v <= 0 || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v)!;
}
export const clock = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
const num = (v: number, unit: string) => (unit === 'ms' && v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${+v.toFixed(1)}${unit ? ` ${unit}` : ''}`);

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 540, H = o.height ?? 220, L = 56, R = 14, T = 34, B = 30;
  const pw = W - L - R, ph = H - T - B;
  const ys = o.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const yMax = niceCeil(Math.max(1, ...ys, (o.limit?.value ?? 0) * 1.2));
  const xMax = Math.max(o.xMaxMs, 1000);
  const x = (t: number) => L + (Math.min(t, xMax) / xMax) * pw;
  const y = (v: number) => T + ph - (Math.min(v, yMax) / yMax) * ph;
  const parts: string[] = [];
  // grid and axes
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${L - 6}" y="${y(v) + 4}" class="tick" text-anchor="end">${esc(num(v, o.unit))}</text>`);
  }
  const step = [5, 10, 15, 30, 60, 120, 300, 600, 900].map((s) => s * 1000).find((s) => xMax / s <= 8) ?? 1_800_000;
  for (let t = 0; t <= xMax; t += step) parts.push(`<text x="${x(t)}" y="${H - B + 16}" class="tick" text-anchor="middle">${clock(t)}</text>`);
  for (const m of o.markers ?? []) {
    parts.push(`<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${T}" y2="${T + ph}" class="marker"/><text x="${x(m.t) + 3}" y="${T + 10}" class="marker-label">${esc(m.label)}</text>`);
  }
  if (o.limit) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(o.limit.value)}" y2="${y(o.limit.value)}" class="limit"/><text x="${W - R - 4}" y="${y(o.limit.value) - 5}" class="limit-label" text-anchor="end">${esc(o.limit.label)}</text>`);
  }
  // lines (a NaN breaks the line)
  for (const s of o.series) {
    const segs: string[][] = [[]];
    for (const [t, v] of s.points) {
      if (Number.isFinite(v)) segs[segs.length - 1].push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      else if (segs[segs.length - 1].length) segs.push([]);
    }
    for (const seg of segs.filter((g) => g.length)) {
      const [x0] = seg[0].split(','), [x1] = seg[seg.length - 1].split(',');
      if (s.area) parts.push(`<polygon points="${x0},${T + ph} ${seg.join(' ')} ${x1},${T + ph}" fill="${s.color}" opacity="0.15"/>`);
      if (seg.length === 1) parts.push(`<circle cx="${seg[0].split(',')[0]}" cy="${seg[0].split(',')[1]}" r="2.5" fill="${s.color}"/>`);
      else parts.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="4 3"' : ''}/>`);
    }
  }
  // title and legend
  let lx = L;
  const legend = o.series.map((s) => {
    const item = `<rect x="${lx}" y="${T - 14}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${T - 5}" class="legend">${esc(s.name)}</text>`;
    lx += 24 + s.name.length * 6.4;
    return item;
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">
<text x="${L}" y="14" class="title">${esc(o.title)}</text>${legend.join('')}
<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" class="axis"/><line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" class="axis"/>
${parts.join('\n')}
</svg>`;
}

/** p95 per time bucket, for a latency chart. */
export function bucketP95(points: [number, number][], bucketMs: number): [number, number][] {
  const buckets = new Map<number, number[]>();
  for (const [t, v] of points) {
    const b = Math.floor(t / bucketMs);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b)!.push(v);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, vs]) => [(b + 0.5) * bucketMs, percentile(vs, 95)]);
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const i = (p / 100) * (v.length - 1);
  return v[Math.floor(i)] + (v[Math.ceil(i)] - v[Math.floor(i)]) * (i - Math.floor(i));
}
