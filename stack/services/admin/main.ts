// Admin dashboard stand-in. /health is open; everything else needs HTTP Basic auth.
// The page talks to the PUBLIC same-origin paths (/ws, /api/...) that nginx routes to the
// queue-manager, so it works only behind nginx, like the real one.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { Router, sendJson, sendText, env, type Req, type Res } from '../lib/http.ts';
import { request } from '../lib/client.ts';

const USERNAME = env('ADMIN_USERNAME', 'admin');
const PASSWORD = env('ADMIN_PASSWORD', '');
const QM = env('QUEUE_MANAGER_URL').replace(/\/+$/, '');
const PORT = Number(env('PORT', '8080'));
// Fault injection only (the catalogue's admin-empty-password): behave like a naive dashboard
// that compares an empty configured password like any other.
const NAIVE_EMPTY = process.env.FAULT_ACCEPT_EMPTY_PASSWORD === 'true';
// Fault injection only (the catalogue's admin-not-live): a dashboard that never opens /ws and
// lives on its 5 s poll alone, like one whose WebSocket code is broken.
const NO_LIVE = process.env.FAULT_NO_LIVE === 'true';
// Fault: the page opens its /ws once, and never again once it closes (a queue-manager restart).
const NO_RECONNECT = process.env.FAULT_NO_WS_RECONNECT === 'true';

// Compare digests so the time taken says nothing about length or content.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function authorized(req: http.IncomingMessage): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Evaluate both comparisons (no short-circuit); an empty configured password never matches.
  const userOk = same(decoded.slice(0, colon), USERNAME);
  const passOk = same(decoded.slice(colon + 1), PASSWORD);
  return (PASSWORD !== '' || NAIVE_EMPTY) && userOk && passOk;
}

async function proxyStatus(_req: Req, res: Res) {
  try {
    const r = await request(`${QM}/api/queue/status`, { headers: { accept: 'application/json' }, timeoutMs: 10_000 });
    res.writeHead(r.status, { 'content-type': String(r.headers['content-type'] ?? 'application/json'), 'content-length': r.body.length });
    res.end(r.body);
  } catch (e) {
    sendJson(res, 502, { detail: `Queue manager unreachable: ${(e as Error).message}` });
  }
}

const page = (_req: Req, res: Res) => sendText(res, 200, PAGE, 'text/html; charset=utf-8');

const open = new Router().get('/health', (_req, res) => sendJson(res, 200, { status: 'healthy', service: 'admin-dashboard' }));
// nginx may pass /admin through unchanged (the guide's `location /admin { proxy_pass http://...:8080; }`).
const guarded = new Router()
  .get('/', page)
  .get('/admin', page)
  .get('/api/proxy/queue/status', proxyStatus)
  .get('/admin/api/proxy/queue/status', proxyStatus);

// Auth decides before routing, so unknown paths answer 401 too and reveal nothing.
const server = http.createServer((raw, res) => {
  const path = new URL(raw.url ?? '/', 'http://x').pathname;
  if (path === '/health' || path === '/health/') return void open.handle(raw, res);
  if (!authorized(raw)) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="ComfyUI Admin Dashboard"', 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ detail: 'Not authenticated' }));
  }
  void guarded.handle(raw, res);
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, '0.0.0.0', () => console.log(`admin dashboard listening on :${PORT}`));
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => process.exit(0));

const PAGE = /* html */ `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ComfyUI Admin Dashboard</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111827; }
  header { background: #1f2937; color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: center; }
  header h1 { font-size: 18px; margin: 0; }
  #refresh-indicator { font-size: 13px; color: #9ca3af; }
  #refresh-indicator.live { color: #34d399; }
  main { padding: 24px; display: grid; gap: 24px; }
  .stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 16px; }
  .stat { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.1); }
  .stat .value { font-size: 28px; font-weight: 600; }
  .stat .label { font-size: 13px; color: #6b7280; }
  section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.1); }
  section h2 { font-size: 16px; margin: 0 0 12px; }
  .job-item, .worker-item { display: flex; gap: 12px; align-items: center; padding: 8px; border-left: 4px solid #9ca3af; margin-bottom: 6px; background: #f9fafb; font-size: 13px; }
  .job-item.pending { border-color: #f59e0b; } .job-item.running { border-color: #3b82f6; }
  .job-item.completed { border-color: #10b981; } .job-item.failed { border-color: #ef4444; }
  .job-item.cancelled { border-color: #6b7280; }
  .job-item .id { font-family: monospace; flex: 1; }
  .empty { color: #6b7280; font-size: 13px; }
  #message { font-size: 13px; color: #b91c1c; min-height: 1em; }
</style>
</head>
<body>
<header><h1>ComfyUI Admin Dashboard</h1><span id="refresh-indicator">○ Connecting…</span></header>
<main>
  <div class="stats">
    <div class="stat"><div class="value" id="stat-pending">-</div><div class="label">Pending</div></div>
    <div class="stat"><div class="value" id="stat-running">-</div><div class="label">Running</div></div>
    <div class="stat"><div class="value" id="stat-completed">-</div><div class="label">Completed</div></div>
    <div class="stat"><div class="value" id="stat-failed">-</div><div class="label">Failed</div></div>
  </div>
  <div id="message"></div>
  <section><h2>Jobs</h2><div id="job-list"><div class="empty">Loading…</div></div></section>
  <section><h2>Workers</h2><div id="worker-list"><div class="empty">Loading…</div></div></section>
</main>
<script>
(function () {
  // Public same-origin paths: nginx sends /api/ and /ws to the queue-manager.
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); };
  var pendingRefresh = null;

  function say(text) { $('message').textContent = text || ''; }

  async function getJson(path) {
    var r = await fetch(path, { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  function renderStatus(s) {
    $('stat-pending').textContent = s.pending_jobs;
    $('stat-running').textContent = s.running_jobs;
    $('stat-completed').textContent = s.completed_jobs;
    $('stat-failed').textContent = s.failed_jobs;
  }

  function renderJobs(jobs) {
    if (!jobs.length) { $('job-list').innerHTML = '<div class="empty">No jobs</div>'; return; }
    $('job-list').innerHTML = jobs.map(function (j) {
      var active = j.status === 'pending' || j.status === 'running';
      return '<div class="job-item ' + esc(j.status) + '" data-job-id="' + esc(j.id) + '">' +
        '<span class="id">' + esc(j.id) + '</span><span class="user">' + esc(j.user_id) + '</span>' +
        '<span class="status">' + esc(j.status) + '</span><span class="priority">P' + esc(j.priority) + '</span>' +
        (j.status === 'pending' && j.position_in_queue != null ? '<span class="position">#' + esc(j.position_in_queue) + '</span>' : '') +
        (j.worker_id ? '<span class="worker">' + esc(j.worker_id) + '</span>' : '') +
        // Cancel applies to pending and running jobs; a new priority only to pending ones.
        (active ? '<button class="cancel-btn" data-action="cancel">Cancel</button>' : '') +
        (j.status === 'pending' ? '<button class="prioritize-btn" data-action="prioritize">Prioritize</button>' : '') +
        '</div>';
    }).join('');
  }

  function renderWorkers(s, jobs) {
    // The queue-manager publishes worker counts; the ids come from the jobs they are running.
    var busy = {};
    jobs.forEach(function (j) { if (j.status === 'running' && j.worker_id) busy[j.worker_id] = j.id; });
    var ids = Object.keys(busy);
    $('worker-list').innerHTML =
      '<div class="worker-summary">' + esc(s.active_workers) + ' active of ' + esc(s.total_workers) + ' workers</div>' +
      ids.map(function (w) { return '<div class="worker-item"><span class="id">' + esc(w) + '</span><span>running ' + esc(busy[w]) + '</span></div>'; }).join('');
  }

  async function refresh() {
    try {
      var results = await Promise.all([getJson('/api/queue/status'), getJson('/api/jobs?limit=100')]);
      var jobs = Array.isArray(results[1]) ? results[1] : (results[1].jobs || []);
      renderStatus(results[0]);
      renderJobs(jobs);
      renderWorkers(results[0], jobs);
      say('');
    } catch (e) {
      say('Refresh failed: ' + e.message);
    }
  }

  // Many WS events in a burst cause one refresh.
  function scheduleRefresh() {
    if (pendingRefresh) return;
    pendingRefresh = setTimeout(function () { pendingRefresh = null; refresh(); }, 200);
  }

  $('job-list').addEventListener('click', async function (ev) {
    var btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    var id = btn.closest('.job-item').getAttribute('data-job-id');
    var path = '/api/jobs/' + encodeURIComponent(id);
    var req = btn.dataset.action === 'cancel' ? fetch(path, { method: 'DELETE' }) : fetch(path + '/priority?priority=0', { method: 'PATCH' });
    try {
      var r = await req;
      await r.text(); // read even an empty 204 body, or the browser reports the request as aborted
      if (!r.ok) say(btn.textContent + ' failed: HTTP ' + r.status);
    } catch (e) { say(btn.textContent + ' failed: ' + e.message); }
    refresh();
  });

  function connect() {
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    var indicator = $('refresh-indicator');
    ws.onopen = function () { indicator.textContent = '● Live'; indicator.className = 'live'; };
    ws.onmessage = scheduleRefresh;
    ws.onclose = function () {
      indicator.textContent = '○ Reconnecting…'; indicator.className = '';
      ${NO_RECONNECT ? '' : 'setTimeout(connect, 3000);'}
    };
  }

  refresh();
  setInterval(refresh, 5000); // polling fallback
  ${NO_LIVE ? '' : 'connect();'}
})();
</script>
</body>
</html>
`;
