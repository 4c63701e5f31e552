import { describe, it, expect, afterAll } from 'vitest';
import { ServiceContainer, tcpOpen } from './service-container.ts';
import { execa } from 'execa';
import { removeByLabel, countByLabel, labelsFor } from './labels.ts';
import { BASE_IMAGE, describeTopology, service, type ServiceSpec } from '../topology.ts';
import { newRunId } from '../run.ts';

const runId = `t${newRunId()}`;
const spec = (name: string, script: string, ready: ServiceSpec['ready']): ServiceSpec => ({
  name, kind: 'probe', image: BASE_IMAGE, command: ['sh', '-c', script], env: {}, networks: [], hostNetwork: true,
  publish: [], mounts: [], ready, dependsOn: [], enabled: true,
});

describe('ServiceContainer readiness', () => {
  afterAll(() => removeByLabel({ runId }));

  it('fails fast, with its last words, when the container exits instead of becoming ready', async () => {
    const t0 = Date.now();
    const err = await new ServiceContainer(spec('dies', 'echo bye-from-the-service; exit 3', { tcp: 1 }), runId, () => '').startService().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/dies did not become ready .*bye-from-the-service/);
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 60 s timeout
  });

  it('is ready once its port answers, not before', async () => {
    // A port that opens a second after the container starts, on the default bridge (no host port).
    const t0 = Date.now();
    const c = await new ServiceContainer({ ...spec('late', 'sleep 1; exec nc -lk 8188', { tcp: 8188 }), hostNetwork: false }, runId, () => '').startService();
    expect(Date.now() - t0, 'ready before its port could answer').toBeGreaterThanOrEqual(1_000);
    await expect(tcpOpen(await c.ip(), 8188)).resolves.toBeUndefined();
    await c.stop();
  });

  it('a probe vantage point stops at once, not at the kill timeout', async () => {
    const t = describeTopology({ runId, runDir: '/tmp/cv-unit', mode: 'container', secrets: { redisPassword: 'r', adminUsername: 'a', adminPassword: 'p' } });
    // Its own network is the stack's to make; the default bridge does here.
    const c = await new ServiceContainer({ ...service(t, 'probe-public'), networks: [] }, runId, () => '').startService();
    // Once its shell has set its trap (SigCgt holds SIGTERM, bit 15): a SIGTERM before that, to a PID 1
    // without a handler, is dropped, as it was in a CI run where the container was stopped at once.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      const caught = /SigCgt:\s*([0-9a-f]+)/.exec((await c.exec(['cat', '/proc/1/status'])).stdout)?.[1];
      if (caught && (BigInt(`0x${caught}`) >> 14n) & 1n) break;
    }
    const t0 = Date.now();
    await c.stop();
    expect(Date.now() - t0, 'the probe ignored SIGTERM').toBeLessThan(1_500);
  });
});

describe('removeByLabel', () => {
  it('removes a network that still has an endpoint attached (it is disconnected by force first)', async () => {
    const id = `t${newRunId()}`;
    const net = `cv-${id}-net`;
    const holder = `cv-${id}-holder`;
    const labels = Object.entries(labelsFor(id)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await execa('docker', ['network', 'create', ...labels, net]);
    // Not ours by label, so removeByLabel leaves it running: the network's endpoint stays until forced.
    await execa('docker', ['run', '-d', '--name', holder, '--network', net, BASE_IMAGE, 'sleep', '60']);
    try {
      expect(await countByLabel(id)).toMatchObject({ networks: 1 });
      await removeByLabel({ runId: id });
      expect(await countByLabel(id)).toMatchObject({ networks: 0 });
    } finally {
      await execa('docker', ['rm', '-f', holder], { reject: false });
      await execa('docker', ['network', 'rm', net], { reject: false });
    }
  });
});
