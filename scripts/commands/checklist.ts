import { parseArgs } from 'node:util';
import { bold, dim, green, red, yellow, EXIT } from '../lib/ui.ts';
import type { Command } from '../lib/args.ts';
import { TARGET_OPTIONS, TARGET_HELP } from '../lib/config.ts';
import { runRemote } from '../lib/remote-run.ts';
import { writeText } from '../lib/report.ts';
import { CHECKLIST, checklistCheckIds, evaluate, counts, checklistText, checklistMarkdown, ICON } from '../lib/checklist.ts';
import { ALL_CHECKS } from '../../suites/index.ts';

const HELP = `comfy-verify checklist --target https://DOMAIN [options]
  The pre-workshop checklist: every verifiable item of the deployment guide's Steps 1 and 8 and of the
  T-1 week, T-1 day and T-1 hour routine, each proved by its checks and printed as
  ✅ passed  ⚠️ warning  ❌ failed  ⏭ not verified (skipped, with the reason; never a pass).
  Writes reports/checklist.md. Exit code: 0 nothing failed, 1 an item failed, 2 could not run,
  3 nothing failed but items could not be verified (--accept-partial makes it 0; --quick's are not counted).

${TARGET_HELP}
  --quick               leave out the slow checks (idle WebSockets, over a minute)`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...TARGET_OPTIONS, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(HELP), EXIT.ok;
  const ids = new Set(checklistCheckIds());
  const checks = ALL_CHECKS.filter((c) => ids.has(c.id) && !(values.quick && c.slow));
  const note = `for ${CHECKLIST.length} items${values.quick ? ' (--quick: slow checks left out)' : ' (the idle-WebSocket check takes a minute)'}`;
  const r = await runRemote(checks, values, { quiet: true, note });
  // What --quick left out is shown as such: not verified, and why.
  const leftOut = ALL_CHECKS.filter((c) => ids.has(c.id) && !checks.includes(c))
    .map((c) => ({ id: c.id, suite: c.suite, title: c.title, status: 'skip' as const, message: 'left out by --quick (it takes over a minute)', evidence: [], durationMs: 0, target: r.target }));
  const items = evaluate([...r.results, ...leftOut]);
  const c = counts(items);
  const generatedAt = new Date().toISOString();
  const file = writeText('checklist.md', checklistMarkdown(items, { target: r.target, generatedAt, durationMs: r.durationMs }));
  console.log(`${bold(`Pre-workshop checklist: ${r.target}`)}${checklistText(items)}\n`);
  const line = `${ICON.pass} ${c.pass} passed, ${ICON.warn} ${c.warn} warnings, ${ICON.fail} ${c.fail} failed, ${ICON.skip} ${c.skip} not verified, in ${(r.durationMs / 1000).toFixed(0)} s`;
  // Partial: a check of this run's profile (not what --quick left out) could not run.
  const notRun = r.results.filter((x) => x.status === 'skip' && !x.outOfProfile).length;
  console.log(c.fail ? red(bold(`NO-GO: ${line}`)) : notRun ? yellow(bold(`GO (partial: ${notRun} of ${r.results.length} checks not run): ${line}`)) : green(bold(`GO: ${line}`)));
  console.log(dim(`checklist: ${file}`));
  return c.fail ? EXIT.checkFailed : notRun && !values['accept-partial'] ? EXIT.partial : EXIT.ok;
}

export const checklistCommand: Command = { name: 'checklist', summary: 'the pre-workshop checklist (guide Steps 1 and 8, T-1 week/day/hour) for https://DOMAIN', help: HELP, run };
