// resilience: what a workshop operator fears mid-session, proved by behaviour on the local stack.
import { defineCheck } from './lib/check.ts';
import { workspaceUser, describeWorkspace, withIdentityFiles } from './lib/identity.ts';
import { basicAuth, ask, seen as seenText } from './lib/http.ts';
import { Jobs, EventLog, FINISHED, probeUser, sleep } from './lib/jobs.ts';
import { withBrowser, newContext, origin, textsUntil, loadPage } from './lib/browser.ts';

/** How long the admin dashboard may take to show "● Live" again once the queue-manager is back. */
const DASHBOARD_BACK_MS = 15_000;

/** How long Redis stays down in resilience.redis-restart, beyond its stop and start (about a second
 *  more): /api/health is asked every 250 ms meanwhile, so a health answer that follows Redis shows it. */
const REDIS_DOWN_MS = 1_000;

/** Jobs that wait through a restart: two more than the workers can hold at once. */
async function waitingBurst(jobs: Jobs, label: string) {
  const { total_workers: workers = 1 } = await jobs.queueStatus();
  return Promise.all(Array.from({ length: workers + 2 }, () => jobs.submit({ user_id: probeUser(label), priority: 3 })));
}

/** Served again: each job still waiting is taken by a worker (running, or already finished). */
async function servedAgain(jobs: Jobs, waiting: { id: string }[]): Promise<string[]> {
  const done = await Promise.all(waiting.map((j) => jobs.follow(j.id, (x) => x.status !== 'pending', 60_000, 250)));
  return done.map((d, i) => ({ ...d, id: waiting[i].id }))
    .filter((d) => !d.job || d.job.status === 'pending' || d.job.status === 'cancelled' || (d.job.status === 'failed' && d.job.error === 'Job timeout exceeded'))
    .map((d) => `${d.id.slice(0, 8)}: ${d.job?.status ?? 'gone'}`);
}

/** The longest JOB_TIMEOUT worth waiting out: beyond it the check says how to prove it instead. */
const MAX_JOB_TIMEOUT_S = 300;
/** After JOB_TIMEOUT, how long the queue-manager's periodic clean-up may take to notice. */
const CLEANUP_SLACK_MS = 60_000;

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
          const a = await ask(ctx.target, '/admin', { timeoutMs: 5_000, headers: adminPassword !== undefined ? basicAuth(adminUsername, adminPassword) : {} });
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
          const r = await ask(ctx.target, '/api/health', { timeoutMs: 3_000 });
          const status = /"status"\s*:\s*"(\w+)"/.exec(r.body)?.[1];
          return { code: r.status, status: status ?? seenText(r) };
        };
        const first = await health();
        ctx.expect(first.status === 'healthy', 'the queue-manager is healthy before the restart', first.status);
        // Jobs waiting in the queue (a burst at low priority: the workers take only some at once).
        const mine = await waitingBurst(jobs, 'redis-restart');
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
        // Its own precondition: jobs that waited through it (else "served again" would be a loop over nothing).
        if (!waiting.length) ctx.skip(`none of the ${mine.length} jobs was still waiting once Redis was back (the workers had taken them all): nothing shows the queue is served again`);
        ctx.record('the jobs once Redis was back', after.map((j) => j && { id: j.id.slice(0, 8), status: j.status }));
        const stuck = await servedAgain(jobs, waiting);
        ctx.expect(stuck.length === 0, 'each job still waiting is then served (a worker takes it)', stuck.join('; '));
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
  defineCheck({
    id: 'resilience.worker-vanishes', suite: 'resilience', needs: ['disrupt', 'write'], jobEvents: true,
    // It waits out JOB_TIMEOUT: started first, beside the other job checks (it takes the worker away
    // only for the moment it holds this check's own job).
    slow: true, timeoutMs: (MAX_JOB_TIMEOUT_S * 1000) + CLEANUP_SLACK_MS + 60_000,
    title: 'a worker that vanishes mid-job does not leave the job running: after JOB_TIMEOUT it is failed with "Job timeout exceeded"',
    async run(ctx) {
      const timeout = ctx.target.queue.jobTimeout;
      if (timeout === undefined) return ctx.skip('JOB_TIMEOUT is not known for this deployment (give it as in the platform\'s .env)');
      if (timeout > MAX_JOB_TIMEOUT_S) return ctx.skip(`JOB_TIMEOUT is ${timeout} s: a vanished worker's job would be failed only then; prove it on a stack with a short JOB_TIMEOUT (the local stack's is seconds)`);
      const jobs = new Jobs(ctx, 'worker-vanishes');
      // A job left running (no JOB_TIMEOUT clean-up) is cancelled at the end: an event on /ws, held until
      // the idle proof is done (it would start that proof's minute again; a failed job needs no event).
      let unfinished = false;
      try {
        for (let attempt = 1; attempt <= 3; attempt++) {
          unfinished = true;
          const job = await jobs.submit({ user_id: probeUser('worker-vanishes'), priority: 1 });
          const { job: running } = await jobs.follow(job.id, (j) => j.status !== 'pending', 60_000, 100);
          ctx.expect(running?.status === 'running', 'a worker takes the job', running?.status ?? 'gone');
          // The worker must hold this job, and only this one, when it goes: a job it took after this
          // one would be another check's. Just taken, or let it finish and try again.
          const heldFor = Date.now() - Date.parse(running!.started_at ?? '');
          if (!(heldFor < 700)) { ctx.record(`attempt ${attempt}`, `the job was seen running ${heldFor} ms after it started: too late to be sure the worker still holds only it`); continue; }
          try {
            await ctx.target.services!.restart(['worker'], { kill: true });
          } catch (e) {
            return ctx.skip(`could not make the worker vanish (${(e as Error).message.split('\n')[0]}): the GPU workers run elsewhere; stop one mid-job by hand`);
          }
          const at = await jobs.get(job.id);
          if (at?.status !== 'running') { ctx.record(`attempt ${attempt}`, `the worker reported the job (${at?.status ?? 'gone'}) before it vanished`); continue; }
          ctx.record('the worker vanished (SIGKILL) holding the job', { job: job.id.slice(0, 8), worker_id: at.worker_id, started_at: at.started_at, JOB_TIMEOUT: `${timeout} s` });
          const t0 = Date.now();
          const { job: end, seen } = await jobs.follow(job.id, (j) => j.status !== 'running', timeout * 1000 + CLEANUP_SLACK_MS, 500);
          unfinished = !end || !FINISHED.includes(end.status);
          ctx.record('the job afterwards', { seen: seen.map((j) => j.status), status: end?.status, error: end?.error, after: `${((Date.now() - t0) / 1000).toFixed(1)} s` });
          ctx.expect(end?.status !== 'running', `the job is no longer running within JOB_TIMEOUT (${timeout} s) and ${CLEANUP_SLACK_MS / 1000} s`, `still running after ${((Date.now() - t0) / 1000).toFixed(0)} s: a vanished worker's job stays running for ever (no JOB_TIMEOUT clean-up)`);
          ctx.expect(end?.status === 'failed' && /Job timeout exceeded/.test(end.error ?? ''), 'failed with "Job timeout exceeded"', end ? `${end.status}${end.error ? `: ${end.error}` : ''}` : 'gone');
          return `failed with "${end!.error}" ${((Date.now() - t0) / 1000).toFixed(0)} s after its worker vanished (JOB_TIMEOUT ${timeout} s)`;
        }
        return ctx.skip('the worker finished the job before it could vanish, three times: nothing shown');
      } finally {
        if (unfinished) await ctx.afterQuiet();
        await jobs.cleanup();
      }
    },
  }),
  defineCheck({
    id: 'resilience.queue-manager-restart', suite: 'resilience', needs: ['disrupt', 'write', 'admin'], exclusive: true, jobEvents: true, timeoutMs: 120_000,
    title: 'the queue-manager restarts with jobs waiting: every job is still there and served, the open admin dashboard is "● Live" again on its own, and /ws clients that reconnect hear the events',
    async run(ctx) {
      const { adminUsername: username, adminPassword: password } = ctx.target.secrets;
      return withBrowser(ctx, async (b) => {
        // The operator's dashboard is open through it all (a /ws client of the queue-manager's).
        const page = await (await newContext(b, { httpCredentials: { username, password: password! } })).newPage();
        const r = await loadPage(ctx, page, `${origin(ctx.target)}/admin`);
        const title = await page.title();
        ctx.expect(r?.status() === 200 && title === 'ComfyUI Admin Dashboard', 'the dashboard page opens before the restart (title "ComfyUI Admin Dashboard")', `/admin → HTTP ${r?.status()}, "${title}"`);
        const live = await textsUntil(page, '#refresh-indicator', (t) => t.includes('● Live'), 8_000);
        ctx.record('the dashboard\'s indicator before the restart', live);
        ctx.expect(live.at(-1)?.includes('● Live') ?? false, 'the open dashboard is "● Live" before the restart', `"${live.at(-1) ?? ''}"`);
        const done = await restartWithJobs();
        // Back on its own: no reload, the page's own reconnect.
        const back = await textsUntil(page, '#refresh-indicator', (t) => t.includes('● Live'), DASHBOARD_BACK_MS);
        ctx.record('the dashboard\'s indicator after the restart', back);
        ctx.expect(back.at(-1)?.includes('● Live') ?? false, `the open dashboard is "● Live" again within ${DASHBOARD_BACK_MS / 1000} s, without a reload`, `it shows "${back.at(-1)}": its /ws does not reconnect`);
        return done;
      });
      // The restart itself, with jobs waiting and a /ws client of our own.
      async function restartWithJobs(): Promise<string> {
        const jobs = new Jobs(ctx, 'queue-manager-restart');
        let before: EventLog | undefined;
        let again: EventLog | undefined;
        try {
          before = await EventLog.open(ctx);
          // Jobs waiting (low priority: the worker takes one at a time), then the queue-manager goes away.
          const mine = await waitingBurst(jobs, 'qm-restart');
          const moved = await ctx.target.services!.restart(['queue-manager']);
          ctx.record('restarted', moved);
          // A client that reconnects (the dashboard, a workspace) is upgraded again and hears the jobs
          // move. It listens before the jobs are read: a job read as waiting then moves while it hears
          // (read first, a worker could take one in between, and no later event need follow).
          for (const deadline = Date.now() + 10_000; !again; await sleep(250)) {
            try { again = await EventLog.open(ctx); } catch (e) { if (Date.now() > deadline) throw e; }
          }
          const after = await Promise.all(mine.map((j) => jobs.get(j.id)));
          ctx.record('the jobs after the restart', after.map((j, i) => (j ? { id: j.id.slice(0, 8), status: j.status } : { id: mine[i].id.slice(0, 8), status: 'gone' })));
          const lost = mine.filter((_, i) => !after[i]);
          ctx.expect(lost.length === 0, 'every job submitted before the restart is still there', `${lost.length} of ${mine.length} gone after the queue-manager restarted (kept in its memory, or cleared when it starts?)`);
          ctx.record('the /ws socket opened before the restart', before.closedWith === undefined ? 'still open' : `closed by the server (code ${before.closedWith})`);
          const waiting = mine.filter((_, i) => after[i]?.status === 'pending');
          if (!waiting.length) ctx.skip(`none of the ${mine.length} jobs was still waiting after the restart (the workers had taken them all): nothing shows the queue is served again`);
          const stuck = await servedAgain(jobs, waiting);
          // Gone a moment later is lost all the same (a start-up routine that cleared the queue after the first answers).
          const gone = stuck.filter((x) => x.endsWith(': gone'));
          ctx.expect(gone.length === 0, 'every job submitted before the restart is still there', `${gone.length} of ${mine.length} gone after the queue-manager restarted (kept in its memory, or cleared when it starts?)`);
          ctx.expect(stuck.length === 0, 'each job still waiting is then served (a worker takes it)', stuck.join('; '));
          // Its events may trail the state read through the API by a moment.
          const heardAll = () => waiting.every((j) => again!.about(j.id).some((e) => e.type === 'job_updated'));
          for (const deadline = Date.now() + 3_000; !heardAll() && Date.now() < deadline;) await sleep(100);
          const heard = waiting.filter((j) => again!.about(j.id).some((e) => e.type === 'job_updated'));
          ctx.record('events heard on the reconnected /ws', waiting.map((j) => ({ id: j.id.slice(0, 8), events: again!.summary(j.id) })));
          ctx.expect(heard.length === waiting.length, 'a /ws client that reconnected hears each served job\'s events', `${waiting.length - heard.length} of ${waiting.length} served jobs had no job_updated event on it`);
          return `${mine.length} jobs kept, ${waiting.length} waiting ones served, their events heard on a reconnected /ws; the dashboard "● Live" again`;
        } finally {
          before?.close();
          again?.close();
          await jobs.cleanup();
        }
      }
    },
  }),
];
