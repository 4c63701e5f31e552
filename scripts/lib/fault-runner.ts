// Runs the fault catalogue against a running stack: the clean stack first (any failure there
// is a false alarm), then each fault applied, the checks run, and the stack put back.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../stack/stack.ts';
import type { Fault } from '../../stack/faults/fault.ts';
import type { Topology } from '../../stack/topology.ts';
import { runChecks, type Check, type CheckResult } from '../../suites/lib/check.ts';
import type { Target } from '../../suites/lib/target.ts';

/** Screenshots taken under faults are not what participants see: they stay out of reports/. */
const FAULT_ARTIFACTS = join(tmpdir(), 'comfy-verify-fault-artifacts');

export interface FaultRecord {
  id: string;
  description: string;
  mode: string;
  expected: string[];
  failed: string[];
  /** failed checks neither expected nor declared collateral: a fault should not blur other checks */
  unrelated: string[];
  /** slow checks not run under this fault (they run when the fault expects them) */
  notRun: string[];
  caught: boolean;
  messages: Record<string, string>;
  restarted: string[];
  durationMs: number;
}

/** Applies one fault to the clean topology. The stack moves there from wherever it is (the previous
 *  fault, or clean), recreating only what differs: no separate restore step between faults. */
export async function runFault(
  stack: Stack, clean: Topology, fault: Fault, checks: Check[], target: Target, progress: (m: string) => void = () => {},
): Promise<FaultRecord> {
  let restarted: string[];
  try {
    restarted = await stack.apply(fault.apply(clean));
  } catch (e) {
    // The stack could not take the fault (a service would not start): a miss, told as such; the
    // next fault's apply starts what is missing, so one bad fault does not blur the rest.
    const why = `the fault could not be applied: ${(e as Error).message}`;
    progress(`✖ MISSED ${fault.id} (${clean.mode}): ${why}`);
    return { id: fault.id, description: fault.description, mode: clean.mode, expected: fault.expect, failed: [], unrelated: [],
      notRun: checks.map((c) => c.id), caught: false, messages: { [fault.expect[0]]: why }, restarted: [], durationMs: 0 };
  }
  {
    // Slow checks (idle timeouts) only where the fault is about them: the catalogue stays minutes, not hours.
    const run = checks.filter((c) => !c.slow || fault.expect.includes(c.id));
    const results = await runChecks(run, target, { concurrency: 10, artifactsDir: FAULT_ARTIFACTS });
    const failed = results.filter((r) => r.status === 'fail').map((r) => r.id);
    const messages = Object.fromEntries(results.filter((r) => r.status === 'fail').map((r) => [r.id, r.message]));
    const firstMsg = messages[fault.expect[0]] ?? '';
    const caught = fault.expect.every((id) => failed.includes(id)) && (!fault.message || fault.message.test(firstMsg));
    const rec: FaultRecord = {
      id: fault.id, description: fault.description, mode: clean.mode, expected: fault.expect, failed,
      unrelated: failed.filter((id) => !fault.expect.includes(id) && !(fault.collateral ?? []).includes(id)),
      notRun: checks.filter((c) => !run.includes(c)).map((c) => c.id),
      caught, messages, restarted, durationMs: 0,
    };
    progress(`${caught ? '✔ caught' : '✖ MISSED'} ${fault.id} (${clean.mode}): ${failed.length ? failed.join(', ') : 'no check failed'}`);
    return rec;
  }
}

export interface CatalogueReport {
  faults: (FaultRecord & { durationMs: number })[];
  falseAlarms: CheckResult[];
  caught: number;
  total: number;
  durationMs: number;
}

export async function runCatalogue(
  stack: Stack, faults: Fault[], checks: Check[], target: Target, progress: (m: string) => void = () => {},
): Promise<CatalogueReport> {
  const t0 = Date.now();
  const clean = stack.topology;
  const baseline = await runChecks(checks.filter((c) => !c.slow), target, { artifactsDir: FAULT_ARTIFACTS });
  const falseAlarms = baseline.filter((r) => r.status === 'fail');
  for (const f of falseAlarms) progress(`✖ false alarm on the clean stack: ${f.id}: ${f.message}`);
  const records = [];
  for (const fault of faults.filter((f) => f.modes.includes(clean.mode))) {
    const s = Date.now();
    const rec = await runFault(stack, clean, fault, checks, target, progress);
    records.push({ ...rec, durationMs: Date.now() - s });
  }
  await stack.apply(clean);
  return { faults: records, falseAlarms, caught: records.filter((r) => r.caught).length, total: records.length, durationMs: Date.now() - t0 };
}
