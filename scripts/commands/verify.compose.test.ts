// verify --compose: the operator's own compose project, brought up by docker compose v2 as written.
// fixtures/platform (a project in the platform's shape on our stand-in images) is GO in both modes;
// each variant of its files (fixtures/platform/variants.ts), a mistake an operator could make there,
// turns its intended checks red with a message naming it.
import { describe, it, expect } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { COMPOSE_VARIANTS } from '../../fixtures/platform/variants.ts';

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
    const { r, report } = await verify(['--compose', join(FIXTURE, 'docker-compose.yml'), '--mode', 'both'], 600_000);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/GO: compose project .*docker-compose\.yml meets the contract/);
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

  for (const v of COMPOSE_VARIANTS) {
    it(`variant ${v.id}: ${v.expect ? Object.keys(v.expect).join(', ') : ''} red`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `cv-compose-${v.id}-`));
      cpSync(FIXTURE, dir, { recursive: true });
      for (const [file, edit] of Object.entries(v.edits)) writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
      const { r, by } = await verify(['--compose', join(dir, 'docker-compose.yml'), '--mode', v.mode, '--suite', v.suites.join(',')], 300_000);
      expect(r.exitCode, r.all).toBe(1);
      for (const [id, message] of Object.entries(v.expect)) {
        expect(by(id)?.status, `${id}: ${by(id)?.message}`).toBe('fail');
        expect(by(id).message).toMatch(message);
      }
    }, 330_000);
  }
});
