// The local stack as a Target: the domain resolves to the host's public address (the public
// network's gateway), our generated CA is trusted, and the vantages are real probe containers.
// The host is reached over SSH, as on the VPS, when the stack runs its stand-in host (sshd);
// `hostAccess: 'direct'` runs host commands on this machine instead.
import { execa } from 'execa';
import { containerName, type StackDescriptor } from '../../stack/stack.ts';
import { createTarget, containerVantage, selfVantage, type Target, type HostAccess } from './target.ts';
import { dockerServiceControl } from './service-control.ts';
import { sshHost } from './ssh-host.ts';

export function localTarget(d: StackDescriptor, o: { allowWrites?: boolean; faults?: boolean; hostAccess?: 'ssh' | 'direct'; userCredentials?: () => Record<string, string> | undefined } = {}): Target {
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
    secrets: { adminUsername: d.secrets.adminUsername, adminPassword: d.secrets.adminPassword, redisPassword: d.secrets.redisPassword },
    allowWrites: o.allowWrites ?? true, faults: o.faults, services, userCredentials: o.userCredentials ?? d.userCredentials,
    queue: d.queue && { mode: d.queue.mode, maxQueueDepth: d.queue.maxQueueDepth, jobTimeout: d.queue.jobTimeoutSeconds },
    vantages: {
      public: containerVantage('public', name('probe-public'), `a container on the "internet" network, probing the host's public address ${d.publicAddress}`),
      vpn: containerVantage('vpn', name('probe-vpn'), `a container on the VPN network (as a GPU worker), probing the host's VPN address ${d.vpnAddress}`),
      loopback: selfVantage('loopback', 'the VPS host itself (127.0.0.1)'),
    },
    host: ssh ? { ...ssh, where: `the stand-in VPS host, ${ssh.where}` } : direct,
  });
  const close = target.close;
  target.close = async () => { await close(); await ssh?.close(); };
  return target;
}
