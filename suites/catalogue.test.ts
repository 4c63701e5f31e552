import { describe, it, expect } from 'vitest';
import { FAULTS, catalogueUserAuth, testPasswords } from '../stack/faults/catalogue.ts';
import { editLocation, withNginx, STAND_IN_SWITCH } from '../stack/faults/fault.ts';
import { fitsBatch, footprint, planBatches } from '../stack/faults/batches.ts';
import { describeTopology } from '../stack/topology.ts';
import { renderNginxConf } from '../stack/nginx/render.ts';
import { ALL_CHECKS } from './index.ts';

const secrets = { redisPassword: 'r'.repeat(64), adminUsername: 'admin', adminPassword: 'a'.repeat(32) };
const clean = (mode: 'host' | 'container') => describeTopology({ runId: 't', runDir: '/tmp/cv-unit', mode, secrets, ...(catalogueUserAuth(mode) ? { userAuth: testPasswords() } : {}) });

describe('fault catalogue', () => {
  it('has unique ids, each fault naming existing checks', () => {
    expect(new Set(FAULTS.map((f) => f.id)).size).toBe(FAULTS.length);
    const ids = new Set(ALL_CHECKS.map((c) => c.id));
    for (const f of FAULTS) for (const id of [...f.expect, ...(f.collateral ?? [])]) expect(ids.has(id), `${f.id} names unknown check ${id}`).toBe(true);
  });

  it('every check is the target of at least one fault (no check that cannot be shown to fail)', () => {
    const targeted = new Set(FAULTS.flatMap((f) => f.expect));
    const untested = ALL_CHECKS.map((c) => c.id).filter((id) => !targeted.has(id));
    expect(untested).toEqual([]);
  });

  it('every fault names the message its first expected check (or its root cause) must show', () => {
    // A red for any other reason is not this fault caught: the message proves the check saw the cause.
    expect(FAULTS.filter((f) => !f.message).map((f) => f.id)).toEqual([]);
  });

  it('a fault that works through a stand-in switch says so, and what it stands for on the real platform', () => {
    for (const f of FAULTS) {
      const env = [...footprint(clean(f.modes[0]), f).services.values()].flatMap((s) => s.env);
      const switches = env.filter((k) => STAND_IN_SWITCH.test(k));
      if (switches.length) expect(f.standIn, `${f.id} sets ${switches.join(', ')}: what does it stand for?`).toMatch(/^.{20,}$/);
      else expect(f.standIn, `${f.id} is made in configuration: not a stand-in switch`).toBeUndefined();
    }
  });

  it('applies each fault without touching the clean topology, and changes something', () => {
    for (const f of FAULTS) {
      for (const mode of f.modes) {
        const t = clean(mode);
        const before = JSON.stringify(t) + renderNginxConf(t);
        const faulty = f.apply(t);
        expect(JSON.stringify(t) + renderNginxConf(t), `${f.id} changed the clean topology`).toBe(before);
        expect(JSON.stringify(faulty) + renderNginxConf(faulty), `${f.id} changed nothing`).not.toBe(before);
      }
    }
  });
});

describe.each(['host', 'container'] as const)('the batch plan (%s mode)', (mode) => {
  const t = clean(mode);
  const faults = FAULTS.filter((f) => f.modes.includes(mode));
  const slow = new Set(ALL_CHECKS.filter((c) => c.slow).map((c) => c.id));
  const plan = planBatches(t, faults, { slow });

  it('takes no more batches than first fit in catalogue order', () => {
    const prints = new Map(faults.map((f) => [f.id, footprint(t, f)]));
    const naive: typeof plan = [];
    for (const f of faults) {
      const home = naive.find((b) => b.length < 8 && fitsBatch(t, b, f, prints));
      if (home) home.push(f); else naive.push([f]);
    }
    expect(plan.flat().map((f) => f.id).sort()).toEqual(faults.map((f) => f.id).sort());
    expect(plan.length).toBeLessThanOrEqual(naive.length);
  });

  it('puts the faults that hold a slow check to its full wait together where they fit', () => {
    // Each such fault breaks only its slow check; two in different batches are two long waits.
    const holders = faults.filter((f) => f.expect.length === 1 && slow.has(f.expect[0]));
    const batchOf = (id: string) => plan.findIndex((b) => b.some((f) => f.id === id));
    for (const [i, f] of holders.entries()) {
      for (const g of holders.slice(i + 1)) {
        if (fitsBatch(t, [f], g, new Map([f, g].map((x) => [x.id, footprint(t, x)])))) expect(batchOf(g.id), `${f.id} and ${g.id}`).toBe(batchOf(f.id));
      }
    }
  });
});

describe('fault helpers', () => {
  it('editLocation edits one brace-balanced block', () => {
    const conf = 'location /a { if ($x) { return 1; } proxy_pass x; }\nlocation /b { y; }';
    expect(editLocation(conf, '/a', (b) => b.replace('proxy_pass x;', ''))).toBe('location /a { if ($x) { return 1; }  }\nlocation /b { y; }');
    expect(() => editLocation(conf, '/c', (b) => b)).toThrow(/no location \/c/);
  });

  it('an nginx fault that changes nothing is an error, not a silent pass', () => {
    const t = withNginx(clean('host'), 'noop', (c) => c);
    expect(() => renderNginxConf(t)).toThrow(/did not change/);
  });
});
