// npm run bench: how long the full stack takes to come up, against a floor: as many bare containers
// from the base image as the stack has, started in parallel straight through the Docker API (no
// CLI, no testcontainers). Each mode and the floor run BENCH_RUNS times (default 3), interleaved so
// drift on a shared machine hits all alike; the machine-wide stack lock is held throughout.
// Then, as an operator runs them: `verify` (both modes, every suite) and `faults` (both modes, the
// whole catalogue), each timed from command to verdict. The last three lines are exactly:
//   verify warm: N s (both modes)
//   catalogue: N s (F faults, B batches)
//   bring-up ratio host X.XX container Y.YY (stack median / floor median)
import { request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { holdStackLock, localTopology, newRunId, startLocalStack } from '../stack/run.ts';
import { labelsFor, removeByLabel, LABEL } from '../stack/containers/labels.ts';
import { BASE_IMAGE, type NginxMode } from '../stack/topology.ts';
import { join } from 'node:path';
import { ensureReady } from './lib/ready.ts';
import { REPORTS_DIR } from './lib/report.ts';
import { main, step, dim, bold } from './lib/ui.ts';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
/** `npm run bench -- --bring-up`: the bring-up part alone (a minute, not twenty), for a change to it. */
const BRING_UP_ONLY = process.argv.includes('--bring-up');
const MODES: NginxMode[] = ['host', 'container'];
const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

/** One Docker Engine API call over its socket. */
function dockerApi(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: SOCKET, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The floor: n bare containers (`sleep infinity`), created and started in parallel. Labelled like
 *  the stack's, so `stack down` and the next run's stale clean-up remove them if this run dies. */
async function floor(n: number): Promise<number> {
  const runId = `bench-${newRunId()}`;
  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const c = await dockerApi('POST', `/containers/create?name=cv-${runId}-floor${i}`, { Image: BASE_IMAGE, Cmd: ['sleep', 'infinity'], Labels: labelsFor(runId, `floor${i}`) });
      if (c.status !== 201) throw new Error(`docker create: HTTP ${c.status} ${JSON.stringify(c.json)}`);
      const s = await dockerApi('POST', `/containers/${c.json.Id}/start`);
      if (s.status !== 204) throw new Error(`docker start: HTTP ${s.status} ${JSON.stringify(s.json)}`);
    }));
    return performance.now() - t0;
  } finally {
    await removeByLabel({ runId });
  }
}

/** Memory of a run's containers from their cgroups: the sum of each one's peak since it started
 *  (cgroup v1 max_usage, v2 memory.peak) and the sum in use now. docker stats when neither is there. */
async function memory(runId: string): Promise<{ peak?: number; now: number; source: string }> {
  const ids = (await execa('docker', ['ps', '-q', '--no-trunc', '--filter', `label=${LABEL}.run=${runId}`])).stdout.split('\n').filter(Boolean);
  if (!ids.length) return { now: 0, source: 'no containers' };
  const dirs = (id: string) => [`/sys/fs/cgroup/memory/docker/${id}`, `/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`];
  const read = (id: string, files: string[]) => {
    for (const d of dirs(id)) for (const f of files) if (existsSync(`${d}/${f}`)) return Number(readFileSync(`${d}/${f}`, 'utf8').trim());
    return undefined;
  };
  const peaks = ids.map((id) => read(id, ['memory.max_usage_in_bytes', 'memory.peak']));
  const nows = ids.map((id) => read(id, ['memory.usage_in_bytes', 'memory.current']));
  if (ids.length && nows.every((x) => x !== undefined)) {
    return { peak: peaks.every((x) => x !== undefined) ? sum(peaks as number[]) : undefined, now: sum(nows as number[]), source: 'cgroup' };
  }
  const stats = await execa('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', ...ids]);
  return { now: sum(stats.stdout.split('\n').filter(Boolean).map((l) => bytes(l.split('/')[0].trim()))), source: 'docker stats' };
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const bytes = (s: string) => {
  const m = /^([\d.]+)\s*([KMGT]?i?B)$/i.exec(s);
  const unit: Record<string, number> = { B: 1, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, KB: 1e3, MB: 1e6, GB: 1e9 };
  return m ? Number(m[1]) * (unit[m[2].toUpperCase()] ?? 1) : 0;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

interface StackRun { ms: number; waves: string[]; peak?: number; now: number; source: string }

/** One full bring-up: startLocalStack until every service answers its readiness probe. */
async function stackRun(mode: NginxMode): Promise<StackRun> {
  const t = localTopology(mode);
  const waves: string[] = [];
  const t0 = performance.now();
  const stack = await startLocalStack(t, (m) => waves.push(`${sec(performance.now() - t0)} ${m}`));
  const ms = performance.now() - t0;
  try {
    return { ms, waves, ...(await memory(t.runId)) };
  } finally {
    await stack.stop();
  }
}

void main(async () => {
  await ensureReady();
  const count = Object.fromEntries(MODES.map((m) => [m, localTopology(m).services.filter((s) => s.enabled).length])) as Record<NginxMode, number>;
  const release = await holdStackLock((m) => step(m));
  const floors = new Map<number, number[]>();
  const runs: Record<NginxMode, StackRun[]> = { host: [], container: [] };
  try {
    for (let i = 1; i <= RUNS; i++) {
      for (const n of new Set(Object.values(count))) {
        const ms = await floor(n);
        floors.set(n, [...(floors.get(n) ?? []), ms]);
        step(`run ${i}/${RUNS}: floor, ${n} bare containers in parallel: ${sec(ms)}`);
      }
      for (const mode of MODES) {
        const r = await stackRun(mode);
        runs[mode].push(r);
        step(`run ${i}/${RUNS}: ${mode}-nginx stack, ${count[mode]} containers: ${sec(r.ms)}`);
        for (const w of r.waves) console.log(dim(`    ${w}`));
      }
    }
  } finally {
    release();
  }
  const ratio: Record<NginxMode, number> = { host: 0, container: 0 };
  console.log('');
  for (const [n, xs] of floors) console.log(`${bold('floor')}      ${n} bare containers: median ${sec(median(xs))} (${xs.map(sec).join(', ')})`);
  for (const mode of MODES) {
    const rs = runs[mode];
    const f = median(floors.get(count[mode])!);
    ratio[mode] = median(rs.map((r) => r.ms)) / f;
    const peak = Math.max(...rs.map((r) => r.peak ?? r.now));
    console.log(`${bold(mode.padEnd(10))} ${count[mode]} containers: median ${sec(median(rs.map((r) => r.ms)))} (${rs.map((r) => sec(r.ms)).join(', ')}); ` +
      `memory ${rs[0].peak !== undefined ? `peak ${mib(peak)} (sum of each container's peak), ` : ''}${mib(median(rs.map((r) => r.now)))} in use once up [${rs[0].source}]`);
  }
  if (BRING_UP_ONLY) return console.log(`\nbring-up ratio host ${ratio.host.toFixed(2)} container ${ratio.container.toFixed(2)}`);
  const verify = await timedCommand(['verify', '--mode', 'both']);
  const faults = await timedCommand(['faults', '--mode', 'both']);
  const cat = JSON.parse(readFileSync(join(REPORTS_DIR, 'faults.json'), 'utf8')) as { total: number; batches: number };
  console.log('');
  console.log(`verify warm: ${(verify.ms / 1000).toFixed(0)} s (both modes)${verify.code ? ` [exit ${verify.code}]` : ''}`);
  console.log(`catalogue: ${(faults.ms / 1000).toFixed(0)} s (${cat.total} faults, ${cat.batches} batches)${faults.code ? ` [exit ${faults.code}]` : ''}`);
  console.log(`bring-up ratio host ${ratio.host.toFixed(2)} container ${ratio.container.toFixed(2)}`);
});

/** A comfy-verify command as an operator runs it, from start to verdict; its output goes by, dimmed. */
async function timedCommand(args: string[]): Promise<{ ms: number; code: number }> {
  step(`timing comfy-verify ${args.join(' ')}`);
  const t0 = performance.now();
  const child = execa('npx', ['tsx', join(import.meta.dirname, 'cli.ts'), ...args], { reject: false, all: true });
  child.all?.on('data', (d: Buffer) => process.stdout.write(dim(d.toString())));
  const r = await child;
  return { ms: performance.now() - t0, code: r.exitCode ?? 2 };
}
