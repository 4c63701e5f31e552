// The stand-in queue-manager against a real Redis: what the contract asks of its queue under
// concurrency and a restart. In CI47 it lost a job: a next-job stopped between its ZPOPMIN and its
// write left the job "pending" in no queue, never served, and resilience.queue-manager-restart said so.
// Now taking a job is one compare-and-set, and it stops as uvicorn does (requests in flight answered).
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

/** Once (re)started: its published port (a new one after each start), and /health answering. */
async function healthy(deadlineMs: number) {
  port = Number((await execa('docker', ['port', name('qm'), '3000/tcp'])).stdout.split('\n')[0].split(':').pop());
  for (const deadline = Date.now() + deadlineMs; Date.now() < deadline; await sleep(100)) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) return;
  }
  throw new Error('the queue-manager did not answer /health');
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

    // A job submitted over a raw socket: half its body, the stop, then the rest.
    const body = JSON.stringify({ user_id: 'comfy-verify-shutdown', workflow: { '1': { class_type: 'EmptyImage', inputs: {} } } });
    const sock = net.connect(port, '127.0.0.1');
    let answer = '';
    sock.on('data', (d) => { answer += d.toString(); });
    const ended = new Promise<void>((r) => { sock.once('close', () => r()); sock.once('error', () => r()); });
    await new Promise((r) => sock.once('connect', r));
    sock.write(`POST /api/jobs HTTP/1.1\r\nHost: qm\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`);
    await sleep(300);
    const stopped = execa('docker', ['stop', '--time', '2', name('qm')]);
    await sleep(300);
    sock.write(body.slice(20));
    await ended;
    await stopped;

    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 201 Created');
    expect(await closed).toBe(1012);
    const id = /"id":"([^"]+)"/.exec(answer)![1];
    await execa('docker', ['start', name('qm')]);
    await healthy(30_000);
    const job = await (await fetch(`http://127.0.0.1:${port}/api/jobs/${id}`)).json() as { status: string };
    expect(job.status).toBe('pending');
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
