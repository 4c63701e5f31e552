// The one target abstraction every suite runs against: the local stack (either nginx mode)
// or a remote domain. A suite asks the target how to reach a URL, a vantage point or the host;
// it never knows whether it talks to our stand-ins or to the real platform.
import { request as undiciRequest, Agent } from 'undici';
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import WebSocket from 'ws';
import { execa } from 'execa';
import { userList, CONTRACT, type NginxMode, type QueueMode } from '../../stack/topology.ts';
import { tcpScan, redisCommand, type ScanResult, type RedisReply } from '../../stack/services/lib/probes.ts';
import { registerSecret } from '../../stack/secrets.ts';

export type Capability = 'write' | 'public-vantage' | 'vpn-vantage' | 'host' | 'admin' | 'redis-password' | 'faults' | 'disrupt';

/** One service restarted by a resilience check: its address on the app network before and after. */
export interface Restarted { service: string; before: string; after: string }

/** Restarting the platform's containers while it runs (the local stack; a remote host only with
 *  --allow-disruption: it interrupts participants). `kill` makes them vanish (SIGKILL) instead of stopping. */
export interface ServiceControl {
  where: string;
  /** stops the services (for downMs, default at once), starts them again so that they swap addresses,
   *  and returns once each listens again */
  restart(services: string[], o?: { downMs?: number; kill?: boolean }): Promise<Restarted[]>;
}

export interface HttpResult {
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** the body's bytes, when asked for (RequestOptions.raw): images are not text */
  raw?: Buffer;
  timeMs: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** 'http' asks nginx's port 80 */
  scheme?: 'http' | 'https';
  timeoutMs?: number;
  /** keep at most this many body characters (evidence stays small) */
  maxBody?: number;
  /** also return the body's bytes (HttpResult.raw) */
  raw?: boolean;
  /** whose workspace credentials go with it: default the participant whose /userNNN/ it asks for
   *  (when credentials are configured); null none; an explicit Authorization header wins */
  as?: string | null;
}

/** The HTTP Basic header for user:password. */
export const basicHeader = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** The participant whose workspace a path is (/userNNN/...), if any. */
export const workspaceOf = (path: string) => /^\/(user\d+)(\/|$|\?)/.exec(path)?.[1];

/** The deployment's declared queue settings (its .env: QUEUE_MODE, MAX_QUEUE_DEPTH, JOB_TIMEOUT),
 *  when known: checks compare the queue's behaviour with them, and skip what needs an unknown one. */
export interface QueueSettings {
  mode?: QueueMode;
  /** 0 = unlimited */
  maxQueueDepth?: number;
  jobTimeout?: number;
}

/** Where probes are sent from: the internet, the VPN, or the host's own loopback. */
export interface Vantage {
  name: 'public' | 'vpn' | 'loopback';
  /** one line saying where this vantage really is, for the evidence */
  where: string;
  scan(host: string, ports: number[], timeoutMs?: number): Promise<ScanResult>;
  redis(host: string, port: number, password: string | undefined, command: string[]): Promise<RedisReply>;
  /** The vantage's network namespace (a probe container's: /proc/<pid>/ns/net), for programs run from
   *  there as they are (Chromium); undefined where it has none of its own (this machine). */
  netns?(): Promise<string | undefined>;
}

/** Where the platform keeps its files on the host (the .env's SSL_CERT_PATH, SSL_KEY_PATH; data/outputs). */
export interface HostLayout {
  certPath: string;
  keyPath: string;
  outputsDir: string;
}

/** The host's layout, defaulting to the guide's paths for the domain. */
export function hostLayout(t: Pick<Target, 'domain' | 'host'>): HostLayout {
  const dir = CONTRACT.certDir(t.domain);
  return { certPath: `${dir}/fullchain.pem`, keyPath: `${dir}/privkey.pem`, outputsDir: CONTRACT.hostOutputsDir, ...t.host?.layout };
}

/** The deployment's host: its shell, and its containers (service names as in the compose files). */
export interface HostAccess {
  where: string;
  /** programs on this host that are stand-ins' stubs, and what each stands for (our local stack's
   *  stand-in host prints what the harness configured for `ufw` and `tailscale`) */
  standIns?: Record<string, string>;
  layout?: Partial<HostLayout>;
  run(cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  serviceExec(service: string, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** `docker inspect --format FORMAT` of the services' containers on the host (one line each; a
   *  container that is not there is left out, its error on stderr) */
  inspect(services: string[], format: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** The platform's configuration files where the harness can read them (a compose project's own .env,
 *  or the host's platform directory over SSH): its .env and the .env.example it was copied from. */
export interface PlatformFiles {
  /** one line saying where they are, for the evidence */
  where: string;
  envPath: string;
  examplePath: string;
  /** a file's text; undefined when there is no such file (any other failure throws) */
  read(path: string): Promise<string | undefined>;
}

export interface TlsProbe {
  ok: boolean;
  protocol?: string | null;
  authorized?: boolean;
  authorizationError?: string;
  cert?: tls.DetailedPeerCertificate;
  error?: string;
}

export interface Target {
  name: string;
  kind: 'local' | 'remote';
  mode?: NginxMode;
  domain: string;
  users: string[];
  /** the address the domain resolves to (the host's public IP) */
  publicAddress: string;
  /** the host's VPN (Tailscale) address, when known */
  vpnAddress?: string;
  httpPort: number;
  httpsPort: number;
  capabilities: Set<Capability>;
  /** CAs trusted beyond the system's roots (--ca; the local stack's generated CA), as PEM */
  trustedCas: string[];
  secrets: { adminUsername: string; adminPassword?: string; redisPassword?: string };
  queue: QueueSettings;
  vantages: Partial<Record<Vantage['name'], Vantage>>;
  host?: HostAccess;
  /** present with the 'disrupt' capability */
  services?: ServiceControl;
  /** the platform's .env and .env.example, when the harness can read them */
  files?: PlatformFiles;
  /** each participant's workspace password (--user-credentials; the local stack's with --user-auth) */
  userCredentials(): Readonly<Record<string, string>> | undefined;
  request(path: string, o?: RequestOptions): Promise<HttpResult>;
  /** notes that a check reached this URL another way (a browser page): watched targets count it */
  touch?(url: string): void;
  /** opens a WebSocket to wss://domain<path>; resolves once open (or rejects with the HTTP status) */
  websocket(path: string, o?: { headers?: Record<string, string>; timeoutMs?: number; as?: string | null }): Promise<WebSocket>;
  tlsProbe(o?: { minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion; servername?: string }): Promise<TlsProbe>;
  close(): Promise<void>;
}

export interface TargetSettings {
  name: string;
  kind: 'local' | 'remote';
  mode?: NginxMode;
  domain: string;
  users: number;
  /** resolve the domain to this address instead of DNS (local stack; tests of remote mode) */
  resolveTo?: string;
  vpnAddress?: string;
  /** extra CA to trust (our generated one) */
  caPem?: string;
  httpPort?: number;
  httpsPort?: number;
  secrets: Target['secrets'];
  allowWrites: boolean;
  queue?: QueueSettings;
  vantages: Target['vantages'];
  host?: HostAccess;
  faults?: boolean;
  services?: ServiceControl;
  files?: PlatformFiles;
  /** participants' workspace passwords; a function when they change under the target (faults) */
  userCredentials?: Record<string, string> | (() => Record<string, string> | undefined);
}

export function createTarget(s: TargetSettings): Target {
  registerSecret(s.secrets.adminPassword);
  registerSecret(s.secrets.redisPassword);
  const creds = () => {
    const c = typeof s.userCredentials === 'function' ? s.userCredentials() : s.userCredentials;
    if (c) for (const p of Object.values(c)) registerSecret(p);
    return c && Object.keys(c).length ? c : undefined;
  };
  /** Headers with the workspace credentials of `as` (default: the path's participant) added. */
  const withAuth = (path: string, headers: Record<string, string> | undefined, as: string | null | undefined) => {
    if (as === null || Object.keys(headers ?? {}).some((k) => k.toLowerCase() === 'authorization')) return headers;
    const who = as ?? workspaceOf(path);
    const pass = who ? creds()?.[who] : undefined;
    return pass === undefined ? headers : { ...headers, authorization: basicHeader(who!, pass) };
  };
  const lookup: LookupFunction | undefined = s.resolveTo
    ? ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
        opts?.all ? cb(null, [{ address: s.resolveTo, family: 4 }]) : cb(null, s.resolveTo, 4)) as unknown as LookupFunction
    : undefined;
  const ca = s.caPem ? [...tls.rootCertificates, s.caPem] : undefined;
  // Built once: given `ca`, every connection would parse the whole root store again (60 ms of CPU
  // per request here, which made a 140-request check take 12 s on two busy cores).
  const secureContext = tls.createSecureContext({ ca });
  // Certificate validity is the tls suite's finding; other suites still reach the site with a bad
  // certificate, so one fault turns red the checks about it and not every check at once.
  const agent = new Agent({ connect: { secureContext, servername: s.domain, lookup, rejectUnauthorized: false } as never, pipelining: 0 });
  const httpPort = s.httpPort ?? CONTRACT.httpPort;
  const httpsPort = s.httpsPort ?? CONTRACT.httpsPort;
  const origin = (scheme: 'http' | 'https') =>
    `${scheme}://${s.domain}${(scheme === 'https' ? httpsPort : httpPort) === (scheme === 'https' ? 443 : 80) ? '' : `:${scheme === 'https' ? httpsPort : httpPort}`}`;
  const caps = new Set<Capability>();
  if (s.allowWrites) caps.add('write');
  if (s.vantages.public) caps.add('public-vantage');
  if (s.vantages.vpn) caps.add('vpn-vantage');
  if (s.host) caps.add('host');
  if (s.secrets.adminPassword !== undefined) caps.add('admin');
  if (s.secrets.redisPassword !== undefined) caps.add('redis-password');
  if (s.faults) caps.add('faults');
  if (s.services) caps.add('disrupt');

  return {
    name: s.name, kind: s.kind, mode: s.mode, domain: s.domain, users: userList(s.users),
    publicAddress: s.resolveTo ?? s.domain, vpnAddress: s.vpnAddress, httpPort, httpsPort,
    capabilities: caps, trustedCas: s.caPem ? [s.caPem] : [], secrets: s.secrets, queue: s.queue ?? {}, vantages: s.vantages, host: s.host, services: s.services, files: s.files,
    userCredentials: creds,

    async request(path, o = {}) {
      const url = `${origin(o.scheme ?? 'https')}${path}`;
      const method = o.method ?? 'GET';
      const t0 = Date.now();
      const r = await undiciRequest(url, {
        method: method as never, headers: withAuth(path, o.headers, o.as), body: o.body, dispatcher: agent,
        headersTimeout: o.timeoutMs ?? 15_000, bodyTimeout: o.timeoutMs ?? 15_000,
      });
      const bytes = Buffer.from(await r.body.arrayBuffer());
      const text = bytes.toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      const max = o.maxBody ?? 20_000;
      return { method, url, status: r.statusCode, headers, body: text.length > max ? text.slice(0, max) : text, ...(o.raw ? { raw: bytes } : {}), timeMs: Date.now() - t0 };
    },

    websocket(path, o = {}) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${origin('https').replace(/^https/, 'wss')}${path}`, {
          secureContext, servername: s.domain, lookup, headers: withAuth(path, o.headers, o.as), handshakeTimeout: o.timeoutMs ?? 10_000, rejectUnauthorized: false,
        } as WebSocket.ClientOptions);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => {
          reject(new Error(`expected 101 Switching Protocols, got HTTP ${res.statusCode}`));
          ws.terminate();
        });
        ws.once('error', (e) => reject(e));
      });
    },

    tlsProbe(o = {}) {
      return new Promise((resolve) => {
        const sock = tls.connect({
          host: s.resolveTo ?? s.domain, port: httpsPort, servername: o.servername ?? s.domain, ca,
          minVersion: o.minVersion, maxVersion: o.maxVersion, rejectUnauthorized: false, timeout: 10_000,
          // TLS 1.0/1.1 need a lower security level in OpenSSL 3 to even be offered.
          ciphers: o.maxVersion && o.maxVersion < 'TLSv1.2' ? 'DEFAULT@SECLEVEL=0' : undefined,
        });
        sock.once('secureConnect', () => {
          const cert = sock.getPeerCertificate(true);
          resolve({ ok: true, protocol: sock.getProtocol(), authorized: sock.authorized, authorizationError: sock.authorizationError ? String(sock.authorizationError) : undefined, cert });
          sock.end();
        });
        sock.once('timeout', () => { resolve({ ok: false, error: 'timeout' }); sock.destroy(); });
        sock.once('error', (e) => resolve({ ok: false, error: e.message }));
      });
    },

    async close() {
      // destroy, not close: close waits for every request still in flight, and a check given up at its
      // timeout may have left one to a frozen service (measured: 14 s more to end a run).
      await agent.destroy().catch(() => {});
    },
  };
}

/** This process's own network position as a vantage (remote mode: the harness machine is on the internet). */
export function selfVantage(name: Vantage['name'], where: string): Vantage {
  return { name, where, scan: tcpScan, redis: redisCommand };
}

/** A vantage inside a probe container: `docker exec` runs the same probes from there. */
export function containerVantage(name: Vantage['name'], container: string, where: string): Vantage {
  const probe = async (cmd: string, args: unknown) => {
    const r = await execa('docker', ['exec', container, 'node', '/app/main.mjs', cmd, JSON.stringify(args)], { reject: false });
    if (r.exitCode !== 0) throw new Error(`probe in ${container} failed: ${r.stderr.split('\n')[0]}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };
  return {
    name, where,
    scan: (host, ports, timeoutMs = 1_500) => probe('scan', { host, ports, timeoutMs }),
    redis: (host, port, password, command) => probe('redis', { host, port, password, command }),
    netns: async () => {
      const r = await execa('docker', ['inspect', '-f', '{{.State.Pid}}', container], { reject: false });
      const pid = Number(r.stdout.trim());
      return r.exitCode === 0 && pid > 0 ? `/proc/${pid}/ns/net` : undefined;
    },
  };
}
