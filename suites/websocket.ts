// websocket: upgrades through nginx, the queue-manager's echo and events, long idle life.
import type WebSocket from 'ws';
import { defineCheck, type CheckContext } from './lib/check.ts';
import { http, json, each } from './lib/http.ts';
import { tagMetadata } from './lib/writes.ts';
import { workshopWorkflow } from '../fixtures/workflows.ts';

/** nginx closes a proxied connection idle for proxy_read_timeout, 60 s by default. */
export const NGINX_DEFAULT_READ_TIMEOUT_S = 60;
const IDLE_MS = (NGINX_DEFAULT_READ_TIMEOUT_S + 5) * 1000;
/** How long the idle proof may wait for its silent minute while other jobs' events keep /ws busy. */
const IDLE_CAP_MS = 240_000;

export interface IdleHold {
  /** the first socket to close, as said in a verdict: "/ws closed (code 1006) after 60 s idle" */
  closed?: string;
  /** every socket went idleMs without a message, and stayed open */
  idle: boolean;
  /** per socket: messages heard, seconds open, seconds since its last message */
  sockets: Record<string, { messages: number; openS: number; idleS: number }>;
}

/** Holds sockets open until each has heard no message for idleMs, or one closes, or capMs pass.
 *  nginx's proxy_read_timeout counts from the last frame, so every job event /ws broadcasts starts a
 *  socket's idle time again: counted from there, the proof holds while other checks send jobs. */
export async function holdIdle(sockets: Record<string, WebSocket>, idleMs: number, capMs: number): Promise<IdleHold> {
  const t0 = Date.now();
  const st = Object.entries(sockets).map(([label, ws]) => ({ label, ws, last: t0, messages: 0, closed: undefined as string | undefined }));
  const off: (() => void)[] = [];
  let wake = () => {};
  for (const s of st) {
    const onMessage = () => { s.messages++; s.last = Date.now(); };
    const onClose = (code: number) => { s.closed = `${s.label} closed (code ${code}) after ${((Date.now() - s.last) / 1000).toFixed(0)} s idle`; wake(); };
    s.ws.on('message', onMessage);
    s.ws.once('close', onClose);
    off.push(() => { s.ws.off('message', onMessage); s.ws.off('close', onClose); });
    // Closed before it was handed over: its close event is gone, the verdict is not.
    if (s.ws.readyState >= s.ws.CLOSING) s.closed = `${s.label} closed before it was held idle`;
  }
  try {
    for (;;) {
      const now = Date.now();
      const closed = st.find((s) => s.closed);
      const idle = st.every((s) => now - s.last >= idleMs);
      if (closed || idle || now - t0 >= capMs) {
        return {
          closed: closed?.closed, idle: !closed && idle,
          sockets: Object.fromEntries(st.map((s) => [s.label, { messages: s.messages, openS: Math.round((now - t0) / 1000), idleS: Math.round((now - s.last) / 1000) }])),
        };
      }
      const wait = Math.max(50, Math.min(capMs - (now - t0), ...st.map((s) => idleMs - (now - s.last))));
      await new Promise<void>((r) => { const t = setTimeout(r, wait); wake = () => { clearTimeout(t); r(); }; });
    }
  } finally {
    for (const f of off) f();
  }
}

async function open(ctx: CheckContext, path: string): Promise<WebSocket> {
  const t0 = Date.now();
  try {
    const ws = await ctx.target.websocket(path);
    ctx.record(`WS ${path}`, { status: 101, ms: Date.now() - t0 });
    return ws;
  } catch (e) {
    ctx.record(`WS ${path}`, { error: (e as Error).message });
    ctx.fail(`WebSocket ${path}: ${(e as Error).message}`);
  }
}

function nextMessage(ws: WebSocket, match: (text: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.off('message', on); reject(new Error(`no matching message within ${timeoutMs / 1000} s`)); }, timeoutMs);
    const on = (d: WebSocket.RawData) => {
      const text = d.toString();
      if (match(text)) { clearTimeout(timer); ws.off('message', on); resolve(text); }
    };
    ws.on('message', on);
  });
}

async function echo(ctx: CheckContext, ws: WebSocket, label: string): Promise<void> {
  const token = `comfy-verify-${Math.random().toString(36).slice(2, 10)}`;
  ws.send(token);
  try {
    const reply = await nextMessage(ws, (t) => t.includes(token), 5_000);
    ctx.record(label, { reply }, { text: token });
    ctx.expect(reply === `pong: ${token}`, `reply "pong: ${token}"`, reply);
  } catch (e) {
    ctx.record(label, { error: (e as Error).message }, { text: token });
    ctx.fail(`${label}: sent "${token}", ${(e as Error).message}`);
  }
}

export const websocketChecks = [
  defineCheck({
    id: 'websocket.api-upgrade', suite: 'websocket', title: '/ws upgrades (101) through nginx',
    async run(ctx) {
      const ws = await open(ctx, '/ws');
      ws.close();
    },
  }),
  defineCheck({
    id: 'websocket.pong', suite: 'websocket', title: '/ws answers a text frame X with "pong: X"',
    async run(ctx) {
      const ws = await open(ctx, '/ws');
      try { await echo(ctx, ws, 'echo'); } finally { ws.close(); }
    },
  }),
  defineCheck({
    id: 'websocket.job-event', suite: 'websocket', title: 'a job event arrives on /ws', needs: ['write'], jobEvents: true,
    async run(ctx) {
      const ws = await open(ctx, '/ws');
      // Every event from the start: ours may arrive before the POST is answered, and other
      // participants' (or checks') events arrive too: ours is the one naming our job.
      const heard: string[] = [];
      ws.on('message', (d) => heard.push(d.toString()));
      try {
        const r = await http(ctx, '/api/jobs', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: ctx.target.users[0], workflow: workshopWorkflow({ targetBytes: 5_000 }), priority: 3, metadata: tagMetadata('websocket.job-event') }),
        });
        ctx.expect(r.status === 201, 'POST /api/jobs → 201', `HTTP ${r.status}`);
        const job = json<{ id: string }>(ctx, r);
        const created = heard.find((t) => t.includes('"job_created"') && t.includes(job.id))
          ?? nextMessage(ws, (t) => t.includes('"job_created"') && t.includes(job.id), 10_000);
        // A worker may have taken it already: then DELETE marks it cancelled instead of removing it.
        const deleted = nextMessage(ws, (t) => t.includes(job.id) && (t.includes('"job_deleted"') || t.includes('"cancelled"')), 10_000);
        deleted.catch(() => {});
        const event = JSON.parse(await Promise.resolve(created).catch((e) => ctx.fail(`no job_created event for job ${job.id} on /ws (${heard.length} other messages): ${e.message}`)));
        ctx.record('event', event);
        ctx.expect(event.data?.id === job.id || event.data?.job_id === job.id, `job_created for ${job.id}`, event.data);
        ctx.expect(typeof event.timestamp === 'string', 'the event has a timestamp', event);
        await http(ctx, `/api/jobs/${job.id}`, { method: 'DELETE', label: 'clean up' });
        await deleted.catch((e) => ctx.fail(`no job_deleted (or cancelled) event on /ws after DELETE: ${e.message}`));
      } finally { ws.close(); }
    },
  }),
  defineCheck({
    id: 'websocket.user-upgrade', suite: 'websocket', title: 'every /userNNN/ws upgrades (101) and sends ComfyUI\'s status first',
    async run(ctx) {
      const bad: string[] = [];
      await each(ctx.target.users, async (u) => {
        const clientId = `cv-${u}`;
        try {
          const ws = await ctx.target.websocket(`/${u}/ws?clientId=${clientId}`);
          const first = JSON.parse(await nextMessage(ws, () => true, 5_000));
          ws.close();
          ctx.record(`WS /${u}/ws`, { status: 101, first: first.type, sid: first.data?.sid });
          if (first.type !== 'status' || first.data?.sid !== clientId) bad.push(`${u}: first message ${JSON.stringify(first).slice(0, 80)}`);
        } catch (e) {
          ctx.record(`WS /${u}/ws`, { error: (e as Error).message });
          bad.push(`${u}: ${(e as Error).message}`);
        }
      });
      ctx.expect(bad.length === 0, 'every workspace WebSocket upgrades', bad.join('; '));
    },
  }),
  defineCheck({
    id: 'websocket.idle-survives', suite: 'websocket', slow: true,
    // Quiet: other checks' jobs broadcast events on /ws; each one starts the socket's idle time again.
    quiet: true, timeoutMs: IDLE_CAP_MS + 30_000,
    title: `idle WebSockets outlive nginx's ${NGINX_DEFAULT_READ_TIMEOUT_S} s default (/ws and a workspace)`,
    async run(ctx) {
      // Behaviour, not config: hold sockets idle past the default read timeout, then talk.
      const user = ctx.target.users[0];
      const api = await open(ctx, '/ws');
      const ws2 = await open(ctx, `/${user}/ws?clientId=cv-idle`);
      try {
        const held = await holdIdle({ '/ws': api, [`/${user}/ws`]: ws2 }, IDLE_MS, IDLE_CAP_MS);
        ctx.record('held idle', { seconds: IDLE_MS / 1000, ...held.sockets, ...(held.closed ? { closed: held.closed } : {}) });
        ctx.expect(!held.closed, `both sockets open after ${IDLE_MS / 1000} s idle`, held.closed);
        if (!held.idle) {
          const busy = Object.entries(held.sockets).filter(([, x]) => x.idleS < IDLE_MS / 1000).map(([l, x]) => `${l} heard ${x.messages} messages, the last ${x.idleS} s ago`);
          return ctx.skip(`never idle for ${IDLE_MS / 1000} s within ${IDLE_CAP_MS / 1000} s (${busy.join('; ')}): other jobs' events kept it busy; run it while the platform is quiet`);
        }
        await echo(ctx, api, 'echo after idle');
        return `both sockets open after ${IDLE_MS / 1000} s without a message (/ws heard ${held.sockets['/ws'].messages} job events before)`;
      } finally {
        api.close();
        ws2.close();
      }
    },
  }),
  defineCheck({
    id: 'websocket.many-sockets', suite: 'websocket', title: 'the API keeps answering while many sockets are open',
    timeoutMs: 60_000,
    async run(ctx) {
      const N = 100;
      // ~p90 of 10 requests; once one takes longer than `bound` the answer is known: stop there.
      const sample = async (bound = Infinity) => {
        const times: number[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await ctx.target.request('/api/queue/status');
          if (r.status !== 200) ctx.fail(`GET /api/queue/status → HTTP ${r.status}${bound < Infinity ? ` with ${N} sockets open` : ''}`);
          times.push(r.timeMs);
          if (r.timeMs > bound) return r.timeMs;
        }
        return times.sort((a, b) => a - b)[8];
      };
      const before = await sample();
      // Relative to this machine's own latency (a busy CI runner), but never beyond 5 s for a status call.
      const bound = Math.min(5_000, Math.max(1_000, before * 10));
      const sockets = (await Promise.allSettled(Array.from({ length: N }, () => ctx.target.websocket('/ws')))).flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        ctx.expect(sockets.length === N, `${N} sockets open`, `${sockets.length} opened`);
        const during = await sample(bound);
        ctx.record('API latency (p90 of 10 requests)', { withoutSockets: before, [`with${N}Sockets`]: during, ms: true });
        ctx.expect(during <= bound, `GET /api/queue/status p90 under ${bound} ms with ${N} sockets open`, `${during} ms, ${before} ms without them`);
        return `p90 ${before} ms → ${during} ms with ${N} sockets open`;
      } finally {
        for (const s of sockets) s.terminate();
      }
    },
  }),
];
