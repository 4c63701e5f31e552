import { parseArgs } from 'node:util';
import { HarnessError, step, bold, dim, EXIT } from '../lib/ui.ts';
import { ensureReady } from '../lib/ready.ts';
import { parseModes, parseUsers, parseNginxSource, type Command } from '../lib/args.ts';
import { localTopology, startLocalStack } from '../../stack/run.ts';
import { describeStack } from '../../stack/stack.ts';
import { SUITES, ALL_CHECKS } from '../../suites/index.ts';
import { runChecks } from '../../suites/lib/check.ts';
import { localTarget } from '../../suites/lib/local-target.ts';
import { buildReport, exitCode, resultLine, rootCauses, summary, writeReports, type ModeResult, type RootCause } from '../lib/report.ts';
import { Watcher } from '../../suites/lib/watch.ts';
import { TARGET_OPTIONS, TARGET_HELP } from '../lib/config.ts';
import { runRemote } from '../lib/remote-run.ts';

const HELP = `comfy-verify verify [--mode host|container|both] [--users N] [--suite NAME,...] [--nginx-site FILE | --nginx-conf FILE]
  Brings up the local stack in each nginx mode (default: both), runs every suite against it,
  prints a GO / NO-GO verdict, writes reports/index.html (open it), verify.json and junit.xml.
  --nginx-site FILE runs nginx with your own site file (as written; certificates and ports mapped).
  --nginx-conf FILE runs nginx with your whole nginx.conf (as written, its includes read beside it;
  certificate paths mapped). An nginx that refuses it is a finding: NO-GO, with nginx's own words.
  Exit code: 0 all passed (warnings allowed), 1 a check failed, 2 the harness could not run,
  3 nothing failed but checks were not run (a partial GO; --accept-partial makes it 0).
comfy-verify verify --target https://DOMAIN [options] [--suite NAME,...]
  Runs every suite against a deployment instead (checks needing what is not given are skipped).

${TARGET_HELP}`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    ...TARGET_OPTIONS, mode: { type: 'string' }, users: { type: 'string' }, 'nginx-site': { type: 'string' }, 'nginx-conf': { type: 'string' }, suite: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) return console.log(HELP), EXIT.ok;
  if (values.target !== undefined) return verifyRemote(selectChecks(values.suite), values, !!values['accept-partial']);
  const modes = parseModes(values.mode);
  const users = parseUsers(values.users);
  const checks = selectChecks(values.suite);
  await ensureReady();
  const t0 = Date.now();
  const all: ModeResult[] = [];
  const causes: RootCause[] = [];
  for (const mode of modes) {
    const t = localTopology(mode, { users, nginxSource: parseNginxSource(values['nginx-site'], values['nginx-conf']) });
    step(`${bold(mode + '-nginx mode')}: bringing up the stack (${users} users)`);
    // An nginx that does not start is the deployment's finding (NO-GO), not the harness's: the rest
    // of the stack comes up, and every check that needs nginx is blocked by it, with nginx's own words.
    const stack = await startLocalStack(t, (m) => step(m), { optional: ['nginx'] });
    const target = localTarget(describeStack(stack));
    // Watches every service while the checks run: one that stops answering is a root cause.
    const watcher = new Watcher(target);
    const nginxDown = stack.notStarted.get('nginx');
    if (nginxDown) {
      const emerg = nginxDown.filter((l) => /\[(emerg|alert|crit)\]/.test(l));
      watcher.declareDown('nginx', (emerg.at(-1) ?? nginxDown.at(-1) ?? 'no words').replace(/^.*?\[(emerg|alert|crit)\]\s*\d+#\d+:\s*/, '[$1] '), nginxDown);
    }
    try {
      step(`running ${checks.length} checks${checks.some((c) => c.quiet) ? ' (the idle-WebSocket check holds sockets for a minute)' : ''}`);
      await watcher.start();
      await runChecks(checks, target, { watcher, onResult: (r) => console.log(resultLine({ ...r, mode })) })
        .then((rs) => all.push(...rs.map((r) => ({ ...r, mode }))));
      causes.push(...rootCauses(mode, watcher.outages()));
    } finally {
      watcher.stop();
      await target.close();
      step('removing the stack');
      await stack.stop();
    }
  }
  const report = buildReport('local stack', modes, all, Date.now() - t0, causes);
  const files = writeReports(report);
  console.log(summary(report));
  console.log(dim(`reports: ${files.join(', ')}`));
  return exitCode(report, !!values['accept-partial']);
}

/** verify --target: the same suites against a deployment by its domain. */
async function verifyRemote(checks: ReturnType<typeof selectChecks>, values: Parameters<typeof runRemote>[1], acceptPartial: boolean): Promise<number> {
  const r = await runRemote(checks, values);
  const report = buildReport(r.target, ['remote'], r.results, r.durationMs, r.rootCauses);
  const files = writeReports(report);
  console.log(summary(report));
  console.log(dim(`reports: ${files.join(', ')}`));
  return exitCode(report, acceptPartial);
}

export function selectChecks(suites: string | undefined) {
  if (!suites) return ALL_CHECKS;
  const names = suites.split(',').map((x) => x.trim());
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) throw new HarnessError(`unknown suite ${unknown.join(', ')}`, `suites: ${SUITES.map((s) => s.name).join(', ')}`);
  return SUITES.filter((s) => names.includes(s.name)).flatMap((s) => s.checks);
}


export const verifyCommand: Command = { name: 'verify', summary: 'run every suite against the local stack in both nginx modes', help: HELP, run };
