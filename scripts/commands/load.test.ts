// The load test for real: the local stack (container-nginx mode) reached under the real domain
// name with --resolve and our CA, the `load` command run as an operator runs it (a child process).
// Never the real comfy.ahelme.net: every run passes --resolve to a local address.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { localTopology, startLocalStack, generateUserPasswords } from '../../stack/run.ts';
import { describeStack, containerName, type Stack, type StackDescriptor } from '../../stack/stack.ts';
import { localTarget } from '../../suites/lib/local-target.ts';
import { ROOT } from '../../stack/images.ts';
import { workflowFixtureText } from './load.ts';
import type { LoadReport } from '../lib/load/report.ts';
import { fakeK6 } from '../lib/load/fake-k6.ts';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
let stack: Stack | undefined;
let d: StackDescriptor;
let reports: string;

const cli = (args: string[], env: Record<string, string> = {}) => execa(TSX, [join(ROOT, 'scripts/cli.ts'), 'load', ...args], {
  cwd: mkdtempSync(join(tmpdir(), 'cv-cwd-')), reject: false, all: true, timeout: 180_000, env: { COMFY_VERIFY_REPORTS: reports, ...env },
});
let creds: string;
const remote = () => ['--target', `https://${d.domain}`, '--resolve', d.publicAddress, '--ca', `${d.runDir}/tls/ca.pem`, '--user-credentials', creds];
const report = () => JSON.parse(readFileSync(join(reports, 'load', 'summary.json'), 'utf8')) as LoadReport;
/** The shim's smoke report, to hold the k6 engine's to the same shape. */
let shimReport: LoadReport | undefined;
/** An object's key paths (the script's summary, the engine's details and arrays are contents, not shape). */
const shape = (o: unknown, at = ''): string[] => (o && typeof o === 'object' && !Array.isArray(o) && !['summary.', 'run.engine.'].includes(at)
  ? Object.entries(o).flatMap(([k, v]) => [`${at}${k}`, ...shape(v, `${at}${k}.`)]) : []);
const queue = async () => JSON.parse((await localTarget(d).request('/api/queue/status')).body) as { pending_jobs: number; running_jobs: number };

beforeAll(async () => {
  // A quick mock GPU, as `npm run load` uses: the platform is under test, not the GPU. Each workspace
  // behind its participant's own Basic auth, as a live deployment: every participant logs in.
  stack = await startLocalStack(localTopology('container', { worker: { delayMs: 200 }, userAuth: generateUserPasswords(20) }));
  d = describeStack(stack);
  creds = join(mkdtempSync(join(tmpdir(), 'cv-creds-')), 'participants.txt');
  writeFileSync(creds, Object.entries(d.userCredentials!).map(([u, p]) => `${u}:${p}\n`).join(''));
  reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

describe('load', () => {
  it('the committed workflow fixture is what fixtures/workflows.ts generates, 70-100 KB', () => {
    const text = readFileSync(join(ROOT, 'fixtures/load/workflow.json'), 'utf8');
    expect(text).toBe(workflowFixtureText());
    expect(text.length).toBeGreaterThan(70_000);
    expect(text.length).toBeLessThan(100_000);
  });

  it('smoke: 20 participants, one job each, every threshold met; the report says so', async () => {
    const r = await cli(['--scenario', 'smoke', ...remote(), '--allow-writes']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/PASS: 20 users, every threshold met/);
    const s = report();
    expect(s.verdict).toBe('pass');
    expect(s.scenario).toBe('smoke');
    expect(s.jobsCompleted).toBe(20);
    expect(s.perUser.map((u) => [u.user, u.jobs])).toEqual(Array.from({ length: 20 }, (_, i) => [`user${String(i + 1).padStart(3, '0')}`, 1]));
    expect(s.thresholds.length).toBeGreaterThanOrEqual(9);
    expect(s.thresholds.every((t) => t.ok)).toBe(true);
    // every participant's journey happened: page, socket, job, output
    const checks = Object.fromEntries(s.summary.checks.map((c) => [c.name, c]));
    for (const name of ['workspace page is ComfyUI', 'system_stats answers', 'job accepted (201)', 'job completed', 'output image served']) {
      expect(checks[name], name).toMatchObject({ passes: 20, fails: 0 });
    }
    expect(s.latency.wsRtt.count).toBeGreaterThanOrEqual(20);
    expect(s.series.queue.length).toBeGreaterThan(0);
    expect(s.cleanup).toMatchObject({ submitted: 20, deleted: 0, leftFinished: 20 });
    expect(s.engine).toMatch(/^comfy-verify k6 shim v\S+ \(built in\)$/);
    expect(r.all).toContain(`engine: ${s.engine}`);
    const html = readFileSync(join(reports, 'load', 'index.html'), 'utf8');
    expect(html).toMatch(/PASS — 20 participants, every threshold met/);
    expect(html).toContain('<svg');
    shimReport = s;
  }, 200_000);

  it("smoke on the operator's k6 (a fake k6 on PATH: the shim behind k6's command line): the same report, naming its engine", async () => {
    const bin = mkdtempSync(join(tmpdir(), 'cv-k6-bin-'));
    fakeK6(bin);
    // The fake k6 is a second Node process (and 20 VU threads) beside this harness and the stack on a
    // 2-core machine: what this test proves is the engine's plumbing, not latency, so the latency
    // limits are wide (-e, as an operator sets them); the shim's own smoke above keeps the real ones.
    const wide = ['P95_PAGE_MS=10000', 'P95_API_MS=5000', 'P95_WS_CONNECT_MS=10000', 'P95_WS_RTT_MS=5000'].flatMap((kv) => ['-e', kv]);
    const r = await cli(['--scenario', 'smoke', '--engine', 'k6', ...remote(), '--allow-writes', ...wide], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/PASS: 20 users, every threshold met/);
    const s = report();
    expect(s.engine).toBe(`comfy-verify k6 shim v${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} (the operator's k6 at ${bin}/k6)`);
    expect(s.run.engine).toEqual({ kind: 'k6', path: `${bin}/k6`, version: expect.any(String) });
    expect(r.all).toContain(`engine: ${s.engine}`);
    expect(s).toMatchObject({ verdict: 'pass', scenario: 'smoke', jobsCompleted: 20, jobsFailed: 0, cleanup: { submitted: 20, leftFinished: 20 } });
    // every participant logged in (their passwords reached k6 through its environment) and did it all
    for (const c of s.summary.checks) expect(c, c.name).toMatchObject({ passes: 20, fails: 0 });
    expect(s.summary.checks.length).toBe(5);
    expect(s.perUser.map((u) => u.jobs)).toEqual(Array(20).fill(1));
    // the live samples came through k6's JSON output: latencies, the queue, the VUs
    expect(s.latency.wsRtt.count).toBeGreaterThanOrEqual(20);
    expect(s.latency.page.count).toBe(20);
    expect(s.series.queue.length).toBeGreaterThan(0);
    expect(s.generator.cpuSeconds).toBeGreaterThan(0);
    expect(s.generator.eventLoopDelayP99Ms).toBeNull();
    if (shimReport) expect(shape(s)).toEqual(shape(shimReport));
    // -e on k6's command line, never a password
    const argv = readFileSync(join(bin, 'argv.txt'), 'utf8');
    expect(argv).toMatch(/\nSCENARIO=smoke\n/);
    for (const p of Object.values(d.userCredentials!)) expect(argv).not.toContain(p);
    const html = readFileSync(join(reports, 'load', 'index.html'), 'utf8');
    expect(html).toContain(`engine: ${s.engine}`);
  }, 200_000);

  it('a broken threshold is exit 1 with the reason', async () => {
    const r = await cli(['--scenario', 'smoke', '--users', '3', ...remote(), '--allow-writes', '-e', 'P95_API_MS=0.5']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/FAIL: http_req_duration\{kind:api\} p\(95\)<0\.5: measured \d+ ms/);
    expect(report().verdict).toBe('fail');
  }, 200_000);

  it('refuses a remote target without --allow-writes, and caps users and duration', async () => {
    const before = await queue();
    for (const [args, msg] of [
      [[], /refusing to load .* --allow-writes/s],
      [['--allow-writes', '--users', '41'], /--users must be a whole number from 1 to 40 against a remote target/],
      [['--allow-writes', '--duration', '16m'], /at most 15 minutes/],
    ] as const) {
      const r = await cli(['--scenario', 'workshop', ...remote(), ...args]);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(msg);
    }
    expect(await queue()).toEqual(before);
  }, 60_000);

  it('Ctrl-C: the run stops, the pending jobs it created are deleted, exit 2', async () => {
    // No GPU worker: every job stays pending.
    await execa('docker', ['stop', '-t', '1', containerName(d.runId, 'worker')]);
    try {
      const run = cli(['--scenario', 'workshop', '--users', '4', '--duration', '2m', ...remote(), '--allow-writes']);
      const deadline = Date.now() + 60_000;
      while ((await queue()).pending_jobs < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect((await queue()).pending_jobs).toBe(4);
      run.kill('SIGINT');
      const r = await run;
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(/deleted 4 unfinished job\(s\)/);
      expect((await queue()).pending_jobs).toBe(0);
      expect(report().reasons.join()).toMatch(/interrupted/);
    } finally {
      await execa('docker', ['start', containerName(d.runId, 'worker')]);
    }
  }, 120_000);
});
