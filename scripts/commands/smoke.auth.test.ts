// Participant access against a deployment: the local stack with per-user auth (bcrypt htpasswd, one
// file per participant) reached under the real domain name, `smoke --user-credentials FILE` as an
// operator runs it. GO, read-only, in seconds; no password in the output.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { localTopology, startLocalStack, generateUserPasswords } from '../../stack/run.ts';
import { describeStack, containerName, type Stack, type StackDescriptor } from '../../stack/stack.ts';
import { ROOT } from '../../stack/images.ts';

let stack: Stack | undefined;
let d: StackDescriptor;
let reports: string;
let creds: string;

beforeAll(async () => {
  stack = await startLocalStack(localTopology('host', { userAuth: generateUserPasswords(20) }));
  d = describeStack(stack);
  reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
  creds = join(mkdtempSync(join(tmpdir(), 'cv-creds-')), 'participants.txt');
  writeFileSync(creds, `# participants of the workshop\n${Object.entries(d.userCredentials!).map(([u, p]) => `${u}:${p}`).join('\n')}\n`, { mode: 0o600 });
}, 600_000);

afterAll(async () => { await stack?.stop(); });

const smoke = (extra: string[]) => execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), 'smoke',
  '--target', `https://${d.domain}`, '--resolve', d.publicAddress, '--ca', `${d.runDir}/tls/ca.pem`, '--vpn-address', d.vpnAddress,
  '--ssh', `${d.ssh!.user}@${d.ssh!.host}:${d.ssh!.port}`, '--ssh-key', d.ssh!.keyFile, '--known-hosts', d.ssh!.knownHostsFile,
  '--container-prefix', d.ssh!.containerPrefix, '--mode', 'host', ...extra], {
  cwd: mkdtempSync(join(tmpdir(), 'cv-cwd-')), reject: false, all: true, timeout: 180_000,
  env: { COMFY_VERIFY_REPORTS: reports, REDIS_PASSWORD: d.secrets.redisPassword, ADMIN_PASSWORD: d.secrets.adminPassword },
});

describe('smoke --user-credentials against a deployment with per-user auth', () => {
  it('GO, read-only, in seconds: each workspace opens with its own password and no other', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const t0 = Date.now();
    const r = await smoke(['--user-credentials', creds]);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.exitCode, r.all).toBe(0);
    for (const id of ['access.workspace-auth', 'access.own-credentials', 'access.cross-user', 'access.htpasswd-files', 'health.frontends', 'websocket.user-upgrade', 'browser.workspaces']) {
      expect(r.all, id).toMatch(new RegExp(`✔ \\[remote\\] ${id.replace('.', '\\.')}`));
    }
    expect(seconds).toBeLessThan(90);
    for (const p of Object.values(d.userCredentials!)) expect(r.all).not.toContain(p);
    expect(readFileSync(join(reports, 'smoke.json'), 'utf8')).not.toContain(d.userCredentials!.user001);
    const log = (await execa('docker', ['logs', '--since', since, containerName(d.runId, 'nginx')], { all: true })).all!;
    expect(log.split('\n').filter((l) => /"(POST|PUT|PATCH|DELETE) /.test(l))).toEqual([]);
  }, 240_000);

  it('a malformed credentials file is one line naming the line, never its text', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'cv-creds-')), 'bad.txt');
    writeFileSync(bad, 'user001:s3cret-one\nnot a credential line with s3cret-two\n');
    const r = await smoke(['--user-credentials', bad]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toMatch(/bad\.txt line 2: expected userNNN:password/);
    expect(r.all).not.toMatch(/s3cret/);
  }, 60_000);
});
