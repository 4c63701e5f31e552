import { describe, it, expect } from 'vitest';
import { parseUfw, ufwRuleAllowed } from './host.ts';
import { GUIDE_UFW_STATUS } from '../stack/topology.ts';
import { shQuote, parseSshTarget } from './lib/ssh-host.ts';

describe('host suite parsers', () => {
  it('reads the guide\'s firewall as allowed', () => {
    const u = parseUfw(GUIDE_UFW_STATUS);
    expect(u).toEqual({ active: true, publicAllows: ['22/tcp', 'Nginx Full', '21115:21119/tcp', '21116/udp'] });
    expect(u.publicAllows.every(ufwRuleAllowed)).toBe(true);
  });

  it('flags a rule open to anywhere beyond the guide\'s, but not one on the VPN or from one address', () => {
    const out = `${GUIDE_UFW_STATUS}\n6379/tcp                   ALLOW       Anywhere\n3000 on tailscale0         ALLOW       Anywhere\n8080                       ALLOW       100.64.0.0/10\n5432/tcp                   DENY        Anywhere`;
    const u = parseUfw(out);
    expect(u.publicAllows.filter((r) => !ufwRuleAllowed(r))).toEqual(['6379/tcp']);
    expect(ufwRuleAllowed('21110:21119/tcp')).toBe(false);
    expect(parseUfw('Status: inactive').active).toBe(false);
  });

  it('quotes arguments for the remote shell; parses user@host[:port]', () => {
    expect(['ls', '-la', "it's here", 'a b', '$HOME'].map(shQuote).join(' ')).toBe(`ls -la 'it'\\''s here' 'a b' '$HOME'`);
    expect(parseSshTarget('root@127.0.0.1:2222')).toEqual({ user: 'root', host: '127.0.0.1', port: 2222 });
    expect(parseSshTarget('dev@comfy.ahelme.net')).toEqual({ user: 'dev', host: 'comfy.ahelme.net', port: 22 });
    expect(parseSshTarget('comfy.ahelme.net')).toBeUndefined();
    expect(parseSshTarget('a@b:99999')).toBeUndefined();
  });
});
