import { describe, it, expect } from 'vitest';
import { hostChecks, parseUfw, ufwRuleAllowed } from './host.ts';
import { runCheck } from './lib/check.ts';
import type { Target, TlsProbe } from './lib/target.ts';
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

describe('host.certificate-files', () => {
  const DAY = 86_400_000;
  const FP = 'AB:CD:EF:01';
  // A readable certificate file and its key, as openssl prints them on the host.
  const host = {
    where: 'a fake host',
    run: async (cmd: string[]) => cmd[0] === 'openssl'
      ? { exitCode: 0, stderr: '', stdout: `notAfter=${new Date(Date.now() + 60 * DAY).toUTCString()}\nnotBefore=${new Date(Date.now() - DAY).toUTCString()}\nsha256 Fingerprint=${FP}\n` }
      : { exitCode: 0, stderr: '', stdout: 'SHA2-256(stdin)= 1234\nSHA2-256(stdin)= 1234\n' },
  };
  const target = (probe: TlsProbe) => ({ name: 'fake', domain: 'example.test', capabilities: new Set(['host']), host, tlsProbe: async () => probe }) as unknown as Target;
  const check = hostChecks.find((c) => c.id === 'host.certificate-files')!;

  it('compares the file with the certificate nginx serves', async () => {
    const same = await runCheck(check, target({ ok: true, cert: { fingerprint256: FP, valid_to: 'x' } as never }));
    expect(same).toMatchObject({ status: 'pass', message: expect.stringMatching(/served by nginx$/) });
    const other = await runCheck(check, target({ ok: true, cert: { fingerprint256: '00:11', valid_to: 'Jan 1 2027' } as never }));
    expect(other).toMatchObject({ status: 'fail', message: expect.stringMatching(/nginx serves this file's certificate; saw it serves another/) });
  });

  it('a TLS probe that could not connect is no comparison: not a pass while the file is readable', async () => {
    const r = await runCheck(check, target({ ok: false, error: 'connect ECONNREFUSED 127.0.0.1:443' }));
    expect(r).toMatchObject({ status: 'fail', message: expect.stringMatching(/the certificate nginx serves, to compare with the file; saw no certificate read from example\.test:443 \(connect ECONNREFUSED/) });
  });
});
