// resilience: what a workshop operator fears mid-session, proved by behaviour on the local stack.
import { defineCheck } from './lib/check.ts';
import { workspaceUser, describeWorkspace, withIdentityFiles } from './lib/identity.ts';
import { basicAuth } from './lib/http.ts';
import { Jobs, probeUser, sleep, FINISHED } from './lib/jobs.ts';

/** How long Redis stays down in resilience.redis-restart: long enough for any health probe to see it. */
const REDIS_DOWN_MS = 4_000;

/** How long nginx may take to reach a restarted container once it listens again. */
const REACHED_WITHIN_MS = 10_000;

export const resilienceChecks = [
  defineCheck({
    id: 'resilience.recreated-containers', suite: 'resilience', needs: ['disrupt', 'host', 'write'],
    // It takes the admin and a workspace away for a moment: nothing else may run meanwhile.
    exclusive: true, timeoutMs: 60_000,
    title: `the admin and a workspace restarted while nginx runs are reached again, each as itself, within ${REACHED_WITHIN_MS / 1000} s`,
    async run(ctx) {
      const user = ctx.target.users[ctx.target.users.length - 1];
      const { adminUsername, adminPassword } = ctx.target.secrets;
      // The dashboard as itself: its page (contract: title "ComfyUI Admin Dashboard") or, should the
      // credentials not open it (another check's finding), its Basic challenge; never a 502 or a workspace.
      const adminIsItself = (r: { status: number; body: string; headers?: Record<string, string> }) =>
        (r.status === 200 && /ComfyUI Admin Dashboard/.test(r.body)) || (r.status === 401 && /^Basic/i.test(r.headers?.['www-authenticate'] ?? ''));
      return withIdentityFiles(ctx, [user], async (name) => {
        const look = async (label: string) => {
          const a = await ctx.target.request('/admin', { timeoutMs: 5_000, headers: adminPassword !== undefined ? basicAuth(adminUsername, adminPassword) : {} })
            .catch((e: Error) => ({ status: 0, body: e.message, headers: {} as Record<string, string> }));
          const w = await workspaceUser(ctx.target, user, name);
          const problems = [
            ...(adminIsItself(a) ? [] : [`/admin → ${a.status ? `HTTP ${a.status}, not the dashboard` : a.body}`]),
            ...(w.user === user ? [] : [describeWorkspace(`/${user}/`, w)]),
          ];
          ctx.record(label, { admin: a.status, [user]: w.user ?? w.error ?? `HTTP ${w.status}` });
          return problems;
        };
        // Its own precondition: both answer as themselves before anything is restarted.
        const before = await look('before the restart');
        ctx.expect(before.length === 0, 'the admin and the workspace answer before the restart', before.join('; '));
        const moved = await ctx.target.services!.restart(['admin', user]);
        ctx.record('restarted (address on the app network)', moved);
        // Coming back at the same addresses would prove nothing about an nginx that remembers them.
        if (moved.every((m) => m.before === m.after)) ctx.skip(`the restarted containers came back at their old addresses (${moved.map((m) => `${m.service} ${m.after}`).join(', ')}): nothing shows whether nginx finds moved containers`);
        const t0 = Date.now();
        let problems: string[] = [];
        while (Date.now() - t0 < REACHED_WITHIN_MS) {
          problems = await look(`after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          if (!problems.length) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        const addresses = moved.map((m) => `${m.service} ${m.before} → ${m.after}`).join(', ');
        ctx.expect(problems.length === 0, `both reached as themselves within ${REACHED_WITHIN_MS / 1000} s of listening again`,
          `${problems.join('; ')} (addresses: ${addresses}; an nginx that resolved the names only when it started still uses the old ones)`);
        return `reached after ${((Date.now() - t0) / 1000).toFixed(1)} s (addresses: ${addresses})`;
      });
    },
  }),
  defineCheck({
    id: 'resilience.redis-restart', suite: 'resilience', needs: ['disrupt', 'write'], exclusive: true, jobEvents: true, timeoutMs: 120_000,
    title: 'Redis restarts with jobs waiting: the queue-manager says it is unhealthy, recovers on its own, and every job is still there and served',
    async run(ctx) {
      const jobs = new Jobs(ctx, 'redis-restart');
      try {
        const health = async () => {
          const r = await ctx.target.request('/api/health', { timeoutMs: 3_000 }).catch((e: Error) => ({ status: 0, body: e.message }));
          const status = /"status"\s*:\s*"(\w+)"/.exec(r.body)?.[1];
          return { code: r.status, status: status ?? (r.status ? `HTTP ${r.status}` : r.body) };
        };
        const first = await health();
        ctx.expect(first.status === 'healthy', 'the queue-manager is healthy before the restart', first.status);
        // Jobs waiting in the queue (a burst at low priority: a worker takes at most a few at once).
        const mine = await Promise.all(Array.from({ length: 6 }, () => jobs.submit({ user_id: probeUser('redis-restart'), priority: 3 })));
        // Redis goes away for a few seconds while health is watched.
        const seen: { at: number; code: number; status: string }[] = [];
        let restarting = true;
        const t0 = Date.now();
        const restart = ctx.target.services!.restart(['redis'], { downMs: REDIS_DOWN_MS }).finally(() => { restarting = false; });
        while (restarting) {
          seen.push({ at: Date.now() - t0, ...await health() });
          await sleep(250);
        }
        await restart;
        const down = seen.filter((x) => x.status !== 'healthy');
        ctx.record('/api/health while Redis was down (ms since stop)', seen.map((x) => `${x.at} ms: ${x.code || '-'} ${x.status}`));
        ctx.expect(down.length > 0, `/api/health reports Redis missing during its ${REDIS_DOWN_MS / 1000} s down`, 'healthy throughout');
        if (down.every((x) => x.code === 200)) ctx.warn('/api/health answered 200 while unhealthy (as the contract says): a monitor that reads only the status code will not notice Redis is down');
        // Back on its own, without restarting the queue-manager.
        let back = false;
        for (const deadline = Date.now() + 20_000; !back && Date.now() < deadline; await sleep(250)) back = (await health()).status === 'healthy';
        ctx.expect(back, 'healthy again within 20 s of Redis listening, without restarting the queue-manager', (await health()).status);
        // Every job still there (AOF), and the ones still waiting served. A job a worker held while Redis
        // was away may have lost its worker's report (the worker's business, and JOB_TIMEOUT's): told, not judged.
        const after = await Promise.all(mine.map((j) => jobs.get(j.id)));
        const lost = mine.filter((_, i) => !after[i]);
        ctx.expect(lost.length === 0, 'every job submitted before the restart is still there', `${lost.length} of ${mine.length} gone after Redis restarted (no persistence: appendonly off?)`);
        const waiting = mine.filter((_, i) => after[i]?.status === 'pending');
        ctx.record('the jobs once Redis was back', after.map((j) => j && { id: j.id.slice(0, 8), status: j.status }));
        const done = await Promise.all(waiting.map((j) => jobs.follow(j.id, (x) => FINISHED.includes(x.status), 60_000, 500)));
        const stuck = done.filter((d) => d.job?.status !== 'completed').map((d, i) => `${waiting[i].id.slice(0, 8)}: ${d.job?.status ?? 'gone'}`);
        ctx.expect(stuck.length === 0, 'each job still waiting is then served (completed)', stuck.join('; '));
        const held = mine.filter((_, i) => after[i]?.status === 'running');
        if (held.length) {
          const later = await Promise.all(held.map((j) => jobs.get(j.id)));
          const still = later.filter((j) => j?.status === 'running');
          if (still.length) ctx.warn(`${still.length} job(s) a worker held while Redis was down still running: the worker's report was lost (JOB_TIMEOUT fails them)`);
        }
        return `unhealthy while down (${down[0].status}), healthy again; ${mine.length} jobs kept, ${waiting.length} waiting ones served`;
      } finally {
        await jobs.cleanup();
      }
    },
  }),
];
