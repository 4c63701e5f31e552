// comfy-verify's command line. Every command: live progress, one clear line on bad input,
// exit codes 0 (all passed), 1 (a check failed), 2 (the harness could not run).
import { parseArgs } from 'node:util';
import { main, HarnessError, step, done, bold, dim, green, red, yellow, EXIT } from './lib/ui.ts';
import { ensureReady } from './lib/ready.ts';
import { localTopology, startLocalStack } from '../stack/run.ts';
import { CONTRACT, userList, userHostPort, type NginxMode } from '../stack/topology.ts';
import { removeByLabel } from '../stack/containers/labels.ts';
import { describeStack } from '../stack/stack.ts';
import { SUITES, ALL_CHECKS } from '../suites/index.ts';
import { runChecks, type CheckResult } from '../suites/lib/check.ts';
import { FAULTS, faultById } from '../stack/faults/catalogue.ts';
import { runCatalogue, type CatalogueReport } from './lib/fault-runner.ts';
import { localTarget } from '../suites/lib/local-target.ts';
import { buildReport, junit, resultLine, summary, writeText, REPORTS_DIR, type ModeResult } from './lib/report.ts';

const HELP: Record<string, string> = {
  stack: `comfy-verify stack up [--mode host|container] [--users N]
  Brings up the local stand-in platform (redis, queue-manager, admin, N user frontends,
  nginx, mock GPU worker, vantage probes), prints every URL, stays up until Ctrl-C.
comfy-verify stack down
  Removes every container, network and volume comfy-verify left behind.`,
};

function parseMode(v: string | undefined): NginxMode {
  if (v === undefined || v === 'host' || v === 'container') return (v ?? 'host') as NginxMode;
  throw new HarnessError(`--mode must be host or container, not "${v}"`);
}
function parseUsers(v: string | undefined): number {
  if (v === undefined) return CONTRACT.users;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new HarnessError(`--users must be a whole number from 1 to 99, not "${v}"`);
  return n;
}

async function stackCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    mode: { type: 'string' }, users: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help || !positionals[0]) return console.log(HELP.stack), EXIT.ok;
  if (positionals[0] === 'down') {
    await ensureReady({ images: false });
    const n = await removeByLabel({});
    done(`removed ${n} container(s)/network(s)/volume(s)`);
    return EXIT.ok;
  }
  if (positionals[0] !== 'up') throw new HarnessError(`unknown stack command "${positionals[0]}"`, 'use: stack up | stack down');
  const mode = parseMode(values.mode);
  const users = parseUsers(values.users);
  await ensureReady();
  const t = localTopology(mode, { users });
  step(`bringing up the ${mode}-nginx stack with ${users} users (run ${t.runId})`);
  const t0 = Date.now();
  const stack = await startLocalStack(t, (m) => step(m));
  done(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const d = t.domain;
  console.log(`
${bold('Public URLs')} (the domain resolves to the host's public address ${stack.publicAddress}):
  curl --resolve ${d}:443:${stack.publicAddress} --cacert ${t.runDir}/tls/ca.pem https://${d}/health
  https://${d}/            https://${d}/api/health     wss://${d}/ws
  https://${d}/admin       https://${d}/${userList(users)[0]}/ … /${userList(users).at(-1)}/
${bold('Host bindings')} (${mode} mode):
${mode === 'host'
    ? `  queue-manager 127.0.0.1:${CONTRACT.queueManagerPort}, admin 127.0.0.1:${CONTRACT.adminPort}, users 127.0.0.1:${userHostPort(1)}-${userHostPort(users)}`
    : '  nothing but nginx (0.0.0.0:80, 0.0.0.0:443)'}
  redis ${stack.vpnAddress}:${CONTRACT.redisPort} and queue-manager ${stack.vpnAddress}:${CONTRACT.queueManagerPort} (the VPN address only)
${bold('Credentials')} ${dim('(never printed)')}:
  admin: user "${t.secrets.adminUsername}", password from ADMIN_PASSWORD, or generated for this run
  redis: password from REDIS_PASSWORD, or generated for this run
  both are in: docker inspect cv-${t.runId}-admin / cv-${t.runId}-redis
${bold('CA')}: ${t.runDir}/tls/ca.pem

Press Ctrl-C to stop and remove everything.`);
  await new Promise(() => {}); // until Ctrl-C (run.ts removes the stack)
  return EXIT.ok;
}

HELP.verify = `comfy-verify verify [--mode host|container|both] [--users N] [--suite NAME,...]
  Brings up the local stack in each nginx mode (default: both), runs every suite against it,
  prints a GO / NO-GO verdict, writes reports/verify.json and reports/junit.xml.
  Exit code: 0 all passed (warnings allowed), 1 a check failed, 2 the harness could not run.`;

async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    mode: { type: 'string' }, users: { type: 'string' }, suite: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) return console.log(HELP.verify), EXIT.ok;
  const modes: NginxMode[] = values.mode === undefined || values.mode === 'both' ? ['host', 'container'] : [parseMode(values.mode)];
  const users = parseUsers(values.users);
  const checks = selectChecks(values.suite);
  await ensureReady();
  const t0 = Date.now();
  const all: ModeResult[] = [];
  for (const mode of modes) {
    const t = localTopology(mode, { users });
    step(`${bold(mode + '-nginx mode')}: bringing up the stack (${users} users)`);
    const stack = await startLocalStack(t, (m) => step(m));
    const target = localTarget(describeStack(stack));
    try {
      step(`running ${checks.length} checks (the idle-WebSocket check holds sockets for a minute)`);
      await runChecks(checks, target, { onResult: (r) => console.log(resultLine({ ...r, mode })) })
        .then((rs) => all.push(...rs.map((r) => ({ ...r, mode }))));
    } finally {
      await target.close();
      step('removing the stack');
      await stack.stop();
    }
  }
  const report = buildReport('local stack', modes, all, Date.now() - t0);
  writeText('verify.json', JSON.stringify(report, null, 2));
  writeText('junit.xml', junit(report));
  console.log(summary(report));
  console.log(dim(`reports: ${REPORTS_DIR}/verify.json, ${REPORTS_DIR}/junit.xml`));
  return report.verdict === 'GO' ? EXIT.ok : EXIT.checkFailed;
}

function selectChecks(suites: string | undefined) {
  if (!suites) return ALL_CHECKS;
  const names = suites.split(',').map((x) => x.trim());
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) throw new HarnessError(`unknown suite ${unknown.join(', ')}`, `suites: ${SUITES.map((s) => s.name).join(', ')}`);
  return SUITES.filter((s) => names.includes(s.name)).flatMap((s) => s.checks);
}

HELP.faults = `comfy-verify faults [--mode host|container|both] [--fault ID,...] [--list]
  Proves every check can fail: applies each fault of the catalogue to the local stack
  (restarting only what it touches), runs the suites, and records which checks turned red.
  Writes reports/faults.json. Exit 1 when a fault is missed or a check fails on the clean stack.`;

async function faultsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    mode: { type: 'string' }, fault: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) return console.log(HELP.faults), EXIT.ok;
  if (values.list) {
    for (const f of FAULTS) console.log(`${bold(f.id)} ${dim(`[${f.modes.join(', ')}]`)}\n  ${f.description}\n  must fail: ${f.expect.join(', ')}`);
    return EXIT.ok;
  }
  const modes: NginxMode[] = values.mode === undefined || values.mode === 'both' ? ['host', 'container'] : [parseMode(values.mode)];
  const chosen = values.fault ? values.fault.split(',').map((id) => { try { return faultById(id.trim()); } catch (e) { throw new HarnessError((e as Error).message); } }) : FAULTS;
  await ensureReady();
  const t0 = Date.now();
  const records: CatalogueReport['faults'] = [];
  const falseAlarms: (CheckResult & { mode: string })[] = [];
  for (const mode of modes) {
    const faults = chosen.filter((f) => f.modes.includes(mode));
    if (!faults.length) continue;
    step(`${bold(mode + '-nginx mode')}: bringing up the stack, then ${faults.length} faults one by one`);
    const stack = await startLocalStack(localTopology(mode), (m) => step(m));
    const target = localTarget(describeStack(stack), { faults: true });
    try {
      const rep = await runCatalogue(stack, faults, ALL_CHECKS, target, (m) => console.log(m));
      records.push(...rep.faults);
      falseAlarms.push(...rep.falseAlarms.map((r) => ({ ...r, mode })));
    } finally {
      await target.close();
      await stack.stop();
    }
  }
  const caught = records.filter((r) => r.caught).length;
  const report = { faults: records, caught, total: records.length, falseAlarms, durationMs: Date.now() - t0 };
  writeText('faults.json', JSON.stringify(report, null, 2));
  const blurred = records.filter((r) => r.unrelated.length);
  console.log(`\n${caught === records.length && !falseAlarms.length ? green('✔') : red('✖')} ${caught}/${records.length} faults caught, ${falseAlarms.length} false alarms, ${blurred.length} faults also failed unrelated checks, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const r of blurred) console.log(`  ${yellow('⚠')} ${r.id} (${r.mode}) also failed: ${r.unrelated.join(', ')}`);
  for (const r of records.filter((x) => !x.caught)) console.log(`  ${red('✖')} ${r.id} (${r.mode}) missed: expected ${r.expected.join(', ')}; failed ${r.failed.join(', ') || 'nothing'}`);
  console.log(dim(`report: ${REPORTS_DIR}/faults.json`));
  return caught === records.length && !falseAlarms.length ? EXIT.ok : EXIT.checkFailed;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  verify: verifyCommand,
  faults: faultsCommand,
  stack: stackCommand,
};

void main(async () => {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(`comfy-verify <command> [options]\n\ncommands: ${Object.keys(COMMANDS).join(', ')}\n\n${Object.values(HELP).join('\n\n')}`);
    return EXIT.ok;
  }
  const fn = COMMANDS[cmd];
  if (!fn) throw new HarnessError(`unknown command "${cmd}"`, `commands: ${Object.keys(COMMANDS).join(', ')}`);
  return fn(rest);
});
