// Runs the fault catalogue against a running stack: the clean stack first (any failure there
// is a false alarm), then the faults, batch by batch (stack/faults/batches.ts): a batch's faults
// applied together, the checks run once, each fault judged by its own expected checks, and nothing
// outside the batch's expected and collateral checks allowed to turn red. A batch that does not
// hold (a miss or an unrelated red) is run again one fault at a time, and those runs decide.
import type { Stack } from '../../stack/stack.ts';
import type { Fault } from '../../stack/faults/fault.ts';
import { composeFaults, planBatches } from '../../stack/faults/batches.ts';
import type { Topology } from '../../stack/topology.ts';
import { runChecks, type Check, type CheckResult } from './check.ts';
import type { Target } from './target.ts';
import { Watcher, blockedText, type Outage } from './watch.ts';

/** Screenshots under faults are not what participants see, and no report keeps them: none are taken. */
const NO_ARTIFACTS = null;

export interface FaultRecord {
  id: string;
  description: string;
  mode: string;
  expected: string[];
  /** checks that failed and are this fault's (expected or collateral); run alone: every failed check */
  failed: string[];
  /** failed checks neither expected nor declared collateral: a fault should not blur other checks */
  unrelated: string[];
  /** slow checks not run under this fault (they run when the fault expects them) */
  notRun: string[];
  caught: boolean;
  messages: Record<string, string>;
  /** services that stopped answering during the run (a rootCause fault must name its own) */
  rootCauses?: string[];
  restarted: string[];
  /** a stand-in switch (not configuration): what it stands for on the real platform */
  standIn?: string;
  /** the faults applied together with this one (none: it ran alone) */
  batch: string[];
  /** run alone because its batch did not hold: what the batch saw (a CI log's failure summary shows it) */
  batchBroke?: string;
  durationMs: number;
}

const allowedFor = (f: Fault) => new Set([...f.expect, ...(f.collateral ?? [])]);

/** One batch: applied together to the clean topology (the stack moves there from wherever it is,
 *  recreating only what differs), the checks run once, each fault judged. */
async function runBatch(
  stack: Stack, clean: Topology, batch: Fault[], checks: Check[], target: Target, progress: (m: string) => void,
): Promise<FaultRecord[]> {
  const t0 = Date.now();
  const ids = batch.map((f) => f.id);
  const base = (f: Fault) => ({ id: f.id, description: f.description, mode: clean.mode, expected: f.expect, batch: ids.filter((x) => x !== f.id), ...(f.standIn ? { standIn: f.standIn } : {}) });
  let restarted: string[];
  try {
    restarted = await stack.apply(composeFaults(clean, batch));
  } catch (e) {
    if (batch.length > 1) return runAlone(stack, clean, batch, checks, target, progress, `could not be applied together (${(e as Error).message})`);
    // The stack could not take the fault (a service would not start): a miss, told as such; the next
    // apply starts what is missing, so one bad fault does not blur the rest.
    const why = `the fault could not be applied: ${(e as Error).message}`;
    progress(`✖ MISSED ${batch[0].id} (${clean.mode}): ${why}`);
    return [{ ...base(batch[0]), failed: [], unrelated: [], notRun: checks.map((c) => c.id), caught: false, messages: { [batch[0].expect[0]]: why }, restarted: [], durationMs: 0 }];
  }
  // Slow checks (idle timeouts) only where a fault is about them.
  const run = checks.filter((c) => !c.slow || batch.some((f) => f.expect.includes(c.id)));
  // A fault that stops a service mid-run is judged by the root cause the watcher names; without one,
  // the checks run unwatched, exactly as they fail on their own.
  const watcher = batch.some((f) => f.rootCause) ? new Watcher(target) : undefined;
  await watcher?.start();
  const tApplied = Date.now();
  const results = await runChecks(run, target, { concurrency: 10, artifactsDir: NO_ARTIFACTS, watcher }).finally(() => watcher?.stop());
  // Where a batch's time goes (CI logs and `npm run faults` show it): the apply, the checks, the slowest.
  const slowest = [...results].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3).map((r) => `${r.id} ${(r.durationMs / 1000).toFixed(0)} s`);
  progress(`  batch of ${batch.length}: apply ${((tApplied - t0) / 1000).toFixed(0)} s (${restarted.length} restarted), checks ${((Date.now() - tApplied) / 1000).toFixed(0)} s (slowest: ${slowest.join(', ')})`);
  const outages: Outage[] = watcher?.outages() ?? [];
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.id);
  const messages = Object.fromEntries(results.filter((r) => r.status === 'fail').map((r) => [r.id, r.message]));
  const allowed = new Set(batch.flatMap((f) => [...allowedFor(f)]));
  // Blocked by the root cause a fault declares: its consequence, not an unrelated red.
  const declared = new Set(batch.map((f) => f.rootCause).filter(Boolean));
  const blockedByDeclared = new Set(results.filter((r) => r.blockedBy && declared.has(r.blockedBy.service)).map((r) => r.id));
  const unrelated = failed.filter((id) => !allowed.has(id) && !blockedByDeclared.has(id));
  const records = batch.map((f): FaultRecord => {
    const mine = batch.length > 1 ? failed.filter((id) => allowedFor(f).has(id)) : failed;
    const cause = f.rootCause ? outages.find((o) => o.service === f.rootCause) : undefined;
    const caught = f.expect.every((id) => failed.includes(id)) && (f.rootCause
      ? !!cause && (!f.message || f.message.test(blockedText(cause)))
      : !f.message || f.message.test(messages[f.expect[0]] ?? ''));
    return {
      ...base(f), failed: mine, unrelated, caught, restarted,
      ...(watcher ? { rootCauses: outages.map((o) => `${blockedText(o).replace(/^blocked: /, '')}; blocked ${o.blocked.join(', ') || 'nothing'}`) } : {}),
      messages: Object.fromEntries(mine.map((id) => [id, messages[id]])),
      notRun: checks.filter((c) => !run.includes(c)).map((c) => c.id),
      durationMs: Math.round((Date.now() - t0) / batch.length),
    };
  });
  if (batch.length > 1 && (unrelated.length || records.some((r) => !r.caught))) {
    const why = unrelated.length
      ? `turned unrelated checks red together (${unrelated.map((id) => `${id}: ${messages[id]}`).join('; ')})`
      : `missed ${records.filter((r) => !r.caught).map((r) => `${r.id} (${r.expected.filter((id) => !failed.includes(id)).join(', ') || `message: ${messages[r.expected[0]]}`})`).join(', ')} together`;
    return runAlone(stack, clean, batch, checks, target, progress, why);
  }
  for (const r of records) progress(`${r.caught ? '✔ caught' : '✖ MISSED'} ${r.id} (${clean.mode}): ${r.failed.length ? r.failed.join(', ') : 'no check failed'}${batch.length > 1 ? ` [batch of ${batch.length}]` : ''}${r.unrelated.length ? `; ⚠ not its own: ${r.unrelated.join(', ')}` : ''}`);
  return records;
}

async function runAlone(
  stack: Stack, clean: Topology, batch: Fault[], checks: Check[], target: Target, progress: (m: string) => void, why: string,
): Promise<FaultRecord[]> {
  progress(`• the batch ${batch.map((f) => f.id).join(', ')} ${why}: each fault again on its own`);
  const out: FaultRecord[] = [];
  const batchBroke = `with ${batch.map((f) => f.id).join(', ')}: ${why}`;
  for (const f of batch) out.push(...(await runBatch(stack, clean, [f], checks, target, progress)).map((r) => ({ ...r, batchBroke })));
  return out;
}

/** The catalogue in batches, run in their planned order on demand: `record(id)` runs the batch that
 *  holds that fault, and the batches before it, once each, so a test per fault reads its own verdict
 *  whatever order the tests ask in. */
export class CatalogueRun {
  readonly batches: Fault[][];
  private readonly results = new Map<string, Promise<FaultRecord>>();
  private chain: Promise<unknown> = Promise.resolve();
  private started = 0;

  constructor(
    private readonly stack: Stack, private readonly clean: Topology, faults: Fault[], private readonly checks: Check[],
    private readonly target: Target, private readonly progress: (m: string) => void = () => {},
    o: { alone?: boolean } = {},
  ) {
    const mine = faults.filter((f) => f.modes.includes(clean.mode));
    // Alone: each fault on its own, so a consequence another fault's declared checks would cover in a
    // batch shows as unrelated (slower; what `npm run faults -- --alone` is for).
    this.batches = o.alone ? mine.map((f) => [f]) : planBatches(clean, mine, { slow: checks.filter((c) => c.slow).map((c) => c.id) });
  }

  record(id: string): Promise<FaultRecord> {
    const at = this.batches.findIndex((b) => b.some((f) => f.id === id));
    if (at < 0) throw new Error(`fault ${id} is not in this catalogue run (${this.clean.mode} mode)`);
    for (; this.started <= at; this.started++) {
      const batch = this.batches[this.started];
      const run = this.chain.then(() => runBatch(this.stack, this.clean, batch, this.checks, this.target, this.progress));
      this.chain = run.catch(() => {});
      for (const f of batch) {
        const rec = run.then((rs) => rs.find((r) => r.id === f.id)!);
        rec.catch(() => {}); // a batch run ahead of its tests: its failure is theirs to report, when they ask
        this.results.set(f.id, rec);
      }
    }
    return this.results.get(id)!;
  }

  async all(): Promise<FaultRecord[]> {
    return Promise.all(this.batches.flat().map((f) => this.record(f.id)));
  }
}

export interface CatalogueReport {
  faults: FaultRecord[];
  falseAlarms: CheckResult[];
  caught: number;
  total: number;
  batches: number;
  durationMs: number;
}

export async function runCatalogue(
  stack: Stack, faults: Fault[], checks: Check[], target: Target, progress: (m: string) => void = () => {}, o: { alone?: boolean } = {},
): Promise<CatalogueReport> {
  const t0 = Date.now();
  const clean = stack.topology;
  const baseline = await runChecks(checks.filter((c) => !c.slow), target, { artifactsDir: NO_ARTIFACTS });
  const falseAlarms = baseline.filter((r) => r.status === 'fail');
  for (const f of falseAlarms) progress(`✖ false alarm on the clean stack: ${f.id}: ${f.message}`);
  const run = new CatalogueRun(stack, clean, faults, checks, target, progress, o);
  // The stack is left under the last batch: its caller stops it (bringing back 20 workspaces first
  // would cost seconds for nothing).
  const records = await run.all();
  return { faults: records, falseAlarms, caught: records.filter((r) => r.caught).length, total: records.length, batches: run.batches.length, durationMs: Date.now() - t0 };
}
