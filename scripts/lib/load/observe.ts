// What the harness sees of a load run beyond k6's end-of-test summary: samples over time (for
// the charts and the progress line), per-user job times, the job ids the run created (to clean
// up), the queue depth each second, and what the load generator itself cost.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Sample } from '../k6-shim/metrics.ts';
import type { Live } from '../k6-shim/run.ts';
import type { ProcessUsage } from './engine.ts';
import type { Target } from '../../../suites/lib/target.ts';

/** The latencies charted and shown while running: metric key -> how to pick its samples. */
export const LATENCIES = {
  page: { label: 'Opening a workspace', pick: (s: Sample) => s.metric === 'page_load' },
  api: { label: 'Queue API call', pick: (s: Sample) => s.metric === 'http_req_duration' && s.tags.kind === 'api' },
  wsConnect: { label: 'WebSocket connect', pick: (s: Sample) => s.metric === 'ws_connecting' },
  wsRtt: { label: 'WebSocket round trip', pick: (s: Sample) => s.metric === 'ws_rtt' },
} as const;
export type LatencyKey = keyof typeof LATENCIES;

export interface QueuePoint { t: number; pending: number; running: number; vus: number }
export interface UserStats { user: string; jobs: number; failed: number; jobTimes: number[]; waits: number[] }

export class Observer {
  start = Date.now();
  readonly latency: Record<LatencyKey, [number, number][]> = { page: [], api: [], wsConnect: [], wsRtt: [] };
  readonly queue: QueuePoint[] = [];
  readonly users = new Map<string, UserStats>();
  readonly submitted = new Map<string, string>(); // job id -> user
  readonly settled = new Set<string>();
  jobsDone = 0;
  deletedByVus = 0;
  jobsFailed = 0;
  httpFailed = 0;
  private cpu0 = process.cpuUsage();
  private vuSeconds = 0;
  private lastVuTick = 0;
  private rss = 0;
  private loop = monitorEventLoopDelay({ resolution: 20 });
  private childCpu0 = 0;

  /** `child`: the generator is another process (the operator's k6), whose cost this one's says nothing of. */
  constructor(private child?: () => ProcessUsage | undefined) { this.loop.enable(); }

  /** From the moment the VUs start (setup and stack bring-up are not the generator's cost). */
  begin(): void {
    this.start = Date.now(); this.cpu0 = process.cpuUsage(); this.lastVuTick = Date.now(); this.loop.reset();
    this.childCpu0 = this.child?.()?.cpuSeconds ?? 0;
  }

  sample = (s: Sample): void => {
    const t = s.time - this.start;
    for (const [k, def] of Object.entries(LATENCIES)) if (def.pick(s)) this.latency[k as LatencyKey].push([t, s.value]);
    const user = s.tags.user;
    const u = user ? this.user(user) : undefined;
    switch (s.metric) {
      case 'jobs_submitted': this.submitted.set(s.tags.job, user); break;
      case 'jobs_settled': this.settled.add(s.tags.job); if (s.tags.status === 'deleted') this.deletedByVus++; break;
      case 'job_time': u!.jobTimes.push(s.value); break;
      case 'queue_wait': u!.waits.push(s.value); break;
      case 'jobs_failed': if (s.value) { this.jobsFailed++; if (u) u.failed++; } else { this.jobsDone++; if (u) u.jobs++; } break;
      case 'http_req_failed': if (s.value) this.httpFailed++; break;
    }
  };

  private user(id: string): UserStats {
    if (!this.users.has(id)) this.users.set(id, { user: id, jobs: 0, failed: 0, jobTimes: [], waits: [] });
    return this.users.get(id)!;
  }

  /** Every second: the queue as the platform reports it, and the VUs running. */
  async tick(target: Target, live: Pick<Live, 'vusActive'>): Promise<void> {
    const now = Date.now();
    this.vuSeconds += (live.vusActive * (now - this.lastVuTick)) / 1000;
    this.lastVuTick = now;
    this.rss = Math.max(this.rss, process.memoryUsage().rss);
    try {
      const r = await target.request('/api/queue/status', { timeoutMs: 2_000 });
      const q = JSON.parse(r.body) as { pending_jobs: number; running_jobs: number };
      this.queue.push({ t: now - this.start, pending: q.pending_jobs, running: q.running_jobs, vus: live.vusActive });
    } catch {
      this.queue.push({ t: now - this.start, pending: NaN, running: NaN, vus: live.vusActive });
    }
  }

  p95(key: LatencyKey, sinceMs = 0): number | null {
    const v = this.latency[key].filter(([t]) => t >= sinceMs).map(([, x]) => x).sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.ceil(0.95 * v.length) - 1)] : null;
  }

  /** Jobs this run created that it never saw finish (interrupted runs). */
  open(): string[] { return [...this.submitted.keys()].filter((id) => !this.settled.has(id)); }

  /** The generator's cost. Event-loop delay only for the shim (this process): k6 has no event loop of ours. */
  generator(): { cpuSeconds: number; vuSeconds: number; cpuMsPerVuSecond: number | null; cpuShareOfOneCore: number; eventLoopDelayP99Ms: number | null; eventLoopDelayMaxMs: number | null; peakRssMb: number } {
    const c = process.cpuUsage(this.cpu0);
    const child = this.child?.(); // undefined without /proc: k6's cost is then unknown (0, and no per-VU figure)
    const cpuSeconds = this.child ? (child ? child.cpuSeconds - this.childCpu0 : 0) : (c.user + c.system) / 1e6;
    const wall = (Date.now() - this.start) / 1000;
    this.loop.disable();
    return {
      cpuSeconds: round(cpuSeconds, 2), vuSeconds: round(this.vuSeconds, 1),
      cpuMsPerVuSecond: this.vuSeconds && (child || !this.child) ? round((cpuSeconds * 1000) / this.vuSeconds, 2) : null,
      cpuShareOfOneCore: round(cpuSeconds / Math.max(wall, 0.001), 2),
      eventLoopDelayP99Ms: this.child ? null : round(this.loop.percentile(99) / 1e6, 1), eventLoopDelayMaxMs: this.child ? null : round(this.loop.max / 1e6, 1),
      peakRssMb: this.child ? child?.peakRssMb ?? 0 : Math.round(this.rss / 2 ** 20),
    };
  }
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** Deletes what an interrupted run left queued: pending jobs are removed, running ones cancelled.
 *  Finished jobs cannot be deleted through the API (400); they stay, tagged comfy-verify. */
export async function cleanUp(target: Target, obs: Observer): Promise<{ submitted: number; deleted: number; leftFinished: number; errors: string[] }> {
  let deleted = 0;
  const errors: string[] = [];
  for (const id of obs.open()) {
    try {
      const r = await target.request(`/api/jobs/${id}`, { method: 'DELETE', timeoutMs: 5_000 });
      if (r.status === 204) deleted++;
      else if (r.status !== 400 && r.status !== 404) errors.push(`DELETE /api/jobs/${id}: HTTP ${r.status}`);
    } catch (e) {
      errors.push(`DELETE /api/jobs/${id}: ${(e as Error).message}`);
    }
  }
  return { submitted: obs.submitted.size, deleted: deleted + obs.deletedByVus, leftFinished: obs.submitted.size - deleted - obs.deletedByVus, errors };
}
