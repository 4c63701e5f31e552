import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT, userHostPort, userId } from '../topology.ts';
import {
  containerModeHosts, dockerSkipReason, headerValues, nginxSmoke, nginxTest, nginxTestBed, smokeUpstreamPorts,
  type NginxTestBed, type SmokeResponse,
} from './docker-nginx.ts';
import {
  child, children, effectiveAddHeaders, isTlsServer, locationLabel, locationsOf, parseNginx, servers, walk, type Directive,
} from './parse.ts';
import { SECURITY_HEADERS, nginxMainConf, referenceSite, referenceUpstreams, type ReferenceOptions } from './reference.ts';

const domain = CONTRACT.domain;
const certDir = CONTRACT.certDir(domain);
const opts = (mode: 'host' | 'container', users = 20): ReferenceOptions => ({
  domain, users, mode, certPath: `${certDir}/fullchain.pem`, keyPath: `${certDir}/privkey.pem`, outputsDir: CONTRACT.hostOutputsDir,
});
const MODES = ['host', 'container'] as const;

function parsed(mode: 'host' | 'container', users = 20) {
  const tree = parseNginx(referenceSite(opts(mode, users)));
  const https = servers(tree).find(isTlsServer)!;
  const http = servers(tree).find((s) => !isTlsServer(s))!;
  const loc = (label: string) => locationsOf(https).find(({ d }) => d.name === 'location' && locationLabel(d) === label);
  return { tree, https, http, loc };
}
const arg = (d: Directive | undefined, name: string) => (d ? child(d, name)?.args : undefined);
/** A location's proxy_pass in its static form: the dynamic one (set $cv_upstream, rewrite, a variable
 *  proxy_pass) is read back as the static proxy_pass it stands for. */
function proxyPass(l: Directive): string | undefined {
  const pp = arg(l, 'proxy_pass')?.[0];
  if (!pp?.includes('$cv_upstream')) return pp;
  const host = children(l, 'set').find((x) => x.args[0] === '$cv_upstream')!.args[1];
  const rw = arg(l, 'rewrite');
  if (!rw) return `http://${host}`;
  return rw[0] === '^' ? `http://${host}${rw[1]}` : `http://${host}/`;
}
const sizeBytes = (v: string) => {
  const m = /^(\d+)([kmg]?)$/i.exec(v)!;
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
};

describe('parseNginx', () => {
  it('reads directives, quoted arguments and nested blocks', () => {
    const t = parseNginx(`# c\nserver { listen 443 ssl; location /x { add_header A "b; c" always; if ($a = b) { return 204; } } }\n`);
    expect(t).toHaveLength(1);
    const loc = child(t[0], 'location')!;
    expect(child(loc, 'add_header')!.args).toEqual(['A', 'b; c', 'always']);
    expect(child(child(loc, 'if')!, 'return')!.args).toEqual(['204']);
    expect(() => parseNginx('server {')).toThrow(/missing }/);
    expect(() => parseNginx('a b')).toThrow(/not terminated/);
  });
  it('applies add_header inheritance like nginx', () => {
    const [s] = parseNginx('server { add_header A 1; location /a { } location /b { add_header B 2; if ($x) { return 1; } } }');
    const [a, b, bif] = locationsOf(s);
    expect(effectiveAddHeaders(a.chain).map(([h]) => h)).toEqual(['a']);
    expect(effectiveAddHeaders(b.chain).map(([h]) => h)).toEqual(['b']);
    expect(effectiveAddHeaders(bif.chain).map(([h]) => h)).toEqual(['b']);
  });
});

describe.each(MODES)('referenceSite (%s mode)', (mode) => {
  const up = referenceUpstreams(mode);
  const { tree, https, http, loc } = parsed(mode);

  it('parses as two servers: 80 redirecting, 443 with TLS', () => {
    expect(servers(tree)).toHaveLength(2);
    expect(child(http, 'listen')!.args[0]).toBe('80');
    expect(arg(http, 'return')).toEqual(['301', 'https://$host$request_uri']);
    expect(child(https, 'listen')!.args).toEqual(['443', 'ssl', 'http2', 'default_server']);
    expect(arg(https, 'server_name')).toEqual([domain]);
  });

  it('has exactly N user locations, one per user, to that user\'s upstream with the prefix stripped', () => {
    for (const users of [1, 3, 20]) {
      const p = parsed(mode, users);
      const prefixed = locationsOf(p.https).filter(({ d }) => /^\/user\d{3}\/$/.test(locationLabel(d)));
      const exact = locationsOf(p.https).filter(({ d }) => /^= \/user\d{3}$/.test(locationLabel(d)));
      expect(prefixed).toHaveLength(users);
      expect(exact).toHaveLength(users);
      for (let n = 1; n <= users; n++) {
        const l = p.loc(`/${userId(n)}/`)!.d;
        const target = mode === 'host' ? `127.0.0.1:${userHostPort(n)}` : `${userId(n)}:8188`;
        expect(up.user(n)).toBe(target);
        expect(proxyPass(l)).toBe(`http://${target}/`);
        expect(arg(l, 'proxy_read_timeout')).toEqual(['86400s']);
        expect(arg(l, 'proxy_send_timeout')).toEqual(['86400s']);
        const set = children(l, 'proxy_set_header').map((h) => h.args.join(' '));
        expect(set).toContain('Upgrade $http_upgrade');
        expect(set).toContain('Connection $connection_upgrade');
        expect(arg(p.loc(`= /${userId(n)}`)!.d, 'return')).toEqual(['301', `/${userId(n)}/$is_args$args`]);
      }
      expect(p.loc(`/${userId(users + 1)}/`)).toBeUndefined();
    }
  });

  it('host mode uses loopback ports only; container mode Docker names only', () => {
    const targets = locationsOf(https).filter(({ d }) => child(d, 'proxy_pass')).map(({ d }) => new URL(proxyPass(d)!).host);
    expect(targets.length).toBeGreaterThan(20);
    for (const t of targets) {
      if (mode === 'host') expect(t).toMatch(/^127\.0\.0\.1:\d+$/);
      else expect(t).toMatch(/^(queue-manager:3000|admin:8080|user\d{3}:8188)$/);
    }
  });

  it(mode === 'host' ? 'reaches fixed loopback ports (no resolver)' : 'resolves upstream names per request through Docker\'s DNS (a recreated container is found at its new address)', () => {
    if (mode === 'host') {
      expect(child(https, 'resolver')).toBeUndefined();
      return;
    }
    expect(arg(https, 'resolver')).toEqual(['127.0.0.11', 'valid=2s', 'ipv6=off']);
    for (const { d } of locationsOf(https).filter(({ d }) => child(d, 'proxy_pass'))) {
      expect(arg(d, 'proxy_pass'), locationLabel(d)).toEqual(['http://$cv_upstream']);
    }
    const once = parseNginx(referenceSite({ ...opts(mode), resolveAtStart: true }));
    const s = servers(once).find(isTlsServer)!;
    expect(child(s, 'resolver')).toBeUndefined();
    expect(proxyPass(locationsOf(s).find(({ d }) => locationLabel(d) === '/user007/')!.d)).toBe('http://user007:8188/');
  });

  it('routes /api/ unchanged, only /api/health to /health, /ws to /ws', () => {
    expect(proxyPass(loc('/api/')!.d)).toBe(`http://${up.queueManager}`);
    expect(proxyPass(loc('= /api/health')!.d)).toBe(`http://${up.queueManager}/health`);
    const ws = loc('= /ws')!.d;
    expect(proxyPass(ws)).toBe(`http://${up.queueManager}`);
    expect(arg(ws, 'proxy_read_timeout')).toEqual(['86400s']);
    expect(arg(ws, 'proxy_send_timeout')).toEqual(['86400s']);
    expect(children(ws, 'proxy_set_header').map((h) => h.args.join(' '))).toEqual(
      expect.arrayContaining(['Upgrade $http_upgrade', 'Connection $connection_upgrade']));
    const map = tree.find((d) => d.name === 'map')!;
    expect(map.args).toEqual(['$http_upgrade', '$connection_upgrade']);
    expect(map.block!.map((d) => [d.name, ...d.args])).toEqual([['default', 'upgrade'], ['', 'close']]);
  });

  it('answers CORS for https://DOMAIN only, with PATCH and DELETE, and preflights with 204', () => {
    for (const label of ['/api/', '= /api/health']) {
      const { d, chain } = loc(label)!;
      const hs = new Map(effectiveAddHeaders(chain).map(([h, v]) => [h, v]));
      expect(hs.get('access-control-allow-origin')).toBe(`https://${domain}`);
      expect(hs.get('access-control-allow-methods')).toMatch(/PATCH/);
      expect(hs.get('access-control-allow-methods')).toMatch(/DELETE/);
      const pre = child(d, 'if')!;
      expect(pre.args.join(' ')).toBe('($request_method = OPTIONS)');
      expect(arg(pre, 'return')).toEqual(['204']);
      expect(effectiveAddHeaders([...chain, pre]).map(([h]) => h)).toContain('access-control-allow-origin');
    }
  });

  it('sends the security headers (always) from every location, add_header inheritance included', () => {
    const all = locationsOf(https);
    expect(all.length).toBeGreaterThan(40);
    for (const { d, chain } of all) {
      const hs = effectiveAddHeaders(chain);
      for (const [name, value] of SECURITY_HEADERS) {
        expect(hs, `${d.name} ${locationLabel(d)} line ${d.line}: ${name}`).toContainEqual([name.toLowerCase(), value, true]);
      }
    }
  });

  it('has TLS 1.2/1.3 only, the given certificate, and a body limit above 10 MiB + metadata', () => {
    expect(arg(https, 'ssl_protocols')).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(arg(https, 'ssl_certificate')).toEqual([`${certDir}/fullchain.pem`]);
    expect(arg(https, 'ssl_certificate_key')).toEqual([`${certDir}/privkey.pem`]);
    const limit = sizeBytes(arg(https, 'client_max_body_size')![0]);
    expect(limit).toBeGreaterThanOrEqual(11 * 1024 ** 2 + 64 * 1024);
    expect(arg(loc('/api/')!.d, 'client_max_body_size')).toBeUndefined(); // the server's applies
  });

  it('serves health, outputs and the catch-all 404', () => {
    expect(arg(loc('= /health')!.d, 'return')).toEqual(['200', 'OK\n']);
    expect(arg(loc('= /health')!.d, 'default_type')).toEqual(['text/plain']);
    expect(arg(loc('= /health/ping')!.d, 'return')).toEqual(['200', 'OK\n']);
    expect(arg(loc('/outputs/')!.d, 'alias')).toEqual([`${CONTRACT.hostOutputsDir}/`]);
    expect(arg(loc('/outputs/')!.d, 'autoindex')).toEqual(['off']);
    expect(arg(loc('/')!.d, 'return')).toEqual(['404']);
    expect(proxyPass(loc('= /admin')!.d)).toBe(`http://${up.admin}/`);
    expect(proxyPass(loc('/admin/')!.d)).toBe(`http://${up.admin}/`);
  });

  it(mode === 'host' ? 'redirects / to /user001/' : 'serves a landing page linking every user at /', () => {
    const root = loc('= /')!.d;
    if (mode === 'host') {
      expect(arg(root, 'return')).toEqual(['302', '/user001/']);
    } else {
      const [code, html] = arg(root, 'return')!;
      expect(code).toBe('200');
      for (let n = 1; n <= 20; n++) expect(html).toContain(`href="/${userId(n)}/"`);
      expect(html).not.toContain('user021');
    }
  });

  it('honours other listen ports (redirect keeps the HTTPS port)', () => {
    const t = parseNginx(referenceSite({ ...opts(mode, 2), httpPort: 8081, httpsPort: 8443 }));
    const [h, s] = servers(t);
    expect(child(h, 'listen')!.args[0]).toBe('8081');
    expect(arg(h, 'return')).toEqual(['301', 'https://$host:8443$request_uri']);
    expect(child(s, 'listen')!.args[0]).toBe('8443');
  });
});

describe('nginxMainConf', () => {
  const site = referenceSite(opts('host', 2));
  const conf = nginxMainConf(site, { mode: 'host' });
  const t = parseNginx(conf);
  it('wraps the site in a complete nginx.conf', () => {
    const top = (n: string) => t.find((d) => d.name === n)?.args;
    expect(top('user')).toEqual(['www-data']);
    expect(top('worker_processes')).toEqual(['2']);
    expect(top('pid')).toEqual(['/run/nginx.pid']);
    expect(top('error_log')![0]).toBe('stderr');
    const httpBlock = t.find((d) => d.name === 'http')!;
    expect(child(httpBlock, 'include')!.args).toEqual(['/etc/nginx/mime.types']);
    expect(children(httpBlock, 'server')).toHaveLength(2);
    expect(child(httpBlock, 'map')).toBeDefined();
    expect(conf).toContain(site.trimEnd());
  });
  it('takes a user and access log option', () => {
    const c = parseNginx(nginxMainConf(site, { mode: 'container', user: 'root', accessLog: 'off' }));
    expect(c.find((d) => d.name === 'user')!.args).toEqual(['root']);
    expect(child(c.find((d) => d.name === 'http')!, 'access_log')!.args).toEqual(['off']);
  });
});

// ---- real nginx ----------------------------------------------------------------------------

const skip = await dockerSkipReason();
if (skip) console.warn(`[reference.test] ${skip}`);

describe.skipIf(!!skip).each(MODES)('real nginx 1.22: reference config (%s mode)', (mode) => {
  let bed: NginxTestBed;
  beforeAll(() => { bed = nginxTestBed(domain); });
  afterAll(() => bed?.cleanup());
  // Container mode: the smoke container's own DNS server stands for Docker's (127.0.0.11).
  const conf = (users = 20, o: Partial<ReferenceOptions> = {}) => nginxMainConf(referenceSite({
    ...opts(mode, users), certPath: bed.certPath, keyPath: bed.keyPath, resolver: '127.0.0.1', ...o,
  }), { mode });
  const run = (users = 20) => ({
    mainConf: conf(users), tlsDir: bed.tlsDir, certDir: bed.certDir, outputs: bed.outputs,
    addHosts: mode === 'container' ? containerModeHosts(users) : undefined,
  });

  it('nginx -t accepts it (20 users)', async () => {
    const r = await nginxTest(run());
    expect(r.output).toContain('syntax is ok');
    expect(r.ok, r.output).toBe(true);
  });

  it.runIf(mode === 'container')('resolving names at start: nginx -t refuses it when one container is missing; per request: it starts', async () => {
    const hosts = containerModeHosts(20);
    delete hosts.user007;
    const once = await nginxTest({ ...run(), mainConf: conf(20, { resolveAtStart: true }), addHosts: hosts });
    expect(once.ok).toBe(false);
    expect(once.output).toMatch(/host not found in upstream "user007(:8188)?"/);
    const perRequest = await nginxTest({ ...run(), addHosts: hosts });
    expect(perRequest.ok, perRequest.output).toBe(true);
  });

  it('does what the contract says, request by request', async () => {
    const users = 20;
    const { responses: r, log } = await nginxSmoke({
      ...run(users), domain, upstreamPorts: smokeUpstreamPorts(mode, users),
      dns: mode === 'container' ? containerModeHosts(users) : undefined,
      requests: {
        http: { scheme: 'http', path: '/some/path?x=1&y=2' },
        root: { path: '/' },
        health: { path: '/health' },
        ping: { path: '/health/ping' },
        apiHealth: { path: '/api/health' },
        queueStatus: { path: '/api/queue/status?verbose=1' },
        patch: { method: 'PATCH', path: '/api/jobs/abc/priority?priority=0', headers: { origin: `https://${domain}` } },
        preflight: { method: 'OPTIONS', path: '/api/jobs/abc', headers: { origin: `https://${domain}`, 'access-control-request-method': 'DELETE' } },
        bigWorkflow: { method: 'POST', path: '/api/jobs', headers: { 'content-type': 'application/json' }, bodyBytes: 11 * 1024 * 1024 + 1000 },
        ws: { path: '/ws', ws: true },
        admin: { path: '/admin' },
        adminSlash: { path: '/admin/' },
        adminApi: { path: '/admin/api/proxy/queue/status' },
        administrator: { path: '/administrator' },
        outputsDir: { path: '/outputs/' },
        outputsUserDir: { path: '/outputs/user001/' },
        outputFile: { path: '/outputs/user001/result.png' },
        u7: { path: '/user007/system_stats?a=1' },
        u7bare: { path: '/user007?a=1' },
        u7ws: { path: '/user007/ws?clientId=abc', ws: true },
        u20: { path: '/user020/' },
        u21: { path: '/user021/' },
        nginxDefault: { path: '/index.html' },
        traversal: { path: '/user001/../user002/x' },
      },
    });
    const ctx = (name: string) => `${name}: ${JSON.stringify(r[name]).slice(0, 600)}\n${log.slice(-1500)}`;
    const upstreamIs = (x: SmokeResponse, which: 'qm' | 'admin' | number) => {
      if (which === 'qm') return x.upstream?.port === 3000;
      if (which === 'admin') return x.upstream?.port === 8080;
      return mode === 'host' ? x.upstream?.port === userHostPort(which) : x.upstream?.port === 8188 && x.upstream?.addr === `127.0.1.${which}`;
    };

    expect(r.http.status, ctx('http')).toBe(301);
    expect(headerValues(r.http, 'location')).toEqual([`https://${domain}/some/path?x=1&y=2`]);

    if (mode === 'host') {
      expect(r.root.status, ctx('root')).toBe(302);
      expect(headerValues(r.root, 'location')).toEqual(['/user001/']);
    } else {
      expect(r.root.status, ctx('root')).toBe(200);
      expect(headerValues(r.root, 'content-type')[0]).toMatch(/^text\/html/);
      expect(r.root.body).toContain('href="/user020/"');
    }

    for (const k of ['health', 'ping']) {
      expect(r[k].status, ctx(k)).toBe(200);
      expect(r[k].body.trim()).toBe('OK');
      expect(headerValues(r[k], 'content-type')).toEqual(['text/plain']);
    }

    expect(upstreamIs(r.apiHealth, 'qm'), ctx('apiHealth')).toBe(true);
    expect(r.apiHealth.upstream!.url).toBe('/health');
    expect(r.queueStatus.upstream!.url, ctx('queueStatus')).toBe('/api/queue/status?verbose=1');
    expect(r.patch.upstream, ctx('patch')).toMatchObject({ port: 3000, method: 'PATCH', url: '/api/jobs/abc/priority?priority=0' });
    expect(headerValues(r.patch, 'access-control-allow-origin')).toEqual([`https://${domain}`]);

    expect(r.preflight.status, ctx('preflight')).toBe(204);
    expect(r.preflight.upstream).toBeUndefined();
    expect(headerValues(r.preflight, 'access-control-allow-origin')).toEqual([`https://${domain}`]);
    expect(headerValues(r.preflight, 'access-control-allow-methods')[0]).toMatch(/PATCH.*DELETE|DELETE.*PATCH/);

    expect(r.bigWorkflow.status, ctx('bigWorkflow')).toBe(200);
    expect(r.bigWorkflow.upstream!.bodyBytes).toBe(11 * 1024 * 1024 + 1000);

    expect(r.ws.status, ctx('ws')).toBe(101);
    expect(r.ws.wsTunnel).toBe(true);
    expect(r.ws.upstream).toMatchObject({ port: 3000, url: '/ws' });

    for (const k of ['admin', 'adminSlash']) {
      expect(upstreamIs(r[k], 'admin'), ctx(k)).toBe(true);
      expect(r[k].upstream!.url).toBe('/');
    }
    expect(r.adminApi.upstream!.url, ctx('adminApi')).toBe('/api/proxy/queue/status');
    expect(r.administrator.status, ctx('administrator')).toBe(404);

    expect([403, 404], ctx('outputsDir')).toContain(r.outputsDir.status);
    expect([403, 404], ctx('outputsUserDir')).toContain(r.outputsUserDir.status);
    expect(r.outputFile.status, ctx('outputFile')).toBe(200);
    expect(r.outputFile.body).toBe('not really a png');

    expect(upstreamIs(r.u7, 7), ctx('u7')).toBe(true);
    expect(r.u7.upstream!.url).toBe('/system_stats?a=1');
    expect(r.u7.upstream!.headers['x-forwarded-proto']).toBe('https');
    expect(r.u7bare.status, ctx('u7bare')).toBe(301);
    expect(headerValues(r.u7bare, 'location')).toEqual(['/user007/?a=1']);
    expect(r.u7ws.status, ctx('u7ws')).toBe(101);
    expect(r.u7ws.wsTunnel).toBe(true);
    expect(upstreamIs(r.u7ws, 7)).toBe(true);
    expect(r.u7ws.upstream!.url).toBe('/ws?clientId=abc');
    expect(upstreamIs(r.u20, 20), ctx('u20')).toBe(true);
    expect(r.u21.status, ctx('u21')).toBe(404);
    expect(r.nginxDefault.status, ctx('nginxDefault')).toBe(404);
    expect(upstreamIs(r.traversal, 2), ctx('traversal')).toBe(true);

    // Every HTTPS response, whatever produced it (proxy, return, error, static, 101), carries them once.
    for (const [name, res] of Object.entries(r)) {
      if (name === 'http') continue;
      for (const [h, v] of SECURITY_HEADERS) expect(headerValues(res, h), `${name}: ${h}`).toEqual([v]);
    }
  });
});
