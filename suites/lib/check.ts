// A check is a small named unit: id + title + run(target) -> pass | warn | fail | skip, with evidence.
// Failure messages read like Gatus conditions: what was expected, and what was seen.
import type { Target, Capability } from './target.ts';
import { BlockedError, PageGuard, blockedText, neverStartedEvidence, watchedTarget, type Watcher } from './watch.ts';

export type Status = 'pass' | 'warn' | 'fail' | 'skip';
export type SuiteName = 'health' | 'routing' | 'websocket' | 'tls' | 'exposure' | 'redis' | 'isolation' | 'access' | 'jobs' | 'browser' | 'host' | 'resilience';

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
  /** needs the queue-manager's /ws silent while it runs (the idle-socket proof): it runs beside the
   *  checks that cause no job event, and the ones that do (`jobEvents`) wait for it */
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
  constructor(readonly target: Target, readonly signal: AbortSignal) {}

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

export async function runCheck(check: Check, target: Target, o: { artifactsDir?: string | null; watcher?: Watcher } = {}): Promise<CheckResult> {
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
    const w = ctx.warningText;
    return { ...base, status: w ? 'warn' : 'pass', message: w ?? (summary || 'ok'), evidence: ctx.evidence, durationMs: Date.now() - started };
  } catch (e) {
    const outcome = e instanceof CheckOutcome ? e : new CheckOutcome('fail', e instanceof BlockedError ? e.message : `error: ${(e as Error)?.message ?? String(e)}`);
    const r: CheckResult = { ...base, status: outcome.status, message: outcome.message, evidence: ctx.evidence, durationMs: Date.now() - started, ...(outcome.notApplicable ? { outOfProfile: true } : {}) };
    // A failure while a service it touched was dark: blocked by that root cause, whatever it says.
    // One whose probes are going unanswered right now is waited for, so the verdict is the watcher's.
    if (r.status === 'fail' && w && !(e instanceof BlockedError)) await w.settle(touched);
    const outage = r.status === 'fail' && w ? (e instanceof BlockedError ? e.outage : w.during(touched, started, Date.now())) : undefined;
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

/** Runs checks with bounded concurrency; slow ones start first so their waiting overlaps the rest.
 *  With a quiet check among them, the checks that cause job events run after it, and the others
 *  beside it. Exclusive ones run one at a time once the rest of their phase is done: those that cause
 *  no job event still inside the quiet window (only the quiet check's waiting socket beside them),
 *  the others at the end. */
export async function runChecks(
  checks: Check[], target: Target, o: { concurrency?: number; onResult?: (r: CheckResult) => void; artifactsDir?: string | null; watcher?: Watcher } = {},
): Promise<CheckResult[]> {
  const quiet = checks.some((c) => c.quiet && !c.exclusive);
  const phases = quiet
    ? [checks.filter((c) => !c.jobEvents), checks.filter((c) => c.jobEvents)]
    : [checks];
  const results = new Map<string, CheckResult>();
  const one = async (c: Check) => {
    const r = await runCheck(c, target, { artifactsDir: o.artifactsDir, watcher: o.watcher });
    results.set(c.id, r);
    o.onResult?.(r);
  };
  for (const phase of phases) {
    const shared = phase.filter((c) => !c.exclusive && !c.quiet);
    // A quiet check only waits on its socket: it runs on its own, beside everything of its phase.
    const waiting = phase.filter((c) => c.quiet && !c.exclusive).map(one);
    await pool([...shared.filter((c) => c.slow), ...shared.filter((c) => !c.slow)], o.concurrency ?? CONCURRENCY, one);
    for (const c of phase.filter((x) => x.exclusive)) await one(c);
    await Promise.all(waiting);
  }
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
