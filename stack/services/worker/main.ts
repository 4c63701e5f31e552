// Mock GPU worker: takes jobs from the queue-manager like the real worker, waits instead of
// running ComfyUI, writes a real PNG into the job user's output directory and reports back.
// Fault knobs: WORKER_OUTPUT_USER (write into someone else's directory), WORKER_COMPLETES=false
// (take jobs, never report), WORKER_FAILURE_RATE (report failures).
// The real worker is a ComfyUI: it answers ComfyUI's /system_stats on its port (8188), which the
// platform's healthcheck curls, so this one does too.
import { randomUUID, createHash } from 'node:crypto';
import os from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { env, Router, sendJson, type Res } from '../lib/http.ts';
import { requestJson } from '../lib/client.ts';
import { solidPng } from '../lib/png.ts';

const QM = env('QUEUE_MANAGER_URL').replace(/\/+$/, '');
const WORKER_ID = env('WORKER_ID', 'mock-gpu-1');
const DELAY_MS = Number(env('WORKER_DELAY_MS', '1500'));
const FAILURE_RATE = Number(env('WORKER_FAILURE_RATE', '0'));
const OUTPUT_USER = env('WORKER_OUTPUT_USER', 'own');
const COMPLETES = env('WORKER_COMPLETES', 'true') !== 'false';
const OUTPUT_DIR = env('OUTPUT_DIR', '/outputs');
// Idle polling: a job submitted to an idle queue waits up to this long for a worker. The checks cope
// with any interval (they follow jobs until a deadline); a short one keeps the suites' waits short.
const POLL_MS = 500;
/** Between retries of a report: long enough to outlast a queue-manager restart (about 2 s). */
const RETRY_MS = 2000;
// The contract's user_id rule; anything else must never become a path segment.
const SAFE_USER = /^[A-Za-z0-9_-]{1,100}$/;

interface Job { id: string; user_id: string; workflow: unknown; metadata?: unknown }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const qs = encodeURIComponent;

// Log network trouble once per distinct message, not every 2 s.
let lastProblem = '';
function problem(msg: string) {
  if (msg !== lastProblem) console.log(`[${WORKER_ID}] ${msg}`);
  lastProblem = msg;
}

/** A colour that depends only on the job id, so outputs of different jobs differ. */
function colourFor(id: string): [number, number, number] {
  const h = createHash('sha256').update(id).digest();
  return [h[0], h[1], h[2]];
}

async function report(route: 'complete-job' | 'fail-job', jobId: string, body: unknown): Promise<boolean> {
  // A few retries so a brief queue-manager restart does not lose the result.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const r = await requestJson('POST', `${QM}/api/workers/${route}?job_id=${qs(jobId)}`, body);
      if (r.status === 200) return true;
      problem(`${route} ${jobId}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      if (r.status < 500) return false;
    } catch (e) {
      problem(`${route} ${jobId}: ${(e as Error).message}`);
    }
    await sleep(RETRY_MS);
  }
  return false;
}

async function run(job: Job): Promise<void> {
  const started = Date.now();
  await sleep(DELAY_MS);
  if (!COMPLETES) {
    console.log(`[${WORKER_ID}] job ${job.id} user=${job.user_id}: taken, not reporting (WORKER_COMPLETES=false)`);
    return;
  }
  if (Math.random() < FAILURE_RATE) {
    const ok = await report('fail-job', job.id, { error: 'Mock failure (WORKER_FAILURE_RATE)' });
    console.log(`[${WORKER_ID}] job ${job.id} user=${job.user_id}: failed (mock)${ok ? '' : ', report not accepted'}`);
    return;
  }
  const user = OUTPUT_USER === 'own' ? job.user_id : OUTPUT_USER;
  if (!SAFE_USER.test(user)) {
    await report('fail-job', job.id, { error: `Refusing unsafe user id for output path: ${JSON.stringify(user).slice(0, 120)}` });
    console.log(`[${WORKER_ID}] job ${job.id}: failed, unsafe user id`);
    return;
  }
  const filename = `${job.id}.png`;
  const dir = path.join(OUTPUT_DIR, user);
  const outputPath = path.join(dir, filename);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(outputPath, solidPng(64, 64, colourFor(job.id)));
  } catch (e) {
    await report('fail-job', job.id, { error: `Could not write output: ${(e as Error).message}` });
    console.log(`[${WORKER_ID}] job ${job.id} user=${job.user_id}: failed writing ${outputPath}`);
    return;
  }
  const result = {
    prompt_id: randomUUID(),
    status: 'completed',
    // "9" is the SaveImage node of ComfyUI's default graph.
    outputs: { '9': { images: [{ filename, subfolder: '', type: 'output' }] } },
    execution_time: (Date.now() - started) / 1000,
    output_path: outputPath,
    timestamp: new Date().toISOString(),
  };
  const ok = await report('complete-job', job.id, { result });
  console.log(`[${WORKER_ID}] job ${job.id} user=${job.user_id}: completed -> ${outputPath}${ok ? '' : ' (report not accepted)'}`);
}

async function nextJob(): Promise<Job | null> {
  try {
    const r = await requestJson('GET', `${QM}/api/workers/next-job?worker_id=${qs(WORKER_ID)}`);
    if (r.status !== 200) {
      problem(`next-job: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      return null;
    }
    lastProblem = '';
    const job = (r.json as { job?: Job | null } | null)?.job;
    return job && typeof job.id === 'string' ? job : null;
  } catch (e) {
    problem(`next-job: ${(e as Error).message}`);
    return null;
  }
}

async function main(): Promise<never> {
  console.log(`[${WORKER_ID}] polling ${QM} every ${POLL_MS} ms (delay ${DELAY_MS} ms, failure rate ${FAILURE_RATE}, output user ${OUTPUT_USER}, completes ${COMPLETES})`);
  for (;;) {
    const job = await nextJob();
    if (!job) {
      await sleep(POLL_MS);
      continue;
    }
    try {
      await run(job);
    } catch (e) {
      console.log(`[${WORKER_ID}] job ${job.id}: unexpected error ${(e as Error).message}`);
    }
    // Poll again at once after a job: there may be more waiting.
  }
}

/** ComfyUI's /system_stats, as the real worker's ComfyUI answers it (one CUDA device). */
function systemStats(_req: unknown, res: Res) {
  sendJson(res, 200, {
    system: { os: 'posix', ram_total: os.totalmem(), ram_free: os.freemem(), comfyui_version: '0.3.10', python_version: '3.11.2', embedded_python: false },
    devices: [{ name: 'cuda:0 mock-gpu', type: 'cuda', index: 0, vram_total: 0, vram_free: 0, torch_vram_total: 0, torch_vram_free: 0 }],
  });
}
new Router().get('/system_stats', systemStats).listen(8188);

// As PID 1 in a container Node has no default SIGTERM handler; exit promptly on docker stop.
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => process.exit(0));
process.on('unhandledRejection', (e) => console.log(`[${WORKER_ID}] unhandled: ${String(e)}`));
void main();
