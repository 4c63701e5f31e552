// An nginx that does not start is a finding about the deployment (NO-GO, exit 1), not the harness's
// failure (exit 2): the rest of the stack comes up, every check that goes through nginx is blocked by
// it with nginx's own words, and what does not need nginx (Redis on the VPN) is still verified.
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { guideSiteFile } from '../../stack/nginx/operator.ts';
import { nginxMainConf, referenceSite } from '../../stack/nginx/reference.ts';
import { CONTRACT } from '../../stack/topology.ts';

describe('verify with an nginx configuration nginx refuses', () => {
  it('NO-GO, exit 1: root cause "nginx did not start" with its [emerg] line; Redis checks still run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-nginx-'));
    const site = join(dir, 'comfy.conf');
    // The guide's site file with one typo an operator could make in an edit.
    writeFileSync(site, guideSiteFile().replace('proxy_read_timeout', 'proxy_read_timout'));
    const reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
    const r = await execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), 'verify', '--mode', 'host', '--nginx-site', site, '--suite', 'health,redis'], {
      cwd: dir, reject: false, all: true, timeout: 240_000, env: { COMFY_VERIFY_REPORTS: reports },
    });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/ROOT CAUSE: nginx did not start/);
    expect(r.all).toMatch(/unknown directive "proxy_read_timout"/);
    const report = JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8'));
    const by = (id: string) => report.checks.find((c: { id: string }) => c.id === id);
    expect(by('health.nginx')).toMatchObject({ status: 'fail', blockedBy: { service: 'nginx' } });
    expect(by('health.nginx').evidence.find((e: { label: string }) => /did not start/.test(e.label)).seen.join('\n')).toMatch(/\[emerg\]/);
    expect(by('redis.vpn-auth').status).toBe('pass');
    expect(report.rootCauses[0]).toMatchObject({ service: 'nginx', never: true });
  }, 300_000);

  it('--nginx-conf: a whole nginx.conf in the official image\'s shape (user nginx, conf.d/*.conf included) runs as written: GO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-nginx-conf-'));
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'comfy.conf'), referenceSite({
      domain: CONTRACT.domain, users: CONTRACT.users, mode: 'container', certPath: '/etc/nginx/ssl/fullchain.pem', keyPath: '/etc/nginx/ssl/privkey.pem',
      outputsDir: `${CONTRACT.hostOutputsDir}/`,
    }));
    writeFileSync(join(dir, 'nginx.conf'), nginxMainConf('    include /etc/nginx/conf.d/*.conf;', { mode: 'container', user: 'nginx' }));
    const reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
    // Without the idle-socket minute: the site is the reference one, whose timeouts the platform test
    // proves; what is new here is the main file's shape (its user, its include, its upgrade map).
    const r = await execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), 'verify', '--mode', 'container', '--nginx-conf', join(dir, 'nginx.conf'), '--suite', 'health,routing,websocket,tls', '--skip', 'websocket.idle-survives'], {
      cwd: dir, reject: false, all: true, timeout: 240_000, env: { COMFY_VERIFY_REPORTS: reports },
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/GO: local stack meets the contract/);
    expect(r.all).toMatch(/without websocket\.idle-survives \(--skip\)/);
  }, 300_000);
});
