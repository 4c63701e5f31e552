// Root causes, not cascades. While checks run, a watcher asks each service on its own whether it
// still answers (nginx's /health, the queue-manager's /api/health, the admin, every workspace), through
// the same door the checks use. A service that answered and then stops is an outage: when, and which
// checks had just started or finished. Checks that then touch it fail at once as "blocked by" it
// instead of waiting out their timeouts, and the report groups them under that one cause.
import type { Target, HttpResult, RequestOptions } from './target.ts';
import type WebSocket from 'ws';

export interface Outage {
  service: string;
  /** when the first unanswered probe was sent (ms since epoch) */
  since: number;
  /** when it answered again, if it did */
  until?: number;
  /** what the probe got instead of an answer */
  probe: string;
  /** checks that used this service or started or finished in the 5 s before, nearest first (a
   *  check's use of the service itself first), with how long before */
  after: { id: string; event: string; secondsBefore: number }[];
  /** checks that failed while it was dark and had touched it */
  blocked: string[];
  /** it never started (the stack came up without it): `detail` holds its own last words */
  never?: boolean;
  detail?: string[];
}

/** Which service answers a path behind nginx (the contract's routes). */
export function serviceOf(path: string, users: string[]): string {
  const p = path.split('?')[0];
  if (p === '/ws' || p.startsWith('/ws/') || p.startsWith('/api/') || p === '/api') return 'queue-manager';
  if (p === '/admin' || p.startsWith('/admin/')) return 'admin';
  const u = /^\/(user\d+)(\/|$)/.exec(p)?.[1];
  if (u && users.includes(u)) return u;
  return 'nginx';
}

export class BlockedError extends Error {
  constructor(readonly outage: Outage) {
    super(blockedText(outage));
  }
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** A service that never started: its last words, as a check's evidence (none otherwise). */
export const neverStartedEvidence = (o: Outage) =>
  (o.never && o.detail?.length ? [{ label: `${o.service} did not start: its last words`, seen: o.detail }] : []);

export function blockedText(o: Outage): string {
  if (o.never) return `blocked: ${o.service} did not start (${o.probe})`;
  const a = o.after[0];
  return `blocked: ${o.service} stopped answering at ${clock(o.since)}${a ? `, ${a.secondsBefore.toFixed(1)} s after ${a.id} ${a.event}` : ''} (${o.probe})`;
}

const overlaps = (o: Outage, from: number, to: number) => o.since <= to && (o.until ?? Infinity) >= from;

interface Probe { service: string; path: string; every: number }
const DARK_AFTER = 3; // unanswered probes in a row
const PROBE_TIMEOUT_MS = 3_000;

export class Watcher {
  private readonly probes: Probe[];
  private readonly alive = new Set<string>(); // answered at least once: only these can go dark
  private readonly misses = new Map<string, { n: number; first: number; what: string }>();
  private readonly open = new Map<string, Outage>();
  private readonly all: Outage[] = [];
  private readonly events: { id: string; event: string; at: number; service?: string }[] = [];
  private readonly waiters = new Map<string, ((o: Outage) => void)[]>();
  private readonly sent = new Map<string, number[]>(); // probes in flight: when each was sent
  private timer?: NodeJS.Timeout;
  private tick = 0;
  private running = false;
  private nginxAnswered = 0;

  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  constructor(private readonly target: Target, o: { intervalMs?: number; probeTimeoutMs?: number } = {}) {
    this.intervalMs = o.intervalMs ?? 1_000;
    this.probeTimeoutMs = o.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
    this.probes = [
      { service: 'nginx', path: '/health', every: 1 },
      { service: 'queue-manager', path: '/api/health', every: 1 },
      { service: 'admin', path: '/admin', every: 1 },
      // Workspaces less often: twenty of them, and a dead one is its own finding too.
      ...target.users.map((u) => ({ service: u, path: `/${u}/system_stats`, every: 3 })),
    ];
  }

  /** First round at once (what answers now is what can go dark later), then every interval. */
  async start(): Promise<void> {
    this.running = true;
    await this.round();
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
  }
  stop(): void {
    this.running = false;
    clearInterval(this.timer);
  }

  note(id: string, event: string, service?: string): void {
    this.events.push({ id, event, at: Date.now(), service });
    if (this.events.length > 5_000) this.events.splice(0, 1_000);
  }

  /** The outage of a service, or of nginx in front of it. */
  dark(service: string): Outage | undefined {
    return this.open.get('nginx') ?? this.open.get(service);
  }

  /** A service that never started is dark from the first moment: what touches it is blocked at once. */
  declareDown(service: string, probe: string, detail: string[]): Outage {
    const o: Outage = { service, since: Date.now(), probe, after: [], blocked: [], never: true, detail };
    this.open.set(service, o);
    this.all.push(o);
    return o;
  }

  /** Any outage going on now (nginx's first). */
  anyDark(): Outage | undefined {
    return this.open.get('nginx') ?? this.open.values().next().value;
  }

  /** A promise that rejects when the service (or nginx) goes dark, and its cancel (call it once the
   *  request it guards has settled, so waiters do not pile up). */
  whenDark(service: string): { dark: Promise<never>; cancel: () => void } {
    let cancel = () => {};
    const dark = new Promise<never>((_, reject) => {
      const now = this.dark(service);
      if (now) return reject(new BlockedError(now));
      const fire = (o: Outage) => reject(new BlockedError(o));
      const keys = [...new Set([service, 'nginx'])];
      for (const k of keys) this.waiters.set(k, [...(this.waiters.get(k) ?? []), fire]);
      cancel = () => { for (const k of keys) this.waiters.set(k, (this.waiters.get(k) ?? []).filter((f) => f !== fire)); };
    });
    dark.catch(() => {}); // only the race that awaits it may surface it
    return { dark, cancel };
  }

  /** While a check disrupts services on purpose (resilience), their silence is no outage: stop
   *  watching, and start afresh after. */
  pause(): void {
    this.stop();
  }
  async resume(): Promise<void> {
    for (const [k, o] of this.open) if (!o.never) { o.until = Date.now(); this.open.delete(k); }
    this.misses.clear();
    this.alive.clear();
    await this.start();
  }

  /** Outages that overlapped [from, to] among the services a check went through. nginx counts when
   *  it went through any (every request does); a check that only ran commands or spoke to Redis
   *  over the VPN did not go through it, and a dead nginx explains none of its findings. */
  during(services: Set<string>, from: number, to: number): Outage | undefined {
    return this.all.find((o) => (services.has(o.service) || (o.service === 'nginx' && services.size > 0)) && overlaps(o, from, to));
  }

  /** Any outage that overlapped [from, to]: noted beside a failure it does not explain. */
  overlapping(from: number, to: number): Outage | undefined {
    return this.all.find((o) => overlaps(o, from, to));
  }

  outages(): Outage[] {
    return this.all;
  }

  /** Waits until the service answers again (after a restart), up to timeoutMs. */
  async answering(service: string, timeoutMs = 30_000): Promise<boolean> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      if (!this.open.has(service)) return true;
    }
    return false;
  }

  /** Each due probe is sent, even while an earlier one to the same service still waits (up to 3):
   *  a service that hangs is then seen missing answers every interval, not every timeout. */
  private round(): Promise<unknown> {
    const tick = this.tick++;
    return Promise.all(this.probes
      .filter((p) => tick % p.every === 0 || this.open.has(p.service) || this.misses.has(p.service) || this.inflight(p.service))
      .filter((p) => (this.sent.get(p.service)?.length ?? 0) < 3)
      .map((p) => this.probe(p)));
  }

  private inflight(service: string): boolean {
    return (this.sent.get(service)?.length ?? 0) > 0;
  }

  /** A touched service whose probes are going unanswered right now, not yet declared dark (one
   *  already dark has its verdict: its probes keep going unanswered, and waiting on them tells nothing). */
  suspect(services: Set<string>): boolean {
    const now = Date.now();
    return [...services, 'nginx'].filter((s) => !this.open.has(s))
      .some((s) => this.misses.has(s) || (this.sent.get(s) ?? []).some((t) => now - t > this.probeTimeoutMs / 3));
  }

  /** When a check fails while a service it touched is suspect, the watcher's verdict on it. */
  async settle(services: Set<string>): Promise<void> {
    for (const deadline = Date.now() + this.probeTimeoutMs + this.intervalMs * DARK_AFTER + 500; this.suspect(services) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  }

  private async probe(p: Probe): Promise<void> {
    const sent = Date.now();
    this.sent.set(p.service, [...(this.sent.get(p.service) ?? []), sent]);
    let what: string | undefined;
    try {
      const r: HttpResult = await this.target.request(p.path, { timeoutMs: this.probeTimeoutMs, maxBody: 100 });
      // nginx answering at all is nginx alive; behind it, 502/503/504 is nginx saying the service is not.
      if (p.service !== 'nginx' && [502, 503, 504].includes(r.status)) what = `HTTP ${r.status} for ${p.path}`;
    } catch (e) {
      what = `no answer to ${p.path}: ${(e as Error).message.split('\n')[0]}`;
    } finally {
      this.sent.set(p.service, (this.sent.get(p.service) ?? []).filter((t) => t !== sent));
    }
    if (!this.running) return;
    if (!what) {
      if (p.service === 'nginx') this.nginxAnswered = Date.now();
      this.alive.add(p.service);
      this.misses.delete(p.service);
      const o = this.open.get(p.service);
      if (o) { o.until = Date.now(); this.open.delete(p.service); }
      return;
    }
    if (!this.alive.has(p.service) || this.open.has(p.service)) return;
    const m = this.misses.get(p.service) ?? { n: 0, first: sent, what };
    m.n++;
    m.first = Math.min(m.first, sent);
    this.misses.set(p.service, m);
    if (m.n < DARK_AFTER) return;
    // Behind nginx, dark only while nginx itself answers (else nginx, or this machine, is the story).
    if (p.service !== 'nginx' && this.nginxAnswered < m.first) return;
    this.misses.delete(p.service);
    // What used this service last before it went silent comes first: most likely the trigger.
    const recent = this.events.filter((e) => e.at <= m.first && e.at >= m.first - 5_000).sort((a, b) => b.at - a.at);
    const after = [...recent.filter((e) => e.service === p.service), ...recent.filter((e) => e.service !== p.service && !e.service)]
      .map((e) => ({ id: e.id, event: e.event, secondsBefore: (m.first - e.at) / 1000 }));
    const o: Outage = { service: p.service, since: m.first, probe: m.what, after, blocked: [] };
    this.open.set(p.service, o);
    this.all.push(o);
    for (const w of this.waiters.get(p.service) ?? []) w(o);
    this.waiters.delete(p.service);
  }
}

/** What a check's browser pages ask of the target (their requests go around it): once a service a
 *  page asked is dark, or goes dark while the check runs, `blocked` rejects with that root cause, so
 *  the check stops as a request through the target would, not at the page's own timeouts. */
export class PageGuard {
  readonly blocked: Promise<never>;
  private fail!: (e: BlockedError) => void;
  private readonly watched = new Set<string>();
  private readonly cancels: (() => void)[] = [];
  private released = false;
  constructor(private readonly w: Watcher) {
    this.blocked = new Promise<never>((_, reject) => { this.fail = reject; });
    this.blocked.catch(() => {}); // only the race that awaits it may surface it
  }
  watch(service: string): void {
    // A page's last requests can come after its check is over: nothing to stop any more.
    if (this.released || this.watched.has(service)) return;
    this.watched.add(service);
    const { dark, cancel } = this.w.whenDark(service);
    this.cancels.push(cancel);
    dark.catch((e: BlockedError) => this.fail(e));
  }
  /** The check is over: stop listening. */
  release(): void {
    this.released = true;
    for (const c of this.cancels.splice(0)) c();
  }
}

/** The target as one check sees it: what it touches is noted, and a request to a service that is
 *  dark fails at once (or as soon as it goes dark) with the root cause, instead of timing out; so
 *  does a browser page's request (through `pages`). */
export function watchedTarget(t: Target, w: Watcher, touched: Set<string>, checkId: string, pages?: PageGuard): Target {
  const guard = async <T>(path: string, go: () => Promise<T>, what: string): Promise<T> => {
    const s = serviceOf(path, t.users);
    touched.add(s);
    w.note(checkId, what, s);
    const now = w.dark(s);
    if (now) throw new BlockedError(now);
    const { dark, cancel } = w.whenDark(s);
    try {
      return await Promise.race([go(), dark]);
    } finally {
      cancel();
    }
  };
  return {
    ...t,
    request: (path: string, o?: RequestOptions) => guard(path, () => t.request(path, o), `sent ${o?.method ?? 'GET'} ${path.split('?')[0]}`),
    // A TLS handshake is nginx's own answer.
    tlsProbe: (o) => guard('/', () => t.tlsProbe(o), 'opened a TLS connection'),
    websocket: (path: string, o?: { headers?: Record<string, string>; timeoutMs?: number }): Promise<WebSocket> => guard(path, () => t.websocket(path, o), `opened ${path}`),
    // What a check reaches another way (a browser page's requests) counts as touched too.
    touch: (url: string) => {
      const path = url.startsWith('/') ? url : new URL(url).pathname;
      const s = serviceOf(path, t.users);
      if (!touched.has(s)) w.note(checkId, `loaded ${path}`, s);
      touched.add(s);
      pages?.watch(s);
    },
  };
}
