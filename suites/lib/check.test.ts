import { describe, it, expect } from 'vitest';
import { defineCheck, runCheck, runChecks } from './check.ts';
import type { Target } from './target.ts';

const target = { name: 't', capabilities: new Set(['admin']) } as unknown as Target;

describe('checks', () => {
  it('a check whose needs are not met is skipped with the reason, never passed', async () => {
    const c = defineCheck({ id: 'x.needs', suite: 'health', title: 't', needs: ['write'], run: async () => {} });
    const r = await runCheck(c, target);
    expect(r.status).toBe('skip');
    expect(r.message).toMatch(/write flag/);
  });

  it('a failed expectation says what was expected and what was seen', async () => {
    const c = defineCheck({ id: 'x.fail', suite: 'health', title: 't', run: async (ctx) => { ctx.expect(false, 'GET /health → 200', 'HTTP 502'); } });
    const r = await runCheck(c, target);
    expect(r).toMatchObject({ status: 'fail', message: 'GET /health → 200; saw HTTP 502' });
  });

  it('warnings turn a pass into warn; errors and timeouts into fail', async () => {
    const warn = await runCheck(defineCheck({ id: 'x.warn', suite: 'tls', title: 't', run: async (ctx) => { ctx.record('expiry', '20 days'); ctx.warn('expires in 20 days'); } }), target);
    expect(warn).toMatchObject({ status: 'warn', message: 'expires in 20 days' });
    const boom = await runCheck(defineCheck({ id: 'x.boom', suite: 'tls', title: 't', run: async () => { throw new Error('ECONNREFUSED'); } }), target);
    expect(boom).toMatchObject({ status: 'fail', message: 'error: ECONNREFUSED' });
    const slow = await runCheck(defineCheck({ id: 'x.slow', suite: 'tls', title: 't', timeoutMs: 50, run: () => new Promise(() => {}) }), target);
    expect(slow).toMatchObject({ status: 'fail', message: 'no answer within 0.05 s' });
  });

  it('a result read from a stand-in\'s stub says so, passed or failed', async () => {
    const ok = await runCheck(defineCheck({ id: 'x.stub', suite: 'host', title: 't', run: async (ctx) => { ctx.standIn('ufw on the VPS'); ctx.record('ufw status', 'active'); } }), target);
    expect(ok).toMatchObject({ status: 'pass', standIn: 'ufw on the VPS' });
    const bad = await runCheck(defineCheck({ id: 'x.stubfail', suite: 'host', title: 't', run: async (ctx) => { ctx.standIn('ufw on the VPS'); ctx.fail('inactive'); } }), target);
    expect(bad).toMatchObject({ status: 'fail', standIn: 'ufw on the VPS' });
    const real = await runCheck(defineCheck({ id: 'x.real', suite: 'host', title: 't', run: async (ctx) => { ctx.record('ss -ltn', []); } }), target);
    expect(real).toMatchObject({ status: 'pass' });
    expect(real.standIn).toBeUndefined();
  });

  it('a pass that recorded nothing looked at nothing: it fails, saying so', async () => {
    const r = await runCheck(defineCheck({ id: 'x.blind', suite: 'isolation', title: 't', run: async () => 'invisible to every other user' }), target);
    expect(r).toMatchObject({ status: 'fail', message: 'nothing observed: the check recorded no evidence of what it judges' });
  });

  it('runs slow checks first and returns results in the given order', async () => {
    const started: string[] = [];
    const mk = (id: string, slow = false) => defineCheck({ id, suite: 'health', title: id, slow, run: async () => { started.push(id); } });
    const rs = await runChecks([mk('a.one'), mk('a.two'), mk('a.slow', true)], target, { concurrency: 1 });
    expect(started[0]).toBe('a.slow');
    expect(rs.map((r) => r.id)).toEqual(['a.one', 'a.two', 'a.slow']);
  });

  it('runs exclusive checks after all the others, alone', async () => {
    const log: string[] = [];
    let running = 0;
    const mk = (id: string, exclusive = false) => defineCheck({ id, suite: 'jobs', title: id, exclusive, run: async () => {
      running++;
      log.push(`${id} start (${running} running)`);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    } });
    const rs = await runChecks([mk('a.fill', true), mk('a.one'), mk('a.two'), mk('a.three')], target, { concurrency: 3 });
    expect(log.at(-1)).toBe('a.fill start (1 running)');
    expect(rs.map((r) => r.id)).toEqual(['a.fill', 'a.one', 'a.two', 'a.three']);
  });

  it('a quiet check runs from the start beside every other, job checks first among those; its afterQuiet waits for it', async () => {
    const log: string[] = [];
    const mk = (id: string, o: { quiet?: boolean; jobEvents?: boolean; ms?: number; late?: boolean } = {}) => defineCheck({
      id, suite: 'websocket', title: id, slow: o.quiet, quiet: o.quiet, jobEvents: o.jobEvents,
      run: async (ctx) => {
        log.push(`${id} start`);
        await new Promise((r) => setTimeout(r, o.ms ?? 10));
        if (o.late) { await ctx.afterQuiet(); log.push(`${id} late event`); }
        log.push(`${id} end`);
      },
    });
    await runChecks([mk('a.plain'), mk('a.job', { jobEvents: true }), mk('a.vanish', { jobEvents: true, late: true }), mk('a.idle', { quiet: true, ms: 80 })], target, { concurrency: 1 });
    const at = (e: string) => log.indexOf(e);
    expect(at('a.idle start')).toBe(0);
    // The job checks go first (their events end early in the idle time), and none waits for the quiet one...
    expect(at('a.job start')).toBeLessThan(at('a.plain start'));
    expect(at('a.job end')).toBeLessThan(at('a.idle end'));
    // ...but an event a check holds back until the quiet one is done.
    expect(at('a.vanish late event')).toBeGreaterThan(at('a.idle end'));
    // Without a quiet check, afterQuiet does not wait.
    log.length = 0;
    await runChecks([mk('a.vanish', { jobEvents: true, late: true })], target);
    expect(log).toEqual(['a.vanish start', 'a.vanish late event', 'a.vanish end']);
  });

  it('an exclusive check that causes no job event runs alone inside the quiet window; one that does, after it', async () => {
    const log: string[] = [];
    let running = 0;
    const mk = (id: string, o: { quiet?: boolean; jobEvents?: boolean; exclusive?: boolean; ms?: number } = {}) => defineCheck({
      id, suite: 'resilience', title: id, slow: o.quiet, quiet: o.quiet, jobEvents: o.jobEvents, exclusive: o.exclusive,
      run: async () => { running++; log.push(`${id} start ${running}`); await new Promise((r) => setTimeout(r, o.ms ?? 10)); running--; log.push(`${id} end`); },
    });
    await runChecks([
      mk('a.restart', { exclusive: true }), mk('a.redis', { exclusive: true, jobEvents: true }), mk('a.plain'), mk('a.other'),
      mk('a.job', { jobEvents: true }), mk('a.idle', { quiet: true, ms: 120 }),
    ], target, { concurrency: 2 });
    const at = (e: string) => log.findIndex((l) => l.startsWith(e));
    // Alone but for the waiting quiet check, after the others, before the quiet window ends.
    expect(log[at('a.restart start')]).toBe('a.restart start 2');
    expect(at('a.restart start')).toBeGreaterThan(Math.max(at('a.plain end'), at('a.other end'), at('a.job end')));
    expect(at('a.restart end')).toBeLessThan(at('a.idle end'));
    // The exclusive job check after the window, alone.
    expect(log.at(-2)).toBe('a.redis start 1');
    expect(at('a.redis start')).toBeGreaterThan(at('a.idle end'));
    // Without a quiet check, the exclusive ones keep the order given, job events or not.
    log.length = 0;
    await runChecks([mk('a.dashboard', { exclusive: true, jobEvents: true }), mk('a.recreate', { exclusive: true }), mk('a.plain')], target);
    expect(log.filter((l) => l.includes('start')).map((l) => l.split(' ')[0])).toEqual(['a.plain', 'a.dashboard', 'a.recreate']);
  });

  it('ids look like suite.name', () => {
    expect(() => defineCheck({ id: 'Bad Id', suite: 'health', title: '', run: async () => {} })).toThrow(/suite.name/);
  });
});
