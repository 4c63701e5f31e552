import { parseArgs } from 'node:util';
import { dim, step, EXIT } from '../lib/ui.ts';
import type { Command } from '../lib/args.ts';
import { TARGET_OPTIONS, TARGET_HELP } from '../lib/config.ts';
import { runRemote } from '../lib/remote-run.ts';
import { buildReport, exitCode, summary, writeReports } from '../lib/report.ts';
import { selectChecks } from './verify.ts';

const HELP = `comfy-verify smoke --target https://DOMAIN [options]
  Post-deploy smoke test of a deployment, in seconds: health, routing, TLS, WebSocket upgrades
  and port exposure seen from this machine, for every user. Read-only: no POST, PUT, PATCH or
  DELETE and no file written unless --allow-writes. Slow checks (idle WebSockets) are left to
  verify and checklist. Writes reports/smoke.json, junit.xml and index.html.
  Exit code: 0 all passed (warnings allowed), 1 a check failed, 2 the harness could not run,
  3 nothing failed but checks were not run (a partial GO; --accept-partial makes it 0).
  The checks that write, left out of a read-only smoke run, are listed as skipped and do not make it partial.

${TARGET_HELP}
  --suite NAME,...      only these suites`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...TARGET_OPTIONS, suite: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(HELP), EXIT.ok;
  const candidates = selectChecks(values.suite).filter((c) => !c.slow);
  // Read-only unless told: checks that write are not even started.
  const checks = values['allow-writes'] ? candidates : candidates.filter((c) => !c.needs?.includes('write'));
  const left = candidates.filter((c) => !checks.includes(c));
  const r = await runRemote(checks, values);
  if (left.length) step(dim(`${left.length} checks that write were not run (read-only; --allow-writes runs them)`));
  // Listed, so the report says what a read-only run did not look at, and why.
  const leftOut = left.map((c) => ({ id: c.id, suite: c.suite, title: c.title, status: 'skip' as const, mode: 'remote', outOfProfile: true,
    message: 'not run: it writes, and smoke is read-only (--allow-writes runs it)', evidence: [], durationMs: 0, target: r.target }));
  const report = buildReport(r.target, ['remote'], [...r.results, ...leftOut], r.durationMs, r.rootCauses);
  const files = writeReports(report, 'smoke');
  console.log(summary(report));
  console.log(dim(`reports: ${files.join(', ')}`));
  return exitCode(report, !!values['accept-partial']);
}

export const smokeCommand: Command = { name: 'smoke', summary: 'post-deploy smoke test of https://DOMAIN: read-only, every user, seconds', help: HELP, run };
