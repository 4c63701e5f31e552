// Restarting the platform's containers, as an operator would on the host: `docker stop` (or `kill`,
// for a service that vanishes), `docker start`, then wait until it listens again. One implementation
// for the local stack (commands on this machine) and a remote host (the same commands over SSH, only
// with --allow-disruption): the host's own docker, never an API only our stack has.
import { CONTRACT } from '../../stack/topology.ts';
import type { ServiceControl } from './target.ts';

type Run = (cmd: string[]) => Promise<{ exitCode?: number; stdout: string; stderr: string }>;

/** The port each service listens on inside its container (the worker listens on none). */
const PORTS: Record<string, number> = {
  admin: CONTRACT.adminPort, 'queue-manager': CONTRACT.queueManagerPort, redis: CONTRACT.redisPort,
};
const portOf = (svc: string): number | undefined => (svc === 'worker' ? undefined : PORTS[svc] ?? CONTRACT.frontendPort);

export function dockerServiceControl(o: { where: string; run: Run; container: (svc: string) => string }): ServiceControl {
  const docker = async (args: string[]) => {
    const r = await o.run(['docker', ...args]);
    if (r.exitCode !== 0) throw new Error(`docker ${args[0]} ${args.at(-1)}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    return r.stdout.trim();
  };
  // The first network's address (networks in name order): the queue-manager is on the VPN network too.
  const address = async (svc: string) =>
    (await docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', o.container(svc)])).split(' ')[0];
  /** Listening again, as the host sees it (bash's /dev/tcp: no tool beyond the host's shell). */
  const listening = async (ip: string, port: number) =>
    (await o.run(['bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`])).exitCode === 0;
  return {
    where: o.where,
    async restart(svcs, opts = {}) {
      const before = await Promise.all(svcs.map(address));
      const names = svcs.map(o.container);
      await docker(opts.kill ? ['kill', ...names] : ['stop', '--time', '2', ...names]);
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      // Highest address first: each takes the lowest free one, so they come back at each other's
      // addresses, as containers restarted in another order (a host reboot, compose up) do.
      const num = (ip: string) => ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
      const order = svcs.map((svc, i) => ({ svc, at: num(before[i]) })).sort((a, b) => b.at - a.at);
      for (const { svc } of order) await docker(['start', o.container(svc)]);
      const after = await Promise.all(svcs.map(address));
      await Promise.all(svcs.map(async (svc, i) => {
        const port = portOf(svc);
        if (port === undefined) return;
        for (const deadline = Date.now() + 30_000; !(await listening(after[i], port));) {
          if (Date.now() > deadline) throw new Error(`${svc} did not listen again on ${after[i]}:${port} within 30 s`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }));
      return svcs.map((service, i) => ({ service, before: before[i], after: after[i] }));
    },
  };
}
