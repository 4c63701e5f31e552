// Faults that cannot see each other are applied together and judged in one pass: the catalogue
// then takes minutes, not the better part of an hour. Two faults share a batch only when
//   - they change different services (or different environment variables of one), and nginx at
//     most by text edits of its configuration that still apply one after the other (a whole new
//     configuration goes without other nginx changes and without a stopped service, which such a
//     configuration may not start without); at most one of them changes the certificate;
//   - they concern different participants (a worker writing into user002's outputs and user002's
//     volume moved elsewhere would hide each other);
//   - neither one's expected checks are among the other's expected or collateral checks, so each
//     expected red is the fault's own.
// The runner still proves, per batch, that nothing outside the batch's expected and collateral
// checks turns red, and runs a batch's faults one at a time when it does not hold.
import { renderNginxConf } from '../nginx/render.ts';
import type { Topology } from '../topology.ts';
import type { Fault } from './fault.ts';

/** What applying a fault to the clean topology changes. */
export interface Footprint {
  /** each service it changes: the environment variables it sets, and whether anything else changed
   *  (two faults may change one service only through different variables) */
  services: Map<string, { env: string[]; other: boolean }>;
  /** text edits of the nginx configuration (they compose) */
  nginxEdit: boolean;
  /** another nginx source or upstream resolution (it does not compose) */
  nginxWhole: boolean;
  /** another certificate (one at a time: nginx serves one) */
  certificate: boolean;
  /** stops a service: an nginx configured otherwise may not even start without it */
  stops: boolean;
  /** participants it concerns: their frontends changed, or named in what a service now has */
  users: Set<string>;
}

const USER_IDS = /\buser\d{3}\b/g;

export function footprint(clean: Topology, f: Fault): Footprint {
  const t = f.apply(clean);
  const find = (x: Topology, name: string) => x.services.find((s) => s.name === name);
  const services = new Map<string, { env: string[]; other: boolean }>();
  const users = new Set<string>();
  for (const name of new Set([...clean.services, ...t.services].map((s) => s.name))) {
    const [a, b] = [find(clean, name), find(t, name)];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const before = new Set(JSON.stringify(a ?? {}).match(USER_IDS) ?? []);
    for (const u of [...(/^user\d{3}$/.test(name) ? [name] : []), ...(JSON.stringify(b ?? {}).match(USER_IDS) ?? []).filter((u) => !before.has(u))]) users.add(u);
    const keys = [...new Set([...Object.keys(a?.env ?? {}), ...Object.keys(b?.env ?? {})])];
    const env = keys.filter((k) => a?.env[k] !== b?.env[k]);
    const other = !a || !b || JSON.stringify({ ...a, env: {} }) !== JSON.stringify({ ...b, env: {} });
    services.set(name, { env, other });
  }
  // Participants whose workspace credentials it changes (their password, or the file their location reads).
  for (const u of Object.keys(t.userAuth?.passwords ?? {})) {
    const [a, b] = [clean.userAuth, t.userAuth!];
    if (a?.passwords[u] !== b.passwords[u] || a?.fileFor[u] !== b.fileFor[u]) for (const x of [u, b.fileFor[u]]) users.add(x);
  }
  const { transforms: _a, ...cleanNginx } = clean.nginx;
  const { transforms: _b, ...faultNginx } = t.nginx;
  return {
    services,
    nginxEdit: t.nginx.transforms.length > clean.nginx.transforms.length,
    nginxWhole: JSON.stringify(cleanNginx) !== JSON.stringify(faultNginx),
    certificate: JSON.stringify(clean.tls) !== JSON.stringify(t.tls),
    stops: clean.services.some((s) => s.enabled && find(t, s.name)?.enabled === false),
    users,
  };
}

/** The faults applied one after another. */
export const composeFaults = (clean: Topology, faults: Fault[]): Topology => faults.reduce((t, f) => f.apply(t), clean);

const checksOf = (f: Fault) => new Set([...f.expect, ...(f.collateral ?? [])]);

/** Whether f may join the faults of a batch (see the head of this file). */
export function fitsBatch(clean: Topology, batch: Fault[], f: Fault, prints: Map<string, Footprint>): boolean {
  const fp = prints.get(f.id)!;
  // A service that stops answering blocks whatever touches it: nothing else can be judged beside it.
  if (batch.length && (f.rootCause || batch.some((g) => g.rootCause))) return false;
  for (const g of batch) {
    const gp = prints.get(g.id)!;
    for (const [name, a] of fp.services) {
      const b = gp.services.get(name);
      if (b && (a.other || b.other || a.env.some((k) => b.env.includes(k)))) return false;
    }
    if ((fp.nginxWhole && (gp.nginxWhole || gp.nginxEdit || gp.stops)) || (gp.nginxWhole && (fp.nginxEdit || fp.stops))) return false;
    if (fp.certificate && gp.certificate) return false;
    if ([...fp.users].some((u) => gp.users.has(u))) return false;
    const fc = checksOf(f);
    const gc = checksOf(g);
    if (f.expect.some((id) => gc.has(id)) || g.expect.some((id) => fc.has(id))) return false;
  }
  try {
    renderNginxConf(composeFaults(clean, [...batch, f])); // edits that no longer apply throw
    return true;
  } catch {
    return false;
  }
}

/** First fit, in an order that packs tightly and keeps long waits together; deterministic, so the
 *  same catalogue always gives the same batches, returned in the order to run them (see runOrder):
 *  - first the faults that expect a slow check (an idle socket's 65 s, a job timeout's clean-up), those
 *    expecting fewest checks first: a fault that breaks only the slow check holds it to its full wait,
 *    one that breaks more fails it early. A batch waits once for all its slow checks, so the long
 *    waits meet in the fewest batches;
 *  - then the faults that fit beside the fewest others (the hardest to place go first);
 *  - catalogue order breaks ties.
 *  `slow`: the ids of the slow checks (the suites know them; stack/ does not). */
export function planBatches(clean: Topology, faults: Fault[], o: { slow?: Iterable<string>; maxSize?: number } = {}): Fault[][] {
  const maxSize = o.maxSize ?? 8;
  const slow = new Set(o.slow ?? []);
  const prints = new Map(faults.map((f) => [f.id, footprint(clean, f)]));
  const waits = (f: Fault) => f.expect.some((id) => slow.has(id));
  const misfits = new Map(faults.map((f) => [f.id, faults.filter((g) => g !== f && !fitsBatch(clean, [g], f, prints)).length]));
  const order = faults.map((f, i) => ({ f, i })).sort((a, b) =>
    (+waits(b.f) - +waits(a.f))
    || (waits(a.f) ? a.f.expect.length - b.f.expect.length : 0)
    || misfits.get(b.f.id)! - misfits.get(a.f.id)!
    || a.i - b.i).map((x) => x.f);
  const batches: Fault[][] = [];
  for (const f of order) {
    const home = batches.find((b) => b.length < maxSize && fitsBatch(clean, b, f, prints));
    if (home) home.push(f);
    else batches.push([f]);
  }
  return runOrder(batches, prints);
}

/** Lightest first: the stack moves from one batch's topology to the next recreating only what differs,
 *  so the batches that recreate many services (all 20 workspaces: 9 s on 2 cores) go last, back to
 *  back, and nothing pays to bring those back before the stack stops. Ties keep the planned order. */
function runOrder(batches: Fault[][], prints: Map<string, Footprint>): Fault[][] {
  const weight = (b: Fault[]) => new Set(b.flatMap((f) => [...prints.get(f.id)!.services.keys()])).size;
  return batches.map((b, i) => ({ b, i, w: weight(b) })).sort((x, y) => x.w - y.w || x.i - y.i).map((x) => x.b);
}
