// One testcontainers class for every service, built from its ServiceSpec: published ports
// with their host address (testcontainers has no host-IP binding of its own), bind mounts,
// host networking for the "host nginx", labels for clean-up. Readiness is probed from the
// host over the bridge, so any image (ours or the platform's real one) can be waited for.
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { connect } from 'node:net';
import type { ServiceSpec } from '../topology.ts';
import { labelsFor } from './labels.ts';

export class ServiceContainer extends GenericContainer {
  constructor(readonly spec: ServiceSpec, runId: string, networkName: (key: ServiceSpec['networks'][number]) => string) {
    super(spec.image);
    this.withName(`cv-${runId}-${spec.name}`)
      .withLabels(labelsFor(runId, spec.name))
      .withEnvironment(spec.env)
      .withStartupTimeout(60_000);
    if (spec.command) this.withCommand(spec.command);
    if (spec.capAdd?.length) this.withAddedCapabilities(...spec.capAdd);
    if (spec.hostNetwork) this.withNetworkMode('host');
    else if (spec.networks.length) {
      // Only this network, with the service name as its DNS alias. (testcontainers' own
      // withNetworkAliases attaches the default bridge first, which would join every container.)
      const net = networkName(spec.networks[0]);
      this.withNetworkMode(net);
      this.createOpts.NetworkingConfig = { EndpointsConfig: { [net]: { Aliases: [spec.name] } } };
    }
    this.withBindMounts([
      ...spec.mounts.map((m) => ({ source: m.source, target: m.target, mode: (m.readonly ? 'ro' : 'rw') as 'ro' | 'rw' })),
      ...(spec.files ?? []).map((f) => ({ source: f.source, target: f.target, mode: 'ro' as const })),
    ]);
    // Ports with the exact host address: 127.0.0.1, the VPN gateway, or 0.0.0.0.
    if (spec.publish.length) {
      this.createOpts.ExposedPorts = Object.fromEntries(spec.publish.map((p) => [`${p.containerPort}/tcp`, {}]));
      const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
      for (const p of spec.publish) (bindings[`${p.containerPort}/tcp`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
      this.hostConfig.PortBindings = bindings;
    }
  }

  async startService(): Promise<StartedServiceContainer> {
    const started = await this.start();
    const s = new StartedServiceContainer(started, this.spec);
    // One that never became ready is removed (its last words are in the error): its name is free for a retry.
    await s.waitReady().catch(async (e) => { await s.stop().catch(() => {}); throw e; });
    return s;
  }
}

/** A service that never became ready, with its last log lines (its own words on why). */
export class NotReadyError extends Error {
  constructor(message: string, readonly logs: string[]) { super(message); }
}

export class StartedServiceContainer {
  constructor(readonly container: StartedTestContainer, readonly spec: ServiceSpec) {}

  get name() { return this.spec.name; }
  get id() { return this.container.getId(); }

  /** The container's address on its first network now (host networking: loopback). Asked of the
   *  engine each time: a container restarted behind our back (a resilience check) has a new one. */
  async ip(): Promise<string> {
    if (this.spec.hostNetwork) return '127.0.0.1';
    const client = await getContainerRuntimeClient();
    const info = await client.container.inspect(client.container.getById(this.id));
    return Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '';
  }

  async exec(cmd: string[]): Promise<{ exitCode: number; output: string; stdout: string; stderr: string }> {
    return this.container.exec(cmd);
  }

  async logs(): Promise<string> {
    const stream = await this.container.logs();
    return await new Promise<string>((resolve) => {
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.on('end', () => resolve(out));
      setTimeout(() => { stream.destroy(); resolve(out); }, 500);
    });
  }

  async stop(): Promise<void> {
    await this.container.stop({ remove: true, removeVolumes: true, timeout: 2_000 });
  }

  private async exited(): Promise<boolean> {
    const client = await getContainerRuntimeClient();
    const info = await client.container.inspect(client.container.getById(this.id)).catch(() => undefined);
    return info?.State.Status === 'exited';
  }

  /** Polls the service's own readiness route from the host, over the bridge. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const { ready } = this.spec;
    if (ready.none) return;
    const deadline = Date.now() + timeoutMs;
    const host = await this.ip();
    let last = '';
    let checked = Date.now();
    while (Date.now() < deadline) {
      try {
        if (ready.http) {
          const r = await fetch(`http://${host}:${ready.http.port}${ready.http.path}`, { signal: AbortSignal.timeout(2_000) });
          if (r.status < 500) return;
          last = `HTTP ${r.status}`;
        } else if (ready.tcp) {
          await tcpOpen(host, ready.tcp);
          return;
        }
      } catch (e) {
        last = (e as Error).message;
      }
      // A container that exited will never be ready: say so now, with its last words. Asked through
      // the Docker API twice a second, not a docker CLI every poll: 20 frontends polling spawned
      // hundreds of CLIs, which on a small machine took the CPU from the services being waited for.
      if (Date.now() - checked >= 500) {
        checked = Date.now();
        if (await this.exited()) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines = (await this.logs().catch(() => '')).split('\n').filter((l) => l.trim()).slice(-5);
    throw new NotReadyError(`${this.spec.name} did not become ready (${last}); last logs: ${lines.join(' | ')}`, lines);
  }
}

export function tcpOpen(host: string, port: number, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => { sock.destroy(); resolve(); });
    sock.once('timeout', () => { sock.destroy(); reject(new Error(`timeout ${host}:${port}`)); });
    sock.once('error', (e) => reject(e));
  });
}
