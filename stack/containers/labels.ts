// Everything we create carries these labels, so it can be removed by label: after a normal
// run, after Ctrl-C, and after a killed run (its reaper removes it within seconds, see reaper.ts;
// the next run removes what a dead pid left, should it come first).
import { execa } from 'execa';

export const LABEL = 'comfy-verify';

export function labelsFor(runId: string, service?: string): Record<string, string> {
  return {
    [LABEL]: '1',
    [`${LABEL}.run`]: runId,
    [`${LABEL}.pid`]: String(process.pid),
    ...(service ? { [`${LABEL}.service`]: service } : {}),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function listByLabel(kind: 'container' | 'network' | 'volume', filter: string): Promise<{ id: string; pid: number; service: string }[]> {
  const fmt = `${kind === 'container' ? '{{.ID}}' : '{{.Name}}'} {{.Label "comfy-verify.pid"}} {{.Label "comfy-verify.service"}}`;
  const args = kind === 'container' ? ['ps', '-a', '--filter', `label=${filter}`, '--format', fmt] : [kind, 'ls', '--filter', `label=${filter}`, '--format', fmt];
  const r = await execa('docker', args, { reject: false });
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [id, pid, service = ''] = l.split(' ');
    return { id, pid: Number(pid), service };
  });
}

/** Removes our containers, networks and volumes: of one run, or of every run whose process is gone.
 *  A dead run's reaper is left to finish (it removes only its own run's, then itself). */
export async function removeByLabel(o: { runId?: string; stale?: boolean }): Promise<number> {
  const filter = o.runId ? `${LABEL}.run=${o.runId}` : LABEL;
  const pick = (xs: { id: string; pid: number; service: string }[]) =>
    xs.filter((x) => o.runId || !o.stale || (!alive(x.pid) && x.service !== 'reaper')).map((x) => x.id);
  const containers = pick(await listByLabel('container', filter));
  if (containers.length) await execa('docker', ['rm', '-f', '-v', ...containers], { reject: false });
  const networks = pick(await listByLabel('network', filter));
  if (networks.length) await removeNetworks(networks);
  const volumes = pick(await listByLabel('volume', filter));
  if (volumes.length) await execa('docker', ['volume', 'rm', '-f', ...volumes], { reject: false });
  return containers.length + networks.length + volumes.length;
}

/** `docker network rm`, and for a network it refuses ("has active endpoints": an endpoint Docker kept
 *  after its container went, seen here once in CI, or anything else still attached), its endpoints are
 *  disconnected by force and it is removed once more. */
async function removeNetworks(names: string[]): Promise<void> {
  const r = await execa('docker', ['network', 'rm', ...names], { reject: false });
  if (r.exitCode === 0) return;
  for (const name of names) {
    const left = await execa('docker', ['network', 'inspect', '-f', '{{range $id, $c := .Containers}}{{$c.Name}} {{end}}', name], { reject: false });
    if (left.exitCode !== 0) continue; // removed by the first call
    for (const endpoint of left.stdout.split(' ').filter(Boolean)) {
      await execa('docker', ['network', 'disconnect', '-f', name, endpoint], { reject: false });
    }
    await execa('docker', ['network', 'rm', name], { reject: false });
  }
}

/** What is left of one run (runId), or of every run. */
export async function countByLabel(runId?: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const filter = runId ? `${LABEL}.run=${runId}` : LABEL;
  return {
    containers: (await listByLabel('container', filter)).length,
    networks: (await listByLabel('network', filter)).length,
    volumes: (await listByLabel('volume', filter)).length,
  };
}
