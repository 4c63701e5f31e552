import { describe, it, expect } from 'vitest';
import { CatalogueRun } from './fault-runner.ts';
import { defineCheck } from './check.ts';
import type { Target } from './target.ts';
import type { Stack } from '../../stack/stack.ts';
import { defineFault, withService } from '../../stack/faults/fault.ts';
import { describeTopology, type Topology } from '../../stack/topology.ts';

// The runner's judging, on a stand-in stack whose "services" are the faults it was given: each
// check fails when the faults it reacts to are applied.
const clean = describeTopology({ runId: 't', runDir: '/tmp/cv-unit', mode: 'container', secrets: { redisPassword: 'r'.repeat(64), adminUsername: 'admin', adminPassword: 'a'.repeat(32) } });
const target = { name: 't', kind: 'local', capabilities: new Set() } as unknown as Target;

function fakeStack(): Stack & { applied: string[][] } {
  const s = { topology: clean, applied: [] as string[][], async apply(t: Topology) { s.topology = t; s.applied.push([...t.faults]); return []; } };
  return s as unknown as Stack & { applied: string[][] };
}
const check = (id: string, failsWhen: (faults: string[]) => boolean, stack: { topology: Topology }) =>
  defineCheck({ id, suite: 'health', title: id, run: async (ctx) => { ctx.record('faults applied', stack.topology.faults); ctx.expect(!failsWhen(stack.topology.faults), `${id} holds`, stack.topology.faults.join('+')); } });
// Two faults on different services and checks: the planner puts them in one batch.
const fa = defineFault({ id: 'fault-a', modes: ['container'], description: 'a', expect: ['health.a'], message: /holds/, apply: (t) => withService(t, 'admin', (x) => { x.env.A = '1'; }, 'fault-a') });
const fb = defineFault({ id: 'fault-b', modes: ['container'], description: 'b', expect: ['health.b'], message: /holds/, apply: (t) => withService(t, 'worker', (x) => { x.env.B = '1'; }, 'fault-b') });

describe('the fault catalogue runner', () => {
  it('a batch that holds judges each fault once, together', async () => {
    const stack = fakeStack();
    const checks = [check('health.a', (f) => f.includes('fault-a'), stack), check('health.b', (f) => f.includes('fault-b'), stack)];
    const run = new CatalogueRun(stack, clean, [fa, fb], checks, target);
    expect(run.batches.map((b) => b.map((f) => f.id))).toEqual([['fault-a', 'fault-b']]);
    const recs = await run.all();
    expect(recs.map((r) => [r.id, r.caught, r.unrelated, r.batchBroke])).toEqual([['fault-a', true, [], undefined], ['fault-b', true, [], undefined]]);
    expect(stack.applied).toEqual([['fault-a', 'fault-b']]);
  });

  it('a batch that turns an undeclared check red is run fault by fault, and each record says what broke the batch', async () => {
    const stack = fakeStack();
    // health.c: red under fault-a alone (a consequence fault-a does not declare), so alone it is unrelated.
    const checks = [check('health.a', (f) => f.includes('fault-a'), stack), check('health.b', (f) => f.includes('fault-b'), stack),
      check('health.c', (f) => f.includes('fault-a'), stack)];
    const recs = await new CatalogueRun(stack, clean, [fa, fb], checks, target).all();
    expect(stack.applied).toEqual([['fault-a', 'fault-b'], ['fault-a'], ['fault-b']]);
    const [a, b] = recs;
    expect(a).toMatchObject({ caught: true, unrelated: ['health.c'], batch: [] });
    expect(b).toMatchObject({ caught: true, unrelated: [], batch: [] });
    for (const r of recs) expect(r.batchBroke).toMatch(/^with fault-a, fault-b: turned unrelated checks red together \(health\.c: health\.c holds; saw fault-a\+fault-b\)/);
  });

  it('batches run in their planned order (lightest first), whichever fault\'s test asks first', async () => {
    const stack = fakeStack();
    // fault-d changes every workspace, and the admin as fault-a does: a batch of its own, planned last.
    const fd = defineFault({ id: 'fault-d', modes: ['container'], description: 'd', expect: ['health.d'], message: /holds/,
      apply: (t) => ({ ...t, faults: [...t.faults, 'fault-d'], services: t.services.map((x) => (x.kind === 'frontend' || x.name === 'admin' ? { ...x, env: { ...x.env, A: '2' } } : x)) }) });
    const checks = [check('health.a', (f) => f.includes('fault-a'), stack), check('health.d', (f) => f.includes('fault-d'), stack)];
    const run = new CatalogueRun(stack, clean, [fd, fa], checks, target);
    expect(run.batches.map((b) => b.map((f) => f.id))).toEqual([['fault-a'], ['fault-d']]);
    const d = await run.record('fault-d');
    expect(stack.applied).toEqual([['fault-a'], ['fault-d']]);
    expect((await run.record('fault-a')).caught && d.caught).toBe(true);
    expect(stack.applied).toHaveLength(2);
  });

  it('alone: each fault on its own, so a consequence a batch would cover shows as unrelated', async () => {
    const stack = fakeStack();
    // health.c red under fault-a, declared by fault-b: together it is allowed, alone it is fault-a's undeclared red.
    const fb2 = { ...fb, collateral: ['health.c'] };
    const checks = [check('health.a', (f) => f.includes('fault-a'), stack), check('health.b', (f) => f.includes('fault-b'), stack),
      check('health.c', (f) => f.includes('fault-a'), stack)];
    const batched = await new CatalogueRun(stack, clean, [fa, fb2], checks, target).all();
    expect(batched.map((r) => r.unrelated)).toEqual([[], []]);
    const alone = new CatalogueRun(stack, clean, [fa, fb2], checks, target, () => {}, { alone: true });
    expect(alone.batches.map((b) => b.map((f) => f.id))).toEqual([['fault-a'], ['fault-b']]);
    expect((await alone.all()).map((r) => r.unrelated)).toEqual([['health.c'], []]);
  });
});
