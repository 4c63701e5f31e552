// Root causes, on a target whose services can be frozen at will: the watcher names the one that
// stopped answering and what ran just before; checks touching it fail at once as blocked by it;
// checks that touch only others are untouched; on a stack that can restart it, the blocked ones run again.
import { describe, it, expect } from 'vitest';
import { PageGuard, serviceOf, Watcher } from './watch.ts';
import { defineCheck, runChecks, type CheckResult } from './check.ts';
import type { Target, HttpResult } from './target.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls cond every 10 ms until it holds (a test's own timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(10);
}

/** A target whose services answer at once, or, once frozen, never (the request times out).
 *  `asked` counts the requests each service was sent: the tests wait for the watcher's probes by it. */
function fakeTarget(o: { restartable?: boolean } = {}) {
  const frozen = new Set<string>();
  const restarted: string[] = [];
  const asked = new Map<string, number>();
  const users = ['user001', 'user002'];
  const t = {
    name: 'fake', kind: 'local', domain: 'example.test', users, publicAddress: '127.0.0.1', httpPort: 80, httpsPort: 443,
    capabilities: new Set(['write']), trustedCas: [], secrets: { adminUsername: 'admin' }, queue: {}, vantages: {},
    async request(path: string, ro: { timeoutMs?: number } = {}): Promise<HttpResult> {
      const s = serviceOf(path, users);
      asked.set(s, (asked.get(s) ?? 0) + 1);
      if (frozen.has(s)) {
        await sleep(ro.timeoutMs ?? 15_000);
        throw new Error('Headers Timeout Error');
      }
      return { method: 'GET', url: path, status: 200, headers: {}, body: 'ok', timeMs: 1 };
    },
    async websocket(path: string) {
      if (frozen.has(serviceOf(path, users))) { await sleep(10_000); throw new Error('Opening handshake has timed out'); }
      return {} as never;
    },
    tlsProbe: async () => ({ ok: true }),
    close: async () => {},
    ...(o.restartable ? { services: { where: 'fake', restart: async (s: string[]) => { restarted.push(...s); s.forEach((x) => frozen.delete(x)); return []; } } } : {}),
  } as unknown as Target;
  const askedOf = (s: string) => asked.get(s) ?? 0;
  return { t, frozen, restarted, askedOf };
}

describe('serviceOf', () => {
  it('maps the contract\'s routes to the service behind them', () => {
    const users = ['user001', 'user020'];
    expect(serviceOf('/api/jobs?x=1', users)).toBe('queue-manager');
    expect(serviceOf('/ws', users)).toBe('queue-manager');
    expect(serviceOf('/admin/', users)).toBe('admin');
    expect(serviceOf('/user020/system_stats', users)).toBe('user020');
    expect(serviceOf('/user021/', users)).toBe('nginx');
    expect(serviceOf('/health', users)).toBe('nginx');
  });
});

describe('the watcher', () => {
  it('names the service that stopped answering, when, and the check that ran just before', async () => {
    const { t, frozen } = fakeTarget();
    const w = new Watcher(t, { intervalMs: 40, probeTimeoutMs: 200 });
    await w.start();
    w.note('websocket.api-upgrade', 'started');
    frozen.add('queue-manager');
    const t0 = Date.now();
    await until(() => !!w.dark('queue-manager'));
    w.stop();
    const o = w.dark('queue-manager')!;
    expect(o, 'declared dark').toBeDefined();
    expect(o.since).toBeGreaterThanOrEqual(t0 - 50);
    expect(o.after[0].id).toBe('websocket.api-upgrade');
    expect(o.probe).toMatch(/no answer to \/api\/health/);
    expect(w.dark('admin')).toBeUndefined();
    expect(w.outages().map((x) => x.service)).toEqual(['queue-manager']);
  });

  it('a service that never answered is not an outage (its own checks say why)', async () => {
    const { t, frozen, askedOf } = fakeTarget();
    frozen.add('admin');
    const w = new Watcher(t, { intervalMs: 30, probeTimeoutMs: 100 });
    await w.start();
    await until(() => askedOf('admin') >= 5); // the watcher asked it, and it never answered
    w.stop();
    expect(w.outages()).toEqual([]);
  });

  it('checks that touch the dark service are blocked at once, the others pass, and a restart reruns the blocked ones', async () => {
    const { t, frozen, restarted } = fakeTarget({ restartable: true });
    const w = new Watcher(t, { intervalMs: 40, probeTimeoutMs: 200 });
    let froze!: () => void;
    const frozenNow = new Promise<void>((r) => (froze = r));
    const freezer = defineCheck({ id: 'websocket.freezer', suite: 'websocket', title: 'opens /ws, after which the queue-manager hangs',
      async run(ctx) { ctx.record('/api/health', (await ctx.target.request('/api/health')).status); if (!restarted.length) frozen.add('queue-manager'); froze(); } });
    const api = (id: string) => defineCheck({ id, suite: 'jobs', title: id, timeoutMs: 20_000, async run(ctx) {
      // Asks only once the watcher has seen the queue-manager go dark (before a restart), so the
      // freezer's request is the last use of it before the outage.
      if (!restarted.length) await until(() => !!w.dark('queue-manager'));
      const r = await ctx.target.request('/api/jobs', { timeoutMs: 15_000 });
      ctx.record('/api/jobs', r.status);
      ctx.expect(r.status === 200, '200');
    } });
    const admin = defineCheck({ id: 'health.admin-ok', suite: 'health', title: 'admin', async run(ctx) { await frozenNow; ctx.record('/admin', (await ctx.target.request('/admin')).status); } });
    await w.start();
    const t0 = Date.now();
    const seen: CheckResult[] = [];
    const results = await runChecks([freezer, api('jobs.one'), api('jobs.two'), admin], t, { watcher: w, onResult: (r) => seen.push(r) });
    w.stop();
    // Blocked fast: nowhere near the 15 s request timeout.
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(w.outages()).toHaveLength(1);
    expect(w.outages()[0]).toMatchObject({ service: 'queue-manager', blocked: ['jobs.one', 'jobs.two'] });
    expect(seen.filter((r) => r.status === 'fail').map((r) => r.message)).toEqual([
      expect.stringMatching(/^blocked: queue-manager stopped answering at \d\d:\d\d:\d\d, \d+\.\d s after websocket\.freezer sent GET \/api\/health/),
      expect.stringMatching(/^blocked: queue-manager stopped answering/),
    ]);
    // The restart cleared it: both reran and passed, and say so.
    expect(restarted).toEqual(['queue-manager']);
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    expect(byId['jobs.one']).toMatchObject({ status: 'pass', rerun: expect.stringMatching(/after restarting queue-manager/) });
    expect(byId['jobs.two'].status).toBe('pass');
    expect(byId['health.admin-ok']).toMatchObject({ status: 'pass' });
    expect(byId['health.admin-ok'].rerun).toBeUndefined();
  }, 20_000);

  it('a browser page asking a dark service blocks its check at once, not at the page\'s own timeout', async () => {
    const { t, frozen } = fakeTarget();
    const w = new Watcher(t, { intervalMs: 40, probeTimeoutMs: 200 });
    // As a page does: its requests go around the target (the check only reports them), then it waits.
    const page = defineCheck({ id: 'browser.page', suite: 'browser', title: 'a page that posts to /api/jobs and waits for the answer', timeoutMs: 20_000,
      async run(ctx) { ctx.target.touch!('https://example.test/api/jobs'); await sleep(10_000); } });
    const elsewhere = defineCheck({ id: 'browser.elsewhere', suite: 'browser', title: 'a page on user001 only', timeoutMs: 20_000,
      async run(ctx) { ctx.target.touch!('https://example.test/user001/'); await sleep(1_500); ctx.record('page /user001/', 'loaded'); } });
    await w.start();
    frozen.add('queue-manager');
    const t0 = Date.now();
    const [r, other] = await runChecks([page, elsewhere], t, { watcher: w });
    w.stop();
    expect(r).toMatchObject({ status: 'fail', blockedBy: { service: 'queue-manager' }, message: expect.stringMatching(/^blocked: queue-manager stopped answering/) });
    expect(r.durationMs, 'blocked as soon as the queue-manager was declared dark').toBeLessThan(3_000);
    expect(other.status, 'a page that asked only a live service runs to its end').toBe('pass');
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 20_000);

  it('a check that fails once its service is already dark gets its verdict at once (no wait on the dark one\'s probes)', async () => {
    const { t, frozen, askedOf } = fakeTarget();
    // Long probe timeouts: the dark service always has probes in flight, as the real one has.
    const w = new Watcher(t, { intervalMs: 100, probeTimeoutMs: 2_000 });
    const late = defineCheck({ id: 'jobs.late', suite: 'jobs', title: 'used the queue-manager, then fails for its own reason after it went dark', timeoutMs: 20_000,
      async run(ctx) {
        await ctx.target.request('/api/health');
        frozen.add('queue-manager');
        await until(() => !!w.dark('queue-manager'));
        const sentBefore = askedOf('queue-manager');
        await until(() => askedOf('queue-manager') > sentBefore); // a probe sent since, in flight, unanswered
        failedAt = Date.now();
        ctx.fail('saw something wrong');
      } });
    let failedAt = 0;
    await w.start();
    const [r] = await runChecks([late], t, { watcher: w });
    w.stop();
    expect(r).toMatchObject({ status: 'fail', blockedBy: { service: 'queue-manager' } });
    expect(Date.now() - failedAt, 'its verdict came without waiting out the dark service\'s probes').toBeLessThan(500);
  }, 20_000);

  it('a dead nginx blocks what went through it; a finding that did not (Redis on the VPN, a host command) keeps its own name', async () => {
    const { t } = fakeTarget();
    const w = new Watcher(t, { intervalMs: 40, probeTimeoutMs: 200 });
    w.declareDown('nginx', 'nginx -t: host not found in upstream', ['[emerg] host not found']);
    const viaNginx = defineCheck({ id: 'health.api', suite: 'health', title: 'through nginx', async run(ctx) { ctx.record('/api/health', (await ctx.target.request('/api/health')).status); } });
    const vpn = defineCheck({ id: 'redis.vpn-auth', suite: 'redis', title: 'Redis on the VPN', async run(ctx) {
      ctx.record('AUTH + PING from the VPN', { connected: false, error: 'ECONNREFUSED 100.99.216.71:6379' });
      ctx.fail('a connection to 100.99.216.71:6379 from the VPN; saw ECONNREFUSED');
    } });
    const [a, b] = await runChecks([viaNginx, vpn], t, { watcher: w });
    expect(a).toMatchObject({ status: 'fail', blockedBy: { service: 'nginx' }, message: expect.stringMatching(/^blocked: nginx did not start/) });
    expect(b).toMatchObject({ status: 'fail', message: 'a connection to 100.99.216.71:6379 from the VPN; saw ECONNREFUSED' });
    expect(b.blockedBy).toBeUndefined();
    expect(b.evidence.at(-1)).toMatchObject({ label: 'meanwhile (this check did not go through it)', seen: expect.stringMatching(/^nginx did not start/) });
    expect(w.outages()[0].blocked).toEqual(['health.api']);
  });

  it('a page\'s request after its check is over watches nothing (the check cannot be blocked any more)', async () => {
    const { t, frozen } = fakeTarget();
    const w = new Watcher(t, { intervalMs: 40, probeTimeoutMs: 200 });
    await w.start();
    const guard = new PageGuard(w);
    guard.release();
    guard.watch('queue-manager'); // a late request of a page still closing
    frozen.add('queue-manager');
    for (const deadline = Date.now() + 3_000; !w.dark('queue-manager') && Date.now() < deadline;) await sleep(20);
    const outcome = await Promise.race([guard.blocked.then(() => 'resolved', () => 'blocked'), sleep(200).then(() => 'untouched')]);
    w.stop();
    expect(w.dark('queue-manager'), 'the queue-manager went dark').toBeDefined();
    expect(outcome).toBe('untouched');
  });
});
