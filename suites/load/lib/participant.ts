// One workshop participant, as a k6 VU: opens their own /userNNN/ workspace, keeps the /ws
// socket open, submits workshop-sized workflows, waits for each through WebSocket events and
// by polling GET /api/jobs/{id} (as the platform's page extension does every 2 s), fetches the
// output, thinks, and does it again until the session ends.
import http from 'k6/http';
import { check } from 'k6';
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout, clearTimeout, setInterval, clearInterval } from 'k6/timers';
import { Trend, Rate, Counter } from 'k6/metrics';
import type { Settings, Participant } from './config.ts';

export const metrics = {
  pageLoad: new Trend('page_load', true),
  wsRtt: new Trend('ws_rtt', true),
  jobTime: new Trend('job_time', true),
  queueWait: new Trend('queue_wait', true),
  jobsFailed: new Rate('jobs_failed'),
  wsFailed: new Rate('ws_failed'),
  // job ids as tags: the harness deletes whatever an interrupted run left pending
  jobsSubmitted: new Counter('jobs_submitted'),
  jobsSettled: new Counter('jobs_settled'),
};

interface Job {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  result: { outputs?: Record<string, { images?: { filename: string; subfolder?: string; type?: string }[] }> } | null;
  error: string | null;
}
const FINAL = ['completed', 'failed', 'cancelled'];
const POLL_MS = 2_000;

const wait = (ms: number) => new Promise<void>((r) => { setTimeout(r, Math.max(0, ms)); });

/** Base64 of an ASCII string (k6 scripts have no Buffer; k6/encoding is not needed for this). */
function b64(text: string): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (let i = 0; i < text.length; i += 3) {
    const [a, b, c] = [text.charCodeAt(i), text.charCodeAt(i + 1), text.charCodeAt(i + 2)];
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + (i + 1 < text.length ? abc[(n >> 6) & 63] : '=') + (i + 2 < text.length ? abc[n & 63] : '=');
  }
  return out;
}

const authFor = (who: Participant): Record<string, string> =>
  (who.password ? { Authorization: `Basic ${b64(`${who.user}:${who.password}`)}` } : {});

export async function participant(s: Settings, who: Participant, workflow: Record<string, unknown>, sessionEnd: number, maxJobs: number): Promise<void> {
  const base = s.baseUrl;
  const user = who.user;
  // The workspace asks for its participant's own credentials (per-user Basic auth), when configured.
  const auth = authFor(who);
  const api = (name: string) => ({ tags: { name, kind: 'api' }, headers: { 'Content-Type': 'application/json' } });

  // Open the workspace: the page and its system_stats, as the browser does.
  const t0 = Date.now();
  const page = await http.asyncRequest('GET', `${base}/${user}/`, null, { tags: { name: 'GET /userNNN/', kind: 'page' }, headers: auth });
  const stats = await http.asyncRequest('GET', `${base}/${user}/system_stats`, null, { tags: { name: 'GET /userNNN/system_stats', kind: 'page' }, headers: auth });
  metrics.pageLoad.add(Date.now() - t0, { user });
  check(page, { 'workspace page is ComfyUI': (r) => r.status === 200 && String(r.body).includes('ComfyUI') });
  check(stats, { 'system_stats answers': (r) => r.status === 200 && String(r.body).includes('"system"') });

  const socket = await openSocket(s, user);
  let jobs = 0;
  try {
    while (jobs < maxJobs && Date.now() < sessionEnd) {
      jobs++;
      await oneJob(s, user, auth, workflow, jobs, socket, api);
      if (jobs < maxJobs) await wait(Math.min(s.thinkMs * (0.5 + Math.random()), sessionEnd - Date.now()));
    }
  } finally {
    socket.close();
  }
}

interface Socket {
  /** resolves with the job when a job_updated event says it finished */
  waitFor(id: string): Promise<Job>;
  forget(id: string): void;
  close(): void;
}

/** The queue-manager's /ws: job events for everyone, and our "X" -> "pong: X" round trips. */
function openSocket(s: Settings, user: string): Promise<Socket> {
  const url = `${s.baseUrl.replace(/^http/, 'ws')}/ws`;
  const waiting: Record<string, (j: Job) => void> = {};
  const pings: Record<string, number> = {};
  let seq = 0, closing = false, pinger = 0;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const ping = () => {
      const key = `rtt-${user}-${seq++}`;
      pings[key] = Date.now();
      ws.send(key);
    };
    const socket: Socket = {
      waitFor: (id) => new Promise((r) => { waiting[id] = r; }),
      forget: (id) => { delete waiting[id]; },
      close: () => {
        closing = true;
        clearInterval(pinger);
        // pongs still missing now were lost
        for (const k of Object.keys(pings)) if (Date.now() - pings[k] > 5_000) metrics.wsFailed.add(1, { user, what: 'pong' });
        ws.close();
      },
    };
    ws.onopen = () => {
      metrics.wsFailed.add(0, { user, what: 'connect' });
      ping();
      pinger = setInterval(ping, s.pingEveryMs);
      resolve(socket);
    };
    ws.onmessage = (e) => {
      const data = String(e?.data ?? '');
      if (data.startsWith('pong: ')) {
        const key = data.slice(6);
        if (pings[key] !== undefined) { metrics.wsRtt.add(Date.now() - pings[key], { user }); delete pings[key]; }
        return;
      }
      let msg: { type?: string; data?: Job };
      try { msg = JSON.parse(data); } catch { return; }
      const job = msg.data;
      if (msg.type === 'job_updated' && job && waiting[job.id] && FINAL.includes(job.status)) waiting[job.id](job);
    };
    ws.onerror = (e) => {
      if (closing) return;
      metrics.wsFailed.add(1, { user, what: `error: ${e?.error ?? 'unknown'}` });
    };
    ws.onclose = () => {
      clearInterval(pinger);
      if (!closing) metrics.wsFailed.add(1, { user, what: 'closed by the server' });
      resolve(socket); // a failed connect still lets the participant work (polling only)
    };
  });
}

async function oneJob(s: Settings, user: string, auth: Record<string, string>, workflow: Record<string, unknown>, n: number, socket: Socket,
  api: (name: string) => { tags: Record<string, string>; headers: Record<string, string> }): Promise<void> {
  // Each participant's graph differs a little (seed, prompt), as in a workshop.
  const body = JSON.stringify({
    user_id: user, priority: 2,
    workflow: { ...workflow, extra: { ...(workflow.extra as object), seed: n, participant: user } },
    metadata: { 'comfy-verify': true, run: s.runId, check: 'load', frontend: 'comfy-verify-load', submitted_at: new Date().toISOString() },
  });
  const submitted = Date.now();
  const res = await http.asyncRequest('POST', `${s.baseUrl}/api/jobs`, body, api('POST /api/jobs'));
  if (!check(res, { 'job accepted (201)': (r) => r.status === 201 })) { metrics.jobsFailed.add(1, { user }); return; }
  const id = (res.json() as unknown as Job).id;
  metrics.jobsSubmitted.add(1, { user, job: id });

  // Whichever comes first: the WebSocket event, a poll that sees it finished, or the time limit.
  let done = false, timer = 0;
  const poll = async (): Promise<Job | undefined> => {
    while (!done) {
      await wait(POLL_MS);
      if (done) return undefined;
      const r = await http.asyncRequest('GET', `${s.baseUrl}/api/jobs/${id}`, null, api('GET /api/jobs/{id}'));
      const j = r.status === 200 ? (r.json() as unknown as Job) : undefined;
      if (j && FINAL.includes(j.status)) return j;
    }
    return undefined;
  };
  const timeout = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), s.jobTimeoutMs); });
  const job = await Promise.race([socket.waitFor(id), poll().then((j) => j ?? new Promise<Job>(() => {})), timeout]);
  done = true;
  clearTimeout(timer);
  socket.forget(id);

  if (!job) {
    // Not finished in time: a failure; take it out of the queue (running ones become cancelled).
    metrics.jobsFailed.add(1, { user });
    const del = await http.asyncRequest('DELETE', `${s.baseUrl}/api/jobs/${id}`, null, api('DELETE /api/jobs/{id}'));
    metrics.jobsSettled.add(1, { user, job: id, status: del.status === 204 ? 'deleted' : 'left' });
    return;
  }
  metrics.jobsSettled.add(1, { user, job: id, status: job.status });
  const ok = job.status === 'completed';
  metrics.jobsFailed.add(ok ? 0 : 1, { user });
  check(job, { 'job completed': () => ok });
  if (!ok) return;
  metrics.jobTime.add(Date.now() - submitted, { user });
  if (job.started_at) metrics.queueWait.add(Date.parse(job.started_at) - Date.parse(job.created_at), { user });

  // The participant looks at the result: every image the worker reported.
  for (const out of Object.values(job.result?.outputs ?? {})) {
    for (const img of out.images ?? []) {
      const q = `filename=${encodeURIComponent(img.filename)}&subfolder=${encodeURIComponent(img.subfolder ?? '')}&type=${img.type ?? 'output'}`;
      const r = await http.asyncRequest('GET', `${s.baseUrl}/${user}/view?${q}`, null, { tags: { name: 'GET /userNNN/view', kind: 'output' }, responseType: 'none', headers: auth });
      check(r, { 'output image served': (x) => x.status === 200 && String(x.headers['Content-Type']).startsWith('image/') });
    }
  }
}
