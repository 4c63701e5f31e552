// Nothing leaks: after Ctrl-C at once; after a run killed outright (kill -9) within 15 s, by the run's
// reaper, with no further command, also for verify --compose's compose project; and a run started
// meanwhile is left alone.
import { describe, it, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './images.ts';

/** Starts a CLI command as one node process (no npx wrapper, so a signal reaches the right process). */
function cli(args: string[]): { child: ChildProcess; output: () => string; waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' },
  });
  let out = '';
  const waiters = new Set<() => void>();
  const feed = (d: Buffer) => { out += d; for (const w of waiters) w(); };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  const waitFor = (re: RegExp, timeoutMs = 180_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const m = re.exec(out);
      if (m) { waiters.delete(check); clearTimeout(timer); child.off('exit', onExit); resolve(m); }
    };
    const onExit = (code: number | null) => { waiters.delete(check); clearTimeout(timer); reject(new Error(`${args.join(' ')} exited ${code} before ${re}: ${out}`)); };
    const timer = setTimeout(() => { waiters.delete(check); child.off('exit', onExit); reject(new Error(`no ${re} within ${timeoutMs / 1000} s: ${out}`)); }, timeoutMs);
    waiters.add(check);
    child.once('exit', onExit);
    check();
  });
  return { child, output: () => out, waitFor };
}

/** `stack up` until it is up; resolves with its run id. */
async function stackUp(): Promise<{ child: ChildProcess; run: string; waitFor: ReturnType<typeof cli>['waitFor'] }> {
  const c = cli(['stack', 'up', '--mode', 'container', '--users', '1']);
  const run = (await c.waitFor(/\(run ([0-9a-f]+)\)/))[1];
  await c.waitFor(/stack up in/);
  return { child: c.child, run, waitFor: c.waitFor };
}

const lines = (s: string) => s.split('\n').filter(Boolean);
async function listed(filter: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const q = (args: string[]) => execa('docker', [...args, '--filter', `label=${filter}`, '-q']).then((r) => lines(r.stdout).sort());
  const [containers, networks, volumes] = await Promise.all([q(['ps', '-a']), q(['network', 'ls']), q(['volume', 'ls'])]);
  return { containers, networks, volumes };
}
const count = (l: Awaited<ReturnType<typeof listed>>) => l.containers.length + l.networks.length + l.volumes.length;
const resourcesOf = async (run: string) => count(await listed(`comfy-verify.run=${run}`));

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

/** Polls until `left()` is 0; the seconds that took, or undefined after `withinMs`. */
async function goneWithin(left: () => Promise<number>, withinMs: number, t0 = Date.now()): Promise<number | undefined> {
  while (Date.now() - t0 < withinMs) {
    if ((await left()) === 0) return (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 250));
  }
  return (await left()) === 0 ? (Date.now() - t0) / 1000 : undefined;
}

async function kill9(c: ChildProcess): Promise<number> {
  c.kill('SIGKILL');
  await exited(c);
  return Date.now();
}

describe('clean-up', () => {
  it('Ctrl-C removes everything the run created', async () => {
    const { child, run } = await stackUp();
    expect(await resourcesOf(run)).toBeGreaterThan(0);
    child.kill('SIGINT');
    await exited(child);
    expect(await resourcesOf(run)).toBe(0);
  }, 120_000);

  it('a run killed outright is gone within 15 s with no further command (its reaper removes it, then itself)', async () => {
    const { child, run } = await stackUp();
    expect((await listed(`comfy-verify.run=${run}`)).containers.length).toBeGreaterThan(1);
    const t0 = await kill9(child);
    const s = await goneWithin(() => resourcesOf(run), 15_000, t0);
    console.log(`stack up killed: everything of run ${run} gone ${s?.toFixed(1)} s after kill -9`);
    expect(s, `left after 15 s: ${JSON.stringify(await listed(`comfy-verify.run=${run}`))}`).toBeDefined();
  }, 120_000);

  it('a run started meanwhile is untouched by the killed run\'s reaper', async () => {
    const a = await stackUp();
    // B waits for A's stack lock; A's death hands it over, and B comes up while A's reaper does its work.
    const b = cli(['stack', 'up', '--mode', 'container', '--users', '1']);
    const runB = (await b.waitFor(/\(run ([0-9a-f]+)\)/))[1];
    await b.waitFor(/waiting for it to finish/);
    const t0 = await kill9(a.child);
    let overlapped = false;
    const s = await goneWithin(async () => {
      const left = await listed(`comfy-verify.run=${a.run}`);
      if (left.containers.length && (await resourcesOf(runB)) > 0) overlapped = true; // A's reaper still there, B's run already is
      return count(left);
    }, 15_000, t0);
    console.log(`killed with a second run starting: run ${a.run} gone ${s?.toFixed(1)} s after kill -9`);
    expect(s, `left after 15 s: ${JSON.stringify(await listed(`comfy-verify.run=${a.run}`))}`).toBeDefined();
    expect(overlapped, 'the second run had resources while the first run\'s reaper was there').toBe(true);
    await b.waitFor(/stack up in/);
    const before = await listed(`comfy-verify.run=${runB}`);
    // (B's own stale sweep leaves A's reaper to finish: B is up and A's reaper may still be at work)
    await goneWithin(() => resourcesOf(a.run), 15_000);
    const after = await listed(`comfy-verify.run=${runB}`);
    expect(after).toEqual(before);
    const states = await execa('docker', ['ps', '-a', '--filter', `label=comfy-verify.run=${runB}`, '--format', '{{.State}}']);
    expect(new Set(lines(states.stdout))).toEqual(new Set(['running']));
    b.child.kill('SIGINT');
    await exited(b.child);
    expect(await resourcesOf(runB)).toBe(0);
  }, 180_000);

  it('verify --compose killed outright: the compose project and the harness are gone within 15 s', async () => {
    const v = cli(['verify', '--compose', join(ROOT, 'fixtures/platform/docker-compose.yml'), '--mode', 'container', '--suite', 'health']);
    await v.waitFor(/compose project up/, 240_000);
    // Everything of this run carries its pid; the project's name is cv-<run>.
    const r = await execa('docker', ['ps', '-a', '--filter', `label=comfy-verify.pid=${v.child.pid}`, '--format', '{{.Label "comfy-verify.run"}}']);
    const run = lines(r.stdout)[0];
    expect(run).toMatch(/^[0-9a-f]+$/);
    const project = `com.docker.compose.project=cv-${run}`;
    expect((await listed(project)).containers.length).toBeGreaterThan(5);
    const t0 = await kill9(v.child);
    const left = async () => (await resourcesOf(run)) + count(await listed(project));
    const s = await goneWithin(left, 15_000, t0);
    console.log(`verify --compose killed: run ${run} and its compose project gone ${s?.toFixed(1)} s after kill -9`);
    expect(s, `left after 15 s: ${JSON.stringify({ run: await listed(`comfy-verify.run=${run}`), project: await listed(project) })}`).toBeDefined();
  }, 300_000);

  it('a reaper no process ever reached (a kill before the connection) still removes its run\'s', async () => {
    const run = `t${randomBytes(3).toString('hex')}`;
    const labels = ['--label', 'comfy-verify=1', '--label', `comfy-verify.run=${run}`, '--label', 'comfy-verify.pid=1'];
    await execa('docker', ['run', '-d', '--rm', ...labels, '--label', 'comfy-verify.service=reaper', '-v', '/var/run/docker.sock:/var/run/docker.sock',
      '-e', `REAPER_FILTERS=label=comfy-verify.run=${run}`, '-e', 'RYUK_CONNECTION_TIMEOUT=2s', 'comfy-verify/reaper:1']);
    await execa('docker', ['network', 'create', ...labels, `cv-${run}-net`]);
    await execa('docker', ['volume', 'create', ...labels, `cv-${run}-vol`]);
    expect(await resourcesOf(run)).toBe(3);
    const s = await goneWithin(() => resourcesOf(run), 15_000);
    expect(s, `left: ${JSON.stringify(await listed(`comfy-verify.run=${run}`))}`).toBeDefined();
  }, 60_000);

  it('testcontainers\' own Ryuk mechanism runs on our reaper image (RYUK_CONTAINER_IMAGE)', async () => {
    const tag = randomBytes(4).toString('hex');
    const script = `import { GenericContainer } from 'testcontainers';
      const c = await new GenericContainer('comfy-verify/base:1').withCommand(['sleep', '600']).withLabels({ 'comfy-verify.test': '${tag}' }).start();
      console.log('started', c.getId());
      setInterval(() => {}, 1 << 30);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'false', RYUK_CONTAINER_IMAGE: 'comfy-verify/reaper:1', TESTCONTAINERS_RYUK_RECONNECTION_TIMEOUT: '2s' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('started') && resolve());
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    try {
      const session = (await execa('docker', ['ps', '-a', '--filter', `label=comfy-verify.test=${tag}`, '--format', '{{.Label "org.testcontainers.session-id"}}'])).stdout.trim();
      expect(session).not.toBe('');
      // the container, and testcontainers' reaper (named for the session, which labels it too)
      const ours = async () => (await listed(`org.testcontainers.session-id=${session}`)).containers.length;
      expect(lines((await execa('docker', ['ps', '--filter', `label=org.testcontainers.session-id=${session}`, '--format', '{{.Image}}'])).stdout).sort())
        .toEqual(['comfy-verify/base:1', 'comfy-verify/reaper:1']);
      const t0 = await kill9(child);
      const s = await goneWithin(ours, 15_000, t0);
      console.log(`testcontainers on our reaper: the session gone ${s?.toFixed(1)} s after kill -9`);
      expect(s).toBeDefined();
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
