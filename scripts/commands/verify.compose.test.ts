// verify --compose: the operator's own compose project, brought up by docker compose v2 as written.
// fixtures/platform (a project in the platform's shape on our stand-in images) is GO in both modes;
// each variant of its files (fixtures/platform/variants.ts), a mistake an operator could make there,
// turns its intended checks red with a message naming it.
import { describe, it, expect } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { COMPOSE_VARIANTS, type ComposeVariant } from '../../fixtures/platform/variants.ts';
import { parseEnvFile as parseEnv } from '../../stack/env-file.ts';

const FIXTURE = join(ROOT, 'fixtures/platform');

async function verify(args: string[], timeout: number) {
  const reports = mkdtempSync(join(tmpdir(), 'cv-reports-'));
  const r = await execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), 'verify', ...args], {
    cwd: ROOT, reject: false, all: true, timeout, env: { COMFY_VERIFY_REPORTS: reports },
  });
  const report = JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8'));
  return { r, report, by: (id: string) => report.checks.find((c: { id: string }) => c.id === id) };
}

describe('verify --compose fixtures/platform', () => {
  it('both modes, every suite: GO, with the changes made to run it here listed', async () => {
    // Without the idle-socket minute per mode: that check's pass and its fault are the platform test's;
    // here the proof is that the compose path runs every suite to GO.
    const { r, report } = await verify(['--compose', join(FIXTURE, 'docker-compose.yml'), '--mode', 'both', '--skip', 'websocket.idle-survives'], 600_000);
    // Its .env's passwords are generated as the guide's Step 1 says, and its .env.example's are refused.
    for (const c of report.checks.filter((x: { id: string }) => x.id === 'secrets.generated')) expect(c.status, c.message).toBe('pass');
    expect(r.all).toMatch(/without websocket\.idle-survives \(--skip\)/);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/GO: compose project .*docker-compose\.yml meets the contract/);
    // Its healthchecks are the platform's own (curl, the worker's /system_stats, Python): our stand-ins
    // pass them, nothing starts late, and the worker's minute before its first probe is not waited out.
    expect(report.deployment.startup ?? []).toEqual([]);
    expect(report.rootCauses ?? []).toEqual([]);
    const changes = report.deployment.changes.map((c: { what: string }) => c.what);
    expect(changes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^OUTPUTS_PATH=\.\/data\/outputs → .*\/data\/outputs$/),
      expect.stringMatching(/^SSL_CERT_PATH=.* → .*\/tls\/fullchain\.pem$/),
      expect.stringMatching(/^worker-1: image comfy-verify\/worker:1/),
      expect.stringMatching(/^the VPN network's gateway is 100\.99\.216\.71$/),
    ]));
    // Secrets from the project's .env never reach the output.
    const env = readFileSync(join(FIXTURE, '.env'), 'utf8');
    for (const k of ['REDIS_PASSWORD', 'ADMIN_PASSWORD']) expect(r.all).not.toContain(new RegExp(`^${k}=(.*)$`, 'm').exec(env)![1]);
  }, 660_000);

  it('a project whose nginx guards each workspace with its participant\'s htpasswd file: GO with --user-credentials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-compose-auth-'));
    cpSync(FIXTURE, dir, { recursive: true });
    // As an operator adds it: htpasswd -B per participant, auth_basic in each user location, the files mounted.
    const users = Array.from({ length: 20 }, (_, i) => `user${String(i + 1).padStart(3, '0')}`);
    const creds = Object.fromEntries(users.map((u) => [u, randomBytes(9).toString('base64url')]));
    mkdirSync(join(dir, 'nginx/htpasswd'));
    await execa('docker', ['run', '--rm', '-i', '--network', 'none', '-v', `${join(dir, 'nginx/htpasswd')}:/out`, 'comfy-verify/nginx:1', 'sh', '-c',
      'while IFS=: read -r u p; do printf "%s" "$p" | htpasswd -iBc /out/"$u" "$u" 2>/dev/null; done; chown root:www-data /out/*; chmod 640 /out/*'],
      { input: users.map((u) => `${u}:${creds[u]}\n`).join('') });
    const conf = join(dir, 'nginx/conf.d/users.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^location \/(user\d{3})\/ \{\n/gm, 'location /$1/ {\n    auth_basic "workspace $1";\n    auth_basic_user_file /etc/nginx/htpasswd/$1;\n'));
    const compose = join(dir, 'docker-compose.yml');
    writeFileSync(compose, readFileSync(compose, 'utf8').replace('      - ./nginx/conf.d:/etc/nginx/conf.d:ro\n', '      - ./nginx/conf.d:/etc/nginx/conf.d:ro\n      - ./nginx/htpasswd:/etc/nginx/htpasswd:ro\n'));
    const file = join(dir, 'participants.txt');
    writeFileSync(file, users.map((u) => `${u}:${creds[u]}\n`).join(''));
    const { r, by } = await verify(['--compose', compose, '--mode', 'container', '--suite', 'access,health', '--user-credentials', file], 300_000);
    expect(r.exitCode, r.all).toBe(0);
    // (websocket's idle check would add a minute; the workspace WebSocket with credentials is access.own-credentials')
    for (const id of ['access.workspace-auth', 'access.own-credentials', 'access.cross-user', 'access.htpasswd-files', 'health.frontends']) expect(by(id)?.status, `${id}: ${by(id)?.message}`).toBe('pass');
    for (const p of Object.values(creds)) expect(r.all).not.toContain(p);
  }, 330_000);

  // A mode's variants run together, as the catalogue's faults do: one project with all their edits
  // (different files or lines, different checks), judged in one pass. Each one's checks must turn red,
  // and no other check of the suites run may (so none hides or stands in for another).
  const groups = [...new Set(COMPOSE_VARIANTS.map((v) => v.mode))].flatMap((mode) => {
    const of = COMPOSE_VARIANTS.filter((v) => v.mode === mode);
    return [of.filter((v) => !v.alone), ...of.filter((v) => v.alone).map((v) => [v])].filter((g) => g.length);
  });
  const runs = new Map<ComposeVariant[], ReturnType<typeof verify>>();
  const runGroup = (g: ComposeVariant[]) => {
    if (!runs.has(g)) {
      const dir = mkdtempSync(join(tmpdir(), `cv-compose-${g.map((v) => v.id).join('+').slice(0, 80)}-`));
      cpSync(FIXTURE, dir, { recursive: true });
      for (const v of g) for (const [file, edit] of Object.entries(v.edits)) writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
      const suites = [...new Set(g.flatMap((v) => v.suites))];
      runs.set(g, verify(['--compose', join(dir, 'docker-compose.yml'), '--mode', g[0].mode, '--suite', suites.join(',')], 300_000));
    }
    return runs.get(g)!;
  };

  it('variants that run together expect different checks', () => {
    for (const g of groups) {
      const ids = g.flatMap((v) => [...Object.keys(v.expect), ...Object.keys(v.warn ?? {})]);
      expect(new Set(ids).size, g.map((v) => v.id).join(', ')).toBe(ids.length);
    }
  });

  for (const v of COMPOSE_VARIANTS) {
    const g = groups.find((x) => x.includes(v))!;
    const others = g.filter((x) => x !== v).map((x) => x.id);
    const what = [Object.keys(v.expect).length ? `${Object.keys(v.expect).join(', ')} red` : '', v.warn ? `${Object.keys(v.warn).join(', ')} warned` : '',
      v.startup ? (v.startup.kind === 'late' ? 'a late start warned, with its timing' : 'the harness\'s own healthcheck problem said, GO') : ''].filter(Boolean).join(', ');
    it(`variant ${v.id}: ${what}${others.length ? ` (run with ${others.join(', ')})` : ''}`, async () => {
      const { r, by, report } = await runGroup(g);
      // Warnings alone leave a GO.
      expect(r.exitCode, r.all).toBe(g.some((x) => Object.keys(x.expect).length) ? 1 : 0);
      for (const [id, message] of Object.entries(v.expect)) {
        expect(by(id)?.status, `${id}: ${by(id)?.message}`).toBe('fail');
        expect(by(id).message).toMatch(message);
      }
      for (const [id, message] of Object.entries(v.warn ?? {})) {
        expect(by(id)?.status, `${id}: ${by(id)?.message}`).toBe('warn');
        expect(by(id).message).toMatch(message);
      }
      if (v.startup) {
        const notes = (report.deployment.startup ?? []).filter((x: { kind: string }) => x.kind === v.startup!.kind).map((x: { text: string }) => x.text);
        expect(notes.some((t: string) => v.startup!.text.test(t)), `start-up notes: ${notes.join(' | ')}`).toBe(true);
        // Late or unjudgeable is not dead: no root cause, nothing blocked.
        expect(report.rootCauses ?? []).toEqual([]);
      }
      // The passwords the variant wrote (the example's are public, but they are this run's passwords) never show.
      const env = parseEnv(Object.values(v.edits).length && v.edits['.env'] ? v.edits['.env'](readFileSync(join(FIXTURE, '.env'), 'utf8')) : '');
      for (const k of ['REDIS_PASSWORD', 'ADMIN_PASSWORD']) if (env[k] && env[k].length >= 4) expect(r.all.includes(env[k]), `${k}'s value in the output`).toBe(false);
      if (g.length === 1) return; // alone, what its cause blocks is its own
      // Variants that run together take no service down: a root cause here would be noise beside their findings.
      expect(report.rootCauses ?? []).toEqual([]);
      const expected = new Set(g.flatMap((x) => Object.keys(x.expect)));
      const unrelated = report.checks.filter((c: { id: string; status: string }) => c.status === 'fail' && !expected.has(c.id));
      expect(unrelated.map((c: { id: string; message: string }) => `${c.id}: ${c.message}`)).toEqual([]);
    }, 330_000);
  }
});
