import { describe, it, expect } from 'vitest';
import { FAULTS, catalogueUserAuth, testPasswords } from './catalogue.ts';
import { footprint, planBatches, composeFaults } from './batches.ts';
import { describeTopology } from '../topology.ts';
import { renderNginxConf } from '../nginx/render.ts';

const secrets = { redisPassword: 'r'.repeat(64), adminUsername: 'admin', adminPassword: 'a'.repeat(32) };
const clean = (mode: 'host' | 'container') => describeTopology({ runId: 't', runDir: '/tmp/cv-unit', mode, secrets, ...(catalogueUserAuth(mode) ? { userAuth: testPasswords() } : {}) });

describe.each(['host', 'container'] as const)('fault batches (%s mode)', (mode) => {
  const t = clean(mode);
  const faults = FAULTS.filter((f) => f.modes.includes(mode));
  const batches = planBatches(t, faults);

  it('hold every fault of the mode exactly once, in fewer runs than faults', () => {
    expect(batches.flat().map((f) => f.id).sort()).toEqual(faults.map((f) => f.id).sort());
    expect(batches.length).toBeLessThan(faults.length);
  });

  it('never put together faults whose checks could be each other\'s, or that change the same thing', () => {
    for (const b of batches) {
      for (const f of b) {
        for (const g of b.filter((x) => x !== f)) {
          const gChecks = [...g.expect, ...(g.collateral ?? [])];
          expect(f.expect.filter((id) => gChecks.includes(id)), `${f.id} with ${g.id}`).toEqual([]);
          const [fp, gp] = [footprint(t, f), footprint(t, g)];
          for (const [name, a] of fp.services) {
            const other = gp.services.get(name);
            if (other) expect(a.other || other.other || a.env.some((k) => other.env.includes(k)), `${f.id} and ${g.id} both change ${name}`).toBe(false);
          }
          expect(fp.nginxWhole && (gp.nginxWhole || gp.nginxEdit), `${f.id} and ${g.id} both change nginx`).toBe(false);
          expect(fp.certificate && gp.certificate, `${f.id} and ${g.id} both change the certificate`).toBe(false);
          expect([...fp.users].filter((u) => gp.users.has(u)), `${f.id} and ${g.id} concern the same participants`).toEqual([]);
        }
      }
    }
  });

  it('run lightest first: the batches that recreate the most services come last, back to back', () => {
    const weights = batches.map((b) => new Set(b.flatMap((f) => [...footprint(t, f).services.keys()])).size);
    expect(weights, batches.map((b) => b.map((f) => f.id).join(',')).join(' | ')).toEqual([...weights].sort((a, b) => a - b));
  });

  it('apply together to what each applies alone', () => {
    for (const b of batches) {
      const together = composeFaults(t, b);
      for (const f of b) {
        for (const name of footprint(t, f).services.keys()) {
          const alone = f.apply(t).services.find((s) => s.name === name);
          const both = together.services.find((s) => s.name === name);
          expect(both?.enabled, `${f.id}: ${name}`).toBe(alone?.enabled);
          for (const [k, v] of Object.entries(alone?.env ?? {})) if (t.services.find((s) => s.name === name)?.env[k] !== v) expect(both?.env[k]).toBe(v);
        }
      }
      expect(() => renderNginxConf(together)).not.toThrow();
    }
  });
});

describe('participants a fault concerns', () => {
  it('a worker writing into user002\'s outputs and user002\'s volume moved elsewhere concern the same participant (CI run 10 missed one beside the other)', () => {
    const t = clean('container');
    const by = (id: string) => footprint(t, FAULTS.find((f) => f.id === id)!).users;
    expect([...by('worker-writes-other-users-outputs')]).toEqual(['user002']);
    expect([...by('output-dir-shared')].sort()).toEqual(['user001', 'user002']);
    expect([...by('redis-down')]).toEqual([]);
  });
});
