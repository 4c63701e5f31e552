import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT, userHostPort } from '../topology.ts';
import { dockerSkipReason, headerValues, nginxSmoke, nginxTest, nginxTestBed, smokeUpstreamPorts, type NginxTestBed } from './docker-nginx.ts';
import { guideSiteFile, inlineIncludes, loadOperatorSite } from './operator.ts';
import { child, children, effectiveAddHeaders, isTlsServer, locationLabel, locationsOf, parseNginx, servers } from './parse.ts';
import { SECURITY_HEADERS, nginxMainConf } from './reference.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/nginx/guide-host-site.conf', import.meta.url));
/** The deployment guide itself: ../shared/seeds/ beside the repository (where CI has it). */
const GUIDE = process.env.COMFY_VERIFY_GUIDE ?? fileURLToPath(new URL('../../../shared/seeds/000_96bb80fead7db386.txt', import.meta.url));
const domain = CONTRACT.domain;
const ours = { certPath: '/run/cv/tls/fullchain.pem', keyPath: '/run/cv/tls/privkey.pem' };

describe('guideSiteFile', () => {
  it('is the committed fixture, byte for byte', () => {
    expect(guideSiteFile()).toBe(readFileSync(FIXTURE, 'utf8'));
  });

  it.skipIf(!existsSync(GUIDE))(`is exactly what the guide's Step 4 bash writes${existsSync(GUIDE) ? '' : ` (skipped: no guide at ${GUIDE})`}`, async () => {
    // Take Step 4's heredoc block and user loop from the guide and run them, writing to a temp file.
    const text = readFileSync(GUIDE, 'utf8');
    const step4 = text.slice(text.indexOf('### Step 4'), text.indexOf('### Step 5'));
    const blocks = [...step4.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
    const heredoc = blocks.find((b) => b.includes("<< 'NGINX_EOF'"));
    const loop = blocks.find((b) => b.includes('for i in {1..20}'));
    expect(heredoc && loop).toBeTruthy();
    const dir = mkdtempSync(join(tmpdir(), 'cv-guide-'));
    try {
      const out = join(dir, 'site.conf');
      const script = (heredoc! + loop!)
        .replaceAll('sudo tee', 'tee')
        .replaceAll('/etc/nginx/sites-available/comfy.ahelme.net', out);
      await execa('bash', ['-c', script]);
      expect(readFileSync(out, 'utf8')).toBe(guideSiteFile());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes another domain and user count', () => {
    const t = guideSiteFile('example.test', 3);
    expect(t).not.toContain('comfy.ahelme.net');
    expect(t).toContain('server_name example.test;');
    expect(t).toContain('add_header Access-Control-Allow-Origin "https://example.test" always;');
    expect(t.match(/location \/user\d{3}\//g)).toEqual(['location /user001/', 'location /user002/', 'location /user003/']);
    expect(t).toContain('proxy_pass http://127.0.0.1:8190/;');
    expect(t.endsWith('    }\n}\n')).toBe(true);
  });

  it('has 20 users on ports 8188..8207, as the guide says', () => {
    const [, https] = servers(parseNginx(guideSiteFile()));
    const users = locationsOf(https).filter(({ d }) => /^\/user\d{3}\/$/.test(locationLabel(d)));
    expect(users).toHaveLength(20);
    users.forEach(({ d }, i) => expect(child(d, 'proxy_pass')!.args).toEqual([`http://127.0.0.1:${userHostPort(i + 1)}/`]));
  });
});

describe('loadOperatorSite', () => {
  const guide = readFileSync(FIXTURE, 'utf8');
  const diff = (a: string, b: string) => {
    const al = a.split('\n'), bl = b.split('\n');
    expect(al.length).toBe(bl.length);
    return al.flatMap((l, i) => (l === bl[i] ? [] : [[l, bl[i]]]));
  };

  it('changes only the certificate paths', () => {
    const out = loadOperatorSite(guide, ours);
    expect(diff(guide, out)).toEqual([
      [`    ssl_certificate     /etc/letsencrypt/live/${domain}/fullchain.pem;`, `    ssl_certificate     ${ours.certPath};`],
      [`    ssl_certificate_key /etc/letsencrypt/live/${domain}/privkey.pem;`, `    ssl_certificate_key ${ours.keyPath};`],
    ]);
  });

  it('is the identity when the paths and ports are the guide\'s own', () => {
    const certDir = CONTRACT.certDir(domain);
    expect(loadOperatorSite(guide, { certPath: `${certDir}/fullchain.pem`, keyPath: `${certDir}/privkey.pem`, httpPort: 80, httpsPort: 443 })).toBe(guide);
  });

  it('maps listen ports, IPv4 and IPv6, keeping their parameters', () => {
    const out = loadOperatorSite(guide, { ...ours, httpPort: 18080, httpsPort: 18443 });
    const changed = diff(guide, out).filter(([a]) => a.includes('listen'));
    expect(changed).toEqual([
      ['    listen 80;', '    listen 18080;'],
      ['    listen [::]:80;', '    listen [::]:18080;'],
      ['    listen 443 ssl http2;', '    listen 18443 ssl http2;'],
      ['    listen [::]:443 ssl http2;', '    listen [::]:18443 ssl http2;'],
    ]);
    expect(diff(guide, out)).toHaveLength(6);
  });

  it('leaves comments, other listens and everything else alone', () => {
    const text = [
      'server {',
      '    # ssl_certificate /old/commented.pem;',
      '    listen 127.0.0.1:80 default_server;',
      '    listen 8443 ssl;',
      '    ssl_certificate /old/fullchain.pem; # trailing',
      '    ssl_certificate_key /old/privkey.pem;',
      '    ssl_trusted_certificate /old/chain.pem;',
      '}',
    ].join('\n');
    expect(loadOperatorSite(text, { ...ours, httpPort: 81 }).split('\n')).toEqual([
      'server {',
      '    # ssl_certificate /old/commented.pem;',
      '    listen 127.0.0.1:81 default_server;',
      '    listen 8443 ssl;',
      `    ssl_certificate ${ours.certPath}; # trailing`,
      `    ssl_certificate_key ${ours.keyPath};`,
      '    ssl_trusted_certificate /old/chain.pem;',
      '}',
    ]);
  });
});

// What the guide's file does differently from the contract, read statically. The harness
// must report these; the loader must not fix them (these tests fail if someone "fixes" the fixture).
describe('the guide\'s site file, as written (static reading)', () => {
  const [http, https] = servers(parseNginx(loadOperatorSite(readFileSync(FIXTURE, 'utf8'), ours)));
  const loc = (label: string) => locationsOf(https).find(({ d }) => d.name === 'location' && locationLabel(d) === label)!;

  it('redirects HTTP and sets TLS 1.2/1.3 and the security headers at server level', () => {
    expect(isTlsServer(http)).toBe(false);
    expect(child(http, 'return')!.args).toEqual(['301', 'https://$host$request_uri']);
    expect(child(https, 'ssl_protocols')!.args).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(children(https, 'add_header').map((h) => h.args[0])).toEqual(SECURITY_HEADERS.map(([h]) => h));
  });
  it('deviation: /api/ strips the /api/ prefix', () => {
    expect(child(loc('/api/').d, 'proxy_pass')!.args).toEqual(['http://127.0.0.1:3000/']);
  });
  it('deviation: the security headers are lost in /api/ and /health (add_header inheritance)', () => {
    const lacking = locationsOf(https)
      .filter(({ chain }) => !effectiveAddHeaders(chain).some(([h]) => h === 'strict-transport-security'))
      .map(({ d }) => `${d.name} ${locationLabel(d)}`);
    expect(lacking).toEqual(['location /health', 'location /api/', 'if ($request_method = OPTIONS)']);
  });
  it('deviation: CORS methods lack PATCH', () => {
    const methods = effectiveAddHeaders(loc('/api/').chain).find(([h]) => h === 'access-control-allow-methods')![1];
    expect(methods).toBe('GET, POST, PUT, DELETE, OPTIONS');
  });
  it('deviation: no client_max_body_size (nginx default 1m)', () => {
    expect(locationsOf(https).some(({ d }) => child(d, 'client_max_body_size')) || !!child(https, 'client_max_body_size')).toBe(false);
  });
  it('deviation: /admin is a prefix passed through unchanged; no catch-all location', () => {
    expect(child(loc('/admin').d, 'proxy_pass')!.args).toEqual(['http://127.0.0.1:8080']);
    expect(locationsOf(https).some(({ d }) => locationLabel(d) === '/')).toBe(false);
  });
});

// ---- real nginx ----------------------------------------------------------------------------

const skip = await dockerSkipReason();
if (skip) console.warn(`[operator.test] ${skip}`);

describe.skipIf(!!skip)('real nginx 1.22: the guide\'s site file through loadOperatorSite', () => {
  let bed: NginxTestBed;
  beforeAll(() => { bed = nginxTestBed(domain); });
  afterAll(() => bed?.cleanup());
  const run = () => ({
    mainConf: nginxMainConf(loadOperatorSite(readFileSync(FIXTURE, 'utf8'), { certPath: bed.certPath, keyPath: bed.keyPath }), { mode: 'host' }),
    tlsDir: bed.tlsDir, certDir: bed.certDir, outputs: bed.outputs,
  });

  it('nginx -t accepts it as written', async () => {
    const r = await nginxTest(run());
    expect(r.ok, r.output).toBe(true);
  });

  it('nginx -t accepts it with ports mapped and our certificate paths elsewhere', async () => {
    const mainConf = nginxMainConf(loadOperatorSite(readFileSync(FIXTURE, 'utf8'), {
      certPath: '/run/cv-tls/fullchain.pem', keyPath: '/run/cv-tls/privkey.pem', httpPort: 18080, httpsPort: 18443,
    }), { mode: 'host' });
    const r = await nginxTest({ ...run(), mainConf, certDir: '/run/cv-tls' });
    expect(r.ok, r.output).toBe(true);
  });

  it('behaves as written: the contract rows it meets and the deviations listed in operator.ts', async () => {
    const { responses: r, log } = await nginxSmoke({
      ...run(), domain, upstreamPorts: smokeUpstreamPorts('host', 20),
      requests: {
        http: { scheme: 'http', path: '/a?b=1' },
        root: { path: '/' },
        health: { path: '/health' },
        healthz: { path: '/healthz' },
        apiHealth: { path: '/api/health' },
        queueStatus: { path: '/api/queue/status' },
        preflight: { method: 'OPTIONS', path: '/api/jobs/x/priority', headers: { origin: `https://${domain}`, 'access-control-request-method': 'PATCH' } },
        bigWorkflow: { method: 'POST', path: '/api/jobs', headers: { 'content-type': 'application/json' }, bodyBytes: 2 * 1024 * 1024 },
        ws: { path: '/ws', ws: true },
        admin: { path: '/admin' },
        adminSlash: { path: '/admin/' },
        administrator: { path: '/administrator' },
        u7: { path: '/user007/system_stats' },
        u7bare: { path: '/user007' },
        u7ws: { path: '/user007/ws?clientId=a', ws: true },
        u21: { path: '/user021/' },
        nginxDefault: { path: '/index.html' },
        outputsDir: { path: '/outputs/' },
        outputFile: { path: '/outputs/user001/result.png' },
      },
    });
    const ctx = (k: string) => `${k}: ${JSON.stringify(r[k]).slice(0, 600)}\n${log.slice(-1500)}`;
    const hsts = (k: string) => headerValues(r[k], 'strict-transport-security');

    // Contract rows it meets.
    expect(headerValues(r.http, 'location'), ctx('http')).toEqual([`https://${domain}/a?b=1`]);
    expect(r.root.status, ctx('root')).toBe(302);
    expect(headerValues(r.root, 'location')[0]).toMatch(/\/user001\/$/);
    expect(r.apiHealth.upstream, ctx('apiHealth')).toMatchObject({ port: 3000, url: '/health' });
    expect(r.ws.status, ctx('ws')).toBe(101);
    expect(r.ws.wsTunnel).toBe(true);
    expect(r.u7.upstream, ctx('u7')).toMatchObject({ port: 8194, url: '/system_stats' });
    expect(r.u7bare.status, ctx('u7bare')).toBe(301); // nginx's own slash redirect for proxied prefixes
    expect(r.u7ws.status, ctx('u7ws')).toBe(101);
    expect(r.u21.status, ctx('u21')).toBe(404);
    expect(r.outputsDir.status, ctx('outputsDir')).toBe(403);
    expect(r.outputFile.status, ctx('outputFile')).toBe(200);
    expect(hsts('root')).toHaveLength(1);

    // 1. /api/ strips the prefix: the queue-manager's /api/queue/status is asked for /queue/status.
    expect(r.queueStatus.upstream!.url, ctx('queueStatus')).toBe('/queue/status');
    // 2 + 3. The preflight is answered but without PATCH, and without the security headers.
    expect(r.preflight.status, ctx('preflight')).toBe(204);
    expect(headerValues(r.preflight, 'access-control-allow-methods')).toEqual(['GET, POST, PUT, DELETE, OPTIONS']);
    for (const k of ['preflight', 'apiHealth', 'queueStatus', 'health']) expect(hsts(k), ctx(k)).toEqual([]);
    // 4. /health: two Content-Type headers.
    expect(r.health.body).toBe('OK\n');
    expect(headerValues(r.health, 'content-type')).toEqual(['application/octet-stream', 'text/plain']);
    // 5. /admin passes through unchanged, and catches /administrator.
    expect(r.admin.upstream, ctx('admin')).toMatchObject({ port: 8080, url: '/admin' });
    expect(r.adminSlash.upstream!.url).toBe('/admin/');
    expect(r.administrator.upstream, ctx('administrator')).toMatchObject({ port: 8080, url: '/administrator' });
    // 6. 1 MiB default body limit.
    expect(r.bigWorkflow.status, ctx('bigWorkflow')).toBe(413);
    // 7. Connection: upgrade sent on plain requests.
    expect(r.u7.upstream!.headers.connection).toBe('upgrade');
    // 8 + 9. nginx's default root answers; /health is a prefix.
    expect(r.nginxDefault.status, ctx('nginxDefault')).toBe(200);
    expect(r.nginxDefault.body).toContain('Welcome to nginx');
    expect(r.healthz.status, ctx('healthz')).toBe(200);
  });
});

describe('inlineIncludes: a whole nginx.conf with its includes read beside it', () => {
  it('inlines conf.d/*.conf (in name order) and sites-enabled/X, keeps what is not beside it (mime.types, other absolute paths)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-inc-'));
    mkdirSync(join(dir, 'conf.d'));
    mkdirSync(join(dir, 'sites-enabled'));
    writeFileSync(join(dir, 'conf.d', 'b.conf'), 'b_directive on;\n');
    writeFileSync(join(dir, 'conf.d', 'a.conf'), 'a_directive on;\ninclude snippets/x.conf;\n');
    mkdirSync(join(dir, 'snippets'));
    writeFileSync(join(dir, 'snippets', 'x.conf'), 'x_directive on;');
    writeFileSync(join(dir, 'sites-enabled', 'comfy'), 'server { listen 443; }');
    writeFileSync(join(dir, 'nginx.conf'), [
      'http {', '    include /etc/nginx/mime.types;', '    include /etc/nginx/conf.d/*.conf;', '    include sites-enabled/comfy;',
      '    include /usr/share/nginx/modules/*.conf;', '}',
    ].join('\n'));
    const out = inlineIncludes(join(dir, 'nginx.conf'));
    expect(out).toContain('    include /etc/nginx/mime.types;');
    expect(out).toContain('    include /usr/share/nginx/modules/*.conf;');
    expect(out.indexOf('a_directive')).toBeLessThan(out.indexOf('x_directive'));
    expect(out.indexOf('x_directive')).toBeLessThan(out.indexOf('b_directive'));
    expect(out).toContain('server { listen 443; }');
    expect(out).not.toMatch(/include (\/etc\/nginx\/conf\.d|sites-enabled|snippets)/);
    rmSync(dir, { recursive: true, force: true });
  });
});
