// A check is a small named unit: id + title + run(target) -> pass | warn | fail | skip, with evidence.
// Failure messages read like Gatus conditions: what was expected, and what was seen.
import type { Target, Capability } from './target.ts';
import { BlockedError, PageGuard, blockedText, neverStartedEvidence, watchedTarget, type Watcher } from './watch.ts';

export type Status = 'pass' | 'warn' | 'fail' | 'skip';
export type SuiteName = 'health' | 'routing' | 'websocket' | 'tls' | 'exposure' | 'redis' | 'secrets' | 'isolation' | 'access' | 'jobs' | 'browser' | 'host' | 'resilience';

export interface EvidenceItem {
  label: string;
  /** what was sent (request line, command, port list) */
  sent?: unknown;
  /** what came back (status, headers, body snippet, reply) */
  seen?: unknown;
}

export interface CheckResult {
  id: string;
  suite: SuiteName;
  title: string;
  status: Status;
  /** why it failed, warned or was skipped; for a pass, a one-line summary */
  message: string;
  evidence: EvidenceItem[];
  durationMs: number;
  /** when it started (ISO): a run's timeline, and what ran beside what */
  startedAt?: string;
  target: string;
  /** failed while a service it touched had stopped answering: that outage is the root cause */
  blockedBy?: { service: string; since: string };
  /** run again after the harness restarted that service (the local stack only) */
  rerun?: string;
  /** skipped because what it verifies is not part of this deployment (no per-user auth at all): listed,
   *  but the run is not partial for it */
  outOfProfile?: boolean;
  /** its evidence came from a stand-in's stub (what the stub stands for): it proves the check's
   *  reading, not the real thing */
  standIn?: string;
}

export interface Check {
  id: string;
  suite: SuiteName;
  title: string;
  /** what the target must offer; a check whose needs are not met is skipped, never passed */
  needs?: Capability[];
  /** long-running by nature (idle timeouts); the runner starts these first so they overlap */
  slow?: boolean;
  /** disturbs the others while it runs (fills the queue to 429): the runner runs it after them, alone */
  exclusive?: boolean;
  /** needs a silent minute on the queue-manager's /ws (the idle-socket proof): it runs from the start
   *  beside everything and counts its silence from the last event it heard itself; the exclusive checks
   *  that cause job events wait for it, and a check may wait for it before a late event (`afterQuiet`) */
  quiet?: boolean;
  /** creates, changes or cancels jobs: every /ws client hears about it */
  jobEvents?: boolean;
  timeoutMs?: number;
  run(ctx: CheckContext): Promise<void | string>;
}

export class CheckOutcome extends Error {
  constructor(readonly status: Exclude<Status, 'pass'>, message: string, readonly notApplicable = false) {
    super(message);
  }
}

export class CheckContext {
  readonly evidence: EvidenceItem[] = [];
  private warnings: string[] = [];
  /** where checks may leave files for the reports (screenshots); unset: the check decides; null: no
   *  report keeps them (fault runs), so none are taken */
  artifactsDir?: string | null;
  /** resolves once this run's quiet checks are done (at once when there are none) */
  quietDone: Promise<void> = Promise.resolve();
  constructor(readonly target: Target, readonly signal: AbortSignal) {}
  /** Waits until the run's quiet checks are done: for an event that would only delay their silence. */
  afterQuiet(): Promise<void> {
    return this.quietDone;
  }

  /** what stand-in stubs this check's evidence came from (see CheckResult.standIn) */
  readonly standIns = new Set<string>();
  /** The evidence just read came from a stand-in's stub standing for `what`. */
  standIn(what: string): void {
    this.standIns.add(what);
  }

  record(label: string, seen?: unknown, sent?: unknown): void {
    this.evidence.push({ label, ...(sent !== undefined ? { sent } : {}), ...(seen !== undefined ? { seen } : {}) });
  }
  /** Fails the check unless cond holds: `expected` says what should be true, `seen` what was observed. */
  expect(cond: boolean, expected: string, seen?: unknown): void {
    if (!cond) throw new CheckOutcome('fail', seen === undefined ? expected : `${expected}; saw ${fmt(seen)}`);
  }
  fail(message: string): never {
    throw new CheckOutcome('fail', message);
  }
  skip(reason: string): never {
    throw new CheckOutcome('skip', reason);
  }
  /** What it verifies is not there to verify (said why, with evidence): a skip that leaves the run whole. */
  notApplicable(reason: string): never {
    throw new CheckOutcome('skip', reason, true);
  }
  /** A warning does not stop the check; it turns a pass into warn. */
  warn(message: string): void {
    this.warnings.push(message);
  }
  get warningText(): string | undefined {
    return this.warnings.length ? this.warnings.join('; ') : undefined;
  }
}

export function fmt(v: unknown): string {
  if (typeof v === 'string') return v.length > 300 ? `${v.slice(0, 300)}…` : v;
  const s = JSON.stringify(v);
  return s && s.length > 300 ? `${s.slice(0, 300)}…` : String(s);
}

export function defineCheck(c: Check): Check {
  if (!/^[a-z]+\.[a-z0-9-]+$/.test(c.id)) throw new Error(`check id must look like suite.name: ${c.id}`);
  return c;
}

export async function runCheck(check: Check, target: Target, o: { artifactsDir?: string | null; watcher?: Watcher; quietDone?: Promise<void> } = {}): Promise<CheckResult> {
  const started = Date.now();
  const missing = (check.needs ?? []).filter((n) => !target.capabilities.has(n));
  const base = { id: check.id, suite: check.suite, title: check.title, target: target.name, startedAt: new Date(started).toISOString() };
  if (missing.length) {
    return { ...base, status: 'skip', message: `needs ${missing.map(describeCapability).join(', ')}`, evidence: [], durationMs: 0 };
  }
  // One that restarts services runs unwatched, so it could not learn of an outage in time: with a
  // service dark now it is not started, but blocked at once (and run again after the restart).
  const darkNow = check.needs?.includes('disrupt') ? o.watcher?.anyDark() : undefined;
  if (darkNow) {
    darkNow.blocked.push(check.id);
    return { ...base, status: 'fail', message: `${blockedText(darkNow)}; not started: it restarts services, and would only wait on the dark one`,
      evidence: neverStartedEvidence(darkNow),
      durationMs: 0, blockedBy: { service: darkNow.service, since: new Date(darkNow.since).toISOString() } };
  }
  const ac = new AbortController();
  // Watched: what it touches is noted, and a service gone dark fails it at once, as blocked.
  // A check that disrupts services on purpose is not watched (its outages are its test).
  const disrupts = check.needs?.includes('disrupt');
  const w = disrupts ? undefined : o.watcher;
  const touched = new Set<string>();
  // One that runs alone takes watched services away: the watcher looks away meanwhile. One that runs
  // beside others (a worker vanishing) takes nothing the watcher watches, and the others stay watched.
  const pauses = disrupts && check.exclusive;
  if (pauses) o.watcher?.pause();
  w?.note(check.id, 'started');
  const pages = w ? new PageGuard(w) : undefined;
  const ctx = new CheckContext(w ? watchedTarget(target, w, touched, check.id, pages) : target, ac.signal);
  ctx.artifactsDir = o.artifactsDir;
  if (o.quietDone) ctx.quietDone = o.quietDone;
  const timeoutMs = check.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const summary = await Promise.race([
      check.run(ctx),
      ...(pages ? [pages.blocked] : []),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => { ac.abort(); reject(new CheckOutcome('fail', `no answer within ${timeoutMs / 1000} s`)); }, timeoutMs);
      }),
    ]);
    // A pass is what was seen: one that recorded nothing looked at nothing.
    if (!ctx.evidence.length) throw new CheckOutcome('fail', 'nothing observed: the check recorded no evidence of what it judges');
    const w = ctx.warningText;
    return { ...base, status: w ? 'warn' : 'pass', message: w ?? (summary || 'ok'), evidence: ctx.evidence, durationMs: Date.now() - started, ...standInOf(ctx) };
  } catch (e) {
    const outcome = e instanceof CheckOutcome ? e : new CheckOutcome('fail', e instanceof BlockedError ? e.message : `error: ${(e as Error)?.message ?? String(e)}`);
    const r: CheckResult = { ...base, status: outcome.status, message: outcome.message, evidence: ctx.evidence, durationMs: Date.now() - started, ...(outcome.notApplicable ? { outOfProfile: true } : {}), ...standInOf(ctx) };
    // A failure while a service it touched was dark: blocked by that root cause, whatever it says.
    // One whose probes are going unanswered right now is waited for, so the verdict is the watcher's.
    if (r.status === 'fail' && w && !(e instanceof BlockedError)) await w.settle(touched);
    const outage = r.status === 'fail' && w ? (e instanceof BlockedError ? e.outage : w.during(touched, started, Date.now())) : undefined;
    if (r.status === 'fail' && w && !outage) {
      // Its own finding: an outage meanwhile, through which it did not go, is only noted beside it.
      const meanwhile = w.overlapping(started, Date.now());
      if (meanwhile) r.evidence.push({ label: 'meanwhile (this check did not go through it)', seen: blockedText(meanwhile).replace(/^blocked: /, '') });
    }
    if (outage) {
      outage.blocked.push(check.id);
      r.evidence.push(...neverStartedEvidence(outage));
      r.blockedBy = { service: outage.service, since: new Date(outage.since).toISOString() };
      // The cause first; the check's own words only when they add something (not the same cause again).
      // One that never started explains all of it: what the check then saw is only its consequence.
      r.message = r.message.includes('blocked: ') || outage.never ? blockedText(outage) : `${blockedText(outage)}; ${r.message}`;
    }
    return r;
  } finally {
    clearTimeout(timer);
    pages?.release();
    ac.abort();
    w?.note(check.id, 'finished');
    if (pauses) await o.watcher?.resume();
  }
}

const standInOf = (ctx: CheckContext) => (ctx.standIns.size ? { standIn: [...ctx.standIns].join(', ') } : {});

/** Runs checks with bounded concurrency; slow ones start first so their waiting overlaps the rest,
 *  then the ones that cause job events (their events end early), then the others. A quiet check (the
 *  idle-socket proof) runs from the start beside them all, counting its silence from the last event
 *  it hears. Exclusive ones run one at a time once the others are done: those that cause no job event
 *  still inside the quiet window (only the quiet check's waiting socket beside them), the others after
 *  it, since one that restarts the queue-manager would close its socket. */
export async function runChecks(
  checks: Check[], target: Target, o: { concurrency?: number; onResult?: (r: CheckResult) => void; artifactsDir?: string | null; watcher?: Watcher } = {},
): Promise<CheckResult[]> {
  const results = new Map<string, CheckResult>();
  let quietDone: Promise<void> = Promise.resolve();
  const one = async (c: Check) => {
    const r = await runCheck(c, target, { artifactsDir: o.artifactsDir, watcher: o.watcher, quietDone });
    results.set(c.id, r);
    o.onResult?.(r);
  };
  const quiet = checks.filter((c) => c.quiet && !c.exclusive);
  quietDone = Promise.all(quiet.map(one)).then(() => {});
  const shared = checks.filter((c) => !c.exclusive && !c.quiet);
  const rank = (c: Check) => (c.slow ? 0 : c.jobEvents ? 1 : 2);
  await pool([...shared].sort((a, b) => rank(a) - rank(b)), o.concurrency ?? CONCURRENCY, one);
  // In the order given (a check that recreates containers comes after the dashboard's, whose nginx
  // may then be left pointing elsewhere), those with job events after a quiet check.
  const exclusive = checks.filter((x) => x.exclusive);
  const inWindow = quiet.length ? exclusive.filter((x) => !x.jobEvents) : exclusive;
  for (const c of inWindow) await one(c);
  await quietDone;
  for (const c of exclusive.filter((x) => !inWindow.includes(x))) await one(c);
  // Restarting what went dark is for the local stack only: a live deployment is the operator's to restart.
  if (o.watcher && target.services && target.kind === 'local') await rerunBlocked(checks, target, o.watcher, results, o);
  return checks.map((c) => results.get(c.id)!);
}

/** Checks side by side by default (first runs and reruns alike). */
const CONCURRENCY = 6;

/** Runs fn over items, at most n at a time, in order of start. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < items.length) await fn(items[next++]); };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** On the local stack, one run finds every independent defect: each service that went dark is
 *  restarted and the checks it blocked run once more. A service that dies again is a new outage
 *  (with its own trigger), and what it blocks stays blocked. */
async function rerunBlocked(checks: Check[], target: Target, watcher: Watcher, results: Map<string, CheckResult>,
  o: { onResult?: (r: CheckResult) => void; artifactsDir?: string | null }): Promise<void> {
  for (const outage of [...watcher.outages()]) {
    const blocked = checks.filter((c) => outage.blocked.includes(c.id));
    if (!blocked.length) continue;
    // One that never started would not start again: its configuration is the finding.
    if (outage.never) {
      for (const c of blocked) results.get(c.id)!.rerun = `not run again: ${outage.service} never started`;
      continue;
    }
    const why = `after restarting ${outage.service}, which had stopped answering`;
    try {
      await target.services!.restart([outage.service]);
    } catch (e) {
      for (const c of blocked) results.get(c.id)!.rerun = `not run again: restarting ${outage.service} failed (${(e as Error).message.split('\n')[0]})`;
      continue;
    }
    await watcher.answering(outage.service);
    // As in the first run: side by side, the exclusive ones alone after.
    const again = async (c: Check) => {
      const r = await runCheck(c, target, { artifactsDir: o.artifactsDir, watcher });
      r.rerun = why;
      results.set(c.id, r);
      o.onResult?.(r);
    };
    await pool(blocked.filter((c) => !c.exclusive), CONCURRENCY, again);
    for (const c of blocked.filter((x) => x.exclusive)) await again(c);
  }
}

const CAPABILITY_TEXT: Record<Capability, string> = {
  write: 'the write flag (--allow-writes): it sends POST/PATCH/DELETE or writes files',
  'public-vantage': 'a public vantage point',
  'vpn-vantage': 'a vantage point on the VPN (Tailscale)',
  host: 'access to the host (local stack, or --ssh user@host)',
  admin: 'the admin credentials (ADMIN_PASSWORD)',
  'redis-password': 'the Redis password (REDIS_PASSWORD)',
  faults: 'control of the stack',
  disrupt: 'restarting the platform\'s containers (the local stack, or --allow-disruption with --ssh: it interrupts participants)',
};
export const describeCapability = (c: Capability) => CAPABILITY_TEXT[c];
