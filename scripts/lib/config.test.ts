import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRemoteConfig, parseEnvFile } from './config.ts';
import { redact } from '../../stack/secrets.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'cv-config-'));
const err = (f: () => unknown) => { try { f(); } catch (e) { return (e as Error).message; } return 'no error'; };

describe('config', () => {
  it('parses a .env file as the platform writes it', () => {
    expect(parseEnvFile('# c\nDOMAIN=comfy.ahelme.net\nexport NUM_USERS=20 # twenty\nADMIN_PASSWORD="a b#c"\nX=\'y\'\n')).toEqual({
      DOMAIN: 'comfy.ahelme.net', NUM_USERS: '20', ADMIN_PASSWORD: 'a b#c', X: 'y',
    });
  });

  it('reads the platform\'s names: DOMAIN → target, REDIS_BIND_IP → vpnAddress, USE_HOST_NGINX → mode', () => {
    const d = dir();
    writeFileSync(join(d, '.env'), 'DOMAIN=comfy.example.org\nNUM_USERS=5\nUSE_HOST_NGINX=false\nREDIS_BIND_IP=100.99.216.71\nREDIS_PASSWORD=s3cret-redis-pw\nSSL_CERT_PATH=/etc/x/fullchain.pem\nNUM_WORKERS=1\n');
    const c = loadRemoteConfig({}, {}, d);
    expect(c).toMatchObject({ url: 'https://comfy.example.org', domain: 'comfy.example.org', users: 5, mode: 'container', vpnAddress: '100.99.216.71', vpnVantage: false });
    expect(c.layout.certPath).toBe('/etc/x/fullchain.pem');
    expect(c.layout.keyPath).toBe('/etc/letsencrypt/live/comfy.example.org/privkey.pem');
    expect(redact('pw s3cret-redis-pw')).toBe('pw «redacted»');
  });

  it('precedence: JSON file < .env < environment < flags', () => {
    const d = dir();
    writeFileSync(join(d, 'comfy-verify.config.json'), JSON.stringify({ NUM_USERS: 3, target: 'https://a.example', 'vpn-address': '100.64.0.1' }));
    writeFileSync(join(d, '.env'), 'NUM_USERS=4\n');
    expect(loadRemoteConfig({}, {}, d)).toMatchObject({ users: 4, domain: 'a.example', vpnAddress: '100.64.0.1', vpnVantage: true });
    expect(loadRemoteConfig({}, { NUM_USERS: '6' }, d).users).toBe(6);
    expect(loadRemoteConfig({ users: '7', target: 'https://b.example:8443' }, { NUM_USERS: '6' }, d)).toMatchObject({ users: 7, domain: 'b.example', httpsPort: 8443 });
  });

  it('--allow-disruption only with --allow-writes and --ssh: containers are restarted with the host\'s docker', () => {
    const d = dir();
    expect(err(() => loadRemoteConfig({ target: 'https://x.example', 'allow-disruption': true, ssh: 'root@x.example' }, {}, d)))
      .toBe('--allow-disruption needs --allow-writes (the resilience checks submit jobs)');
    expect(err(() => loadRemoteConfig({ target: 'https://x.example', 'allow-disruption': true, 'allow-writes': true }, {}, d)))
      .toBe('--allow-disruption needs --ssh USER@HOST (containers are restarted with the host\'s docker)');
    expect(loadRemoteConfig({ target: 'https://x.example', 'allow-disruption': true, 'allow-writes': true, ssh: 'root@x.example' }, {}, d).allowDisruption).toBe(true);
    expect(loadRemoteConfig({ target: 'https://x.example' }, {}, d).allowDisruption).toBe(false);
  });

  it('one clear line per bad setting, all at once', () => {
    const d = dir();
    expect(err(() => loadRemoteConfig({ target: 'https://x.example' }, { NUM_USERS: 'abc' }, d))).toBe('NUM_USERS must be 1-99, got "abc"');
    expect(err(() => loadRemoteConfig({ target: 'http://x.example' }, {}, d))).toBe('--target must be an https:// URL, got "http://x.example"');
    expect(err(() => loadRemoteConfig({}, {}, d))).toMatch(/^--target is required/);
    const many = err(() => loadRemoteConfig({ target: 'https://x.example', resolve: 'nope', ssh: 'host-only', ca: 'missing.pem' }, { USE_HOST_NGINX: 'maybe', QUEUE_MODE: 'lifo' }, d));
    expect(many.split('\n')).toEqual([
      'USE_HOST_NGINX must be true or false, got "maybe"',
      '✖ --resolve must be an IPv4 address, got "nope"',
      '✖ --ca missing.pem: no such file',
      '✖ --ssh must be USER@HOST or USER@HOST:PORT, got "host-only"',
      '✖ QUEUE_MODE must be fifo, round_robin or priority, got "lifo"',
    ]);
    writeFileSync(join(d, 'comfy-verify.config.json'), '{"DOMAIN": "a", "colour": "blue"}');
    expect(err(() => loadRemoteConfig({}, {}, d))).toMatch(/unknown setting "colour"/);
  });

  it('--ssh user@host[:port] with a container prefix', () => {
    const c = loadRemoteConfig({ target: 'https://x.example', ssh: 'dev@vps.example:2200', sudo: true }, {}, dir());
    expect(c.ssh).toMatchObject({ user: 'dev', host: 'vps.example', port: 2200, sudo: true, containerPrefix: 'comfy-' });
  });
});
