// Turns a Topology into running containers (testcontainers), and back into nothing.
// Also applies a changed topology (a fault) by recreating only the services it touches.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true'; // no registry for Ryuk's image; we clean up by label
import { mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { execa } from 'execa';
import { frontends, type Topology, type ServiceSpec, type NetworkKey, CONTRACT, IMAGE_TAG } from './topology.ts';
import { ServiceContainer, NotReadyError, type StartedServiceContainer } from './containers/service-container.ts';
import { labelsFor, removeByLabel } from './containers/labels.ts';
import { startReaper, type Reaper } from './containers/reaper.ts';
import { makeCa, makeServerCert, rsaPrivateKey, writeTls } from './tls.ts';
import type { KeyObject } from 'node:crypto';
import { renderNginxConf } from './nginx/render.ts';
import { writeSshKeys, sshFiles } from './ssh.ts';

export interface NetworkInfo { name: string; subnet: string; gateway: string }
export type Progress = (msg: string) => void;

export class Stack {
  private constructor(
    public topology: Topology,
    readonly networks: Record<NetworkKey, NetworkInfo>,
    readonly caPem: string,
    private readonly containers: Map<string, StartedServiceContainer>,
    private readonly caKey: ReturnType<typeof makeCa>,
    private readonly reaper: Reaper,
  ) {}

  /** Has the run's reaper also remove what matches `filter` (Ryuk's form: `label=k=v`) if this
   *  process is killed: what another tool labels its own way (a docker compose project). */
  reapAlso(filter: string): Promise<void> { return this.reaper.add(filter); }

  /** The host's address as seen from the internet (the public network's gateway). */
  get publicAddress(): string { return this.networks.public.gateway; }
  /** The host's Tailscale address (the VPN network's gateway). */
  get vpnAddress(): string { return this.networks.vpn.gateway; }

  container(name: string): StartedServiceContainer {
    const c = this.containers.get(name);
    if (!c) throw new Error(`service ${name} is not running`);
    return c;
  }
  has(name: string): boolean { return this.containers.has(name); }
  running(): string[] { return [...this.containers.keys()]; }

  /** services that did not start, with their last log lines (see Stack.start's `optional`) */
  readonly notStarted = new Map<string, string[]>();

  /** `optional`: services whose failure to start is the deployment's finding (an nginx configuration
   *  nginx refuses), not the harness's: the rest of the stack comes up without them. */
  static async start(t: Topology, progress: Progress = () => {}, o: { optional?: string[] } = {}): Promise<Stack> {
    // The CA's and the server's keys are made off the event loop while Docker clears and creates: made
    // in line, they held every start for 0.55-0.85 s (measured) before the networks were used.
    const keys = Promise.all([rsaPrivateKey(), rsaPrivateKey()]);
    keys.catch(() => {}); // awaited below; a failure before that must not go unhandled
    // The run's reaper knows the run's label before anything of the run exists: a kill from then on leaves
    // nothing. It starts while stale runs are swept (which leaves reapers alone), and this process
    // connects to it while the networks are made.
    const reaper = startReaper(t.runId);
    reaper.created.catch(() => {}); // awaited below
    reaper.connected.catch(() => {});
    await removeByLabel({ stale: true });
    prepareRunDir(t);
    if (t.services.some((s) => s.kind === 'sshd' && s.enabled)) await writeSshKeys(t.runDir);
    const creating = reaper.created.then(() => createNetworks(t)); // docker works on the networks while this process signs the certificates
    creating.catch(() => {});
    const [caKey, serverKey] = await keys;
    const ca = makeCa({ commonName: 'comfy-verify test CA', key: caKey });
    writeTlsFor(t, ca, serverKey);
    writeFileSync(`${t.runDir}/nginx/nginx.conf`, renderNginxConf(t));
    let networks: Record<NetworkKey, NetworkInfo>;
    try {
      await reaper.created;
      await writeHtpasswd(t);
      networks = await creating;
      await reaper.connected;
    } catch (e) {
      await removeByLabel({ runId: t.runId });
      rmSync(t.runDir, { recursive: true, force: true });
      throw e;
    }
    const stack = new Stack(t, networks, ca.certPem, new Map(), ca, await reaper.connected);
    try {
      await stack.startServices(t.services.filter((s) => s.enabled), progress, o.optional ?? []);
    } catch (e) {
      await stack.stop().catch(() => {});
      throw e;
    }
    return stack;
  }

  /** Starts each service as soon as the services it depends on are ready (compose's depends_on with
   *  service_healthy), so no one waits for a slow neighbour of its dependencies. Progress is told by
   *  dependency level, as before. */
  private async startServices(specs: ServiceSpec[], progress: Progress, optional: string[] = []): Promise<void> {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const deps = (s: ServiceSpec) => s.dependsOn.filter((d) => byName.has(d));
    const level = new Map<string, number>();
    for (let left = [...specs]; left.length;) {
      const ready = left.filter((s) => deps(s).every((d) => level.has(d)));
      if (!ready.length) throw new Error(`dependency cycle among ${left.map((s) => s.name).join(', ')}`);
      for (const s of ready) level.set(s.name, Math.max(0, ...deps(s).map((d) => level.get(d)! + 1)));
      left = left.filter((s) => !ready.includes(s));
    }
    const levels = [...new Set(level.values())].sort((a, b) => a - b).map((l) => ({ names: specs.filter((s) => level.get(s.name) === l).map((s) => s.name), left: 0, t0: 0 }));
    for (const l of levels) l.left = l.names.length;
    const started = new Map<string, Promise<void>>();
    const start = (s: ServiceSpec): Promise<void> => {
      if (!started.has(s.name)) started.set(s.name, (async () => {
        await Promise.all(deps(s).map((d) => start(byName.get(d)!)));
        const l = levels.find((x) => x.names.includes(s.name))!;
        l.t0 ||= Date.now();
        let c: StartedServiceContainer;
        try {
          c = await new ServiceContainer(s, this.topology.runId, (k) => this.networks[k].name).startService();
        } catch (e) {
          if (!optional.includes(s.name)) throw e;
          this.notStarted.set(s.name, e instanceof NotReadyError ? e.logs : [(e as Error).message]);
          progress(`${s.name} did not start: ${(e instanceof NotReadyError ? e.logs.at(-1) : undefined) ?? (e as Error).message.split('\n')[0]}`);
          return;
        }
        this.containers.set(s.name, c);
        if (--l.left === 0) progress(`started ${summarize(l.names)} (${((Date.now() - l.t0) / 1000).toFixed(1)} s)`);
      })());
      return started.get(s.name)!;
    };
    // Every start settles before an error is thrown: the caller's clean-up must not race a start still under way.
    const results = await Promise.allSettled(specs.map(start));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Moves the running stack to another topology, recreating only what changed. */
  async apply(next: Topology, progress: Progress = () => {}): Promise<string[]> {
    const prev = this.topology;
    const changed = new Set<string>();
    const key = (s?: ServiceSpec) => JSON.stringify(s ?? null);
    for (const s of next.services) if (key(s) !== key(prev.services.find((p) => p.name === s.name))) changed.add(s.name);
    for (const p of prev.services) if (!next.services.some((s) => s.name === p.name)) changed.add(p.name);
    // What an earlier apply failed to start is started now: one failed fault must not break the next.
    for (const s of next.services) if (s.enabled && !this.containers.has(s.name)) changed.add(s.name);
    const conf = renderNginxConf(next);
    const confChanged = conf !== readFileSync(`${next.runDir}/nginx/nginx.conf`, 'utf8');
    // Certificates and htpasswd files are read through mounts: rewritten, then nginx reloads.
    const certChanged = JSON.stringify(next.tls) !== JSON.stringify(prev.tls);
    const authChanged = JSON.stringify(next.userAuth) !== JSON.stringify(prev.userAuth);
    const filesChanged = certChanged || authChanged;
    if (confChanged) writeFileSync(`${next.runDir}/nginx/nginx.conf`, conf);
    if (certChanged) writeTlsFor(next, this.caKey);
    if (authChanged) await writeHtpasswd(next);
    // Only its configuration or certificate changed (files it reads through mounts): nginx is reloaded,
    // as an operator does after an edit, unless its container changed too.
    let reloadNginx = (confChanged || filesChanged) && !changed.has('nginx') && this.containers.has('nginx');
    if ((confChanged || filesChanged) && !reloadNginx) changed.add('nginx');
    this.topology = next;
    // Stop what changed; restart it (and its dependents' order is kept by the waves). A service the
    // next topology drops goes last: it stops while the rest runs, as a container that dies mid-workshop
    // does. Were it gone first, a restarting nginx would refuse to start at all ("host not found in
    // upstream"), which is a different fault from the one described.
    const dropped = [...changed].filter((n) => !next.services.some((s) => s.name === n && s.enabled));
    const stop = (names: string[]) => Promise.all(names.map(async (n) => { await this.containers.get(n)?.stop(); this.containers.delete(n); }));
    const addresses = () => Promise.all([...changed].filter((n) => this.containers.has(n)).map(async (n) => `${n}=${await this.containers.get(n)!.ip()}`));
    const before = await addresses();
    await stop([...changed].filter((n) => !dropped.includes(n)));
    const toStart = next.services.filter((s) => changed.has(s.name) && s.enabled)
      .map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => changed.has(d)) }));
    await this.startServices(toStart, progress);
    // Containers started together can come back at each other's addresses. An nginx that was not
    // itself restarted is reloaded, as an operator does after recreating containers, so a fault changes
    // only what it names whatever the nginx configuration (one resolving names only at start included).
    const after = await addresses();
    if (this.containers.has('nginx') && !changed.has('nginx') && next.mode === 'container' && after.some((a) => !before.includes(a))) reloadNginx = true;
    // A configuration nginx refuses (nginx -t) is not reloaded but started, and fails as it would.
    if (reloadNginx && !(await this.reloadNginx())) {
      changed.add('nginx');
      await stop(['nginx']);
      await this.startServices(next.services.filter((s) => s.name === 'nginx' && s.enabled).map((s) => ({ ...s, dependsOn: [] })), progress);
    }
    await stop(dropped);
    await this.settle();
    return [...changed];
  }

  /** nginx -t, then nginx -s reload, and back once every worker runs the new configuration (the old
   *  ones are gone or shutting down). False when nginx refuses the configuration. */
  private async reloadNginx(timeoutMs = 10_000): Promise<boolean> {
    const nginx = this.container('nginx');
    // Worker processes by their title (no procps in the image: /proc).
    const workers = async () => (await nginx.exec(['sh', '-c',
      'for p in /proc/[0-9]*; do t=$(tr "\\0" " " < $p/cmdline 2>/dev/null | sed "s/ *$//"); [ "$t" = "nginx: worker process" ] && echo ${p#/proc/}; done; true',
    ])).stdout.split('\n').filter(Boolean);
    if ((await nginx.exec(['nginx', '-t'])).exitCode !== 0) return false;
    const old = new Set(await workers());
    const r = await nginx.exec(['nginx', '-s', 'reload']);
    if (r.exitCode !== 0) return false;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((res) => setTimeout(res, 50))) {
      const now = await workers();
      if (now.length && now.every((p) => !old.has(p))) return true;
    }
    throw new Error(`nginx did not start new workers within ${timeoutMs / 1000} s of a reload`);
  }

  /** After a restart: dependents reconnect (the queue-manager to a new Redis) before checks run. */
  async settle(timeoutMs = 15_000): Promise<void> {
    await Promise.all([...this.containers.values()].map((c) => c.waitReady()));
    if (!this.has('queue-manager') || !this.has('redis')) return;
    const url = `http://${await this.container('queue-manager').ip()}:${CONTRACT.queueManagerPort}/health`;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const h = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.json()).catch(() => ({}));
      if ((h as { redis_connected?: boolean }).redis_connected) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.containers.values()].map((c) => c.stop()));
    this.containers.clear();
    await removeByLabel({ runId: this.topology.runId });
    rmSync(this.topology.runDir, { recursive: true, force: true });
  }
}

function summarize(names: string[]): string {
  const users = names.filter((n) => /^user\d+$/.test(n));
  const rest = names.filter((n) => !users.includes(n));
  return [...rest, ...(users.length > 2 ? [`${users.length} user frontends`] : users)].join(', ');
}

function prepareRunDir(t: Topology): void {
  for (const s of frontends(t)) {
    mkdirSync(`${t.runDir}/data/outputs/${s.name}`, { recursive: true });
    mkdirSync(`${t.runDir}/data/inputs/${s.name}`, { recursive: true });
  }
  for (const d of ['data/models/shared', 'data/workflows', 'tls', 'nginx']) mkdirSync(`${t.runDir}/${d}`, { recursive: true });
}

function writeTlsFor(t: Topology, trusted: ReturnType<typeof makeCa>, key?: KeyObject): void {
  const ca = t.tls.untrustedIssuer ? makeCa({ commonName: 'Untrusted CA' }) : trusted;
  const server = makeServerCert(ca, { commonName: t.tls.domain, altNames: t.tls.altNames, notBefore: t.tls.notBefore, notAfter: t.tls.notAfter, key });
  writeTls(`${t.runDir}/tls`, ca, server);
}

/** One htpasswd file per participant, bcrypt (`htpasswd -B`, as an operator makes them), readable
 *  by nginx's workers through the www-data group. Passwords go in on stdin, never on a command line. */
async function writeHtpasswd(t: Topology): Promise<void> {
  if (!t.userAuth) return;
  const dir = `${t.runDir}/htpasswd`;
  // The directory itself stays: nginx and the host see it through bind mounts of this very inode.
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(`${dir}/${f}`, { force: true });
  const input = Object.entries(t.userAuth.passwords).map(([u, p]) => `${u}:${p}\n`).join('');
  const mode = t.userAuth.fileMode.toString(8);
  await execa('docker', ['run', '--rm', '-i', '--network', 'none', '--label', 'comfy-verify=1', '--label', `comfy-verify.run=${t.runId}`, '-v', `${dir}:/out`,
    `comfy-verify/nginx:${IMAGE_TAG}`, 'sh', '-c',
    `while IFS=: read -r u p; do printf '%s' "$p" | htpasswd -iBc /out/"$u" "$u" 2>/dev/null || exit 1; done; chown root:www-data /out/*; chmod ${mode} /out/*`], { input });
}

async function createNetworks(t: Topology): Promise<Record<NetworkKey, NetworkInfo>> {
  const labels = Object.entries(labelsFor(t.runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const created = await Promise.all(Object.values(t.networks).map(async (n) => {
    const ipam = n.subnet ? ['--subnet', n.subnet, ...(n.gateway ? ['--gateway', n.gateway] : [])] : [];
    await execa('docker', ['network', 'create', '--driver', 'bridge', ...labels, ...ipam, n.name]);
    const info = JSON.parse((await execa('docker', ['network', 'inspect', '--format', '{{json .IPAM.Config}}', n.name])).stdout)[0];
    return [n.key, { name: n.name, subnet: info.Subnet, gateway: info.Gateway }] as const;
  }));
  return Object.fromEntries(created) as Record<NetworkKey, NetworkInfo>;
}

export { CONTRACT };

/** What a target needs to know about a running stack; plain data, so it crosses process boundaries. */
export interface StackDescriptor {
  runId: string;
  mode: Topology['mode'];
  domain: string;
  users: number;
  secrets: Topology['secrets'];
  publicAddress: string;
  vpnAddress: string;
  caPem: string;
  runDir: string;
  /** the queue settings the stack was given (its .env's QUEUE_MODE, MAX_QUEUE_DEPTH, JOB_TIMEOUT) */
  queue?: Topology['queue'];
  /** the stand-in host's SSH server, when the stack runs one */
  ssh?: { user: string; host: string; port: number; keyFile: string; knownHostsFile: string; containerPrefix: string; containers?: Record<string, string> };
  /** container names by service (an operator's compose project names its own); default cv-<run>-<service> */
  containers?: Record<string, string>;
  /** per-participant workspace passwords (--user-auth) */
  userCredentials?: Record<string, string>;
}

export function describeStack(s: Stack): StackDescriptor {
  const t = s.topology;
  return {
    runId: t.runId, mode: t.mode, domain: t.domain, users: t.users, secrets: t.secrets,
    publicAddress: s.publicAddress, vpnAddress: s.vpnAddress, caPem: s.caPem, runDir: t.runDir, queue: t.queue,
    ...(t.userAuth ? { userCredentials: t.userAuth.passwords } : {}),
    ...(s.has('sshd') ? { ssh: sshLogin(t.runDir, t.runId) } : {}),
  };
}

export const containerName = (runId: string, service: string) => `cv-${runId}-${service}`;

/** How to log in to the stand-in host: root on the loopback, the run's key, its pinned host key. */
function sshLogin(runDir: string, runId: string): NonNullable<StackDescriptor['ssh']> {
  const { keyFile, knownHostsFile } = sshFiles(runDir);
  return { user: 'root', host: '127.0.0.1', port: CONTRACT.sshPort, keyFile, knownHostsFile, containerPrefix: containerName(runId, '') };
}
