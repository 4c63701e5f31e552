// HostAccess over the system `ssh` client: the operator's own SSH, no agent forwarding, no
// prompts (BatchMode), host keys pinned (accept-new into a known_hosts file we keep, or a given
// one). One multiplexed connection (ControlMaster) carries every command, and a small gate keeps
// concurrent sessions under sshd's default MaxSessions (10).
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { execa } from 'execa';
import type { HostAccess, HostLayout } from './target.ts';

export interface SshSettings {
  user: string;
  host: string;
  port: number;
  keyFile?: string;
  /** default: ~/.cache/comfy-verify/known_hosts (first contact recorded, a changed key refused) */
  knownHostsFile?: string;
  /** container names are <prefix><service>: the guide's comfy-user001 → prefix "comfy-" */
  containerPrefix: string;
  /** names that do not follow the prefix (a compose project's worker-1 for the service "worker") */
  containers?: Record<string, string>;
  /** run commands with `sudo -n` (ss -p, ufw and the private key need root) */
  sudo?: boolean;
  connectTimeoutS?: number;
  layout?: Partial<HostLayout>;
}

export interface SshHostAccess extends HostAccess {
  /** one command, to prove the login works before any check runs; throws with ssh's own words */
  preflight(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_KNOWN_HOSTS = `${homedir()}/.cache/comfy-verify/known_hosts`;
const MAX_SESSIONS = 8;

/** Quotes one argument for the remote POSIX shell (ssh joins its arguments with spaces). */
export const shQuote = (a: string) => (/^[A-Za-z0-9_\-./:=@%+,]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Parses user@host[:port]; undefined when malformed. */
export function parseSshTarget(v: string): { user: string; host: string; port: number } | undefined {
  const m = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  const port = m[3] ? Number(m[3]) : 22;
  return port >= 1 && port <= 65535 ? { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port } : undefined;
}

export function sshHost(s: SshSettings): SshHostAccess {
  const knownHosts = s.knownHostsFile ?? DEFAULT_KNOWN_HOSTS;
  mkdirSync(dirname(knownHosts), { recursive: true });
  const control = `/tmp/cv-ssh-${process.pid}-%C`;
  const base = [
    '-p', String(s.port), ...(s.keyFile ? ['-i', s.keyFile, '-o', 'IdentitiesOnly=yes'] : []),
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', `ConnectTimeout=${s.connectTimeoutS ?? 10}`, '-o', 'ServerAliveInterval=15', '-o', 'LogLevel=ERROR',
    '-o', 'ControlMaster=auto', '-o', `ControlPath=${control}`, '-o', 'ControlPersist=60',
    '-o', 'ForwardAgent=no', '-o', 'ClearAllForwardings=yes',
  ];
  const login = `${s.user}@${s.host}`;
  let active = 0;
  const waiting: (() => void)[] = [];
  const gate = async <T>(fn: () => Promise<T>): Promise<T> => {
    while (active >= MAX_SESSIONS) await new Promise<void>((r) => waiting.push(r));
    active++;
    try { return await fn(); } finally { active--; waiting.shift()?.(); }
  };
  const raw = (cmd: string[]) => gate(async () => {
    const remote = [...(s.sudo ? ['sudo', '-n'] : []), ...cmd].map(shQuote).join(' ');
    const r = await execa('ssh', [...base, login, '--', remote], { reject: false, stdin: 'ignore', timeout: 60_000 });
    const stderr = r.stderr.split(/\r?\n/).filter((l) => !/^ControlSocket .* disabling multiplexing/.test(l)).join('\n');
    return { exitCode: r.exitCode ?? 255, stdout: r.stdout, stderr };
  });
  // The first command opens the shared connection; the rest wait for it, then multiplex over it.
  let first: Promise<unknown> | undefined;
  const ssh = async (cmd: string[]) => {
    if (!first) return (first = raw(cmd)) as ReturnType<typeof raw>;
    await first.catch(() => {});
    return raw(cmd);
  };
  const where = `${login}${s.port === 22 ? '' : `:${s.port}`} over SSH${s.sudo ? ' (sudo)' : ''}`;
  return {
    where,
    layout: s.layout,
    run: ssh,
    serviceExec: (service, cmd) => ssh(['docker', 'exec', s.containers?.[service] ?? `${s.containerPrefix}${service}`, ...cmd]),
    inspect: (services, format) => ssh(['docker', 'inspect', '--format', format, ...services.map((x) => s.containers?.[x] ?? `${s.containerPrefix}${x}`)]),
    async preflight() {
      // The first command also opens the shared connection the others reuse.
      const r = await ssh(['true']);
      if (r.exitCode !== 0) throw new Error(`ssh ${where}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`}`);
    },
    async close() {
      await execa('ssh', [...base, '-O', 'exit', login], { reject: false, stdin: 'ignore', timeout: 5_000 });
    },
  };
}
