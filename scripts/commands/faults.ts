import { parseArgs } from 'node:util';
import { HarnessError, step, bold, dim, green, red, yellow, EXIT } from '../lib/ui.ts';
import { ensureReady } from '../lib/ready.ts';
import { parseModes, type Command } from '../lib/args.ts';
import { localTopology, startLocalStack, generateUserPasswords } from '../../stack/run.ts';
import { CONTRACT } from '../../stack/topology.ts';
import { describeStack } from '../../stack/stack.ts';
import { ALL_CHECKS } from '../../suites/index.ts';
import type { CheckResult } from '../../suites/lib/check.ts';
import { localTarget } from '../../suites/lib/local-target.ts';
import { FAULTS, faultById, catalogueUserAuth } from '../../stack/faults/catalogue.ts';
import { runCatalogue, type CatalogueReport } from '../../suites/lib/fault-runner.ts';
import { writeText, REPORTS_DIR } from '../lib/report.ts';
import { redactDeep } from '../../stack/secrets.ts';

const HELP = `comfy-verify faults [--mode host|container|both] [--fault ID,...] [--alone] [--list]
  Proves every check can fail: applies each fault of the catalogue to the local stack
  (restarting only what it touches), runs the suites, and records which checks turned red.
  Faults that cannot see each other run together in batches (a batch that blurs is run again one
  fault at a time). --alone runs every fault on its own: slower, and it shows a consequence a
  fault does not declare that another fault's declared checks covered in its batch.
  Writes reports/faults.json. Exit 1 when a fault is missed, a check fails on the clean stack,
  or a fault turns a check red that it does not declare.`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    mode: { type: 'string' }, fault: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, 'user-auth': { type: 'boolean' }, alone: { type: 'boolean' },
  } });
  if (values.help) return console.log(HELP), EXIT.ok;
  if (values.list) {
    for (const f of FAULTS) console.log(`${bold(f.id)} ${dim(`[${f.modes.join(', ')}]`)}\n  ${f.description}\n  must fail: ${f.expect.join(', ')}`);
    return EXIT.ok;
  }
  const modes = parseModes(values.mode);
  const chosen = values.fault ? values.fault.split(',').map((id) => { try { return faultById(id.trim()); } catch (e) { throw new HarnessError((e as Error).message); } }) : FAULTS;
  await ensureReady();
  const t0 = Date.now();
  const records: CatalogueReport['faults'] = [];
  let batches = 0;
  const falseAlarms: (CheckResult & { mode: string })[] = [];
  for (const mode of modes) {
    const faults = chosen.filter((f) => f.modes.includes(mode));
    if (!faults.length) continue;
    step(`${bold(mode + '-nginx mode')}: bringing up the stack, then ${faults.length} faults in batches`);
    // Container mode runs with per-user auth (its faults need it), host mode without (the warning's
    // side); --user-auth puts it on both.
    const auth = values['user-auth'] || catalogueUserAuth(mode);
    const stack = await startLocalStack(localTopology(mode, auth ? { userAuth: generateUserPasswords(CONTRACT.users) } : {}), (m) => step(m));
    // The participants' passwords as the stack has them now (a fault may give them all one).
    const target = localTarget(describeStack(stack), { faults: true, userCredentials: () => stack.topology.userAuth?.passwords, secrets: () => stack.topology.secrets });
    try {
      const rep = await runCatalogue(stack, faults, ALL_CHECKS, target, (m) => console.log(m), { alone: values.alone });
      records.push(...rep.faults);
      batches += rep.batches;
      falseAlarms.push(...rep.falseAlarms.map((r) => ({ ...r, mode })));
    } finally {
      await target.close();
      await stack.stop();
    }
  }
  const caught = records.filter((r) => r.caught).length;
  const report = { faults: records, caught, total: records.length, batches, falseAlarms, durationMs: Date.now() - t0 };
  writeText('faults.json', JSON.stringify(redactDeep(report), null, 2)); // redacted before JSON escaping
  const blurred = records.filter((r) => r.unrelated.length);
  const ok = caught === records.length && !falseAlarms.length && !blurred.length;
  console.log(`\n${ok ? green('✔') : red('✖')} ${caught}/${records.length} faults caught, ${falseAlarms.length} false alarms, ${blurred.length} faults also failed unrelated checks, in ${((Date.now() - t0) / 1000).toFixed(0)} s (${batches} batches)`);
  for (const r of blurred) console.log(`  ${yellow('⚠')} ${r.id} (${r.mode}) also failed: ${r.unrelated.join(', ')}`);
  for (const r of records.filter((x) => !x.caught)) console.log(`  ${red('✖')} ${r.id} (${r.mode}) missed: expected ${r.expected.join(', ')}; failed ${r.failed.join(', ') || 'nothing'}`);
  console.log(dim(`report: ${REPORTS_DIR}/faults.json`));
  return ok ? EXIT.ok : EXIT.checkFailed;
}


export const faultsCommand: Command = { name: 'faults', summary: 'prove every check can fail: the fault catalogue', help: HELP, run };
