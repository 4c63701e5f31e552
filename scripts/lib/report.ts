// Renderers over the same results: terminal lines, verify.json, JUnit. No secret leaves: every
// text goes through redact().
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CheckResult, Status } from '../../suites/lib/check.ts';
import { redact, redactDeep } from '../../stack/secrets.ts';
import { readExtras, renderHtml } from './html-report.ts';
import { green, red, yellow, dim, bold } from './ui.ts';
import { REPORTS_DIR } from '../../stack/images.ts';
import type { Outage } from '../../suites/lib/watch.ts';

export { REPORTS_DIR };

export interface ModeResult extends CheckResult {
  /** 'host' | 'container' for the local stack; 'remote' for a domain */
  mode: string;
  /** listed for completeness, not part of what this command runs (smoke's write checks): its skip
   *  does not make the run partial */
  outOfProfile?: boolean;
}

export interface RootCause {
  service: string;
  /** it never started (its configuration refused): `detail` holds its last log lines */
  never?: boolean;
  detail?: string[];
  mode: string;
  since: string;
  until?: string;
  probe: string;
  /** checks that started or finished in the 5 s before, nearest first */
  after: string[];
  blocked: string[];
}

/** A watcher's outages as the report carries them. */
/** How a root cause reads: one that never started, or one that stopped answering (and when). */
export function causeText(x: RootCause): string {
  return x.never ? `${x.service} did not start` : `${x.service} stopped answering at ${x.since.slice(11, 19)}`;
}

export function rootCauses(mode: string, outages: Outage[]): RootCause[] {
  return outages.map((o) => ({ ...(o.never ? { never: true, detail: o.detail } : {}),
    service: o.service, mode, since: new Date(o.since).toISOString(), ...(o.until ? { until: new Date(o.until).toISOString() } : {}),
    probe: o.probe, after: o.after.map((a) => `${a.id} (${a.event} ${a.secondsBefore.toFixed(1)} s before)`), blocked: [...o.blocked],
  }));
}

export interface VerifyReport {
  target: string;
  modes: string[];
  checks: ModeResult[];
  verdict: 'GO' | 'NO-GO';
  /** services that stopped answering while checks ran, first in every report: what they blocked */
  rootCauses?: RootCause[];
  /** checks of the run that did not run (skipped), grouped by why: a GO is then partial */
  partial?: { notRun: number; of: number; reasons: string[] };
  counts: Record<Status, number>;
  durationMs: number;
  generatedAt: string;
  /** verify --compose: the operator's project, what was changed to run it here and why, compose's warnings */
  deployment?: DeploymentNotes;
}

export interface DeploymentNotes {
  source: string;
  changes: { mode: string; what: string; why: string }[];
  warnings: { mode: string; text: string }[];
  /** start-up: a service that came up late (a warning with its timing), or a healthcheck our
   *  stand-in images cannot run (the harness's problem, not the project's) */
  startup?: { mode: string; kind: 'late' | 'harness'; service: string; text: string }[];
}

const ICON: Record<Status, string> = { pass: green('✔'), warn: yellow('⚠'), fail: red('✖'), skip: dim('–') };

export function resultLine(r: ModeResult): string {
  const ms = r.durationMs >= 1000 ? `${(r.durationMs / 1000).toFixed(1)} s` : `${r.durationMs} ms`;
  return redact(`${ICON[r.status]} ${dim(`[${r.mode}]`)} ${r.id.padEnd(34)} ${r.status === 'pass' ? dim(r.message) : r.message} ${dim(ms)}${r.rerun ? dim(` (rerun ${r.rerun})`) : ''}${r.standIn ? yellow(` [${standInNote(r)}]`) : ''}`);
}

/** What a result read from a stand-in's stub proves. */
export const standInNote = (r: Pick<CheckResult, 'standIn'>) => `stand-in evidence: ${r.standIn}; proves the check's reading, not the real thing`;
/** Passes and warnings whose evidence came from a stand-in's stub: counted apart in the verdict. */
export const onStandIns = (r: Pick<VerifyReport, 'checks'>) => r.checks.filter((x) => x.standIn && (x.status === 'pass' || x.status === 'warn'));

export function buildReport(target: string, modes: string[], checks: ModeResult[], durationMs: number, causes: RootCause[] = [], deployment?: DeploymentNotes): VerifyReport {
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  const inProfile = checks.filter((c) => !c.outOfProfile);
  const notRun = inProfile.filter((c) => c.status === 'skip');
  const why = new Map<string, number>();
  for (const c of notRun) why.set(c.message, (why.get(c.message) ?? 0) + 1);
  const partial = notRun.length
    ? { notRun: notRun.length, of: inProfile.length, reasons: [...why].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${n} ${n === 1 ? 'check' : 'checks'}: ${m}`) }
    : undefined;
  return {
    target, modes, checks, verdict: counts.fail ? 'NO-GO' : 'GO', ...(causes.length ? { rootCauses: causes } : {}), ...(partial ? { partial } : {}),
    counts, durationMs, generatedAt: new Date().toISOString(), ...(deployment ? { deployment } : {}),
  };
}

/** GO, "GO (partial)" or NO-GO: the word a report leads with. */
export const verdictWord = (r: Pick<VerifyReport, 'verdict' | 'partial'>) => (r.verdict === 'GO' && r.partial ? 'GO (partial)' : r.verdict);

/** 0 GO, 1 NO-GO, 3 a GO that did not run everything (0 with --accept-partial). */
export function exitCode(r: Pick<VerifyReport, 'verdict' | 'partial'>, acceptPartial = false): number {
  if (r.verdict !== 'GO') return 1;
  return r.partial && !acceptPartial ? 3 : 0;
}

/** Skipped checks that were never meant to run here (smoke's writes, a subject the deployment lacks). */
export const outOfScope = (r: Pick<VerifyReport, 'checks'>) => r.checks.filter((x) => x.status === 'skip' && x.outOfProfile).length;

export function summary(r: VerifyReport): string {
  const c = r.counts;
  const lines = [
    '',
    bold(r.verdict !== 'GO' ? red(`NO-GO: ${c.fail} check(s) failed on ${r.target}`)
      : r.partial ? yellow(`GO (partial: ${r.partial.notRun} of ${r.partial.of} checks not run): ${r.target} meets the contract in what was checked`)
      : green(`GO: ${r.target} meets the contract`)),
    `${c.pass} passed, ${c.warn} warnings, ${c.fail} failed, ${c.skip} skipped${outOfScope(r) ? ` (${outOfScope(r)} not part of this run or deployment)` : ''} in ${(r.durationMs / 1000).toFixed(0)} s`,
    ...(onStandIns(r).length ? [yellow(`  of these, ${onStandIns(r).length} on stand-in evidence (${onStandIns(r).map((x) => `[${x.mode}] ${x.id}`).join(', ')}): they prove the checks' reading, not the real ${[...new Set(onStandIns(r).map((x) => x.standIn!.split(' (')[0]))].join(', ')}`)] : []),
    // Root causes first: one service that stopped answering explains the checks it blocked.
    ...(r.rootCauses ?? []).flatMap((x) => [
      red(bold(`  ROOT CAUSE${r.modes.length > 1 ? ` [${x.mode}]` : ''}: ${causeText(x)}${x.after[0] ? `, after ${x.after[0]}` : ''}${x.until ? ` (answered again at ${x.until.slice(11, 19)})` : ''}`)),
      dim(`    ${x.probe}; blocked ${x.blocked.length ? x.blocked.join(', ') : 'no check'}`),
    ]),
    ...(r.deployment ? [dim(`  ${r.deployment.source}: run as written but for ${r.deployment.changes.length} change(s) listed in the report${r.deployment.warnings.length ? `; compose warned: ${[...new Set(r.deployment.warnings.map((w) => w.text))].join('; ')}` : ''}`)] : []),
    ...(r.deployment?.startup ?? []).map((x) => x.kind === 'late'
      ? `  ${yellow('⚠')} ${dim(`[${x.mode}]`)} start-up: ${x.text}`
      : dim(`  – [${x.mode}] harness, not your project: ${x.text}`)),
    ...(r.verdict === 'GO' && r.partial ? [...r.partial.reasons.map((x) => `  ${dim('–')} not run: ${x}`), dim('  (exit code 3; --accept-partial makes a partial GO exit 0)')] : []),
    ...r.checks.filter((x) => x.status === 'fail').map((x) => `  ${red('✖')} [${x.mode}] ${x.id}: ${x.message}${x.rerun ? dim(` (rerun ${x.rerun})`) : ''}`),
    ...r.checks.filter((x) => x.status === 'warn').map((x) => `  ${yellow('⚠')} [${x.mode}] ${x.id}: ${x.message}`),
  ];
  return redact(lines.join('\n'));
}

export function writeText(file: string, text: string): string {
  const path = join(REPORTS_DIR, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, redact(text));
  return path;
}

const xml = (s: string) => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

export function junit(r: VerifyReport): string {
  const bySuite = new Map<string, ModeResult[]>();
  for (const c of r.checks) {
    const k = `${c.mode}.${c.suite}`;
    bySuite.set(k, [...(bySuite.get(k) ?? []), c]);
  }
  const suites = [...bySuite.entries()].map(([name, cs]) => {
    const cases = cs.map((c) => {
      const inner = c.status === 'fail' ? `<failure message="${xml(c.message)}">${xml(JSON.stringify(c.evidence, null, 2))}</failure>`
        : c.status === 'skip' ? `<skipped message="${xml(c.message)}"/>`
        : c.status === 'warn' ? `<system-out>${xml(`WARNING: ${c.message}`)}</system-out>` : '';
      return `    <testcase classname="${xml(name)}" name="${xml(`${c.id}: ${c.title}`)}" time="${(c.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
    });
    const f = cs.filter((c) => c.status === 'fail').length, s = cs.filter((c) => c.status === 'skip').length;
    return `  <testsuite name="${xml(name)}" tests="${cs.length}" failures="${f}" skipped="${s}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  // Root causes first, as a suite of their own: each outage a failed case listing what it blocked.
  const causes = (r.rootCauses ?? []).map((x) => `    <testcase classname="${xml(`${x.mode}.root-causes`)}" name="${xml(x.never ? `${x.service} did not start` : `${x.service} stopped answering`)}" time="0"><failure message="${xml(`${causeText(x)}${x.after[0] ? ` after ${x.after[0]}` : ''}`)}">${xml(`${[x.probe, ...(x.detail ?? [])].join('\n')}\nblocked: ${x.blocked.join(', ') || 'none'}`)}</failure></testcase>`);
  const head = causes.length ? [`  <testsuite name="root causes" tests="${causes.length}" failures="${causes.length}" skipped="0">\n${causes.join('\n')}\n  </testsuite>`] : [];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="comfy-verify ${xml(r.target)}" tests="${r.checks.length}" failures="${r.counts.fail}">\n${[...head, ...suites].join('\n')}\n</testsuites>\n`;
}

/** Every report of a run, from one result set: <name>.json (verify.json, smoke.json, ...), junit.xml and
 *  index.html (which also shows faults.json, screenshots and the load summary when other runs left them). */
export function writeReports(report: VerifyReport, name = 'verify'): string[] {
  // Redacted as data first: JSON and XML escaping would hide a password containing " \ < & from redact().
  const r = redactDeep(report);
  return [
    writeText(`${name}.json`, JSON.stringify(r, null, 2)),
    writeText('junit.xml', junit(r)),
    writeText('index.html', renderHtml(r, readExtras(REPORTS_DIR), `${name}.json`)),
  ];
}
