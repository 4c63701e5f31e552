// A deployment reached by its domain: the real platform (or the local stack under its real name,
// with --resolve and --ca). This machine is the public vantage; it is the VPN vantage only when
// the operator says it is on the tailnet (--vpn-address); writes only with --allow-writes; the host
// only over SSH (--ssh); restarting containers only with --allow-disruption. A quick TCP connect first, so an unreachable target is one line, not 40 failures.
import net from 'node:net';
import { hostname } from 'node:os';
import { createTarget, selfVantage, type Target, type PlatformFiles } from './target.ts';
import { sshHost } from './ssh-host.ts';
import { dockerServiceControl } from './service-control.ts';
import { HarnessError } from '../../stack/errors.ts';
import type { NginxMode, QueueMode } from '../../stack/topology.ts';

/** A deployment as the command line and config files describe it (scripts/lib/config.ts reads them). */
export interface RemoteConfig {
  url: string;
  domain: string;
  httpsPort: number;
  users: number;
  mode?: NginxMode;
  /** REDIS_BIND_IP or --vpn-address: the host's Tailscale address */
  vpnAddress?: string;
  /** --vpn-address given: this machine is on the tailnet, so it can look from the VPN */
  vpnVantage: boolean;
  resolve?: string;
  caFile?: string;
  caPem?: string;
  allowWrites: boolean;
  /** --allow-disruption: resilience checks restart the platform's containers on the host (over SSH) */
  allowDisruption?: boolean;
  ssh?: { user: string; host: string; port: number; keyFile?: string; knownHostsFile?: string; sudo: boolean; containerPrefix: string };
  secrets: { adminUsername: string; adminPassword?: string; redisPassword?: string };
  /** --user-credentials: each participant's workspace password */
  userCredentials?: Record<string, string>;
  layout: { certPath: string; keyPath: string; outputsDir: string };
  queue: { mode?: QueueMode; maxQueueDepth?: number; jobTimeout?: number };
  /** where settings came from, lowest precedence first, for the run's header */
  sources: string[];
}

export async function openRemoteTarget(c: RemoteConfig): Promise<Target> {
  await preflight(c);
  const ssh = c.ssh ? sshHost({ ...c.ssh, layout: c.layout }) : undefined;
  if (ssh) {
    try { await ssh.preflight(); } catch (e) {
      await ssh.close();
      throw new HarnessError((e as Error).message, 'check --ssh, --ssh-key and that the key is authorized on the host (ssh -i KEY USER@HOST true)');
    }
  }
  const via = c.resolve ? ` via ${c.resolve}` : '';
  const target = createTarget({
    name: `${c.url}${via}`, kind: 'remote', mode: c.mode, domain: c.domain, users: c.users,
    resolveTo: c.resolve, vpnAddress: c.vpnAddress, caPem: c.caPem, httpsPort: c.httpsPort,
    secrets: c.secrets, allowWrites: c.allowWrites, queue: c.queue, userCredentials: c.userCredentials,
    vantages: {
      public: selfVantage('public', `this machine (${hostname()}), on the internet`),
      ...(c.vpnVantage ? { vpn: selfVantage('vpn', `this machine (${hostname()}), on the tailnet`) } : {}),
    },
    host: ssh,
    // Only when asked, and through the host's own docker: it interrupts whoever is working.
    services: c.allowDisruption && ssh && c.ssh
      ? dockerServiceControl({ where: `docker stop / docker start on ${ssh.where}`, run: ssh.run, container: (svc) => `${c.ssh!.containerPrefix}${svc}` })
      : undefined,
    ...(ssh ? { files: hostFiles(ssh.run, c.layout.outputsDir, ssh.where) } : {}),
  });
  const close = target.close;
  target.close = async () => { await close(); await ssh?.close(); };
  return target;
}

/** DNS (unless --resolve) and a TCP connect to the HTTPS port; any failure is the harness's exit 2. */
async function preflight(c: RemoteConfig): Promise<void> {
  const host = c.resolve ?? c.domain;
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const sock = net.connect({ host, port: c.httpsPort });
    sock.setTimeout(5_000, () => { sock.destroy(); resolve(Object.assign(new Error('no answer within 5 s'), { code: 'ETIMEDOUT' })); });
    sock.once('connect', () => { sock.destroy(); resolve(undefined); });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e));
  });
  if (!err) return;
  const where = `${host}:${c.httpsPort}`;
  const why: Record<string, string> = {
    ENOTFOUND: `${c.domain} does not resolve (DNS)`, EAI_AGAIN: `${c.domain} could not be resolved (DNS not answering)`,
    ECONNREFUSED: `connection refused at ${where}`, ETIMEDOUT: `no answer from ${where} within 5 s`,
    EHOSTUNREACH: `${where} is unreachable (no route)`, ENETUNREACH: `${where} is unreachable (no network)`,
  };
  throw new HarnessError(`cannot reach ${c.url}: ${why[err.code ?? ''] ?? err.message}`,
    c.resolve ? 'is the platform up at that address?' : 'check the domain, or aim at an address with --resolve IP');
}

/** The platform directory's .env and .env.example on the host (the guide's /home/dev/projects/comfyui,
 *  the directory above data/outputs), read with cat over SSH. */
export function hostFiles(run: (cmd: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>, outputsDir: string, where: string): PlatformFiles {
  const dir = outputsDir.replace(/\/+$/, '').replace(/\/data\/outputs$/, '');
  return {
    where: `the platform directory ${dir} on ${where}`, envPath: `${dir}/.env`, examplePath: `${dir}/.env.example`,
    async read(path) {
      const r = await run(['cat', '--', path]);
      if (r.exitCode === 0) return r.stdout;
      if (/No such file/i.test(r.stderr)) return undefined;
      throw new Error(r.stderr.trim().split('\n').pop() || `cat ${path}: exit code ${r.exitCode}`);
    },
  };
}
