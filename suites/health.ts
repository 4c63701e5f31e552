// health: is every part of the platform up and honest about itself?
import { defineCheck } from './lib/check.ts';
import { http, json, each, ask } from './lib/http.ts';

export const healthChecks = [
  defineCheck({
    id: 'health.nginx', suite: 'health', title: 'nginx /health answers 200 "OK"',
    async run(ctx) {
      const r = await http(ctx, '/health');
      ctx.expect(r.status === 200, 'GET /health → 200', `HTTP ${r.status}`);
      ctx.expect(r.body.trim() === 'OK', 'body "OK"', r.body.trim());
    },
  }),
  defineCheck({
    id: 'health.api-healthy', suite: 'health', title: 'queue-manager /api/health is healthy with Redis connected',
    async run(ctx) {
      const r = await http(ctx, '/api/health');
      ctx.expect(r.status === 200, 'GET /api/health → 200', `HTTP ${r.status}`);
      const h = json<{ status?: string; redis_connected?: boolean; workers_active?: number; queue_depth?: number }>(ctx, r);
      // An honest report: when Redis is down the queue-manager must say so, and we say what it said.
      ctx.expect(h.redis_connected === true, 'redis_connected: true', `status "${h.status}", redis_connected ${h.redis_connected}`);
      ctx.expect(h.status === 'healthy', 'status "healthy"', `status "${h.status}"`);
      for (const k of ['version', 'workers_active', 'queue_depth', 'uptime_seconds']) ctx.expect(k in h, `health JSON has ${k}`, Object.keys(h));
      // A worker that polls next-job is counted: 0 means jobs will wait for ever (or the count is broken).
      // Workers poll every 2 s between jobs (contract): a 0 must hold for a few polls before it counts.
      for (const deadline = Date.now() + 6_000; !h.workers_active && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 500));
        try { Object.assign(h, JSON.parse((await ctx.target.request('/api/health')).body)); } catch { /* asked again next time */ }
      }
      ctx.expect((h.workers_active ?? 0) > 0, 'workers_active above 0 (a GPU worker polls for jobs)', 'workers_active 0 for 6 s: no worker polled next-job within the heartbeat window, jobs will wait');
      return `healthy, redis connected, ${h.workers_active} worker(s), queue depth ${h.queue_depth}`;
    },
  }),
  defineCheck({
    id: 'health.admin', suite: 'health', title: 'admin dashboard is served at /admin',
    async run(ctx) {
      // The dashboard's own /health is internal; publicly it answers a visitor without credentials
      // with its Basic challenge (a redirect to /admin/ first is fine).
      let r = await http(ctx, '/admin');
      if (r.status === 301 && /\/admin\/$/.test(r.headers.location ?? '')) r = await http(ctx, '/admin/');
      ctx.expect(r.status !== 200, 'the dashboard is not open without credentials', /ComfyUI Admin Dashboard/.test(r.body) ? 'HTTP 200 with the dashboard' : `HTTP 200, not the dashboard: ${r.body.slice(0, 80)}`);
      ctx.expect(r.status === 401, 'GET /admin → 401 (asks for credentials)', `HTTP ${r.status}`);
      ctx.expect(/^Basic/i.test(r.headers['www-authenticate'] ?? ''), 'WWW-Authenticate: Basic', r.headers['www-authenticate'] ?? 'no WWW-Authenticate header');
      return 'asks for credentials (401, Basic)';
    },
  }),
  defineCheck({
    id: 'health.frontends', suite: 'health', title: 'every user workspace /userNNN/ serves ComfyUI and its system_stats',
    async run(ctx) {
      const bad: string[] = [];
      await each(ctx.target.users, async (u) => {
        const page = await ask(ctx.target, `/${u}/`);
        const stats = await ask(ctx.target, `/${u}/system_stats`);
        let version: string | undefined;
        try { version = JSON.parse(stats.body)?.system?.comfyui_version; } catch { /* reported below */ }
        const ok = page.status === 200 && /<title>[^<]*ComfyUI/i.test(page.body) && stats.status === 200 && !!version;
        ctx.record(`/${u}/`, { page: page.status, system_stats: stats.status, comfyui_version: version ?? null });
        if (!ok) bad.push(`${u} (page HTTP ${page.status}, system_stats HTTP ${stats.status}${version ? '' : ', no comfyui_version'})`);
      });
      ctx.expect(bad.length === 0, `all ${ctx.target.users.length} workspaces answer`, `failing: ${bad.join(', ')}`);
      return `${ctx.target.users.length} workspaces answer`;
    },
  }),
];
