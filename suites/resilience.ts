// resilience: what a workshop operator fears mid-session, proved by behaviour on the local stack.
import { defineCheck } from './lib/check.ts';
import { workspaceUser, describeWorkspace } from './lib/identity.ts';
import { basicAuth } from './lib/http.ts';

/** How long nginx may take to reach a restarted container once it listens again. */
const REACHED_WITHIN_MS = 10_000;

export const resilienceChecks = [
  defineCheck({
    id: 'resilience.recreated-containers', suite: 'resilience', needs: ['disrupt'],
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
      const look = async (label: string) => {
        const a = await ctx.target.request('/admin', { timeoutMs: 5_000, headers: adminPassword !== undefined ? basicAuth(adminUsername, adminPassword) : {} })
          .catch((e: Error) => ({ status: 0, body: e.message, headers: {} as Record<string, string> }));
        const w = await workspaceUser(ctx.target, user);
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
    },
  }),
];
