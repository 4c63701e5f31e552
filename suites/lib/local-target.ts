// The local stack as a Target: the domain resolves to the host's public address (the public
// network's gateway), our generated CA is trusted, and the vantages are real probe containers.
// The host is reached over SSH, as on the VPS, when the stack runs its stand-in host (sshd);
// `hostAccess: 'direct'` runs host commands on this machine instead.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { containerName, type StackDescriptor } from '../../stack/stack.ts';
import { createTarget, containerVantage, selfVantage, type Target, type HostAccess, type PlatformFiles } from './target.ts';
import { registerSecret } from '../../stack/secrets.ts';
import type { Secrets } from '../../stack/topology.ts';
import { dockerServiceControl } from './service-control.ts';
import { sshHost } from './ssh-host.ts';

/** A stack as described, with a compose project's .env and the .env.example beside it (the local stack has none). */
export type TargetStack = StackDescriptor & { envFiles?: { env: string; example: string } };

export function localTarget(d: TargetStack, o: {
  allowWrites?: boolean; faults?: boolean; hostAccess?: 'ssh' | 'direct'; userCredentials?: () => Record<string, string> | undefined;
  /** the stack's secrets as they are now: a fault may give the services other passwords, which the
   *  harness then knows as an operator's .env would tell it */
  secrets?: () => Secrets;
} = {}): Target {
  const name = (svc: string) => d.containers?.[svc] ?? containerName(d.runId, svc);
  const direct: HostAccess = {
    where: 'this machine, standing for the VPS host',
    run: async (cmd) => execa(cmd[0], cmd.slice(1), { reject: false }) as never,
    serviceExec: async (service, cmd) => execa('docker', ['exec', name(service), ...cmd], { reject: false }) as never,
    inspect: async (services, format) => execa('docker', ['inspect', '--format', format, ...services.map(name)], { reject: false }) as never,
  };
  const ssh = d.ssh && o.hostAccess !== 'direct' ? sshHost(d.ssh) : undefined;
  const services = dockerServiceControl({ where: 'docker stop / docker start on this machine', run: direct.run, container: name });
  const target = createTarget({
    name: `local stack (${d.mode} nginx)`, kind: 'local', mode: d.mode, domain: d.domain, users: d.users,
    resolveTo: d.publicAddress, vpnAddress: d.vpnAddress, caPem: d.caPem,
    secrets: o.secrets ? liveSecrets(o.secrets) : { adminUsername: d.secrets.adminUsername, adminPassword: d.secrets.adminPassword, redisPassword: d.secrets.redisPassword },
    allowWrites: o.allowWrites ?? true, faults: o.faults, services, userCredentials: o.userCredentials ?? d.userCredentials,
    queue: d.queue && { mode: d.queue.mode, maxQueueDepth: d.queue.maxQueueDepth, jobTimeout: d.queue.jobTimeoutSeconds },
    vantages: {
      public: containerVantage('public', name('probe-public'), `a container on the "internet" network, probing the host's public address ${d.publicAddress}`),
      vpn: containerVantage('vpn', name('probe-vpn'), `a container on the VPN network (as a GPU worker), probing the host's VPN address ${d.vpnAddress}`),
      loopback: selfVantage('loopback', 'the VPS host itself (127.0.0.1)'),
    },
    host: ssh ? { ...ssh, where: `the stand-in VPS host, ${ssh.where}`, standIns: STAND_IN_HOST_STUBS } : direct,
    ...(d.envFiles ? { files: localFiles(d.envFiles, 'the compose project\'s own files, on this machine') } : {}),
  });
  const close = target.close;
  target.close = async () => { await close(); await ssh?.close(); };
  return target;
}

/** The stand-in host's stubs (stack/topology.ts): they print what the harness configured. */
const STAND_IN_HOST_STUBS = {
  ufw: 'ufw on the VPS (a stub on the stand-in host prints the guide\'s rules)',
  tailscale: 'the Tailscale client on the VPS (a stub on the stand-in host prints the VPN address)',
};

/** Secrets read from the stack each time (registered for redaction as they are read). */
function liveSecrets(now: () => Secrets): Secrets {
  return {
    get adminUsername() { return now().adminUsername; },
    get adminPassword() { const p = now().adminPassword; registerSecret(p); return p; },
    get redisPassword() { const p = now().redisPassword; registerSecret(p); return p; },
  };
}

/** A compose project's .env and .env.example, read on this machine. */
export function localFiles(f: { env: string; example: string }, where: string): PlatformFiles {
  return { where, envPath: f.env, examplePath: f.example, read: async (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined) };
}
