// One HTTP exchange on the wire, with k6's timings and byte counts: what k6/http's request and
// asyncRequest have in common. A VU's own thread runs it for asyncRequest; the runner's main
// thread runs it for the synchronous calls while that VU waits (see pool.ts).
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Socket } from 'node:net';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** How a test reaches hosts: options.hosts, insecureSkipTLSVerify, SSL_CERT_FILE's bundle. */
export interface NetConfig { hosts: Record<string, string>; insecureSkipTLSVerify: boolean; ca?: string }

export interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  timeoutMs: number;
  /** 'none': the body is read and dropped (k6's responseType: 'none') */
  keepBody: boolean;
}

export interface RawResponse {
  status: number;
  /** Go's canonical names (k6 shows Content-Type), several values joined by ", " */
  headers: Record<string, string>;
  setCookies: string[];
  body: Uint8Array | null;
  timings: { blocked: number; connecting: number; tls_handshaking: number; sending: number; waiting: number; receiving: number; duration: number };
  /** on the wire, headers and TLS included, as k6 counts data_sent / data_received */
  bytesSent: number;
  bytesReceived: number;
  error: string;
  errorCode: number;
  remoteIp: string;
  remotePort: number;
}

/** A VU's connections: kept alive between its requests, as k6 does per VU. */
export class Agents {
  http = new http.Agent({ keepAlive: true });
  https = new https.Agent({ keepAlive: true });
  destroy(): void { this.http.destroy(); this.https.destroy(); }
}

export const canonical = (h: string) => h.toLowerCase().replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());

export function lookupFor(net: NetConfig, host: string): LookupFunction | undefined {
  const to = net.hosts[host];
  if (!to) return undefined;
  const family = to.includes(':') ? 6 : 4;
  return ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
    opts?.all ? cb(null, [{ address: to, family }]) : cb(null, to, family)) as unknown as LookupFunction;
}
/** One TLS context per trust store, made when the VU starts (warm()): building it per connection
 *  parses the CA bundle each time, and a cold one made by the first request is counted in its time. */
const contexts = new Map<string, tls.SecureContext>();
const secureContext = (net: NetConfig) => {
  const key = net.ca ?? '';
  if (!contexts.has(key)) contexts.set(key, tls.createSecureContext(net.ca ? { ca: net.ca } : {}));
  return contexts.get(key)!;
};

/** A VU's thread at init: its TLS context, and one plain and one TLS exchange over loopback with a
 *  server of its own (TLS with a pre-shared key: no certificate needed), the plain one through the
 *  VU's own request code (`request`, its samples dropped). Node compiles its HTTP and
 *  TLS code lazily, per thread: 20 threads doing that in their first request made the first page
 *  loads of a 20-user run 1.5 s (measured); k6's init is not counted in a request's time either. */
export async function warm(net: NetConfig, request: (url: string) => Promise<unknown>): Promise<void> {
  secureContext(net);
  const serve = async <T extends http.Server | tls.Server>(s: T) => { await new Promise<void>((r) => s.listen(0, '127.0.0.1', r)); return (s.address() as AddressInfo).port; };
  const web = http.createServer((_q, r) => r.end('ok'));
  const port = await serve(web);
  // twice: the second goes through the kept-alive path
  for (let i = 0; i < 2; i++) await request(`http://127.0.0.1:${port}/`).catch(() => {});
  web.close();
  const psk = randomBytes(16);
  const opts = { ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' as const };
  const secure = tls.createServer({ ...opts, pskCallback: () => psk }, (s) => s.end('ok'));
  const tport = await serve(secure);
  await new Promise<void>((r) => {
    const c = tls.connect({ ...opts, host: '127.0.0.1', port: tport, pskCallback: () => ({ psk, identity: 'warm-up' }), checkServerIdentity: () => undefined });
    c.on('error', () => r()).on('close', () => r()).resume();
  });
  secure.close();
}
export const tlsFor = (net: NetConfig, host: string) => ({ servername: host, secureContext: secureContext(net), rejectUnauthorized: !net.insecureSkipTLSVerify });

/** k6's error codes for what never got an HTTP answer (https://grafana.com/docs/k6/latest/javascript-api/error-codes/). */
function networkErrorCode(e: Error & { code?: string }): number {
  if (/timeout/i.test(e.message)) return 1050; // request timeout
  switch (e.code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': return 1101; // no IP found for host
    case 'ECONNREFUSED': return 1212; // connection refused
    case 'ECONNRESET': return 1220; // connection reset by peer
    default: return 1000;
  }
}

/** Sends one request and reads its answer; never rejects (a network error is a response with status 0).
 *  `onCancel` receives a function that drops the request (an interrupted iteration). */
export function exchange(r: RawRequest, net: NetConfig, agents: Agents, onCancel?: (cancel: () => void) => void): Promise<RawResponse> {
  const u = new URL(r.url);
  const tls = u.protocol === 'https:';
  const now = () => performance.now();
  return new Promise((settle) => {
    const t0 = now();
    let ready = t0, sent = 0, headersAt = 0, connecting = 0, handshaking = 0, done = false;
    let sock: Socket | undefined, w0 = 0, r0 = 0;
    const finish = (partial: Partial<RawResponse> & { status: number }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const end = now(), start = Math.max(sent, ready);
      const t = {
        blocked: Math.max(0, ready - t0 - connecting - handshaking), connecting, tls_handshaking: handshaking,
        sending: Math.max(0, start - ready), waiting: headersAt ? headersAt - start : 0, receiving: headersAt ? end - headersAt : 0, duration: 0,
      };
      t.duration = t.sending + t.waiting + t.receiving;
      settle({
        headers: {}, setCookies: [], body: null, error: '', errorCode: 0, ...partial, timings: t,
        bytesSent: sock ? sock.bytesWritten - w0 : 0, bytesReceived: sock ? sock.bytesRead - r0 : 0,
        remoteIp: sock?.remoteAddress ?? '', remotePort: sock?.remotePort ?? 0,
      });
    };
    const failed = (e: Error) => finish({ status: 0, error: e.message, errorCode: networkErrorCode(e) });
    const req = (tls ? https : http).request(u, {
      method: r.method, headers: r.headers, agent: tls ? agents.https : agents.http,
      lookup: lookupFor(net, u.hostname), ...(tls ? tlsFor(net, u.hostname) : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error(`request timeout after ${r.timeoutMs} ms`)), r.timeoutMs);
    onCancel?.(() => req.destroy(new Error('request cancelled'))); // settles as an error; nobody may wait for it
    req.once('socket', (s: Socket) => {
      // Byte counts are this request's share of a kept-alive socket's totals.
      sock = s; w0 = s.bytesWritten; r0 = s.bytesRead;
      if (!s.connecting) return void (ready = now());
      const at = now();
      s.once('connect', () => { connecting = now() - at; if (!tls) ready = now(); });
      if (tls) s.once('secureConnect', () => { handshaking = now() - at - connecting; ready = now(); });
    });
    req.once('finish', () => (sent = now()));
    req.once('response', (res) => {
      headersAt = now();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (r.keepBody) chunks.push(c); });
      res.once('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) headers[canonical(k)] = Array.isArray(v) ? v.join(', ') : String(v);
        const st = res.statusCode ?? 0;
        // k6: a 4xx/5xx answer carries error_code 1000 + status (1404, 1500), its duration still counted.
        finish({ status: st, headers, setCookies: res.headers['set-cookie'] ?? [], body: r.keepBody ? Buffer.concat(chunks) : null, errorCode: st >= 400 && st < 600 ? 1000 + st : 0 });
      });
      res.once('error', failed);
    });
    req.once('error', failed);
    req.end(r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : undefined);
  });
}
