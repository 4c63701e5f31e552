// Remote mode for real: the local stack reached under the real domain name (--resolve to its
// public address, SNI comfy.ahelme.net, our generated CA trusted), `smoke`, `checklist` and
// `verify --target` run as the operator runs them (child processes), the host over SSH into the
// stand-in host. Read-only is proved from the server's side: nginx's access log.
// Never the real comfy.ahelme.net: every run passes --resolve to a local address.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { localTopology, startLocalStack } from '../../stack/run.ts';
import { describeStack, containerName, type Stack, type StackDescriptor } from '../../stack/stack.ts';
import { sshHost } from '../../suites/lib/ssh-host.ts';
import { ROOT } from '../../stack/images.ts';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
const WRITE_METHODS = /"(POST|PUT|PATCH|DELETE) /;

let stack: Stack | undefined;
let d: StackDescriptor;
let reports: string;

/** The CLI as an operator runs it, from an empty directory (no stray .env), with the run's secrets in the environment. */
const cli = (args: string[], env: Record<string, string> = {}) => execa(TSX, [join(ROOT, 'scripts/cli.ts'), ...args], {
  cwd: mkdtempSync(join(tmpdir(), 'cv-cwd-')), reject: false, all: true, timeout: 120_000,
  env: { COMFY_VERIFY_REPORTS: reports, REDIS_PASSWORD: d.secrets.redisPassword, ADMIN_PASSWORD: d.secrets.adminPassword, ...env },
});
const remote = () => ['--target', `https://${d.domain}`, '--resolve', d.publicAddress, '--ca', `${d.runDir}/tls/ca.pem`];
const ssh = () => ['--ssh', `${d.ssh!.user}@${d.ssh!.host}:${d.ssh!.port}`, '--ssh-key', d.ssh!.keyFile, '--known-hosts', d.ssh!.knownHostsFile, '--container-prefix', d.ssh!.containerPrefix];

/** Request lines nginx logged since `since` (it logs `"$request"` to stdout). */
async function nginxRequests(since: string): Promise<string[]> {
  const r = await execa('docker', ['logs', '--since', since, containerName(d.runId, 'nginx')], { all: true });
  return r.all!.split('\n').filter((l) => /"[A-Z]+ \S+ HTTP\//.test(l));
}

beforeAll(async () => {
  stack = await startLocalStack(localTopology('container'));
  d = describeStack(stack);
  reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
}, 600_000); // the stack lock may make it wait for another run

afterAll(async () => {
  await stack?.stop();
});

describe('remote mode against the local stack under its real name', () => {
  it('smoke: every read-only check passes, host checks over SSH, and nginx saw no write', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const t0 = Date.now();
    const r = await cli(['smoke', ...remote(), '--vpn-address', d.vpnAddress, ...ssh(), '--mode', 'container']);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.exitCode, r.all).toBe(0);
    for (const id of ['health.frontends', 'websocket.user-upgrade', 'tls.chain', 'exposure.public-ports', 'redis.vpn-auth', 'host.output-dirs', 'host.firewall']) {
      expect(r.all, id).toMatch(new RegExp(`[✔⚠] \\[remote\\] ${id.replace('.', '\\.')}`));
    }
    expect(r.all).toMatch(/checks that write were not run/);
    // Identity needs a file written in each user's outputs: not in a read-only run, and listed as such.
    const smoke = JSON.parse(readFileSync(join(reports, 'smoke.json'), 'utf8'));
    expect(smoke.checks.find((c: { id: string }) => c.id === 'routing.user-identity')).toMatchObject({ status: 'skip', outOfProfile: true });
    expect(smoke.partial).toBeUndefined();
    expect(r.all).not.toContain(d.secrets.redisPassword);
    expect(seconds, 'smoke takes seconds').toBeLessThan(60);
    const requests = await nginxRequests(since);
    expect(requests.length, 'nginx logged the smoke run').toBeGreaterThan(40);
    expect(requests.filter((l) => WRITE_METHODS.test(l))).toEqual([]);
  }, 120_000);

  it('smoke --allow-writes does write (so the log above would have shown it)', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const r = await cli(['smoke', ...remote(), '--allow-writes', ...ssh(), '--suite', 'routing,websocket']);
    expect(r.exitCode, r.all).toBe(0);
    expect((await nginxRequests(since)).filter((l) => WRITE_METHODS.test(l)).length).toBeGreaterThan(0);
  }, 120_000);

  it('checklist: items with ✅, ⏭ where a check could not run (never ✅), written to checklist.md', async () => {
    // The VPN address from the .env name this time (smoke above used --vpn-address).
    const r = await cli(['checklist', ...remote(), '--quick', ...ssh(), '--mode', 'container'], { REDIS_BIND_IP: d.vpnAddress });
    // Without --allow-writes the job items could not be verified: a partial GO, exit 3 (what --quick left out does not count).
    expect(r.exitCode, r.all).toBe(3);
    expect(r.all).toMatch(/GO \(partial: \d+ of \d+ checks not run\)/);
    expect(r.all).toMatch(/✅ 8\.1 \/health answers "OK"/);
    // No --allow-writes: the job item cannot be verified, and says why.
    expect(r.all).toMatch(/⏭ 8\.4 A queued job[^\n]*\n\s+⏭ websocket\.job-event: needs the write flag/);
    expect(r.all).toMatch(/⏭ Idle WebSockets[^\n]*\n\s+⏭ websocket\.idle-survives: left out by --quick/);
    const md = readFileSync(join(reports, 'checklist.md'), 'utf8');
    expect(md).toMatch(/^# Pre-workshop checklist: https:\/\/comfy\.ahelme\.net via /);
    expect(md).toContain('| ✅ | 8.5 Tailscale is up with the address Redis binds to |');
    expect(md).toContain('## T-1 hour');
  }, 180_000);

  it('verify --target: the suites against the domain, reports written; a wrong user count fails (exit 1)', async () => {
    const ok = await cli(['verify', ...remote(), '--suite', 'health,tls']);
    expect(ok.exitCode, ok.all).toBe(0);
    const report = JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8'));
    expect(report.modes).toEqual(['remote']);
    expect(report.verdict).toBe('GO');
    const bad = await cli(['smoke', ...remote(), '--suite', 'health', '--users', String(d.users + 1)]);
    expect(bad.exitCode, bad.all).toBe(1);
    expect(bad.all).toMatch(/user021/);
  }, 120_000);

  it('--allow-disruption: the resilience suite restarts containers over SSH with the host\'s docker; without it, listed as left out', async () => {
    const left = await cli(['verify', ...remote(), '--allow-writes', ...ssh(), '--suite', 'resilience'], { JOB_TIMEOUT: String(d.queue!.jobTimeoutSeconds) });
    expect(left.exitCode, left.all).toBe(0);
    expect(JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8')).checks.map((c: { status: string; outOfProfile?: boolean }) => `${c.status}${c.outOfProfile ? ' (out of profile)' : ''}`))
      .toEqual(Array(4).fill('skip (out of profile)'));
    const r = await cli(['verify', ...remote(), '--allow-writes', '--allow-disruption', ...ssh(), '--suite', 'resilience'], { JOB_TIMEOUT: String(d.queue!.jobTimeoutSeconds) });
    expect(r.exitCode, r.all).toBe(0);
    const report = JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8'));
    expect(report.checks.map((c: { id: string; status: string }) => `${c.id} ${c.status}`).sort()).toEqual([
      'resilience.queue-manager-restart pass', 'resilience.recreated-containers pass', 'resilience.redis-restart warn', 'resilience.worker-vanishes pass',
    ]);
  }, 240_000);
});

describe('SSH host access against the stand-in host', () => {
  it('runs commands with arguments intact, and docker exec into the services', async () => {
    const h = sshHost(d.ssh!);
    try {
      await h.preflight();
      const echo = await h.run(['sh', '-c', 'printf "%s|" "$@"', 'sh', "it's", 'a b', '$HOME']);
      expect(echo).toMatchObject({ exitCode: 0, stdout: "it's|a b|$HOME|" });
      expect((await h.run(['false'])).exitCode).toBe(1);
      expect((await h.serviceExec('user002', ['printenv', 'USER_ID'])).stdout.trim()).toBe('user002');
      const many = await Promise.all(d.users > 0 ? Array.from({ length: 20 }, (_, i) => h.run(['echo', String(i)])) : []);
      expect(many.map((x) => x.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      await h.close();
    }
  }, 60_000);

  it('a key the host does not know is refused, with ssh\'s words', async () => {
    const other = mkdtempSync(join(tmpdir(), 'cv-key-'));
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${other}/k`]);
    const h = sshHost({ ...d.ssh!, keyFile: `${other}/k` });
    await expect(h.preflight()).rejects.toThrow(/Permission denied/);
    await h.close();
    expect(existsSync(d.ssh!.knownHostsFile)).toBe(true);
  }, 60_000);
});
