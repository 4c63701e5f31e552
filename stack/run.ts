// Starting a local stack for a run: fresh secrets (as the guide generates them), a run dir,
// clean-up on exit and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import { describeTopology, userId, type NginxMode, type TopologyOptions, type Topology } from './topology.ts';
import { Stack, type Progress } from './stack.ts';
import { registerSecret } from './secrets.ts';

export function newRunId(): string {
  return randomBytes(3).toString('hex');
}

/** Like the guide: `openssl rand -hex 32` for Redis, `openssl rand -base64 24` for the admin. */
export function generateSecrets(env: NodeJS.ProcessEnv = process.env): Topology['secrets'] {
  const s = {
    redisPassword: env.REDIS_PASSWORD || randomBytes(32).toString('hex'),
    adminUsername: env.ADMIN_USERNAME || 'admin',
    adminPassword: env.ADMIN_PASSWORD || randomBytes(24).toString('base64'),
  };
  registerSecret(s.redisPassword);
  registerSecret(s.adminPassword);
  return s;
}

export const LOCAL_JOB_TIMEOUT_S = 8;

/** Per-participant passwords for --user-auth, generated per run like the guide's secrets. */
export function generateUserPasswords(users: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let n = 1; n <= users; n++) registerSecret(out[userId(n)] = randomBytes(12).toString('base64url'));
  return out;
}

export function localTopology(mode: NginxMode, o: Partial<TopologyOptions> = {}): Topology {
  const runId = o.runId ?? newRunId();
  // The two nginx modes run the queue's two serving orders (the guide's fifo; round_robin), so a
  // verify run proves both (jobs.queue-order). Priorities apply in both.
  // JOB_TIMEOUT of seconds, not the guide's hour: resilience.worker-vanishes waits it out (mock jobs
  // run for 1.5 s, far below it).
  const queue = { mode: mode === 'container' ? 'round_robin' as const : 'fifo' as const, jobTimeoutSeconds: LOCAL_JOB_TIMEOUT_S, ...o.queue };
  return describeTopology({ runId, runDir: `${tmpdir()}/comfy-verify/${runId}`, mode, secrets: o.secrets ?? generateSecrets(), ...o, queue });
}

const live = new Set<Stack>();
let hooked = false;
/** Stops every stack this process started, on normal exit, Ctrl-C or SIGTERM. */
function hookCleanup(): void {
  if (hooked) return;
  hooked = true;
  const bye = (signal: string) => {
    // The removal must not depend on a terminal still being there (a killed parent closes the pipe).
    try { process.stderr.write(`\n${signal}: removing the stack…\n`); } catch { /* no one to tell */ }
    void Promise.allSettled([...live].map((s) => s.stop())).then(() => process.exit(130));
  };
  process.once('SIGINT', () => bye('Ctrl-C'));
  process.once('SIGTERM', () => bye('SIGTERM'));
}

/** One local stack at a time on a machine: both modes use the host's ports 80/443, 3000, 8080,
 *  8188+ and the VPN address. A second run waits for the first (a dead holder's lock is taken over). */
const LOCK = `${tmpdir()}/comfy-verify.lock`;
async function acquireStackLock(progress?: Progress): Promise<void> {
  let told = false;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8').trim() || 0);
      if (holder === process.pid) return;
      if (!holder || !pidAlive(holder)) { rmSync(LOCK, { force: true }); continue; }
      if (!told) progress?.(`another comfy-verify run (pid ${holder}) has the local stack; waiting for it to finish`);
      told = true;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
let held = 0;
/** Keeps the lock across several stacks and whatever runs between them (npm run bench: no other
 *  run's stack starts between its measurements). Returns the release. */
export async function holdStackLock(progress?: Progress): Promise<() => void> {
  await acquireStackLock(progress);
  held++;
  return () => { if (--held === 0 && !live.size) releaseStackLock(); };
}
function releaseStackLock(): void {
  try { if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK, { force: true }); } catch { /* gone */ }
}
const pidAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } };

export async function startLocalStack(t: Topology, progress?: Progress, o: { optional?: string[] } = {}): Promise<Stack> {
  hookCleanup();
  await acquireStackLock(progress);
  let s: Stack;
  try {
    s = await Stack.start(t, progress, o);
  } catch (e) {
    if (!live.size && !held) releaseStackLock();
    throw e;
  }
  live.add(s);
  const stop = s.stop.bind(s);
  s.stop = async () => { live.delete(s); try { await stop(); } finally { if (!live.size && !held) releaseStackLock(); } };
  return s;
}
