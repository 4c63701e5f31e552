// The verdict says what was not checked: a GO with checks not run is partial, exits 3, and says why.
import { describe, it, expect } from 'vitest';
import { buildReport, exitCode, summary, type ModeResult } from './report.ts';
import { renderHtml } from './html-report.ts';

const r = (id: string, status: ModeResult['status'], message = `message of ${id}`, extra: Partial<ModeResult> = {}): ModeResult => ({
  id, suite: id.split('.')[0] as ModeResult['suite'], title: id, status, message, evidence: [], durationMs: 1, target: 't', mode: 'remote', ...extra,
});
const NO_SSH = 'needs access to the host (local stack, or --ssh user@host)';

describe('verdicts', () => {
  it('GO only when every check of the run ran; otherwise GO (partial), exit 3 unless accepted', () => {
    const full = buildReport('t', ['remote'], [r('health.nginx', 'pass'), r('tls.chain', 'warn')], 1);
    expect(full.partial).toBeUndefined();
    expect(exitCode(full)).toBe(0);

    const part = buildReport('t', ['remote'], [r('health.nginx', 'pass'), r('host.firewall', 'skip', NO_SSH), r('host.tailscale', 'skip', NO_SSH), r('jobs.cancel', 'skip', 'needs the write flag')], 1);
    expect(part.verdict).toBe('GO');
    expect(part.partial).toEqual({ notRun: 3, of: 4, reasons: [`2 checks: ${NO_SSH}`, '1 check: needs the write flag'] });
    expect(exitCode(part)).toBe(3);
    expect(exitCode(part, true)).toBe(0);
    const text = summary(part).replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^GO \(partial: 3 of 4 checks not run\): t meets the contract in what was checked$/m);
    expect(text).toContain(`not run: 2 checks: ${NO_SSH}`);
    const html = renderHtml(part);
    expect(html).toMatch(/class="verdict go partial"/);
    expect(html).toContain('3 of 4 checks were not run');
    expect(html).toMatch(/<title>GO \(partial\)/);
  });

  it('start-up: a late service is a warning with its timing, a healthcheck our image cannot run is the harness\'s line; neither a root cause, GO stays GO', () => {
    const rep = buildReport('compose project p', ['host'], [r('health.nginx', 'pass')], 1, [], { source: 'compose project p', changes: [], warnings: [], startup: [
      { mode: 'host', kind: 'late', service: 'queue-manager', text: 'queue-manager started late: healthy 26.3 s after it started, 9 healthcheck(s) failed first (the project allows start_period 40 s, then 15 × 2 s)' },
      { mode: 'host', kind: 'harness', service: 'admin', text: 'admin: its healthcheck calls wget, which our stand-in image comfy-verify/admin:1 does not have: not judged by it (the checks judge whether it answers)' },
    ] });
    expect(exitCode(rep)).toBe(0);
    const text = summary(rep).replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^GO: compose project p meets the contract$/m);
    expect(text).toMatch(/^  ⚠ \[host\] start-up: queue-manager started late: healthy 26\.3 s after it started/m);
    expect(text).toMatch(/^  – \[host\] harness, not your project: admin: its healthcheck calls wget/m);
    expect(text).not.toMatch(/ROOT CAUSE/);
    expect(renderHtml(rep)).toContain('harness, not your project: admin: its healthcheck calls wget');
  });

  it('passes on stand-in evidence are counted apart, in the terminal and the page, each marked', () => {
    const rep = buildReport('t', ['host'], [r('host.firewall', 'pass', 'active', { standIn: 'ufw on the VPS (a stub)' }), r('health.nginx', 'pass')], 1);
    const text = summary(rep).replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^GO: t meets the contract$/m);
    expect(text).toContain('of these, 1 on stand-in evidence ([remote] host.firewall): they prove the checks\' reading, not the real ufw on the VPS');
    const html = renderHtml(rep);
    expect(html).toContain('1 of the passes and warnings on stand-in evidence');
    expect(html).toMatch(/class="badge skip">stand-in<\/span> stand-in evidence: ufw on the VPS \(a stub\); proves the check&#39;s reading, not the real thing|class="badge skip">stand-in<\/span> stand-in evidence: ufw on the VPS \(a stub\); proves the check(&#x27;|')s reading/);
  });

  it('a failure is NO-GO (exit 1) whatever was skipped; checks outside the profile do not make a run partial', () => {
    const bad = buildReport('t', ['remote'], [r('health.nginx', 'fail'), r('host.firewall', 'skip', NO_SSH)], 1);
    expect(bad.verdict).toBe('NO-GO');
    expect(exitCode(bad, true)).toBe(1);
    const smoke = buildReport('t', ['remote'], [r('health.nginx', 'pass'), r('jobs.cancel', 'skip', 'it writes', { outOfProfile: true })], 1);
    expect(smoke.partial).toBeUndefined();
    expect(exitCode(smoke)).toBe(0);
  });
});
