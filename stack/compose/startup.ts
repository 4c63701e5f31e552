// Start-up as the project defines it: a service is ready when it runs and, where it has a
// healthcheck, passes it; it is late, not dead, while its healthcheck's own window (start_period,
// interval, retries) may still bring it up. A service fails only when it exits, restarts, turns
// unhealthy for a reason of its own, or outlives that window still starting. A healthcheck that
// cannot run in one of our images (its command missing) is the harness's problem, never the project's.
import { execa } from 'execa';

export interface HealthConfig { test: string[]; intervalMs: number; timeoutMs: number; startPeriodMs: number; retries: number }
interface HealthLog { ExitCode: number; Output: string; Start: string; End: string }
/** The parts of `docker inspect` read here. */
export interface Inspected {
  Name: string;
  Config: { Image: string; Labels?: Record<string, string>; Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } };
  State: { Status: string; StartedAt: string; Health?: { Status: string; FailingStreak: number; Log: HealthLog[] | null } };
  RestartCount: number;
}

export type Verdict =
  | { kind: 'ready'; afterMs: number; failedProbes: number }
  | { kind: 'harness'; tool: string; line: string }
  | { kind: 'failed'; reason: string };

/** Docker's defaults for a healthcheck that leaves them out (30 s, 30 s, 0 s, 3). */
export function healthConfig(hc: Inspected['Config']['Healthcheck']): HealthConfig | undefined {
  const test = hc?.Test ?? [];
  if (!test.length || test[0] === 'NONE') return undefined;
  const ms = (ns: number | undefined, d: number) => (ns ? ns / 1e6 : d);
  return { test, intervalMs: ms(hc!.Interval, 30_000), timeoutMs: ms(hc!.Timeout, 30_000), startPeriodMs: ms(hc!.StartPeriod, 0), retries: hc!.Retries || 3 };
}

/** The longest a healthcheck can leave a service "starting": its start_period, then retries failed
 *  probes, each up to interval + timeout apart (docker marks it unhealthy by then). */
export const windowMs = (h: HealthConfig) => h.startPeriodMs + (h.retries + 1) * (h.intervalMs + h.timeoutMs);

const BUILTINS = new Set(['exec', '!', 'exit', 'true', 'false', 'test', '[', '[[', 'echo', 'printf', 'command', 'cd', 'set', 'read', 'if', 'then', 'else', 'fi', '{', '}', '(', ')']);
/** The programs a healthcheck runs: CMD's first word, or the first word of each command of a
 *  CMD-SHELL line (split at |, &&, ||, ;), shell builtins left out. */
export function healthTools(test: string[]): string[] {
  if (test[0] === 'CMD') return test[1] ? [test[1]] : [];
  if (test[0] !== 'CMD-SHELL' || !test[1]) return [];
  const tools = test[1].split(/\|\||&&|[|;]/).map((part) => part.trim().split(/\s+/)
    .find((w) => w && !BUILTINS.has(w) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) && !/^[<>&\d]/.test(w)))
    .filter((w): w is string => !!w).map((w) => w.replace(/^["']|["']$/g, ''));
  return [...new Set(tools)];
}

/** Is this the output of a command the container does not have? (exit 127, or "not found") */
export const missingCommand = (l: Pick<HealthLog, 'ExitCode' | 'Output'>) =>
  l.ExitCode === 127 || /executable file not found|: not found|No such file or directory.*exec|command not found/i.test(l.Output);

export const isOurImage = (image: string) => image.startsWith('comfy-verify/');

const secs = (ms: number) => `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)} s`;
export const healthWindow = (h: HealthConfig) =>
  `${h.startPeriodMs ? `start_period ${secs(h.startPeriodMs)}, then ` : ''}${h.retries} × ${secs(h.intervalMs)}`;

/** Which of these tools each of our images lacks (one short container per image). */
export async function missingInImages(wanted: Map<string, string[]>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await Promise.all([...wanted].map(async ([image, tools]) => {
    const r = await execa('docker', ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', image, '-c',
      'for t; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done', 'sh', ...tools], { reject: false });
    const missing = r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
    if (missing.length) out.set(image, missing);
  }));
  return out;
}

interface Tracked { failedProbes: number; seen: Set<string>; verdict?: Verdict; lastEarlyProbe: number; probing?: boolean }

/** Watches a compose project's containers from `up` on, until each has a verdict. `upDone()` says
 *  whether compose has finished creating them (containers appear while it runs). */
export class StartupWatch {
  private tracked = new Map<string, Tracked>();
  private inspected = new Map<string, Inspected>();
  constructor(private project: string, private log: (m: string) => void = () => {}) {}

  /** One round: inspect every container of the project, judge what can be judged. After `up`, a
   *  container it left created (a dependency failed) or removed has its verdict too. */
  async poll(upDone = false, now = Date.now()): Promise<void> {
    const ids = (await execa('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`], { reject: false })).stdout.split('\n').filter(Boolean);
    if (!ids.length) return;
    const r = await execa('docker', ['inspect', ...ids], { reject: false });
    let list: Inspected[] = [];
    try { list = JSON.parse(r.stdout || '[]'); } catch { return; }
    if (upDone) for (const [name, t] of this.tracked) if (!t.verdict && !list.some((c) => c.Name === `/${name}`)) t.verdict = { kind: 'failed', reason: 'removed while it started' };
    for (const c of list) {
      const name = c.Name.replace(/^\//, '');
      this.inspected.set(name, c);
      const t = this.tracked.get(name) ?? { failedProbes: 0, seen: new Set(), lastEarlyProbe: 0 };
      this.tracked.set(name, t);
      if (t.verdict) continue;
      // Count each failed probe once (docker keeps the last five), the command's absence apart.
      for (const l of c.State.Health?.Log ?? []) {
        if (t.seen.has(l.Start)) continue;
        t.seen.add(l.Start);
        if (l.ExitCode !== 0 && !missingCommand(l)) t.failedProbes++;
      }
      t.verdict = judge(c, t.failedProbes, now)
        ?? (upDone && c.State.Status === 'created' ? { kind: 'failed', reason: 'never started: compose stopped before it (a service it depends on failed)' } : undefined);
      if (!t.verdict) this.earlyProbe(name, c, t, now);
    }
  }

  /** Docker's first probe comes an interval after the start (a minute, for the platform's worker):
   *  meanwhile the project's own healthcheck is run here, so a service that passes it is ready at once. */
  private earlyProbe(name: string, c: Inspected, t: Tracked, now: number): void {
    const h = healthConfig(c.Config.Healthcheck);
    if (!h || h.intervalMs < 10_000 || c.State.Status !== 'running' || t.probing || now - t.lastEarlyProbe < 2_000) return;
    t.probing = true;
    t.lastEarlyProbe = now;
    const cmd = h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test[1]] : h.test.slice(1);
    void execa('docker', ['exec', name, ...cmd], { reject: false, timeout: h.timeoutMs, all: true }).then((r) => {
      t.probing = false;
      if (t.verdict) return;
      const l = { ExitCode: r.exitCode ?? -1, Output: r.all ?? '' };
      if (r.exitCode === 0) t.verdict = { kind: 'ready', afterMs: Date.now() - Date.parse(c.State.StartedAt), failedProbes: t.failedProbes };
      else if (missingCommand(l) && isOurImage(c.Config.Image)) t.verdict = harnessVerdict(h, c.Config.Image);
    }).catch(() => { t.probing = false; });
  }

  /** Polls every half second until `upDone()` and every container has a verdict. */
  async until(upDone: () => boolean): Promise<void> {
    for (;;) {
      const done = upDone();
      await this.poll(done);
      if (done && [...this.tracked.values()].every((t) => t.verdict)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** service (compose's name) → verdict and the healthcheck it was judged by */
  results(): { name: string; service: string; verdict: Verdict; health?: HealthConfig }[] {
    return [...this.tracked].filter(([, t]) => t.verdict).map(([name, t]) => {
      const c = this.inspected.get(name)!;
      return { name, service: c.Config.Labels?.['com.docker.compose.service'] ?? name, verdict: t.verdict!, health: healthConfig(c.Config.Healthcheck) };
    });
  }
}

function harnessVerdict(h: HealthConfig, image: string): Verdict {
  const tool = healthTools(h.test)[0] ?? h.test.slice(1).join(' ');
  return { kind: 'harness', tool, line: `its healthcheck calls ${tool}, which our stand-in image ${image} does not have: not judged by it (the checks judge whether it answers)` };
}

/** The verdict a container's state gives now, or undefined while it may still come up. */
export function judge(c: Inspected, failedProbes: number, now: number): Verdict | undefined {
  const s = c.State;
  const started = Date.parse(s.StartedAt);
  const h = healthConfig(c.Config.Healthcheck);
  if (['exited', 'dead'].includes(s.Status)) return { kind: 'failed', reason: `exited${s.Status === 'dead' ? ' (dead)' : ''}` };
  if (s.Status === 'restarting' || c.RestartCount > 0) return { kind: 'failed', reason: `restarts in a loop (${c.RestartCount} restart(s))` };
  if (s.Status !== 'running') return undefined;
  // Without a healthcheck, running is all compose knows; two seconds of it, so a start that crashes at once is seen.
  if (!h || !s.Health) return now - started >= 2_000 ? { kind: 'ready', afterMs: now - started, failedProbes: 0 } : undefined;
  const last = s.Health.Log?.at(-1);
  if (last && missingCommand(last) && isOurImage(c.Config.Image)) return harnessVerdict(h, c.Config.Image);
  if (s.Health.Status === 'healthy') {
    // Timed to the probe that passed first, when docker still holds it.
    const passed = s.Health.Log?.find((l) => l.ExitCode === 0);
    return { kind: 'ready', afterMs: (passed ? Date.parse(passed.End) : now) - started, failedProbes };
  }
  if (s.Health.Status === 'unhealthy') {
    const out = (last?.Output ?? '').trim().split('\n').filter(Boolean).at(-1);
    return { kind: 'failed', reason: `unhealthy: its healthcheck failed ${s.Health.FailingStreak} time(s) in a row${last ? ` (exit ${last.ExitCode}${out ? `: ${out.slice(0, 200)}` : ''})` : ''}` };
  }
  if (now - started > windowMs(h) + 5_000) return { kind: 'failed', reason: `not healthy within its healthcheck's window (${healthWindow(h)}; ${secs(now - started)} since it started)` };
  return undefined;
}
