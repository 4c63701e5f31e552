// Real nginx for config tests, in the base image (Debian's nginx 1.22 with ssl and http2):
// - nginxTest: `nginx -t` on a full nginx.conf, with the certificates mounted where the config
//   expects them and (container mode) the upstream names resolvable via --add-host;
// - nginxSmoke: runs that nginx in a throwaway container next to echo upstreams and a client,
//   all on the container's loopback, and returns what each request got: the status, the raw
//   response headers (duplicates kept) and what the upstream saw (port/address, method, URI).
// Both skip cleanly when Docker or the image is missing (see dockerSkipReason).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BASE_IMAGE, CONTRACT, userId } from '../topology.ts';
import { makeCa, makeServerCert, writeTls } from '../tls.ts';

export const NGINX_TEST_IMAGE = process.env.COMFY_VERIFY_NGINX_TEST_IMAGE || BASE_IMAGE;

/** Why real-nginx tests cannot run here, or undefined when they can. */
export async function dockerSkipReason(image: string = NGINX_TEST_IMAGE): Promise<string | undefined> {
  const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 20_000 }).catch((e: Error) => ({ exitCode: 1, stderr: e.message }));
  if (info.exitCode !== 0) return `docker info failed (${String(info.stderr).trim().split('\n')[0] || 'no docker engine'}): skipping real-nginx tests`;
  const img = await execa('docker', ['image', 'inspect', image], { reject: false });
  if (img.exitCode !== 0) return `image ${image} not present (run npm run setup, or set COMFY_VERIFY_NGINX_TEST_IMAGE): skipping real-nginx tests`;
  return undefined;
}

export interface NginxRunOptions {
  /** a complete nginx.conf */
  mainConf: string;
  /** host directory with fullchain.pem, privkey.pem (and ca.pem for nginxSmoke) */
  tlsDir: string;
  /** where the config expects them, e.g. /etc/letsencrypt/live/DOMAIN */
  certDir: string;
  /** a host directory mounted read-only where /outputs/ is aliased */
  outputs?: { source: string; target: string };
  /** --add-host name:address, so upstream names resolve (container mode) */
  addHosts?: Record<string, string>;
  image?: string;
}

/** Container mode: every upstream name on the loopback; users on distinct addresses 127.0.1.N. */
export function containerModeHosts(users: number): Record<string, string> {
  const hosts: Record<string, string> = { 'queue-manager': '127.0.0.1', admin: '127.0.0.1' };
  for (let n = 1; n <= users; n++) hosts[userId(n)] = `127.0.1.${n}`;
  return hosts;
}

const CONF_DIR = '/etc/nginx/conf.d-test';

function dockerArgs(o: NginxRunOptions, work: string): string[] {
  return [
    'run', '--rm',
    '-v', `${work}:${CONF_DIR}`,
    '-v', `${o.tlsDir}:${o.certDir}:ro`,
    ...(o.outputs ? ['-v', `${o.outputs.source}:${o.outputs.target}:ro`] : []),
    ...Object.entries(o.addHosts ?? {}).flatMap(([name, ip]) => ['--add-host', `${name}:${ip}`]),
  ];
}

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cv-nginx-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** `nginx -t` on the config; ok and nginx's own words. */
export async function nginxTest(o: NginxRunOptions): Promise<{ ok: boolean; output: string }> {
  const work = workDir();
  try {
    writeFileSync(join(work, 'nginx.conf'), o.mainConf);
    const r = await execa('docker', [...dockerArgs(o, work), o.image ?? NGINX_TEST_IMAGE, 'nginx', '-t', '-c', `${CONF_DIR}/nginx.conf`], { reject: false, timeout: 60_000 });
    return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}`.trim() };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface SmokeRequest {
  method?: string;
  path: string;
  /** 'http' asks port 80, else 443 */
  scheme?: 'http' | 'https';
  headers?: Record<string, string>;
  /** send a body of this many bytes */
  bodyBytes?: number;
  /** a WebSocket upgrade; after a 101, bytes sent must come back through the tunnel */
  ws?: boolean;
}

export interface UpstreamEcho {
  port: number;
  addr: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
}

export interface SmokeResponse {
  status: number;
  /** raw header pairs, names lower-cased, duplicates kept */
  headers: [string, string][];
  body: string;
  /** what the upstream saw, when an echo upstream answered */
  upstream?: UpstreamEcho;
  /** ws: bytes written after the 101 came back */
  wsTunnel?: boolean;
  error?: string;
}

export interface SmokeOptions extends NginxRunOptions {
  domain: string;
  /** ports the echo upstreams listen on (0.0.0.0) */
  upstreamPorts: number[];
  /** names a DNS server on 127.0.0.1:53 answers (for a config with `resolver 127.0.0.1`) */
  dns?: Record<string, string>;
  requests: Record<string, SmokeRequest>;
}

export interface SmokeResult {
  responses: Record<string, SmokeResponse>;
  /** nginx's stderr and the container's output, for failure messages */
  log: string;
}

/** All values of a header in a SmokeResponse. */
export const headerValues = (r: SmokeResponse, name: string): string[] =>
  r.headers.filter(([h]) => h === name.toLowerCase()).map(([, v]) => v);

// Echo upstreams: every port answers with what it saw; upgrades get a 101 and a raw echo tunnel.
const STUB = String.raw`
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import dgram from 'node:dgram';
const ports = JSON.parse(process.env.STUB_PORTS);
const dns = process.env.STUB_DNS ? JSON.parse(process.env.STUB_DNS) : undefined;
const want = ports.length + (dns ? 1 : 0);
let up = 0;
const ready = () => { if (++up === want) fs.writeFileSync('/tmp/stub-ready', '1'); };
// A DNS server for nginx's resolver (container mode): A records from STUB_DNS, NXDOMAIN for the rest.
if (dns) {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (q, peer) => {
    const labels = [];
    let i = 12;
    while (q[i]) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString()); i += q[i] + 1; }
    const qtype = q.readUInt16BE(i + 1);
    const ip = dns[labels.join('.').toLowerCase()];
    const answer = ip && qtype === 1
      ? Buffer.concat([Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]), Buffer.from(ip.split('.').map(Number))])
      : Buffer.alloc(0);
    const head = Buffer.from(q.subarray(0, 12));
    head.writeUInt16BE(ip ? 0x8180 : 0x8183, 2);
    head.writeUInt16BE(1, 4); head.writeUInt16BE(answer.length ? 1 : 0, 6); head.writeUInt32BE(0, 8);
    udp.send(Buffer.concat([head, q.subarray(12, i + 5), answer]), peer.port, peer.address);
  });
  udp.bind(53, '127.0.0.1', ready);
}
for (const port of ports) {
  const s = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ port: req.socket.localPort, addr: req.socket.localAddress, method: req.method, url: req.url, headers: req.headers, bodyBytes: n });
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo-upstream': '1' });
      res.end(body);
    });
  });
  s.on('upgrade', (req, sock) => {
    const accept = crypto.createHash('sha1').update(String(req.headers['sec-websocket-key']) + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const echo = JSON.stringify({ port: sock.localPort, addr: sock.localAddress, method: req.method, url: req.url, headers: req.headers, bodyBytes: 0 });
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\nX-Echo-Upstream: ' + Buffer.from(echo).toString('base64') + '\r\n\r\n');
    sock.pipe(sock);
  });
  s.listen(port, '0.0.0.0', ready);
}
`;

// The client: HTTP/1.1 over TLS (verified against ca.pem for the domain) or plain HTTP.
const CLIENT = String.raw`
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import net from 'node:net';
import fs from 'node:fs';
import crypto from 'node:crypto';
const cfg = JSON.parse(fs.readFileSync(process.env.CONF_DIR + '/requests.json', 'utf8'));
const ca = fs.readFileSync(cfg.certDir + '/ca.pem');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < 100 && !fs.existsSync('/tmp/stub-ready'); i++) await sleep(100);
const tlsOpts = { ca, servername: cfg.domain };
function pairs(raw) { const out = []; for (let i = 0; i < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]); return out; }
function plain(req) {
  return new Promise((resolve) => {
    const mod = req.scheme === 'http' ? http : https;
    const port = req.scheme === 'http' ? 80 : 443;
    const body = req.bodyBytes ? Buffer.alloc(req.bodyBytes, 97) : undefined;
    const headers = { host: cfg.domain, ...(req.headers || {}) };
    if (body) headers['content-length'] = String(body.length);
    let done = false;
    const finish = (v) => { if (!done) { done = true; resolve(v); } };
    const r = mod.request({ host: '127.0.0.1', port, method: req.method || 'GET', path: req.path, headers, agent: false, ...(req.scheme === 'http' ? {} : tlsOpts) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let upstream;
        if (res.headers['x-echo-upstream']) { try { upstream = JSON.parse(text); } catch {} }
        finish({ status: res.statusCode, headers: pairs(res.rawHeaders), body: text.slice(0, 4000), upstream });
      });
      res.on('error', (e) => finish({ status: res.statusCode, headers: pairs(res.rawHeaders), body: '', error: String(e) }));
    });
    r.on('error', (e) => finish({ status: 0, headers: [], body: '', error: String(e) }));
    r.setTimeout(15000, () => r.destroy(new Error('timeout')));
    if (body) r.write(body);
    r.end();
  });
}
function upgrade(req) {
  return new Promise((resolve) => {
    const sock = req.scheme === 'http' ? net.connect(80, '127.0.0.1') : tls.connect({ host: '127.0.0.1', port: 443, ...tlsOpts });
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let head;
    let done = false;
    const finish = (v) => { if (!done) { done = true; sock.destroy(); resolve(v); } };
    const timer = setTimeout(() => finish(head ? { ...head, wsTunnel: false } : { status: 0, headers: [], body: '', error: 'timeout' }), 5000);
    sock.on('error', (e) => { clearTimeout(timer); finish({ status: 0, headers: [], body: '', error: String(e) }); });
    sock.on(req.scheme === 'http' ? 'connect' : 'secureConnect', () => {
      sock.write('GET ' + req.path + ' HTTP/1.1\r\nHost: ' + cfg.domain + '\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ' + key + '\r\nSec-WebSocket-Version: 13\r\n' + Object.entries(req.headers || {}).map(([k, v]) => k + ': ' + v + '\r\n').join('') + '\r\n');
    });
    sock.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0].split(' ')[1]);
        const headers = lines.slice(1).map((l) => { const i = l.indexOf(':'); return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]; });
        const echo = headers.find(([h]) => h === 'x-echo-upstream');
        head = { status, headers, body: '', upstream: echo ? JSON.parse(Buffer.from(echo[1], 'base64').toString('utf8')) : undefined };
        buf = buf.subarray(end + 4);
        if (status !== 101) { clearTimeout(timer); return finish(head); }
        sock.write('tunnel-check');
      }
      if (buf.toString('latin1').includes('tunnel-check')) { clearTimeout(timer); finish({ ...head, wsTunnel: true }); }
    });
  });
}
const out = {};
for (const [name, req] of Object.entries(cfg.requests)) out[name] = req.ws ? await upgrade(req) : await plain(req);
fs.writeFileSync(process.env.CONF_DIR + '/result.json', JSON.stringify(out));
`;

/** Runs nginx with the config in a container beside echo upstreams and asks it every request. */
export async function nginxSmoke(o: SmokeOptions): Promise<SmokeResult> {
  const work = workDir();
  try {
    writeFileSync(join(work, 'nginx.conf'), o.mainConf);
    writeFileSync(join(work, 'stub.mjs'), STUB);
    writeFileSync(join(work, 'client.mjs'), CLIENT);
    writeFileSync(join(work, 'requests.json'), JSON.stringify({ domain: o.domain, certDir: o.certDir, requests: o.requests }));
    const script = `node ${CONF_DIR}/stub.mjs & nginx -c ${CONF_DIR}/nginx.conf && node ${CONF_DIR}/client.mjs`;
    const r = await execa('docker', [
      ...dockerArgs(o, work), '-e', `STUB_PORTS=${JSON.stringify(o.upstreamPorts)}`, ...(o.dns ? ['-e', `STUB_DNS=${JSON.stringify(o.dns)}`] : []), '-e', `CONF_DIR=${CONF_DIR}`,
      o.image ?? NGINX_TEST_IMAGE, 'sh', '-c', script,
    ], { reject: false, timeout: 120_000 });
    const log = `exit ${r.exitCode}\n${r.stderr}`.trim();
    let responses: Record<string, SmokeResponse>;
    try {
      responses = JSON.parse(readFileSync(join(work, 'result.json'), 'utf8')) as Record<string, SmokeResponse>;
    } catch {
      throw new Error(`nginx smoke run produced no result:\n${log}\n${r.stdout.slice(-2000)}`);
    }
    return { responses, log };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Upstream ports the echo servers need for a mode. */
export function smokeUpstreamPorts(mode: 'host' | 'container', users: number): number[] {
  const base = [CONTRACT.queueManagerPort, CONTRACT.adminPort];
  return mode === 'container'
    ? [...base, CONTRACT.frontendPort]
    : [...base, ...Array.from({ length: users }, (_, k) => CONTRACT.firstUserHostPort + k)];
}

export interface NginxTestBed {
  dir: string;
  /** fullchain.pem, privkey.pem, ca.pem ... for the domain, valid now */
  tlsDir: string;
  /** where the guide's site file expects them */
  certDir: string;
  certPath: string;
  keyPath: string;
  /** outputs/user001/result.png exists; the tree is world-readable (nginx workers run as www-data) */
  outputs: { source: string; target: string };
  cleanup: () => void;
}

/** Certificates and an outputs tree on the host, mounted where the configs expect them. */
export function nginxTestBed(domain: string = CONTRACT.domain): NginxTestBed {
  const dir = workDir();
  const tlsDir = join(dir, 'tls');
  const ca = makeCa();
  const now = Date.now();
  writeTls(tlsDir, ca, makeServerCert(ca, {
    commonName: domain, altNames: [domain], notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 89 * 86_400_000),
  }));
  const outputs = join(dir, 'outputs');
  mkdirSync(join(outputs, 'user001'), { recursive: true, mode: 0o755 });
  chmodSync(outputs, 0o755);
  writeFileSync(join(outputs, 'user001', 'result.png'), 'not really a png', { mode: 0o644 });
  const certDir = CONTRACT.certDir(domain);
  return {
    dir, tlsDir, certDir, certPath: `${certDir}/fullchain.pem`, keyPath: `${certDir}/privkey.pem`,
    outputs: { source: outputs, target: CONTRACT.hostOutputsDir },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
