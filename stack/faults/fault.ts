// A fault is a named, documented change to the stack (Topology -> Topology) that a correct
// verification must notice. Each one names the checks it must turn red; no suite knows faults exist.
import { service, type Topology, type ServiceSpec, type NginxMode } from '../topology.ts';

export interface Fault {
  id: string;
  description: string;
  /** nginx modes where this fault makes sense */
  modes: NginxMode[];
  /** check ids that must fail under this fault */
  expect: string[];
  /** checks that fail too, as a true consequence (Redis down also stops the queue status) */
  collateral?: string[];
  /** the failure message of the first expected check must match (proves it names the cause); with
   *  `rootCause`, the root-cause line must */
  message: RegExp;
  /** set when the fault works through a switch only our stand-ins have (FAULT_*, the mock worker's
   *  WORKER_*, the stand-in host's STANDIN_*): what it stands for on the real platform. Faults made
   *  in configuration (env, compose, nginx, mounts) leave it unset. */
  standIn?: string;
  /** a service this fault makes stop answering mid-run: the run must name it as the root cause, and
   *  the checks it blocks are its consequence (not unrelated). Such a fault runs alone. */
  rootCause?: string;
  apply(t: Topology): Topology;
}

export const defineFault = (f: Fault): Fault => f;

/** Environment variables only our stand-ins read: a fault that sets one is a stand-in switch. */
export const STAND_IN_SWITCH = /^(FAULT|WORKER|STANDIN)_/;

/** A deep copy, so a fault never changes the clean topology it was given. */
export function clone(t: Topology): Topology {
  const transforms = t.nginx.transforms;
  const copy = structuredClone({ ...t, nginx: { ...t.nginx, transforms: [] } }) as Topology;
  copy.nginx.transforms = [...transforms];
  return copy;
}

export function withService(t: Topology, name: string, edit: (s: ServiceSpec) => void, faultId: string): Topology {
  const c = clone(t);
  edit(service(c, name));
  c.faults.push(faultId);
  return c;
}

/** Changes the participants' Basic auth (the stack must run with --user-auth: the catalogue's container mode does). */
export function withUserAuth(t: Topology, faultId: string, edit: (a: NonNullable<Topology['userAuth']>) => void): Topology {
  if (!t.userAuth) throw new Error(`fault ${faultId} needs a stack with per-user auth (--user-auth)`);
  const c = clone(t);
  edit(c.userAuth!);
  c.faults.push(faultId);
  return c;
}

export function withNginx(t: Topology, faultId: string, apply: (conf: string) => string): Topology {
  const c = clone(t);
  c.nginx.transforms.push({ id: faultId, apply: (conf) => {
    const out = apply(conf);
    if (out === conf) throw new Error(`fault ${faultId} did not change the nginx configuration`);
    return out;
  } });
  c.faults.push(faultId);
  return c;
}

/** Replaces the body of the first `location <path> {...}` block (brace-balanced). */
export function editLocation(conf: string, path: string, edit: (body: string) => string): string {
  const re = new RegExp(`location\\s+(=\\s+)?${path.replace(/[/.]/g, '\\$&')}\\s*\\{`);
  const m = re.exec(conf);
  if (!m) throw new Error(`no location ${path} in the nginx configuration`);
  let depth = 0;
  const open = m.index + m[0].length - 1;
  for (let i = open; i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    else if (conf[i] === '}' && --depth === 0) return conf.slice(0, open + 1) + edit(conf.slice(open + 1, i)) + conf.slice(i);
  }
  throw new Error(`unbalanced braces after location ${path}`);
}
