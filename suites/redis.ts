// redis: reachable over the VPN with its password, from nowhere else, and never without it.
import { defineCheck } from './lib/check.ts';
import { CONTRACT } from '../stack/topology.ts';
import { hostListeners, isWildcard, isLoopback } from './exposure.ts';

const port = CONTRACT.redisPort;

export const redisChecks = [
  defineCheck({
    id: 'redis.vpn-auth', suite: 'redis', title: 'Redis answers on the VPN address with the password',
    needs: ['vpn-vantage', 'redis-password'],
    async run(ctx) {
      const v = ctx.target.vantages.vpn!;
      const host = ctx.target.vpnAddress!;
      const r = await v.redis(host, port, ctx.target.secrets.redisPassword, ['PING']);
      ctx.record('AUTH «password» + PING', r, { from: v.where, host, port });
      ctx.expect(r.connected, `a connection to ${host}:${port} from the VPN`, r.error);
      ctx.expect(r.auth === 'OK', 'AUTH accepted', r.auth ?? r.error);
      ctx.expect(r.reply === 'PONG', 'PONG', r.reply ?? r.error);
    },
  }),
  defineCheck({
    id: 'redis.requires-password', suite: 'redis', title: 'Redis refuses commands without the password (NOAUTH)',
    needs: ['vpn-vantage'],
    async run(ctx) {
      const v = ctx.target.vantages.vpn!;
      const host = ctx.target.vpnAddress!;
      const r = await v.redis(host, port, undefined, ['PING']);
      ctx.record('PING without AUTH', r, { from: v.where, host, port });
      ctx.expect(r.connected, `a connection to ${host}:${port} from the VPN`, r.error);
      ctx.expect(/^NOAUTH/.test(r.reply ?? ''), 'NOAUTH Authentication required', r.reply === 'PONG' ? 'PONG: Redis runs without a password' : r.reply ?? r.error);
    },
  }),
  defineCheck({
    id: 'redis.not-public', suite: 'redis', title: 'Redis is unreachable from the internet',
    needs: ['public-vantage'],
    async run(ctx) {
      const v = ctx.target.vantages.public!;
      // With a positive control from the same place: 443 on the same address must answer, or a closed
      // or filtered 6379 only says that this vantage reaches nothing.
      const https = CONTRACT.httpsPort;
      const scan = await v.scan(ctx.target.publicAddress, [port, https]);
      const state = scan.open.includes(port) ? 'open' : scan.closed.includes(port) ? 'closed' : 'filtered';
      ctx.record(`TCP ${ctx.target.publicAddress}:${port} and :${https}`, { [port]: state, [https]: scan.open.includes(https) ? 'open' : 'not open' }, { from: v.where });
      ctx.expect(scan.open.includes(https), `the same vantage reaches ${ctx.target.publicAddress}:${https} (so a closed ${port} means something)`,
        `${https} not open from that vantage either: it reaches nothing, so Redis's port cannot be judged`);
      if (state === 'open') {
        const r = await v.redis(ctx.target.publicAddress, port, undefined, ['PING']);
        ctx.record('PING without AUTH from the internet', r);
      }
      ctx.expect(state !== 'open', `port ${port} closed on the public address`, `open on ${ctx.target.publicAddress}:${port}: Redis faces the internet`);
      return `${port} ${state} from the internet, where ${https} answers`;
    },
  }),
  defineCheck({
    id: 'redis.bind-address', suite: 'redis', title: 'Redis is bound to the VPN address, not 0.0.0.0 (host evidence)',
    needs: ['host'],
    async run(ctx) {
      const on = (await hostListeners(ctx)).filter((l) => l.port === port);
      const vpn = ctx.target.vpnAddress;
      const wrong = on.filter((l) => !(l.address === vpn || isLoopback(l.address)));
      ctx.expect(wrong.length === 0, `Redis bound only to the VPN address${vpn ? ` ${vpn}` : ''}`,
        wrong.map((l) => `${l.address}:${l.port}${isWildcard(l.address) ? ' (every interface, exposed to the internet)' : ''}`).join(', '));
      // GPU workers reach Redis over the VPN in both modes (the contract's worker): no listener at all
      // is not "bound right", it is unreachable for them.
      ctx.expect(on.some((l) => l.address === vpn), `Redis listening on ${vpn}:${port} for GPU workers`, on.length ? on.map((l) => `${l.address}:${l.port}`).join(', ') : 'not listening on the host');
      return `bound to ${on.map((l) => l.address).join(', ')}`;
    },
  }),
];
