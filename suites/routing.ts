// routing: every public URL goes where the contract says, and nowhere else.
import { defineCheck } from './lib/check.ts';
import { http, json, each, basicAuth } from './lib/http.ts';
import { workspaceUser, describeWorkspace, withIdentityFiles } from './lib/identity.ts';
import { workflowOfSize } from '../fixtures/workflows.ts';

export const routingChecks = [
  defineCheck({
    id: 'routing.http-redirect', suite: 'routing', title: 'http:// answers 301 to the same path on https',
    async run(ctx) {
      const path = '/user001/some/path?x=1';
      const r = await http(ctx, path, { scheme: 'http' });
      const want = `https://${ctx.target.domain}${path}`;
      ctx.expect(r.status === 301, 'HTTP → 301', `HTTP ${r.status}`);
      ctx.expect(r.headers.location === want, `Location ${want}`, r.headers.location ?? 'no Location');
    },
  }),
  defineCheck({
    id: 'routing.root', suite: 'routing', title: '/ redirects to /user001/ or lists every workspace',
    async run(ctx) {
      const r = await http(ctx, '/');
      if (r.status === 302) {
        const loc = r.headers.location ?? '';
        ctx.expect(/\/user001\/$/.test(loc), '302 to /user001/', loc);
        return 'redirects to /user001/';
      }
      ctx.expect(r.status === 200, '302 to /user001/ or a 200 landing page', `HTTP ${r.status}`);
      const missing = ctx.target.users.filter((u) => !r.body.includes(`/${u}/`));
      ctx.expect(missing.length === 0, 'the landing page links every workspace', `missing links: ${missing.join(', ')}`);
      return `landing page links ${ctx.target.users.length} workspaces`;
    },
  }),
  defineCheck({
    id: 'routing.queue-status', suite: 'routing', title: '/api/queue/status returns the queue status JSON',
    async run(ctx) {
      const r = await http(ctx, '/api/queue/status');
      ctx.expect(r.status === 200, 'GET /api/queue/status → 200', `HTTP ${r.status}`);
      const s = json(ctx, r);
      const keys = ['mode', 'pending_jobs', 'running_jobs', 'completed_jobs', 'failed_jobs', 'total_workers', 'active_workers', 'queue_depth'];
      const missing = keys.filter((k) => !(k in s));
      ctx.expect(missing.length === 0, 'all queue status fields', `missing ${missing.join(', ')}`);
      return `mode ${s.mode}, ${s.pending_jobs} pending, ${s.running_jobs} running`;
    },
  }),
  defineCheck({
    id: 'routing.api-methods', suite: 'routing', title: '/api/ routes reach the queue-manager with their methods intact',
    async run(ctx) {
      // Probes whose answers only the queue-manager gives: its 404 and 422 bodies. DELETE and PATCH
      // (on a job that does not exist) are write methods: sent only with the write flag.
      const id = '00000000-0000-4000-8000-000000000000';
      const writes = ctx.target.capabilities.has('write');
      const probes: [string, string, number][] = [
        ['GET', `/api/jobs/${id}`, 404],
        ...(writes ? [['DELETE', `/api/jobs/${id}`, 404], ['PATCH', `/api/jobs/${id}/priority?priority=1`, 404]] as [string, string, number][] : []),
        ['GET', '/api/jobs?limit=1', 200], ['GET', '/api/workers/next-job', 422],
      ];
      for (const [method, path, want] of probes) {
        const r = await http(ctx, path, { method });
        ctx.expect(r.status === want, `${method} ${path} → ${want}`, `HTTP ${r.status}`);
        if (want !== 200) {
          const body = json<{ detail?: unknown }>(ctx, r);
          ctx.expect(body.detail !== undefined, `${method} ${path}: the queue-manager's {"detail": …} body`, r.body.slice(0, 120));
        }
      }
      return writes ? 'GET, DELETE and PATCH reach the queue-manager' : 'GET reaches the queue-manager (read-only run: DELETE and PATCH not sent)';
    },
  }),
  defineCheck({
    id: 'routing.admin-auth', suite: 'routing', title: '/admin asks for credentials (401) and accepts the right ones (200)',
    needs: ['admin'],
    async run(ctx) {
      const { adminUsername: user, adminPassword: pass } = ctx.target.secrets;
      // The password the deployment gives its admin (compose passes an ADMIN_PASSWORD missing from
      // .env as a blank string): empty, there is no password to keep anyone out.
      ctx.expect(pass !== '', 'the admin dashboard has a password (ADMIN_PASSWORD)', 'an empty one: ADMIN_PASSWORD is unset or blank in what the deployment passes to the admin');
      const none = await http(ctx, '/admin', { label: 'no credentials' });
      ctx.expect(none.status === 401, 'no credentials → 401', `HTTP ${none.status}`);
      ctx.expect(/^Basic/i.test(none.headers['www-authenticate'] ?? ''), 'WWW-Authenticate: Basic', none.headers['www-authenticate'] ?? 'none');
      const wrong = await http(ctx, '/admin', { headers: basicAuth(user, 'wrong-password'), label: 'wrong password' });
      ctx.expect(wrong.status === 401, 'wrong password → 401', `HTTP ${wrong.status}`);
      const empty = await http(ctx, '/admin', { headers: basicAuth(user, ''), label: 'empty password' });
      ctx.expect(empty.status === 401, 'an empty password → 401', `HTTP ${empty.status}`);
      const right = await http(ctx, '/admin', { headers: basicAuth(user, pass!), label: 'right credentials' });
      ctx.expect(right.status === 200, 'right credentials → 200', `HTTP ${right.status}`);
      ctx.expect(/ComfyUI Admin Dashboard/.test(right.body), 'the page is the admin dashboard', right.body.slice(0, 120));
    },
  }),
  defineCheck({
    id: 'routing.outputs-no-listing', suite: 'routing', title: '/outputs/ lists no directory',
    async run(ctx) {
      for (const path of ['/outputs/', `/outputs/${ctx.target.users[0]}/`]) {
        const r = await http(ctx, path);
        // Refused (403, 404) or a page that is no listing; no answer (5xx) is nothing to judge.
        ctx.expect(r.status < 500, `GET ${path} answers (403, 404, or a page)`, `HTTP ${r.status}: no answer, so no sign either way`);
        const listing = /Index of|<a href="[^"]+\/?">/i.test(r.body) && r.status === 200;
        ctx.expect(!listing, `GET ${path} shows no directory listing`, `HTTP ${r.status} with a listing: ${r.body.slice(0, 100)}`);
      }
      return 'no listing: /outputs/ and a user\'s directory refused or unlisted';
    },
  }),
  defineCheck({
    id: 'routing.user-identity', suite: 'routing', title: 'each /userNNN/ reaches that user\'s own frontend (by identity)',
    // A file of one name in every user's outputs, holding that user's id: /userNNN/view shows whose
    // container answered (written through the host, removed after).
    needs: ['host', 'write'],
    async run(ctx) {
      return withIdentityFiles(ctx, ctx.target.users, async (name) => {
        const wrong: string[] = [];
        await each(ctx.target.users, async (u) => {
          const w = await workspaceUser(ctx.target, u, name);
          ctx.record(`/${u}/view?filename=${name}`, { status: w.status, servedBy: w.user ?? null, ...(w.error ? { error: w.error } : {}) });
          if (w.user !== u) wrong.push(describeWorkspace(`/${u}/`, w));
        });
        ctx.expect(wrong.length === 0, 'every workspace serves its own user', wrong.join('; '));
        return `${ctx.target.users.length} workspaces, each its own user's container`;
      });
    },
  }),
  defineCheck({
    id: 'routing.unknown-user', suite: 'routing', title: 'an unknown user path gets 404',
    async run(ctx) {
      const n = ctx.target.users.length + 1;
      for (const path of [`/user${String(n).padStart(3, '0')}/`, '/user999/', '/userabc/']) {
        const r = await http(ctx, path);
        ctx.expect(r.status === 404, `GET ${path} → 404`, `HTTP ${r.status}`);
      }
    },
  }),
  defineCheck({
    id: 'routing.cors', suite: 'routing', title: 'CORS on /api/ allows only https://DOMAIN; preflight answered',
    async run(ctx) {
      const own = `https://${ctx.target.domain}`;
      const pre = await http(ctx, '/api/jobs', { method: 'OPTIONS', headers: { origin: own, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }, label: 'preflight from the domain' });
      ctx.expect(pre.status === 204 || pre.status === 200, 'OPTIONS preflight → 204/200', `HTTP ${pre.status}`);
      ctx.expect(pre.headers['access-control-allow-origin'] === own, `Access-Control-Allow-Origin: ${own}`, pre.headers['access-control-allow-origin'] ?? 'none');
      ctx.expect(/POST/.test(pre.headers['access-control-allow-methods'] ?? ''), 'preflight allows POST', pre.headers['access-control-allow-methods'] ?? 'none');
      const evil = await http(ctx, '/api/queue/status', { headers: { origin: 'https://evil.example' }, label: 'GET from another origin' });
      // No header on an error page says nothing about what the API allows.
      ctx.expect(evil.status === 200, 'GET /api/queue/status from another origin answered (200)', `HTTP ${evil.status}: no answer to judge its CORS headers by`);
      const acao = evil.headers['access-control-allow-origin'];
      ctx.expect(acao === undefined || acao === own, 'another origin is not allowed', `Access-Control-Allow-Origin: ${acao}`);
    },
  }),
  defineCheck({
    id: 'routing.large-workflow', suite: 'routing', title: 'a 10 MiB workflow is not rejected by nginx (no 413)',
    // A 10 MiB POST: nothing is stored, but it is a write method and a heavy one (and a queue-manager
    // that wrongly stores it announces a job on /ws).
    needs: ['write'], jobEvents: true,
    async run(ctx) {
      // Invalid on purpose (no user_id): the queue-manager answers 422 without storing anything,
      // which proves the body passed nginx. A 413 is nginx's body limit.
      const body = JSON.stringify({ workflow: workflowOfSize(10 * 1024 * 1024 - 64 * 1024) });
      const r = await http(ctx, '/api/jobs', { method: 'POST', body, headers: { 'content-type': 'application/json' }, timeoutMs: 60_000 });
      ctx.expect(r.status !== 413, 'a 10 MiB body passes nginx', `HTTP 413 from ${r.headers.server ?? 'the proxy'} (client_max_body_size too small)`);
      ctx.expect(r.status === 422, 'the queue-manager answers 422 (the body reached it; nothing stored)', `HTTP ${r.status}`);
      return `${(Buffer.byteLength(body) / 1048576).toFixed(1)} MiB reached the queue-manager`;
    },
  }),
];
