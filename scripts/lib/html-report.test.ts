import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml, readExtras, loadView } from './html-report.ts';
import { buildReport, type ModeResult } from './report.ts';
import { registerSecret } from '../../stack/secrets.ts';
import type { Status } from '../../suites/lib/check.ts';

const check = (id: string, status: Status, extra: Partial<ModeResult> = {}): ModeResult => ({
  id, suite: id.split('.')[0] as ModeResult['suite'], title: `title of ${id}`, status, message: `message of ${id}`,
  evidence: [{ label: `evidence of ${id}`, sent: `GET /${id}`, seen: { status: 200 } }], durationMs: 12, target: 't', mode: 'host', ...extra,
});

const checks = [
  check('health.nginx', 'pass'),
  check('health.admin', 'fail'),
  check('routing.root', 'pass'),
  check('routing.cors', 'warn'),
  check('tls.expiry', 'skip'),
  check('routing.root', 'fail', { mode: 'container' }),
  check('isolation.view', 'fail', { evidence: [{ label: 'tricky <b>label</b>', seen: { body: '<script>alert("x")</script>' } }], message: 'saw <img src=x onerror=alert(1)>' }),
];
const report = buildReport('local stack', ['host', 'container'], checks, 83_000);

describe('the HTML report', () => {
  const html = renderHtml(report);

  it('puts the verdict first, with target, modes, counts and duration', () => {
    const body = html.slice(html.indexOf('<body>'));
    const verdict = body.indexOf('NO-GO');
    expect(verdict).toBeGreaterThan(0);
    expect(verdict).toBeLessThan(body.indexOf('id="suite-'));
    expect(verdict).toBeLessThan(body.indexOf('title of'));
    expect(body).toMatch(/local stack/);
    expect(body).toMatch(/host-nginx, container-nginx/);
    expect(body).toMatch(/2 passed, 1 warning, 3 failed, 1 skipped \(7 in all\)/);
    expect(body).toMatch(/1 min 23 s/);
    expect(renderHtml(buildReport('t', ['host'], [check('health.nginx', 'pass')], 1))).toMatch(/class="big">GO</);
  });

  it('shows every check with its status, message and evidence', () => {
    for (const c of checks) {
      expect(html).toContain(`id="c-${c.mode}-${c.id.replace('.', '-')}"`);
      if (c.id !== 'isolation.view') expect(html).toContain(`message of ${c.id}`);
    }
    expect(html.match(/<div class="check /g)).toHaveLength(checks.length);
    expect(html).toContain('evidence of health.admin');
    expect(html).toContain('&quot;status&quot;: 200'); // pretty-printed JSON
  });

  it('lists failures first within a suite', () => {
    const routing = html.slice(html.indexOf('id="suite-routing"'), html.indexOf('id="suite-tls"'));
    const order = [...routing.matchAll(/<div class="check (\w+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['fail', 'warn', 'pass']);
  });

  it('escapes evidence: a <script> in evidence never becomes markup', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>label</b>');
    expect(html).toContain('&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;');
    expect(html.match(/<script/g)).toHaveLength(1); // the page's own print helper only
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'; img-src data:/);
  });

  it('is self-contained: no external stylesheet, script or image', () => {
    expect(html).not.toMatch(/<link|src="http|href="http|@import|url\(/);
  });

  it('redacts before escaping: a password with & < " never appears, raw or escaped', () => {
    const pw = 'p&ss<wo"rd>42';
    registerSecret(pw);
    const r = buildReport('t', ['host'], [check('redis.auth', 'fail', { message: `AUTH ${pw} refused`, evidence: [{ label: 'x', seen: { reply: pw } }] })], 1);
    const out = renderHtml(r);
    expect(out).not.toContain('p&amp;ss&lt;wo&quot;rd&gt;42');
    expect(out).not.toContain(pw);
    expect(out).toContain('«redacted»');
  });
});

describe('what other runs left in the reports dir', () => {
  it('renders nothing extra when there is nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-html-'));
    const html = renderHtml(report, readExtras(dir));
    expect(html).not.toMatch(/id="faults"|id="screenshots"|id="load"/);
  });

  it('shows the fault matrix, the screenshots and the load summary when present', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-html-'));
    writeFileSync(join(dir, 'faults.json'), JSON.stringify({
      faults: [
        { id: 'admin-down', description: 'the admin is <down>', mode: 'host', expected: ['health.admin'], failed: ['health.admin', 'routing.root'], unrelated: ['routing.root'], notRun: [], caught: true, messages: {}, restarted: [], durationMs: 1 },
        { id: 'cors-open', description: 'CORS *', mode: 'container', expected: ['routing.cors'], failed: [], unrelated: [], notRun: [], caught: false, messages: {}, restarted: [], durationMs: 1 },
      ], caught: 1, total: 2, falseAlarms: [],
    }));
    mkdirSync(join(dir, 'screenshots'));
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    for (const n of ['user010.png', 'user002.png']) writeFileSync(join(dir, 'screenshots', n), png);
    mkdirSync(join(dir, 'load'));
    writeFileSync(join(dir, 'load', 'summary.json'), JSON.stringify({ verdict: 'FAIL', users: 20, thresholds: { 'p95 < 500 ms': { ok: true, value: 212 }, 'errors < 1%': { ok: false } } }));
    const html = renderHtml(report, readExtras(dir));
    const matrix = html.slice(html.indexOf('id="faults"'), html.indexOf('id="screenshots"'));
    expect(matrix).toMatch(/1 of 2 faults caught/);
    expect(matrix.indexOf('cors-open')).toBeLessThan(matrix.indexOf('admin-down')); // missed first
    expect(matrix).toContain('the admin is &lt;down&gt;');
    expect(matrix).toMatch(/Missed/);
    expect(matrix).toContain('routing.root'); // the unrelated failure
    const sheet = html.slice(html.indexOf('id="screenshots"'), html.indexOf('id="load"'));
    expect(sheet.match(/<img src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(sheet.indexOf('user002')).toBeLessThan(sheet.indexOf('user010'));
    const load = html.slice(html.indexOf('id="load"'));
    expect(load).toMatch(/FAIL/);
    expect(load).toMatch(/p95 &lt; 500 ms[\s\S]*Met[\s\S]*errors &lt; 1%[\s\S]*Not met/);
    expect(load).toContain('The full load page (load/index.html) is not there');
  });

  it('reads k6-style thresholds and derives a verdict from them', () => {
    const v = loadView({ metrics: { http_req_failed: { thresholds: { 'rate<0.01': { ok: false } } } } });
    expect(v).toMatchObject({ verdict: 'FAIL', thresholds: [{ name: 'http_req_failed rate<0.01', ok: false }] });
  });
});
