// jobs.failure against a small in-process queue whose worker finishes jobs on a timer: what the
// check concludes when the job reads back "completed" after fail-job (CI48: a busy machine delayed
// the read past the worker's completion, and the fault's expected message did not match).
import { describe, it, expect, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import { runCheck } from './lib/check.ts';
import { jobsChecks } from './jobs.ts';
import { FAULTS } from '../stack/faults/catalogue.ts';
import type { Target, HttpResult, RequestOptions } from './lib/target.ts';

const failure = jobsChecks.find((c) => c.id === 'jobs.failure')!;
const faultMessage = FAULTS.find((f) => f.id === 'fail-job-ignored')!.message!;

interface Fake {
  /** what fail-job does: record the failure (sound), answer success and record nothing (the fault) */
  failJob: 'record' | 'ignore';
  /** ms after a job is taken that the worker completes it; a completion overwrites a failure when `overwrite` */
  completeAfterMs: number;
  overwrite?: boolean;
  /** ms the answer to GET /api/jobs/{id} takes (a busy machine) */
  getDelayMs?: number;
}

const servers: WebSocketServer[] = [];
afterEach(() => { for (const s of servers.splice(0)) { for (const c of s.clients) c.terminate(); s.close(); } });

async function fakeTarget(f: Fake): Promise<Target> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const jobs = new Map<string, Record<string, unknown>>();
  const emit = (type: string, data: unknown) => { for (const c of wss.clients) c.send(JSON.stringify({ type, data, timestamp: new Date().toISOString() })); };
  const update = (job: Record<string, unknown>, patch: Record<string, unknown>) => { Object.assign(job, patch); emit('job_updated', job); };
  const finished = (j: Record<string, unknown>) => ['completed', 'failed', 'cancelled'].includes(j.status as string);
  const answer = (status: number, body: unknown = {}): HttpResult => ({ method: '', url: '', status, headers: {}, body: JSON.stringify(body), timeMs: 0 });
  return {
    name: 'fake', kind: 'local', capabilities: new Set(['write']), users: [], queue: {},
    async request(path: string, o: RequestOptions = {}) {
      const method = o.method ?? 'GET';
      const id = /job_id=([^&]+)/.exec(path)?.[1] ?? /^\/api\/jobs\/([^/?]+)/.exec(path)?.[1];
      const job = id ? jobs.get(id) : undefined;
      if (method === 'POST' && path === '/api/jobs') {
        const j: Record<string, unknown> = { id: randomUUID(), ...JSON.parse(String(o.body)), status: 'pending', position_in_queue: 0, error: null, completed_at: null, worker_id: null };
        jobs.set(j.id as string, j);
        emit('job_created', j);
        setTimeout(() => {
          update(j, { status: 'running', worker_id: 'w1', position_in_queue: null });
          setTimeout(() => { if (f.overwrite || !finished(j)) update(j, { status: 'completed', completed_at: new Date().toISOString(), result: {} }); }, f.completeAfterMs);
        }, 20);
        return answer(201, j);
      }
      if (!job) return answer(404, { detail: 'Job not found' });
      if (method === 'POST' && path.startsWith('/api/workers/fail-job')) {
        if (f.failJob === 'record' && !finished(job)) update(job, { status: 'failed', error: JSON.parse(String(o.body)).error, completed_at: new Date().toISOString() });
        return answer(200, { status: 'success', job_id: id });
      }
      if (method === 'DELETE') return finished(job) ? answer(400, { detail: 'finished' }) : answer(204);
      await new Promise((r) => setTimeout(r, f.getDelayMs ?? 0));
      return answer(200, job);
    },
    websocket: () => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    }),
  } as unknown as Target;
}

describe('jobs.failure', () => {
  it('passes when fail-job records the failure', async () => {
    const r = await runCheck(failure, await fakeTarget({ failJob: 'record', completeAfterMs: 1_500 }));
    expect(r).toMatchObject({ status: 'pass' });
  });

  it('an ignored report reads back "running" as a rule', async () => {
    const r = await runCheck(failure, await fakeTarget({ failJob: 'ignore', completeAfterMs: 1_500 }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/the job is failed; saw running/);
    expect(r.message).toMatch(faultMessage);
  });

  it('an ignored report read back late, after the worker completed the job, is the same finding, said so', async () => {
    const r = await runCheck(failure, await fakeTarget({ failJob: 'ignore', completeAfterMs: 300, getDelayMs: 800 }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/the job is failed; saw completed \d+ ms after fail-job was answered, and no failed event on \/ws: the failure report was not recorded/);
    expect(r.message).toMatch(faultMessage);
  });

  it('a recorded failure that the worker\'s later completion overwrote is a race, not a finding: tried again, then skipped', async () => {
    const r = await runCheck(failure, await fakeTarget({ failJob: 'record', completeAfterMs: 300, overwrite: true, getDelayMs: 800 }));
    expect(r.status).toBe('skip');
    expect(r.evidence.map((e) => e.label)).toContain('a race, not a finding');
  }, 30_000);
});
