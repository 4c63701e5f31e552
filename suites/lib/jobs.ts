// Jobs through the public API, for checks that create them: submit (tagged), follow, watch the
// /ws events, find a job's output files, and remove whatever the check created.
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import type { CheckContext } from './check.ts';
import { http, json, each } from './http.ts';
import { tagMetadata } from './writes.ts';
import { outputMounts, removeFromOutputs } from './identity.ts';

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export interface Job {
  id: string;
  user_id: string;
  status: JobStatus;
  priority: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  worker_id: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  position_in_queue: number | null;
}
export interface QueueStatus {
  mode: string;
  pending_jobs: number;
  running_jobs: number;
  completed_jobs: number;
  failed_jobs: number;
  active_workers: number;
  total_workers?: number;
}
export interface JobEvent {
  type: string;
  data: Partial<Job> & { job_id?: string };
  timestamp?: string;
  /** when it arrived here (this machine's clock, like the checks' own timings) */
  at: number;
}

export const FINISHED: JobStatus[] = ['completed', 'failed', 'cancelled'];
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JSON_HEADERS = { 'content-type': 'application/json' };

/** A user id of our own: its jobs touch no participant, and round_robin sees a user with no history. */
export const probeUser = (what: string) => `comfy-verify-${what}-${randomBytes(3).toString('hex')}`;

/** ComfyUI's smallest real graph (API format): an empty 64×64 image, saved. A real GPU worker runs
 *  it in milliseconds with no model; the mock worker only waits. */
export const probeWorkflow = (prefix: string) => ({
  '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
});

/** The jobs one check creates: submitted tagged, and all removed (or cancelled) at the end. */
export class Jobs {
  readonly created = new Set<string>();
  constructor(private readonly ctx: CheckContext, private readonly check: string) {}

  /** POST /api/jobs; the answer must be 201 with the job. */
  async submit(o: { user_id: string; priority?: number; label?: string }): Promise<Job> {
    const r = await http(this.ctx, '/api/jobs', {
      method: 'POST', headers: JSON_HEADERS, label: o.label ?? `submit a job for ${o.user_id} (priority ${o.priority ?? 2})`,
      body: JSON.stringify({ user_id: o.user_id, workflow: probeWorkflow(`comfy-verify-${this.check}`), priority: o.priority ?? 2, metadata: tagMetadata(`jobs.${this.check}`) }),
    });
    this.ctx.expect(r.status === 201, 'POST /api/jobs → 201', `HTTP ${r.status} ${r.body.slice(0, 120)}`);
    const job = json<Job>(this.ctx, r);
    this.created.add(job.id);
    return job;
  }

  /** GET /api/jobs/{id} without evidence (polled); null when it is gone (404). */
  async get(id: string): Promise<Job | null> {
    const r = await this.ctx.target.request(`/api/jobs/${id}`);
    if (r.status === 404) return null;
    if (r.status !== 200) this.ctx.fail(`GET /api/jobs/${id} → HTTP ${r.status}: ${r.body.slice(0, 120)}`);
    return JSON.parse(r.body) as Job;
  }

  /** Polls until `done(job)` (or the job is gone); returns the last state and every state seen. */
  async follow(id: string, done: (j: Job) => boolean, timeoutMs: number, everyMs = 150): Promise<{ job: Job | null; seen: Job[] }> {
    const seen: Job[] = [];
    for (const deadline = Date.now() + timeoutMs; ;) {
      const j = await this.get(id);
      if (j && (seen.at(-1)?.status !== j.status)) seen.push(j);
      if (!j || done(j) || Date.now() > deadline) return { job: j, seen };
      await sleep(everyMs);
    }
  }

  async queueStatus(): Promise<QueueStatus> {
    const r = await this.ctx.target.request('/api/queue/status');
    if (r.status !== 200) this.ctx.fail(`GET /api/queue/status → HTTP ${r.status}`);
    return JSON.parse(r.body) as QueueStatus;
  }

  /** DELETE every job this check created that is still pending or running (finished ones cannot be,
   *  by the contract: they stay in the queue's history, tagged). */
  async cleanup(): Promise<void> {
    const outcome: Record<string, number> = {};
    await each([...this.created], async (id) => {
      const r = await this.ctx.target.request(`/api/jobs/${id}`, { method: 'DELETE' }).catch(() => ({ status: 0 }));
      const what = r.status === 204 ? 'removed or cancelled' : r.status === 400 ? 'already finished' : r.status === 404 ? 'already gone' : `HTTP ${r.status}`;
      outcome[what] = (outcome[what] ?? 0) + 1;
    }, 16);
    if (this.created.size) this.ctx.record('clean up the jobs this check created', outcome);
  }
}

/** Every event on /ws from now on, kept for the check to look through. */
export class EventLog {
  readonly events: JobEvent[] = [];
  /** the close code, once the server (or we) closed the socket */
  closedWith?: number;
  private constructor(private readonly ws: WebSocket) {
    ws.once('close', (code) => { this.closedWith = code; });
    ws.on('message', (d) => { try { this.events.push({ ...(JSON.parse(d.toString()) as JobEvent), at: Date.now() }); } catch { /* pong: text */ } });
  }
  static async open(ctx: CheckContext): Promise<EventLog> {
    try {
      return new EventLog(await ctx.target.websocket('/ws'));
    } catch (e) {
      ctx.record('WS /ws', { error: (e as Error).message });
      return ctx.fail(`WebSocket /ws: ${(e as Error).message}`);
    }
  }
  /** Events about one job (job_deleted carries {job_id}). */
  about(id: string): JobEvent[] {
    return this.events.filter((e) => e.data?.id === id || e.data?.job_id === id);
  }
  async waitFor(id: string, match: (e: JobEvent) => boolean, timeoutMs: number): Promise<JobEvent | undefined> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
      const e = this.about(id).find(match);
      if (e) return e;
    }
    return undefined;
  }
  /** The sequence seen for a job, for the evidence: job_created, job_updated:running, ... */
  summary(id: string): string[] {
    return this.about(id).map((e) => (e.type === 'job_updated' ? `${e.type}:${e.data.status}` : e.type));
  }
  close(): void { this.ws.terminate(); }
}

export interface OutputFile { filename: string; subfolder: string; type: string }

/** The files a completed job's result names (ComfyUI's outputs: {node: {images: [{filename, subfolder, type}]}}),
 *  plain file names only (a name with a path in it is not looked for). */
export function outputFiles(result: unknown): OutputFile[] {
  const out: OutputFile[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.filename === 'string' && /^[^/\\\0]+$/.test(o.filename) && !o.filename.startsWith('-')) out.push({ filename: o.filename, subfolder: typeof o.subfolder === 'string' ? o.subfolder : '', type: typeof o.type === 'string' ? o.type : 'output' });
    else Object.values(o).forEach(walk);
  };
  walk((result as { outputs?: unknown } | null)?.outputs);
  return out;
}

/** Removes a job's output files from every user's output directory (where the contract mounts
 *  them; also where a wrong worker put them). */
export async function removeOutputs(ctx: CheckContext, files: OutputFile[]): Promise<void> {
  const host = ctx.target.host;
  if (!host) return;
  const mounts = await outputMounts(host, ctx.target.users);
  for (const f of files) await removeFromOutputs(host, mounts, ctx.target.users, f.filename);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
