import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redact, redactDeep, registerSecret, secretForms } from '../../stack/secrets.ts';

describe('redact', () => {
  const pw = 'S3cret-Redis-Pw-4f9a';
  registerSecret(pw);

  it('replaces a registered secret wherever it appears', () => {
    expect(redact(`AUTH ${pw}\n${pw}${pw}`)).toBe('AUTH «redacted»\n«redacted»«redacted»');
  });

  it('masks the base64 of a secret in a Basic-auth header, whatever the user name\'s length', () => {
    registerSecret('adminpw-xyz-123');
    for (const user of ['admin', 'root', 'op', 'workshop']) {
      const header = `Basic ${Buffer.from(`${user}:adminpw-xyz-123`).toString('base64')}`;
      const out = redact(header);
      expect(out, user).toContain('«redacted»');
      // What is left decodes to at most the user name and a byte or two at the edges, never the password.
      const left = out.replace(/^Basic /, '').split('«redacted»').map((x) => Buffer.from(x, 'base64').toString('latin1')).join('');
      expect(left, user).not.toMatch(/pw-xyz|xyz-1/);
    }
  });

  it('ignores values too short to be told from ordinary words', () => {
    registerSecret('abc');
    registerSecret(undefined);
    expect(redact('abc abcdef')).toBe('abc abcdef');
  });

  it('redactDeep redacts strings and keys inside objects and arrays, before any escaping', () => {
    const tricky = 'pw"with\\quote<&>';
    registerSecret(tricky);
    const v = redactDeep({ a: [`x ${tricky}`, 3, null, { [tricky]: true }], b: { c: tricky } });
    expect(v).toEqual({ a: ['x «redacted»', 3, null, { '«redacted»': true }], b: { c: '«redacted»' } });
    // Serializing first would have escaped the quote and backslash, and redact() would no longer find it.
    expect(redact(JSON.stringify({ c: tricky }))).toContain('pw\\"with');
  });

  it('writeReports leaves no form of a secret in verify.json, junit.xml or index.html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-secrets-'));
    process.env.COMFY_VERIFY_REPORTS = dir;
    const { buildReport, writeReports } = await import('./report.ts');
    const secret = `Adm<in>&"pw'\\${Date.now()}`;
    registerSecret(secret);
    const r = buildReport('t', ['host'], [{
      id: 'routing.admin-auth', suite: 'routing', title: 'admin', status: 'fail', message: `sent ${secret}`, durationMs: 1, target: 't', mode: 'host',
      evidence: [{ label: secret, sent: { password: secret, header: `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}` }, seen: [secret] }],
    }], 1);
    writeReports(r);
    const files = readdirSync(dir);
    expect(files.sort()).toEqual(['index.html', 'junit.xml', 'verify.json']);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const form of secretForms(secret)) expect(text, `${f} holds ${form}`).not.toContain(form);
      expect(text).toContain('«redacted»');
    }
  });
});
