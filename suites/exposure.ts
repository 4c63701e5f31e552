// exposure: what the internet can reach, seen from where an attacker stands, and the host's
// own listening sockets as evidence.
import { defineCheck, type CheckContext } from './lib/check.ts';
import { CONTRACT, userHostPort } from '../stack/topology.ts';

/** Ports the platform's internals use; none may face the internet. */
export function internalPorts(users: number): Record<number, string> {
  const ports: Record<number, string> = {
    [CONTRACT.redisPort]: 'redis', [CONTRACT.queueManagerPort]: 'queue-manager', [CONTRACT.adminPort]: 'admin dashboard',
  };
  for (let n = 1; n <= users; n++) ports[userHostPort(n)] = `user${String(n).padStart(3, '0')} ComfyUI`;
  return ports;
}
/** Other ports worth a look on any VPS (Docker's API, databases, alternative web ports). */
const USUAL_SUSPECTS = [21, 23, 25, 2375, 2376, 3306, 5432, 5900, 8000, 8443, 8888, 9000, 9090, 11211, 27017];

export interface Listener { address: string; port: number; process: string }

/** Parses `ss -ltnpH`: the host's listening TCP sockets. */
export function parseSs(out: string): Listener[] {
  return out.split('\n').filter(Boolean).flatMap((line) => {
    const cols = line.trim().split(/\s+/);
    const local = cols[3] ?? '';
    const m = /^(.*):(\d+)$/.exec(local);
    if (!m) return [];
    const address = m[1].replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    return [{ address, port: Number(m[2]), process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? '' }];
  });
}

export async function hostListeners(ctx: CheckContext): Promise<Listener[]> {
  const r = await ctx.target.host!.run(['ss', '-ltnpH']);
  if (r.exitCode !== 0) ctx.fail(`could not list the host's listening sockets (ss -ltnpH): ${r.stderr.split('\n')[0]}`);
  const listeners = parseSs(r.stdout);
  ctx.record(`listening sockets on ${ctx.target.host!.where}`, listeners.map((l) => `${l.address}:${l.port} ${l.process}`), 'ss -ltnpH');
  // A host we reached has at least its SSH or nginx listening: an empty list is not the host's view.
  if (!listeners.length) ctx.skip(`ss -ltnpH on ${ctx.target.host!.where} listed no listening socket at all (not the host's network namespace?): nothing to judge`);
  return listeners;
}

export const isWildcard = (a: string) => a === '0.0.0.0' || a === '::' || a === '*';
export const isLoopback = (a: string) => a.startsWith('127.') || a === '::1';

export const exposureChecks = [
  defineCheck({
    id: 'exposure.public-ports', suite: 'exposure', title: 'from the internet only 80 and 443 are open (22 allowed)',
    needs: ['public-vantage'],
    async run(ctx) {
      const v = ctx.target.vantages.public!;
      const internal = internalPorts(ctx.target.users.length);
      const ports = [...new Set([...CONTRACT.publicAllowed, ...Object.keys(internal).map(Number), ...USUAL_SUSPECTS])];
      const scan = await v.scan(ctx.target.publicAddress, ports);
      ctx.record('port scan', { open: scan.open, filtered: scan.filtered.length, closed: scan.closed.length }, { from: v.where, host: ctx.target.publicAddress, ports: ports.length });
      const exposed = scan.open.filter((p) => !(CONTRACT.publicAllowed as readonly number[]).includes(p));
      ctx.expect(exposed.length === 0, 'no other port open to the internet',
        `open: ${exposed.map((p) => `${p}${internal[p] ? ` (${internal[p]})` : ''}`).join(', ')}`);
      for (const p of [CONTRACT.httpPort, CONTRACT.httpsPort]) ctx.expect(scan.open.includes(p), `port ${p} open`, `port ${p} ${scan.closed.includes(p) ? 'closed' : 'filtered'}`);
      return `open from the internet: ${scan.open.join(', ')}`;
    },
  }),
  defineCheck({
    id: 'exposure.host-bindings', suite: 'exposure', title: 'the host binds internal services to loopback or the VPN only (container mode: nothing but nginx beyond loopback)',
    needs: ['host'],
    async run(ctx) {
      const internal = internalPorts(ctx.target.users.length);
      const listeners = await hostListeners(ctx);
      const vpn = ctx.target.vpnAddress;
      const bad: string[] = [];
      const loopback: string[] = [];
      for (const l of listeners) {
        const what = internal[l.port];
        if (!what) continue;
        const onVpn = l.address === vpn && (l.port === CONTRACT.redisPort || l.port === CONTRACT.queueManagerPort);
        if (onVpn) continue;
        if (isLoopback(l.address)) {
          if (ctx.target.mode === 'container') loopback.push(`${what} on ${l.address}:${l.port}`);
          continue;
        }
        bad.push(`${what} listens on ${l.address}:${l.port}${isWildcard(l.address) ? ' (every interface)' : ''}`);
      }
      ctx.expect(bad.length === 0,
        ctx.target.mode === 'container' ? 'nothing but nginx reachable beyond the host itself' : 'internal services on 127.0.0.1 (or the VPN address) only', bad.join('; '));
      // The contract's intent is "nothing but nginx reachable from outside"; loopback is not, and the
      // platform's own compose file (one file for both modes) publishes the users there in both.
      if (loopback.length) ctx.warn(`container mode, published on loopback only (not reachable from outside; nginx needs none of them): ${loopback.slice(0, 4).join(', ')}${loopback.length > 4 ? ` and ${loopback.length - 4} more` : ''}`);
    },
  }),
];
