// The whole platform in each nginx mode: the stack comes up, every suite passes on it, every
// fault in the catalogue turns its checks red, and stopping leaves nothing behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { localTopology, startLocalStack, generateUserPasswords } from '../stack/run.ts';
import { describeStack, type Stack } from '../stack/stack.ts';
import { countByLabel } from '../stack/containers/labels.ts';
import { FAULTS, catalogueUserAuth } from '../stack/faults/catalogue.ts';
import { SUITES, ALL_CHECKS } from './index.ts';
import { runChecks, type CheckResult } from './lib/check.ts';
import { localTarget } from './lib/local-target.ts';
import { CatalogueRun } from './lib/fault-runner.ts';
import { Watcher, type Outage } from './lib/watch.ts';
import type { Target } from './lib/target.ts';
import type { NginxMode, Topology } from '../stack/topology.ts';

const MODES: NginxMode[] = ['host', 'container'];
/** As `npm run faults`: container mode with per-participant Basic auth (its faults need it), host
 *  mode without (where access.workspace-auth warns, and the checks that need credentials skip). */
const withAuth = catalogueUserAuth;

/** The warnings the clean stack gives, by id, and why: any other warning fails, as a failure would.
 *  A pass that turns into a warning is a change to look at, not noise. */
const WARNS = (mode: NginxMode): Record<string, string> => ({
  ...(withAuth(mode) ? {} : { 'access.workspace-auth': 'no per-user auth on this stack' }),
  'isolation.cross-user-urls': '/outputs/<user>/<file> is open to anyone who knows the name (the guide leaves its auth optional)',
  'jobs.cancel': 'the contract\'s queue API takes no credentials',
  'resilience.redis-restart': '/api/health answers 200 while unhealthy, as the contract says',
});
/** May warn: what this machine itself listens on beyond the stack (host.listeners reads the host's sockets). */
const MAY_WARN = ['host.listeners'];

describe.each(MODES)('%s-nginx mode', (mode) => {
  let stack: Stack | undefined;
  let target: Target;
  /** The stack as brought up: each fault is applied to this, never to the previous fault's topology. */
  let clean: Topology;
  const results = new Map<string, CheckResult>();
  let outages: Outage[] = [];

  beforeAll(async () => {
    stack = await startLocalStack(localTopology(mode, withAuth(mode) ? { userAuth: generateUserPasswords(20) } : {}));
    clean = stack.topology;
    target = localTarget(describeStack(stack), { allowWrites: true, faults: true, userCredentials: () => stack!.topology.userAuth?.passwords, secrets: () => stack!.topology.secrets });
    // All checks at once, slow ones overlapping the rest, watched as verify watches them (on a sound
    // stack nothing may go dark, and nothing may be blocked); each test below reads its result.
    const watcher = new Watcher(target);
    await watcher.start();
    for (const r of await runChecks(ALL_CHECKS, target, { watcher })) results.set(r.id, r);
    watcher.stop();
    outages = watcher.outages();
  }, 300_000);

  afterAll(async () => {
    await target?.close();
    await stack?.stop();
  });

  describe('stack', () => {
    it('runs every service of the topology', () => {
      const want = stack!.topology.services.filter((s) => s.enabled).map((s) => s.name).sort();
      expect(stack!.running().sort()).toEqual(want);
    });
    it('no service stopped answering while every check ran (no root cause on a sound stack)', () => {
      expect(outages.map((o) => `${o.service} at ${new Date(o.since).toISOString()}: ${o.probe}`)).toEqual([]);
    });
  });

  for (const suite of SUITES) {
    describe(suite.title, () => {
      it.each(suite.checks.map((c) => [c.id, c] as const))('%s', (id) => {
        const r = results.get(id)!;
        expect(r.status, `${id}: ${r.message}`).not.toBe('fail');
        if (!withAuth(mode) && r.suite === 'access' && id !== 'access.workspace-auth') return expect(r, `${id}: ${r.message}`).toMatchObject({ status: 'skip', outOfProfile: true });
        expect(r.status, `${id} skipped: ${r.message}`).not.toBe('skip');
        const warns = WARNS(mode);
        if (id in warns) expect(r.status, `${id} should warn (${warns[id]}): ${r.message}`).toBe('warn');
        else if (!MAY_WARN.includes(id)) expect(r.status, `${id}: ${r.message}`).toBe('pass');
      });
    });
  }

  describe('negative controls (fault catalogue)', () => {
    const faults = FAULTS.filter((f) => f.modes.includes(mode));
    // Batches of faults that cannot see each other, each applied to the stack as brought up; a fault's
    // test reads its batch's verdict (the batch runs when its first fault's test asks for it).
    let catalogue: CatalogueRun;
    beforeAll(() => { catalogue = new CatalogueRun(stack!, clean, faults, ALL_CHECKS, target, (m) => console.log(`[${mode}] ${m}`)); });
    it.each(faults.map((f) => [f.id, f] as const))('%s is caught', async (_id, fault) => {
      const rec = await catalogue.record(fault.id);
      // Run alone after its batch broke: what broke the batch goes with any failure (a CI log shows only those).
      const alone = rec.batchBroke ? ` (run alone: its batch ${rec.batchBroke})` : '';
      const missed = rec.expected.filter((id) => !rec.failed.includes(id));
      expect(missed, `${fault.id} not caught by: ${missed.join(', ')}${alone}`).toEqual([]);
      expect(rec.caught, `${fault.id}: message did not name the cause: ${rec.messages[rec.expected[0]]}${alone}`).toBe(true);
      expect(rec.unrelated, `${fault.id} also failed unrelated checks: ${rec.unrelated.map((id) => `${id}: ${rec.messages[id] ?? '(in its batch)'}`).join('; ')}${alone}`).toEqual([]);
    }, 900_000);
  });

  describe('clean-up', () => {
    it('stopping the stack leaves no container, network or volume', async () => {
      await target.close();
      const { runId } = stack!.topology;
      await stack!.stop();
      stack = undefined;
      // This run's own: a network a killed run left with a stale endpoint (Docker keeps those until
      // its daemon restarts) is that run's leftover, not this one's.
      expect(await countByLabel(runId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    }, 60_000);
  });
});
