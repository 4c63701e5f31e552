// queue-manager stand-in: the platform's job queue (docs/contract.md, "Queue-manager API"), kept in Redis
// under the platform's own keys, so the same checks can later run against the real service.
// Events go through Redis pub/sub (queue:updates) and reach WebSocket clients from a subscriber,
// so several replicas would each relay every event.
import { randomUUID } from 'node:crypto';
import { Redis, type ChainableCommander } from 'ioredis';
import { WebSocketServer, WebSocket } from 'ws';
import { HttpError, Router, env, readJson, sendJson, type Handler } from '../lib/http.ts';
import {
  Issues, MiB, completion, failure, priority as priorityOf, queryInt, queryStatus, requiredQuery, submission, userId, workerId,
  type Obj, type Status,
} from './validation.ts';
import {
  QUEUE_MODES, epochSeconds, eventMessage, listingOrder, pendingScore, pickRoundRobin, publicJob,
  type EventType, type Job, type Placement, type PublicJob, type QueueMode,
} from './queue.ts';

const VERSION = '0.1.0-standin';
const MODE = env('QUEUE_MODE', 'fifo') as QueueMode;
if (!QUEUE_MODES.includes(MODE)) throw new Error(`QUEUE_MODE must be one of ${QUEUE_MODES.join(', ')}, got ${MODE}`);
const MAX_DEPTH = Number(env('MAX_QUEUE_DEPTH', '100')); // 0 = unlimited
const JOB_TIMEOUT = Number(env('JOB_TIMEOUT', '3600')); // seconds; 0 = never
// ENABLE_PRIORITY=false: every job is queued as "normal"; its priority field is still kept.
const ENABLE_PRIORITY = env('ENABLE_PRIORITY', 'true').toLowerCase() !== 'false';
const NUM_WORKERS = Number(env('NUM_WORKERS', '1'));
const PORT = Number(env('PORT', '3000'));
const STARTED = Date.now();
// Fault injection only (the catalogue's queue faults), each a plausible queue-manager bug:
// fail-job answers success and records nothing; a running job cannot be cancelled; round_robin
// is reported but jobs are served in plain queue order.
const FAULT_IGNORE_FAIL_JOB = process.env.FAULT_IGNORE_FAIL_JOB === 'true';
const FAULT_NO_CANCEL_RUNNING = process.env.FAULT_NO_CANCEL_RUNNING === 'true';
const FAULT_ROUND_ROBIN_AS_FIFO = process.env.FAULT_ROUND_ROBIN_AS_FIFO === 'true';
/** ms of extra work per request for every open /ws client beyond 20 (a service that serves each socket inline) */
const FAULT_FREEZE_ON_WS = process.env.FAULT_FREEZE_ON_WS === 'true';
const FAULT_SLOW_PER_SOCKET_MS = Number(process.env.FAULT_SLOW_PER_SOCKET_MS || 0);
/** the API shows no job's started_at (a response model that leaves the field out) */
const FAULT_NO_STARTED_AT = process.env.FAULT_NO_STARTED_AT === 'true';
const shown = (j: PublicJob): PublicJob => (FAULT_NO_STARTED_AT ? { ...j, started_at: null } : j);

const K = {
  job: (id: string) => `job:${id}`,
  pending: 'queue:pending', running: 'queue:running', completed: 'queue:completed', failed: 'queue:failed',
  userJobs: (u: string) => `user:${u}:jobs`,
  userDone: (u: string) => `user:${u}:completed`,
  heartbeat: (w: string) => `worker:${w}:heartbeat`,
  updates: 'queue:updates',
};
const HEARTBEAT_TTL = 60;

const redisOptions = {
  host: env('REDIS_HOST', 'redis'), port: Number(env('REDIS_PORT', '6379')),
  password: env('REDIS_PASSWORD', '') || undefined,
  connectTimeout: 2000, retryStrategy: (n: number) => Math.min(200 * n, 2000),
};
// No offline queue: while Redis is down commands fail at once (503), nothing waits.
const redis = new Redis({ ...redisOptions, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5000 });
// The subscriber keeps its queue, so SUBSCRIBE waits for the first connection; it resubscribes by itself.
const sub = new Redis(redisOptions);
for (const [name, client] of [['redis', redis], ['subscriber', sub]] as const) {
  let last = '';
  client.on('error', (e: Error) => { if (e.message !== last) console.error(`${name}: ${(last = e.message)}`); });
  client.on('ready', () => { last = ''; console.log(`${name}: connected`); });
}

// ---------- Redis helpers ----------

const now = () => new Date().toISOString();
const ready = () => redis.status === 'ready';

/** Runs a MULTI or pipeline, failing on the first command error. */
async function exec(c: ChainableCommander): Promise<unknown[]> {
  const replies = (await c.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, v]) => v);
}

async function scanKeys(pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    batch.forEach((k) => keys.add(k));
  } while (cursor !== '0');
  return [...keys];
}

/** Every user's jobs, from the user:<uid>:jobs sets. */
async function jobsByUser(): Promise<Map<string, string[]>> {
  const keys = await scanKeys(K.userJobs('*'));
  const members = keys.length ? ((await exec(keys.reduce((p, k) => p.smembers(k), redis.pipeline()))) as string[][]) : [];
  return new Map(keys.map((k, i) => [k.slice('user:'.length, -':jobs'.length), members[i]]));
}

/** Fault: heartbeats never counted (workers_active 0 while workers poll). */
const FAULT_NO_HEARTBEAT = process.env.FAULT_NO_HEARTBEAT === 'true';
const activeWorkers = async () => (FAULT_NO_HEARTBEAT ? 0 : (await scanKeys(K.heartbeat('*'))).length);

async function getJob(id: string): Promise<Job | null> {
  const s = await redis.get(K.job(id));
  return s ? (JSON.parse(s) as Job) : null;
}

const score = (job: Job) => pendingScore(ENABLE_PRIORITY ? job.priority : 2, job.created_at);

// estimated_wait_time: position × a moving average of the run times this replica has seen.
let avgRunSeconds = 60;
async function view(job: Job, again = true): Promise<PublicJob> {
  const position = job.status === 'pending' ? await redis.zrank(K.pending, job.id) : null;
  // Taken between reading the job and its rank: show it as it is now, never "pending at no position".
  if (job.status === 'pending' && position === null && again) {
    const now = await getJob(job.id);
    if (now) return view(now, false);
  }
  return shown(publicJob(job, position, avgRunSeconds));
}

function publish(type: EventType, data: PublicJob | { job_id: string }): void {
  redis.publish(K.updates, eventMessage(type, data)).catch((e: Error) => console.error(`publish: ${e.message}`));
}
const announce = async (type: EventType, job: Job) => publish(type, await view(job).catch(() => publicJob(job)));

// Changes to one job run one at a time in this process (each is a read-modify-write of job:<id>).
const locks = new Map<string, Promise<unknown>>();
function locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const run = (locks.get(id) ?? Promise.resolve()).then(fn);
  const tail = run.catch(() => undefined);
  locks.set(id, tail);
  void tail.then(() => { if (locks.get(id) === tail) locks.delete(id); });
  return run;
}

// ---------- queue operations ----------

// Depth check and insert in one step, so concurrent submits never overfill the queue.
const SUBMIT = `
if tonumber(ARGV[1]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[4])
return 1`;

async function submit(s: { user_id: string; workflow: Obj; priority: number; metadata: Obj }): Promise<Job> {
  const job: Job = {
    id: randomUUID(), user_id: s.user_id, workflow: s.workflow, status: 'pending', priority: s.priority,
    created_at: now(), started_at: null, completed_at: null, worker_id: null, result: null, error: null, metadata: s.metadata,
  };
  const ok = await redis.eval(SUBMIT, 3, K.job(job.id), K.pending, K.userJobs(job.user_id),
    MAX_DEPTH, JSON.stringify(job), score(job), job.id);
  if (ok !== 1) throw new HttpError(429, `Queue is full (max depth: ${MAX_DEPTH})`);
  return job;
}

/** round_robin's choice; owners come from the user sets, so no workflow is read. */
async function roundRobinCandidate(): Promise<string | undefined> {
  const pending = await redis.zrange(K.pending, 0, -1);
  if (!pending.length) return undefined;
  const byUser = await jobsByUser();
  const owner = new Map<string, string>();
  for (const [u, ids] of byUser) for (const id of ids) owner.set(id, u);
  const users = [...byUser.keys()];
  const done = users.length ? await redis.mget(users.map(K.userDone)) : [];
  return pickRoundRobin(pending, owner, new Map(users.map((u, i) => [u, Number(done[i] ?? 0)])));
}

// Taking a job is one step: out of the queue and marked running together, and only if nobody changed
// it since it was read (compare-and-set on its JSON; another worker, a cancel). In two steps (ZPOPMIN,
// then the write), a queue-manager stopped or a Redis gone between them leaves the job "pending" in no
// queue, never served.
const TAKE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1`;

/** Takes the next pending job for a worker and marks it running. */
async function takeNext(worker: string): Promise<Job | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = MODE === 'round_robin' && !FAULT_ROUND_ROBIN_AS_FIFO
      ? await roundRobinCandidate()
      : (await redis.zrange(K.pending, 0, 0))[0]; // fifo and priority: the lowest score
    if (!id) return null;
    const job = await locked(id, async () => {
      const raw = await redis.get(K.job(id));
      const j = raw ? (JSON.parse(raw) as Job) : null;
      if (!j || j.status !== 'pending') { await redis.zrem(K.pending, id); return null; } // not waiting after all: out of the queue
      Object.assign(j, { status: 'running', started_at: now(), worker_id: worker });
      const took = await redis.eval(TAKE, 3, K.pending, K.job(id), K.running, id, raw!, JSON.stringify(j), epochSeconds(j.started_at!));
      return took === 1 ? j : null; // another worker (or a cancel) was first: the next one
    });
    if (job) return job;
  }
  return null;
}

/** running (or pending) → completed | failed. A job already finished or cancelled keeps its state. */
function finish(id: string, patch: { status: 'completed'; result: Obj } | { status: 'failed'; error: string }): Promise<Job | null> {
  return locked(id, async () => {
    const job = await getJob(id);
    if (!job || (job.status !== 'running' && job.status !== 'pending')) return job;
    const t = now();
    Object.assign(job, patch, { completed_at: t });
    const m = redis.multi().set(K.job(id), JSON.stringify(job)).zrem(K.pending, id).zrem(K.running, id)
      .zadd(patch.status === 'completed' ? K.completed : K.failed, epochSeconds(t), id);
    if (patch.status === 'completed') m.incr(K.userDone(job.user_id));
    await exec(m);
    if (patch.status === 'completed' && job.started_at) avgRunSeconds = 0.8 * avgRunSeconds + 0.2 * (epochSeconds(t) - epochSeconds(job.started_at));
    await announce('job_updated', job);
    return job;
  });
}

async function listJobs(user: string | undefined, status: Status | undefined, limit: number): Promise<PublicJob[]> {
  const sets = [['pending', K.pending], ['running', K.running], ['completed', K.completed], ['failed', K.failed]] as const;
  const flat = (await exec(sets.reduce((p, [, key]) => p.zrange(key, 0, -1, 'WITHSCORES'), redis.pipeline()))) as string[][];
  const where = new Map<string, Placement>();
  sets.forEach(([st], i) => { for (let j = 0; j < flat[i].length; j += 2) where.set(flat[i][j], { status: st, score: Number(flat[i][j + 1]) }); });
  const rank = new Map(flat[0].filter((_, j) => j % 2 === 0).map((id, i) => [id, i]));
  // Cancelled jobs are in no sorted set: only the user sets know them.
  const ids = user ? await redis.smembers(K.userJobs(user))
    : status && status !== 'cancelled' ? [...where.keys()] : [...(await jobsByUser()).values()].flat();
  const chosen = listingOrder(ids, where, status).slice(0, limit);
  const raw = chosen.length ? await redis.mget(chosen.map(K.job)) : [];
  return raw.flatMap((s) => {
    const job = s ? (JSON.parse(s) as Job) : null;
    if (!job || (status && job.status !== status)) return [];
    return [shown(publicJob(job, rank.get(job.id) ?? null, avgRunSeconds))];
  });
}

// ---------- HTTP API ----------

/** Redis trouble answers 503 at once rather than a 500 or a hung request. */
const api = (h: Handler): Handler => async (req, res) => {
  if (FAULT_SLOW_PER_SOCKET_MS) await new Promise((r) => setTimeout(r, Math.max(0, wss.clients.size - 20) * FAULT_SLOW_PER_SOCKET_MS));
  try {
    await h(req, res);
  } catch (e) {
    if (e instanceof HttpError || (ready() && !/timed out/i.test((e as Error).message))) throw e;
    throw new HttpError(503, 'Redis unavailable');
  }
};
const notFound = () => new HttpError(404, 'Job not found');
const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

const router = new Router()
  .get('/health', async (_req, res) => {
    let connected = false, workers = 0, depth = 0;
    if (ready()) {
      try {
        [workers, depth] = await withTimeout(Promise.all([activeWorkers(), redis.zcard(K.pending)]), 1000);
        connected = true;
      } catch { /* reported as unhealthy */ }
    }
    sendJson(res, 200, {
      status: connected ? 'healthy' : 'unhealthy', version: VERSION, redis_connected: connected,
      workers_active: workers, queue_depth: depth, uptime_seconds: Math.floor((Date.now() - STARTED) / 1000),
    });
  })
  .get('/api/queue/status', api(async (_req, res) => {
    const [pending, running, completed, failed] = (await exec(
      [K.pending, K.running, K.completed, K.failed].reduce((p, k) => p.zcard(k), redis.pipeline()))) as number[];
    const active = await activeWorkers();
    sendJson(res, 200, {
      mode: MODE, pending_jobs: pending, running_jobs: running, completed_jobs: completed, failed_jobs: failed,
      total_workers: Math.max(NUM_WORKERS, active), active_workers: active, queue_depth: pending,
    });
  }))
  .post('/api/jobs', api(async (req, res) => {
    const job = await submit(submission(await readJson(req, 32 * MiB)));
    const shown = await view(job);
    publish('job_created', shown);
    sendJson(res, 201, shown);
  }))
  .get('/api/jobs', api(async (req, res) => {
    const is = new Issues();
    const uid = req.query.has('user_id') ? userId(is, ['query', 'user_id'], req.query.get('user_id')) : undefined;
    const status = queryStatus(is, req.query);
    const limit = queryInt(is, req.query, 'limit', 100, 1, 1000);
    is.done();
    sendJson(res, 200, await listJobs(uid, status, limit!));
  }))
  .get('/api/jobs/:id', api(async (req, res) => {
    const job = await getJob(req.params.id);
    if (!job) throw notFound();
    sendJson(res, 200, await view(job));
  }))
  .delete('/api/jobs/:id', api(async (req, res) => {
    const id = req.params.id;
    await locked(id, async () => {
      const job = await getJob(id);
      if (!job) throw notFound();
      if (job.status === 'pending') {
        // Removed for good, as the platform does; a worker that has just popped it finds it gone.
        await exec(redis.multi().del(K.job(id)).zrem(K.pending, id).srem(K.userJobs(job.user_id), id));
        publish('job_deleted', { job_id: id });
      } else if (job.status === 'running' && !FAULT_NO_CANCEL_RUNNING) {
        // The worker finishes on its own; the job stays cancelled and stops counting as running.
        Object.assign(job, { status: 'cancelled', completed_at: now() });
        await exec(redis.multi().set(K.job(id), JSON.stringify(job)).zrem(K.running, id));
        await announce('job_updated', job);
      } else {
        throw new HttpError(400, `Cannot cancel job in ${job.status} state`);
      }
    });
    sendJson(res, 204, undefined);
  }))
  .patch('/api/jobs/:id/priority', api(async (req, res) => {
    const is = new Issues();
    const priority = priorityOf(is, ['query', 'priority'], req.query.get('priority') ?? undefined);
    is.done();
    const id = req.params.id;
    const job = await locked(id, async () => {
      const j = await getJob(id);
      if (!j) throw notFound();
      if (j.status !== 'pending') throw new HttpError(400, `Cannot change priority of ${j.status} job`);
      j.priority = priority!;
      // XX: never puts back a job a worker popped meanwhile.
      await exec(redis.multi().set(K.job(id), JSON.stringify(j)).zadd(K.pending, 'XX', score(j), id));
      return j;
    });
    await announce('job_updated', job);
    sendJson(res, 200, { status: 'success', job_id: id, priority });
  }))
  .get('/api/workers/next-job', api(async (req, res) => {
    const is = new Issues();
    const worker = workerId(is, req.query);
    is.done();
    await redis.set(K.heartbeat(worker!), now(), 'EX', HEARTBEAT_TTL); // every poll is a heartbeat
    const job = await takeNext(worker!);
    if (job) await announce('job_updated', job);
    sendJson(res, 200, { job: job && { id: job.id, workflow: job.workflow, user_id: job.user_id, metadata: job.metadata } });
  }))
  .post('/api/workers/complete-job', api(async (req, res) => {
    const is = new Issues();
    const id = requiredQuery(is, req.query, 'job_id');
    const result = completion(await readJson(req, 64 * MiB), is);
    is.done();
    if (!(await finish(id!, { status: 'completed', result: result! }))) throw notFound();
    sendJson(res, 200, { status: 'success', job_id: id });
  }))
  .post('/api/workers/fail-job', api(async (req, res) => {
    const is = new Issues();
    const id = requiredQuery(is, req.query, 'job_id');
    const error = failure(await readJson(req, 16 * MiB), is);
    is.done();
    if (FAULT_IGNORE_FAIL_JOB) return sendJson(res, 200, { status: 'success', job_id: id });
    if (!(await finish(id!, { status: 'failed', error: error! }))) throw notFound();
    sendJson(res, 200, { status: 'success', job_id: id });
  }));

// ---------- WebSocket /ws ----------

const wss = new WebSocketServer({ noServer: true, maxPayload: 1 * MiB });
// No server-side pings: the contract has none, and a ping every few seconds would hide an
// nginx proxy_read_timeout left at its 60 s default (the idle check must see what a quiet
// participant's browser sees). Dead peers are found by TCP and by the send-buffer cap below.
wss.on('connection', (ws) => {
  // Fault: the event loop blocked for good once a client is connected (a sync call in an async
  // handler): the 101 is out, then nothing answers, HTTP included.
  if (FAULT_FREEZE_ON_WS) setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
  ws.on('message', (data, isBinary) => { if (!isBinary) ws.send(`pong: ${data.toString()}`); });
  ws.on('error', () => ws.terminate());
});

sub.subscribe(K.updates).catch((e: Error) => console.error(`subscribe: ${e.message}`));
sub.on('message', (_channel: string, message: string) => {
  const frame = Buffer.from(message); // encoded once for all clients
  for (const ws of wss.clients) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    // A client that stopped reading is dropped rather than buffered without bound.
    if (ws.bufferedAmount > 16 * MiB) ws.terminate();
    else ws.send(frame, { binary: false });
  }
});

// ---------- timeouts, start, stop ----------

// Running jobs older than JOB_TIMEOUT fail; checked often enough that short test timeouts hold.
// Faults: the clean-up never runs (a vanished worker's job stays running); the queue is cleared when
// the service starts (jobs waiting through a restart are lost).
const FAULT_NO_JOB_TIMEOUT = process.env.FAULT_NO_JOB_TIMEOUT === 'true';
const FAULT_CLEAR_QUEUE_ON_START = process.env.FAULT_CLEAR_QUEUE_ON_START === 'true';
// Cleared before it listens, as a start-up routine would: no request sees the queue before.
const clearedAtStart = !FAULT_CLEAR_QUEUE_ON_START ? Promise.resolve() : (async () => {
  for (let i = 0; i < 50 && !ready(); i++) await new Promise((r) => setTimeout(r, 100));
  const ids = await redis.zrange(K.pending, 0, -1).catch(() => [] as string[]);
  if (ids.length) await redis.del(K.pending, ...ids.map((id) => `job:${id}`)).catch(() => 0);
})();
if (JOB_TIMEOUT > 0 && !FAULT_NO_JOB_TIMEOUT) {
  let busy = false;
  setInterval(async () => {
    if (busy || !ready()) return;
    busy = true;
    try {
      for (const id of await redis.zrangebyscore(K.running, '-inf', Date.now() / 1000 - JOB_TIMEOUT)) {
        const job = await finish(id, { status: 'failed', error: 'Job timeout exceeded' });
        if (!job) await redis.zrem(K.running, id); // its job:<id> is gone
      }
    } catch (e) {
      console.error(`timeout cleanup: ${(e as Error).message}`);
    } finally {
      busy = false;
    }
  }, Math.min(60_000, Math.max(1000, (JOB_TIMEOUT * 1000) / 4)));
}

let inFlight = 0;
const server = clearedAtStart.then(() => {
  const srv = router.listen(PORT, (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '') !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  srv.on('request', (_req, res) => { inFlight++; res.once('close', () => inFlight--); });
  return srv;
});
console.log(`queue-manager ${VERSION}: mode=${MODE} max_depth=${MAX_DEPTH} job_timeout=${JOB_TIMEOUT}s priority=${ENABLE_PRIORITY}`);

// Stopped as uvicorn stops: no new connections, WebSocket clients told the service restarts (1012),
// and the requests in flight finish first: a client whose request was accepted gets its answer.
// Bounded below `docker stop`'s grace of 2 s (the disruption checks' restart).
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void server.then((srv) => srv.close());
    for (const ws of wss.clients) ws.close(1012, 'service restart');
    const t0 = Date.now();
    const poll = setInterval(() => { if (inFlight === 0 || Date.now() - t0 > 1_500) { clearInterval(poll); process.exit(0); } }, 20);
  });
}
