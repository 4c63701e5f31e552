// The stand-in queue-manager against a real Redis: what the contract asks of its queue under
// concurrency and a restart. Taking a job is one compare-and-set, and it stops as uvicorn does
// (requests in flight answered). The tests wait for what the service says, never for time: the
// unit files run beside whole stacks on two cores, where any fixed delay can be too short.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import net from 'node:net';
import WebSocket from 'ws';
import { labelsFor, removeByLabel } from '../../containers/labels.ts';
import { imageName } from '../../images.ts';
import { newRunId } from '../../run.ts';

const runId = `t${newRunId()}`;
const name = (s: string) => `cv-${runId}-${s}`;
const labels = Object.entries(labelsFor(runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let port = 0;

/** Once (re)started: its published port (a new one after each start), and /health saying "healthy".
 *  It listens before its Redis connection is up, and answers 200 "unhealthy" (and 503 on the API)
 *  until then, as the contract has it: a 200 alone is not ready. */
async function healthy(deadlineMs: number) {
  port = Number((await execa('docker', ['port', name('qm'), '3000/tcp'])).stdout.split('\n')[0].split(':').pop());
  let seen = 'no answer';
  for (const deadline = Date.now() + deadlineMs; Date.now() < deadline; await sleep(100)) {
    const health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.text(), (e: Error) => e.message);
    if (/"status":"healthy"/.test(health)) return;
    seen = health;
  }
  throw new Error(`the queue-manager did not say healthy within ${deadlineMs} ms; last: ${seen}`);
}

describe('queue-manager stand-in', () => {
  beforeAll(async () => {
    await execa('docker', ['network', 'create', ...labels, name('net')]);
    await execa('docker', ['run', '-d', ...labels, '--network', name('net'), '--name', name('redis'), imageName('redis'),
      'redis-server', '--requirepass', 'pw', '--bind', '0.0.0.0', '--protected-mode', 'no']);
    await execa('docker', ['run', '-d', ...labels, '--network', name('net'), '--name', name('qm'), '-p', '127.0.0.1::3000',
      '-e', `REDIS_HOST=${name('redis')}`, '-e', 'REDIS_PORT=6379', '-e', 'REDIS_PASSWORD=pw', '-e', 'PORT=3000', imageName('queue-manager')]);
    await healthy(30_000);
  }, 60_000);
  afterAll(() => removeByLabel({ runId }));

  it('answers a request in flight when stopped, keeps its job, and tells /ws clients it restarts (1012)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });

    // A job submitted over a raw socket: its headers, the stop, then its body. `Expect: 100-continue`
    // makes the server say when it has read the headers: from then on the request is in flight.
    const body = JSON.stringify({ user_id: 'comfy-verify-shutdown', workflow: { '1': { class_type: 'EmptyImage', inputs: {} } } });
    const sock = net.connect(port, '127.0.0.1');
    let answer = '';
    let onData = () => {};
    sock.on('data', (d) => { answer += d.toString(); onData(); });
    const received = (re: RegExp) => new Promise<void>((r) => { onData = () => { if (re.test(answer)) r(); }; onData(); });
    const ended = new Promise<void>((r) => { sock.once('close', () => r()); sock.once('error', () => r()); });
    await new Promise((r) => sock.once('connect', r));
    sock.write(`POST /api/jobs HTTP/1.1\r\nHost: qm\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    await received(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const stopped = execa('docker', ['stop', '--time', '2', name('qm')]);
    // The 1012 comes from its SIGTERM handler: the stop has begun, and the body arrives after it.
    expect(await closed).toBe(1012);
    sock.write(body);
    await ended;
    await stopped;

    const final = answer.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(final.split('\r\n')[0]).toBe('HTTP/1.1 201 Created');
    const id = /"id":"([^"]+)"/.exec(final)![1];
    await execa('docker', ['start', name('qm')]);
    await healthy(30_000);
    const r = await fetch(`http://127.0.0.1:${port}/api/jobs/${id}`);
    expect({ code: r.status, job: await r.json() }).toMatchObject({ code: 200, job: { id, status: 'pending' } });
  }, 60_000);

  it('hands each waiting job to exactly one of many workers polling at once, and leaves none waiting', async () => {
    const url = (p: string) => `http://127.0.0.1:${port}${p}`;
    const ids = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
      const r = await fetch(url('/api/jobs'), { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: `comfy-verify-take-${i % 5}`, workflow: { '1': { class_type: 'EmptyImage', inputs: {} } }, priority: i % 3 }) });
      return ((await r.json()) as { id: string }).id;
    }));
    const taken: { id: string; worker: string }[] = [];
    // 8 workers, each polling until it is handed nothing
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (;;) {
        const { job } = await (await fetch(url(`/api/workers/next-job?worker_id=w${w}`))).json() as { job: { id: string } | null };
        if (!job) return;
        taken.push({ id: job.id, worker: `w${w}` });
      }
    }));
    // (a job left waiting by the test before is handed out too: each once)
    expect(new Set(taken.map((t) => t.id)).size).toBe(taken.length);
    expect(taken.map((t) => t.id).filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    for (const t of taken) {
      const j = await (await fetch(url(`/api/jobs/${t.id}`))).json() as { status: string; worker_id: string };
      expect(j).toMatchObject({ status: 'running', worker_id: t.worker });
    }
  }, 60_000);
});
