// No secret in any report or log: a real `verify` (container mode: nothing published but nginx) with
// known passwords, then every byte it printed or wrote is searched for every form of them.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { secretForms } from '../../stack/secrets.ts';

const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? files(p) : [p];
});

describe('no secret leaves a verify run', () => {
  it('stdout, stderr and every report hold neither password in any form', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'cv-leak-'));
    // Characters that JSON, HTML and XML escape: the forms redaction used to miss.
    const redis = `Rds"q\\<&>'${randomBytes(8).toString('hex')}`;
    const admin = `Adm"<&>'${randomBytes(8).toString('hex')}`;
    const run = await execa('npx', ['tsx', 'scripts/cli.ts', 'verify', '--mode', 'container', '--suite', 'routing,redis,health'], {
      cwd: ROOT, reject: false, all: false,
      env: { COMFY_VERIFY_REPORTS: reports, REDIS_PASSWORD: redis, ADMIN_PASSWORD: admin, ADMIN_USERNAME: 'admin', FORCE_COLOR: '0' },
    });
    expect(run.exitCode, `verify could not run:\n${run.stderr}`).not.toBe(2);
    const written = files(reports);
    expect(written.map((f) => f.slice(reports.length + 1)).sort()).toEqual(['index.html', 'junit.xml', 'verify.json']);
    // The passwords were really used: otherwise "nothing leaked" would prove nothing.
    const checks = JSON.parse(readFileSync(join(reports, 'verify.json'), 'utf8')).checks as { id: string; status: string; message: string }[];
    for (const id of ['redis.vpn-auth', 'routing.admin-auth']) expect(checks.find((c) => c.id === id), id).toMatchObject({ status: 'pass' });
    const texts: [string, string][] = [['stdout', run.stdout], ['stderr', run.stderr], ...written.map((f) => [f, readFileSync(f, 'latin1')] as [string, string])];
    for (const [where, text] of texts) {
      // The message names the form, never the text: the test's own output must not leak either.
      for (const [name, pw] of [['Redis', redis], ['admin', admin]]) {
        secretForms(pw).forEach((form, i) => expect(text.includes(form), `${where} holds the ${name} password (form ${i} of secretForms)`).toBe(false));
      }
    }
    rmSync(reports, { recursive: true, force: true }); // kept when the test fails, to look at
  }, 20 * 60_000); // may wait for another run's stack (one local stack per machine)
});
