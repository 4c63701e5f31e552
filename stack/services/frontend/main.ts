// ComfyUI stand-in for ONE user: the parts of ComfyUI's API the harness relies on, plus the
// platform's queue_redirect behaviour (Queue Prompt goes to the queue-manager, not local).
// Served by nginx under /userNNN/ with the prefix stripped, so the page uses relative URLs
// for its own assets/API/WS, and the absolute public /api/ path for the queue-manager.
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { HttpError, Router, env, readBody, readJson, sendJson, sendText, type Req, type Res } from '../lib/http.ts';

const USER_ID = env('USER_ID');
const PORT = Number(env('PORT', '8188'));
// The per-user mounts; overridable only so the service can run on a dev host.
const DIRS = { output: env('OUTPUT_DIR', '/app/output'), input: env('INPUT_DIR', '/app/input') } as const;
type DirType = keyof typeof DIRS;
const COMFYUI_VERSION = '0.9.2';

// ---------- ComfyUI API ----------

interface HistoryEntry {
  prompt: [number, string, unknown, { client_id?: string }, string[]];
  outputs: Record<string, unknown>;
  status: { status_str: string; completed: boolean; messages: [string, unknown][] };
  meta: Record<string, unknown>;
}
const history = new Map<string, HistoryEntry>();
let promptNumber = 0;
const sockets = new Map<string, WebSocket>();

function sendWs(clientId: string | undefined, type: string, data: unknown) {
  const ws = clientId ? sockets.get(clientId) : undefined;
  if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type, data }));
}

// ComfyUI answers prompt errors as 400 {error: {type, message, details, extra_info}, node_errors}.
const promptError = (type: string, message: string) =>
  ({ error: { type, message, details: message, extra_info: {} }, node_errors: {} });

async function postPrompt(req: Req, res: Res) {
  let body: { prompt?: unknown; client_id?: unknown; prompt_id?: unknown };
  try {
    body = ((await readJson(req, 64 * 1024 * 1024)) ?? {}) as typeof body;
  } catch (e) {
    if (e instanceof HttpError && e.status === 413) throw e;
    return sendJson(res, 400, promptError('invalid_json', 'Invalid JSON body'));
  }
  const prompt = body.prompt;
  if (!prompt || typeof prompt !== 'object' || Array.isArray(prompt) || Object.keys(prompt).length === 0) {
    return sendJson(res, 400, promptError('no_prompt', 'No prompt provided'));
  }
  const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
  const promptId = typeof body.prompt_id === 'string' && body.prompt_id ? body.prompt_id : randomUUID();
  const number = promptNumber++;
  const nodes = Object.keys(prompt);
  const ts = () => Date.now();
  // Recorded at once as completed (this stand-in runs nothing, so there are no outputs).
  history.set(promptId, {
    prompt: [number, promptId, prompt, clientId ? { client_id: clientId } : {}, []],
    outputs: {},
    status: {
      status_str: 'success', completed: true,
      messages: [['execution_start', { prompt_id: promptId, timestamp: ts() }], ['execution_success', { prompt_id: promptId, timestamp: ts() }]],
    },
    meta: {},
  });
  sendJson(res, 200, { prompt_id: promptId, number, node_errors: {} });

  // Then the events a real execution sends to the submitting client, in order.
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  const events: [string, unknown][] = [
    ['executing', { node: first, display_node: first, prompt_id: promptId }],
    ['progress', { value: 1, max: 2, prompt_id: promptId, node: first }],
    ['progress', { value: 2, max: 2, prompt_id: promptId, node: first }],
    ['executed', { node: last, display_node: last, output: {}, prompt_id: promptId }],
    ['execution_success', { prompt_id: promptId, timestamp: ts() }],
    ['executing', { node: null, prompt_id: promptId }],
  ];
  events.forEach(([type, data], i) => setTimeout(() => sendWs(clientId, type, data), 20 * (i + 1)));
}

function getHistory(req: Req, res: Res) {
  const max = Number(req.query.get('max_items'));
  const entries = [...history.entries()];
  const picked = Number.isInteger(max) && max > 0 ? entries.slice(-max) : entries;
  sendJson(res, 200, Object.fromEntries(picked));
}

function getHistoryItem(req: Req, res: Res) {
  const entry = history.get(req.params.id);
  // ComfyUI answers an unknown prompt id with an empty object, not 404.
  sendJson(res, 200, entry ? { [req.params.id]: entry } : {});
}

// ---------- files: this user's output and input directories only ----------

const BAD_NAME = /[/\\\0]|\.\./;

/** A file name with no path in it: no separators, no '..', no NUL. */
function checkName(name: string | null): string {
  if (!name || BAD_NAME.test(name) || name === '.') throw new HttpError(400, 'Invalid filename');
  return name;
}

/** A relative subfolder of `base` that stays inside it (also after resolving symlinks). */
async function resolveSub(base: string, sub: string, status: number): Promise<string> {
  if (sub.includes('\0') || sub.includes('\\') || path.isAbsolute(sub) || sub.split('/').includes('..')) {
    throw new HttpError(status, 'Invalid subfolder');
  }
  const dir = path.resolve(base, sub);
  if (dir !== base && !dir.startsWith(base + path.sep)) throw new HttpError(status, 'Invalid subfolder');
  return dir;
}

async function inside(base: string, file: string): Promise<boolean> {
  const [b, f] = await Promise.all([realpath(base), realpath(file)]);
  return f === b || f.startsWith(b + path.sep);
}

function dirFor(type: string | null, fallback: DirType): string {
  const t = type || fallback;
  if (t !== 'output' && t !== 'input') throw new HttpError(400, `Invalid type: ${t}`);
  return DIRS[t];
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif',
  '.mp4': 'video/mp4', '.webm': 'video/webm', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

// Fault injection only (the catalogue's view-path-traversal): join the request's path parts as
// given, like a naive file server.
const NAIVE_VIEW = process.env.FAULT_NAIVE_VIEW === 'true';

async function view(req: Req, res: Res) {
  if (NAIVE_VIEW) {
    const file = path.join(DIRS[req.query.get('type') === 'input' ? 'input' : 'output'], req.query.get('subfolder') ?? '', req.query.get('filename') ?? '');
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) throw new HttpError(404, 'Not found');
    return void createReadStream(file).pipe(res);
  }
  const name = checkName(req.query.get('filename'));
  const base = path.resolve(dirFor(req.query.get('type'), 'output'));
  const dir = await resolveSub(base, req.query.get('subfolder') ?? '', 403);
  const file = path.join(dir, name);
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new HttpError(404, 'Not found');
  // A symlink inside the user's directory must not lead out of it.
  if (!(await inside(base, file))) throw new HttpError(403, 'Forbidden');
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
    'content-length': st.size,
    'content-disposition': `filename="${name.replace(/"/g, '')}"`,
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

interface Part { name: string; filename?: string; data: Buffer }

/** Parses multipart/form-data (RFC 7578), enough for ComfyUI's upload form. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!/^multipart\/form-data/i.test(contentType) || !m) throw new HttpError(400, 'Expected multipart/form-data');
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const sep = Buffer.concat([Buffer.from('\r\n'), delim]);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'Malformed multipart body');
  pos += delim.length;
  while (body.toString('latin1', pos, pos + 2) === '\r\n') {
    const headEnd = body.indexOf('\r\n\r\n', pos);
    const end = headEnd < 0 ? -1 : body.indexOf(sep, headEnd + 4);
    if (end < 0) throw new HttpError(400, 'Malformed multipart body');
    const head = body.toString('utf8', pos + 2, headEnd);
    const disp = /^content-disposition:(.*)$/im.exec(head)?.[1] ?? '';
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disp)?.[1];
    const filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(disp)?.[1];
    if (name !== undefined) parts.push({ name, filename, data: body.subarray(headEnd + 4, end) });
    pos = end + sep.length;
  }
  return parts;
}

async function uploadImage(req: Req, res: Res) {
  // ComfyUI's default upload limit is 100 MB.
  const parts = parseMultipart(await readBody(req, 100 * 1024 * 1024), req.headers['content-type'] ?? '');
  const field = (n: string) => parts.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
  const image = parts.find((p) => p.name === 'image' && p.filename !== undefined);
  if (!image) throw new HttpError(400, 'No image uploaded');
  const type = field('type') || 'input';
  const base = path.resolve(dirFor(type, 'input'));
  const subfolder = field('subfolder') ?? '';
  const dir = await resolveSub(base, subfolder, 400);
  let name = checkName(image.filename ?? '');
  // Check the deepest existing ancestor before creating anything, so a symlink cannot lead mkdir out.
  let existing = dir;
  while (!(await stat(existing).catch(() => null))) existing = path.dirname(existing);
  if (!(await inside(base, existing))) throw new HttpError(400, 'Invalid subfolder');
  await mkdir(dir, { recursive: true });
  // Like ComfyUI: an existing file gets a " (n)" suffix unless overwrite is asked for.
  const overwrite = ['true', '1'].includes(field('overwrite') ?? '');
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 1; !overwrite && (await stat(path.join(dir, name)).catch(() => null)); i++) name = `${stem} (${i})${ext}`;
  await writeFile(path.join(dir, name), image.data);
  sendJson(res, 200, { name, subfolder, type });
}

// ---------- the web app ----------

function systemStats(_req: Req, res: Res) {
  sendJson(res, 200, {
    system: {
      os: 'posix',
      ram_total: os.totalmem(),
      ram_free: os.freemem(),
      comfyui_version: COMFYUI_VERSION,
      python_version: '3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]',
      embedded_python: false,
    },
    devices: [{
      name: 'cpu', type: 'cpu', index: null,
      vram_total: os.totalmem(), vram_free: os.freemem(), torch_vram_total: os.totalmem(), torch_vram_free: os.freemem(),
    }],
  });
}

// JSON in a <script>: '<' escaped so no value can close the tag.
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

const PAGE = /* html */ `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ComfyUI - ${USER_ID.replace(/[^A-Za-z0-9_-]/g, '')}</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; font-family: system-ui, sans-serif; background: #202020; color: #ddd; }
  #comfy-menu { position: fixed; right: 16px; top: 16px; background: #353535; padding: 12px; border-radius: 8px; display: grid; gap: 8px; min-width: 180px; z-index: 10; }
  #queue-button { padding: 8px 12px; font-size: 15px; cursor: pointer; }
  #user-banner { position: fixed; top: 10px; left: 50%; transform: translateX(-50%); background: #1f2937; padding: 8px 16px; border-radius: 6px; font-size: 14px; }
  #graph-canvas { position: absolute; inset: 0; display: flex; flex-wrap: wrap; gap: 16px; align-content: flex-start; padding: 64px 240px 16px 16px; }
  .node { background: #353535; border: 1px solid #555; border-radius: 6px; padding: 8px 12px; min-width: 160px; font-size: 13px; }
  .node .title { font-weight: 600; margin-bottom: 4px; color: #fff; }
  #queue-redirect-status { position: fixed; top: 200px; right: 16px; background: linear-gradient(135deg, #667eea, #764ba2); color: #fff; padding: 14px 18px; border-radius: 8px; min-width: 280px; font-size: 14px; z-index: 20; }
  #job-position { font-size: 12px; opacity: .9; margin: 4px 0; }
  #job-progress { height: 4px; background: rgba(255,255,255,.2); border-radius: 2px; overflow: hidden; margin-top: 8px; }
  #job-progress-bar { height: 100%; width: 0; background: #fff; transition: width .3s; }
  #job-progress-bar.failed { background: #ef4444; }
</style>
<script>
  // Set like the platform's queue_redirect extension: this user's id, and the queue-manager
  // reached through the public same-origin /api/ path.
  window.COMFYUI_USER_ID = ${scriptJson(USER_ID)};
  window.QUEUE_MANAGER_URL = "";
</script>
<script src="./scripts/app.js" defer></script>
</head>
<body>
<div id="user-banner"></div>
<div id="graph-canvas" aria-label="graph editor"></div>
<div id="comfy-menu">
  <div><span id="comfyui-version">ComfyUI</span> · <span id="connection-status">connecting…</span></div>
  <button id="queue-button" type="button">Queue Prompt</button>
</div>
<div id="queue-redirect-status" style="display:none">
  <div style="font-weight:600;margin-bottom:6px">Job Status</div>
  <div id="job-status-text"></div>
  <div id="job-position"></div>
  <div id="job-progress"><div id="job-progress-bar"></div></div>
</div>
</body>
</html>
`;

const APP_JS = /* js */ `(function () {
  'use strict';
  var USER_ID = window.COMFYUI_USER_ID;
  var QM = typeof window.QUEUE_MANAGER_URL === 'string' ? window.QUEUE_MANAGER_URL : '';
  var $ = function (id) { return document.getElementById(id); };

  // ComfyUI's default text-to-image graph (the shape app.graph.serialize() gives), compact.
  var NODES = [
    [4, 'CheckpointLoaderSimple', ['v1-5-pruned-emaonly.safetensors']],
    [6, 'CLIPTextEncode', ['beautiful scenery nature glass bottle landscape, purple galaxy bottle']],
    [7, 'CLIPTextEncode', ['text, watermark']],
    [5, 'EmptyLatentImage', [512, 512, 1]],
    [3, 'KSampler', [156680208700286, 'randomize', 20, 8, 'euler', 'normal', 1]],
    [8, 'VAEDecode', []],
    [9, 'SaveImage', ['ComfyUI']]
  ];
  var LINKS = [[1, 4, 0, 3, 0, 'MODEL'], [2, 5, 0, 3, 3, 'LATENT'], [3, 4, 1, 6, 0, 'CLIP'], [4, 6, 0, 3, 1, 'CONDITIONING'],
    [5, 4, 1, 7, 0, 'CLIP'], [6, 7, 0, 3, 2, 'CONDITIONING'], [7, 3, 0, 8, 0, 'LATENT'], [8, 4, 2, 8, 1, 'VAE'], [9, 8, 0, 9, 0, 'IMAGE']];
  function workflow() {
    return {
      last_node_id: 9, last_link_id: 9,
      nodes: NODES.map(function (n, i) {
        return { id: n[0], type: n[1], pos: [40 + 300 * (i % 4), 80 + 260 * Math.floor(i / 4)], size: [280, 120], flags: {}, order: i, mode: 0, properties: {}, widgets_values: n[2] };
      }),
      links: LINKS, groups: [], config: {}, extra: {}, version: 0.4
    };
  }

  $('user-banner').textContent = USER_ID.toUpperCase() + ' - Workshop Mode';
  $('graph-canvas').innerHTML = NODES.map(function (n) {
    return '<div class="node" data-node-id="' + n[0] + '"><div class="title">' + n[1] + '</div>' +
      n[2].map(function (v) { return '<div>' + String(v).replace(/[&<>]/g, '') + '</div>'; }).join('') + '</div>';
  }).join('');

  // Our own API, relative to the page so the /userNNN/ prefix is kept.
  fetch('./system_stats').then(function (r) { return r.json(); }).then(function (s) {
    $('comfyui-version').textContent = 'ComfyUI ' + s.system.comfyui_version;
  }).catch(function () {});

  var clientId = 'c' + Math.random().toString(36).slice(2) + Date.now().toString(36);
  function connect() {
    var url = new URL('ws?clientId=' + encodeURIComponent(clientId), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws = new WebSocket(url.href);
    ws.onmessage = function (ev) {
      var msg = JSON.parse(ev.data);
      if (msg.type === 'status') $('connection-status').textContent = 'connected';
    };
    ws.onclose = function () { $('connection-status').textContent = 'reconnecting…'; setTimeout(connect, 3000); };
  }
  connect();

  // ---- queue_redirect: Queue Prompt goes to the queue-manager ----
  var TEXT = { pending: 'Job pending', running: 'Job running', completed: 'Job completed', failed: 'Job failed', cancelled: 'Job cancelled' };
  var WIDTH = { pending: '25%', running: '75%', completed: '100%', failed: '100%', cancelled: '100%' };
  var timer = null;

  function show(status, text, position) {
    $('queue-redirect-status').style.display = 'block';
    $('job-status-text').textContent = text;
    var pos = $('job-position');
    pos.textContent = position == null ? '' : 'Position in queue: ' + position;
    pos.style.display = position == null ? 'none' : 'block';
    var bar = $('job-progress-bar');
    bar.style.width = WIDTH[status] || '0';
    bar.className = status === 'failed' ? 'failed' : '';
  }

  function showJob(job) {
    var text = TEXT[job.status] || ('Job ' + job.status);
    if (job.status === 'failed' && job.error) text += ': ' + job.error;
    show(job.status, text, job.status === 'pending' ? job.position_in_queue : null);
  }

  function poll(id) {
    clearInterval(timer);
    timer = setInterval(function () {
      fetch(QM + '/api/jobs/' + encodeURIComponent(id)).then(function (r) {
        // A pending job that is cancelled is deleted outright: 404 means it left the queue.
        if (r.status === 404) return { id: id, status: 'cancelled' };
        return r.ok ? r.json() : null;
      }).then(function (job) {
        if (!job) return;
        showJob(job);
        if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') clearInterval(timer);
      }).catch(function () { /* transient: next poll retries */ });
    }, 2000);
  }

  $('queue-button').addEventListener('click', function () {
    show('pending', 'Submitting job…', null);
    fetch(QM + '/api/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        user_id: USER_ID, workflow: workflow(), priority: 2,
        metadata: { submitted_at: new Date().toISOString(), frontend: 'comfyui' }
      })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error('HTTP ' + r.status + (body && typeof body.detail === 'string' ? ' ' + body.detail : ''));
        return body;
      });
    }).then(function (job) {
      showJob(job);
      poll(job.id);
    }).catch(function (e) {
      show('failed', 'Job failed to submit: ' + e.message, null);
    });
  });
}());
`;

const router = new Router()
  .get('/', (_req, res) => sendText(res, 200, PAGE, 'text/html; charset=utf-8'))
  .get('/scripts/app.js', (_req, res) => sendText(res, 200, APP_JS, 'text/javascript; charset=utf-8'))
  .get('/system_stats', systemStats)
  .get('/queue', (_req, res) => sendJson(res, 200, { queue_running: [], queue_pending: [] }))
  .post('/prompt', postPrompt)
  .get('/history', getHistory)
  .get('/history/:id', getHistoryItem)
  .get('/view', view)
  .post('/upload/image', uploadImage);

// ComfyUI's websocket: the first message tells the client its session id and the queue size.
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws: WebSocket, clientId: string) => {
  sockets.set(clientId, ws);
  ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: clientId } }));
  ws.on('close', () => sockets.get(clientId) === ws && sockets.delete(clientId));
  ws.on('error', () => ws.terminate());
});

// Like ComfyUI at startup: the directories exist even before anything is written.
for (const d of Object.values(DIRS)) mkdirSync(d, { recursive: true });

router.listen(PORT, (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/ws') return void socket.destroy();
  const clientId = url.searchParams.get('clientId') || randomUUID().replace(/-/g, '');
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, clientId));
});
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => process.exit(0));
console.log(`frontend for ${USER_ID}, output ${DIRS.output}, input ${DIRS.input}`);
