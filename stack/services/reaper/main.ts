// The reaper: Ryuk's protocol (testcontainers/moby-ryuk) on our base image, since Ryuk's own image
// cannot be pulled here. A client connects on TCP 8080 and sends filters, one per line, in URL query
// form (`label=comfy-verify.run=ab12cd&label=k=v`); each line is answered `ACK`. Once every client has
// gone for RYUK_RECONNECTION_TIMEOUT (or none came within RYUK_CONNECTION_TIMEOUT), everything that
// matches any filter is removed (containers, then networks, volumes, images) and the reaper exits;
// run with AutoRemove (`--rm`), the engine then removes the reaper itself.
// Beyond Ryuk: REAPER_FILTERS (lines as sent on the wire) are registered at start, so what is created
// before the first client has connected is covered too (removed after the connection timeout).
// The engine is reached through its socket (/var/run/docker.sock mounted, or DOCKER_HOST=unix://…).
import { request } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';

/** Go-style durations as Ryuk takes them: 10s, 500ms, 1m, 1h30m; a bare number is seconds. */
function duration(value: string | undefined, fallbackMs: number): number {
  if (!value) return fallbackMs;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const rest = value.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, u: string) => { ms += Number(n) * unit[u]; return ''; });
  return rest === '' ? ms : fallbackMs;
}

const env = process.env;
const cfg = {
  connectionTimeout: duration(env.RYUK_CONNECTION_TIMEOUT, 60_000),
  reconnectionTimeout: duration(env.RYUK_RECONNECTION_TIMEOUT, 10_000),
  requestTimeout: duration(env.RYUK_REQUEST_TIMEOUT, 10_000),
  removeRetries: Number(env.RYUK_REMOVE_RETRIES ?? 10),
  port: Number(env.RYUK_PORT ?? 8080),
  verbose: env.RYUK_VERBOSE === 'true',
};
const socketPath = env.DOCKER_HOST?.startsWith('unix://') ? env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
const debug = (msg: string) => { if (cfg.verbose) log(msg); };

/** One Docker API call over the unix socket: status and parsed body. */
function docker(method: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: cfg.requestTimeout }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => {
        let body: unknown = data;
        try { body = data ? JSON.parse(data) : undefined; } catch { /* plain text error */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${cfg.requestTimeout} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The filters as Docker's list endpoints take them: {"label": ["k=v", …]}. Every line is kept whole
 *  (its conditions all apply together), and a line sent twice counts once. */
type Filter = Record<string, string[]>;
const filters = new Map<string, Filter>();
function parseFilter(line: string): Filter {
  const f: Filter = {};
  for (const [k, v] of new URLSearchParams(line)) (f[k] ??= []).push(v);
  return f;
}
function addFilter(line: string): void {
  const f = parseFilter(line);
  const key = JSON.stringify(Object.keys(f).sort().map((k) => [k, [...f[k]].sort()]));
  if (!Object.keys(f).length || filters.has(key)) return;
  filters.set(key, f);
  log(`filter added: ${line}`);
}

// Reapers are never a reaper's to remove (it exits, and AutoRemove takes it): this one (its hostname is
// its id's prefix, unless on the host's network), comfy-verify's by label, Ryuk's by its label.
const self = hostname();
const isReaper = (c: { Id: string; Labels?: Record<string, string> }) =>
  c.Id.startsWith(self) || c.Labels?.['comfy-verify.service'] === 'reaper' || c.Labels?.['org.testcontainers.ryuk'] === 'true';

async function list(kind: 'containers' | 'networks' | 'volumes' | 'images', f: Filter): Promise<string[]> {
  const q = encodeURIComponent(JSON.stringify(f));
  const r = await docker('GET', `/${kind}${kind === 'containers' ? '/json?all=1&' : kind === 'images' ? '/json?' : '?'}filters=${q}`);
  if (r.status !== 200) throw new Error(`list ${kind}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  if (kind === 'containers') return (r.body as { Id: string; Labels?: Record<string, string> }[]).filter((c) => !isReaper(c)).map((c) => c.Id);
  if (kind === 'networks') return (r.body as { Id: string }[]).map((n) => n.Id);
  if (kind === 'volumes') return ((r.body as { Volumes?: { Name: string }[] }).Volumes ?? []).map((v) => v.Name);
  return (r.body as { Id: string }[]).map((i) => i.Id);
}

/** Removes each one, retrying (a second apart) those the engine refuses for now: a network whose
 *  endpoints are still going away with their containers. Gone already counts as removed. */
async function remove(kind: string, ids: string[], path: (id: string) => string): Promise<number> {
  let todo = [...new Set(ids)];
  let removed = 0;
  for (let attempt = 1; todo.length && attempt <= cfg.removeRetries; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, 1_000));
    const results = await Promise.all(todo.map(async (id) => {
      const r = await docker('DELETE', path(id)).catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status < 300) removed++;
      else if (r.status !== 404) { log(`remove ${kind} ${id.slice(0, 12)} (attempt ${attempt}): ${r.status} ${JSON.stringify(r.body)}`); return id; }
      return undefined;
    }));
    todo = results.filter((id): id is string => !!id);
  }
  if (todo.length) log(`${kind}: ${todo.length} left`);
  return removed;
}

async function prune(): Promise<void> {
  const all = { containers: [] as string[], networks: [] as string[], volumes: [] as string[], images: [] as string[] };
  for (const f of filters.values()) {
    for (const kind of Object.keys(all) as (keyof typeof all)[]) {
      all[kind].push(...await list(kind, f).catch((e: Error) => { log(e.message); return []; }));
    }
  }
  // Containers first: networks and volumes in use cannot go.
  const containers = await remove('container', all.containers, (id) => `/containers/${id}?force=1&v=1`);
  const networks = await remove('network', all.networks, (id) => `/networks/${id}`);
  const volumes = await remove('volume', all.volumes, (id) => `/volumes/${encodeURIComponent(id)}?force=1`);
  const images = await remove('image', all.images, (id) => `/images/${id}`);
  log(`removed: containers=${containers} networks=${networks} volumes=${volumes} images=${images}`);
}

for (const line of (env.REAPER_FILTERS ?? '').split('\n')) if (line.trim()) addFilter(line.trim());

let clients = 0;
let timer: NodeJS.Timeout | undefined;
let pruning = false;
const server = createServer(handle);

/** Prune and exit; no client is accepted from here on (one that connects now gets no ACK and
 *  must find another reaper, as with Ryuk). */
function pruneAndExit(why: string): void {
  if (pruning) return;
  pruning = true;
  clearTimeout(timer);
  server.close();
  log(`prune: ${why}`);
  prune().then(() => process.exit(0), (e: Error) => { log(`prune failed: ${e.message}`); process.exit(1); });
}

function arm(ms: number, why: string): void {
  clearTimeout(timer);
  timer = setTimeout(() => pruneAndExit(why), ms);
}

function handle(sock: Socket): void {
  if (pruning) return void sock.destroy();
  clients++;
  clearTimeout(timer);
  const peer = `${sock.remoteAddress}:${sock.remotePort}`;
  log(`client connected ${peer} (clients=${clients})`);
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      if (!line) continue;
      debug(`line from ${peer}: ${line}`);
      addFilter(line);
      sock.write('ACK\n');
    }
  });
  sock.on('error', () => {}); // a client killed outright resets the connection: that is the signal
  sock.on('close', () => {
    clients--;
    log(`client disconnected ${peer} (clients=${clients})`);
    if (clients === 0) arm(cfg.reconnectionTimeout, `no client for ${cfg.reconnectionTimeout} ms`);
  });
}

// Stopped by the engine (docker stop): remove now unless a client is still there.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => (clients === 0 ? pruneAndExit(sig) : process.exit(0)));
}

server.listen(cfg.port, () => {
  // testcontainers waits for a log line matching /Started/ before it connects.
  log(`Started: listening on ${cfg.port} (connection timeout ${cfg.connectionTimeout} ms, reconnection timeout ${cfg.reconnectionTimeout} ms)`);
  arm(cfg.connectionTimeout, `no client within ${cfg.connectionTimeout} ms`);
});
