import { parseArgs } from 'node:util';
import { HarnessError, step, bold, dim, EXIT } from '../lib/ui.ts';
import { ensureReady } from '../lib/ready.ts';
import { parseModes, parseUsers, parseNginxSource, type Command } from '../lib/args.ts';
import { localTopology, startLocalStack, generateUserPasswords } from '../../stack/run.ts';
import { describeStack } from '../../stack/stack.ts';
import { startComposeStack } from '../../stack/compose/compose-stack.ts';
import type { ComposeInput } from '../../stack/compose/project.ts';
import { SUITES, ALL_CHECKS } from '../../suites/index.ts';
import { runChecks } from '../../suites/lib/check.ts';
import { localTarget, type TargetStack } from '../../suites/lib/local-target.ts';
import { buildReport, exitCode, resultLine, rootCauses, summary, writeReports, type DeploymentNotes, type ModeResult, type RootCause } from '../lib/report.ts';
import { Watcher } from '../../suites/lib/watch.ts';
import { existsSync, readFileSync } from 'node:fs';
import { TARGET_OPTIONS, TARGET_HELP, parseUserCredentials } from '../lib/config.ts';
import { runRemote } from '../lib/remote-run.ts';

const HELP = `comfy-verify verify [--mode host|container|both] [--users N] [--suite NAME,...] [--skip ID,...] [--nginx-site FILE | --nginx-conf FILE] [--user-auth]
  Brings up the local stack in each nginx mode (default: both), runs every suite against it,
  prints a GO / NO-GO verdict, writes reports/index.html (open it), verify.json and junit.xml.
  --nginx-site FILE runs nginx with your own site file (as written; certificates and ports mapped).
  --nginx-conf FILE runs nginx with your whole nginx.conf (as written, its includes read beside it;
  certificate paths mapped). An nginx that refuses it is a finding: NO-GO, with nginx's own words.
comfy-verify verify --compose FILE [--env-file FILE] [--mode host|container|both] [--standin SERVICE,...] [--image SERVICE=IMAGE,...]
  Brings up YOUR compose project (its include:d files, .env, profiles) with docker compose v2, as
  written: host mode without the container-nginx profile plus a host nginx (the reference site, or
  --nginx-site / --nginx-conf), container mode with the profile and your own nginx service. Changed
  only, and listed in the report: data paths and certificate paths of the env file (moved into the
  run directory), the VPN network (its gateway is your REDIS_BIND_IP), services that cannot run here
  (a reserved GPU: our mock worker; --standin SERVICE: our stand-in; --image SERVICE=IMAGE: that image;
  names or patterns such as user*), CPU limits above this machine's. --user-credentials FILE: the
  participants' passwords when your nginx asks for them (user:password lines).
  --user-auth puts each /userNNN/ behind HTTP Basic auth, one bcrypt htpasswd file and password per
  participant (generated per run); every suite then opens workspaces with their owner's credentials.
  Exit code: 0 all passed (warnings allowed), 1 a check failed, 2 the harness could not run,
  3 nothing failed but checks were not run (a partial GO; --accept-partial makes it 0).
comfy-verify verify --target https://DOMAIN [options] [--suite NAME,...] [--skip ID,...]
  Runs every suite against a deployment instead (checks needing what is not given are skipped).
  --suite NAME,...  only these suites;  --skip ID,...  leave out these checks or suites (e.g. --skip
  websocket.idle-survives: no minute of idle sockets); the run then says what it left out.

${TARGET_HELP}`;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    ...TARGET_OPTIONS, mode: { type: 'string' }, users: { type: 'string' }, 'nginx-site': { type: 'string' }, 'nginx-conf': { type: 'string' }, suite: { type: 'string' }, skip: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    compose: { type: 'string' }, 'env-file': { type: 'string' }, standin: { type: 'string' }, image: { type: 'string' }, 'user-auth': { type: 'boolean' },
  } });
  if (values.help) return console.log(HELP), EXIT.ok;
  if (values.target !== undefined) return verifyRemote(selectChecks(values.suite, values.skip), values, !!values['accept-partial'], values.skip);
  const modes = parseModes(values.mode);
  const compose = parseCompose(values);
  const users = parseUsers(values.users);
  const checks = selectChecks(values.suite, values.skip);
  const nginxSource = parseNginxSource(values['nginx-site'], values['nginx-conf']);
  if (values['user-credentials'] && !compose) throw new HarnessError('--user-credentials goes with --compose or --target', 'the local stack makes its own: use --user-auth');
  const composeCreds = values['user-credentials'] ? readUserCredentials(values['user-credentials']) : undefined;
  await ensureReady();
  const t0 = Date.now();
  const all: ModeResult[] = [];
  const causes: RootCause[] = [];
  const deployment: DeploymentNotes | undefined = compose && { source: `compose project ${compose.file}`, changes: [], warnings: [] };
  for (const mode of modes) {
    // A service that does not start (an nginx refusing its configuration, a compose service that
    // exits) is the deployment's finding (NO-GO), not the harness's: the rest comes up, and every
    // check that needs it is blocked by it, with its own last words.
    let stack: { notStarted: Map<string, string[]>; describe(): TargetStack; stop(): Promise<void> };
    if (compose) {
      step(`${bold(mode + '-nginx mode')}: bringing up your compose project ${compose.file}`);
      const cs = await startComposeStack({ ...compose, mode, nginxSource }, (m) => step(m));
      deployment!.changes.push(...cs.changes.map((c) => ({ mode, ...c })));
      deployment!.warnings.push(...cs.warnings.map((text) => ({ mode, text })));
      (deployment!.startup ??= []).push(...cs.startup.map((x) => ({ mode, ...x })));
      stack = cs;
    } else {
      step(`${bold(mode + '-nginx mode')}: bringing up the stack (${users} users)`);
      const s = await startLocalStack(localTopology(mode, { users, nginxSource, ...(values['user-auth'] ? { userAuth: generateUserPasswords(users) } : {}) }), (m) => step(m), { optional: ['nginx'] });
      stack = { notStarted: s.notStarted, describe: () => describeStack(s), stop: () => s.stop() };
    }
    // Your compose project's nginx may guard the workspaces per participant: their passwords, as kept.
    const target = localTarget({ ...stack.describe(), ...(composeCreds ? { userCredentials: composeCreds } : {}) });
    // Watches every service while the checks run: one that stops answering is a root cause.
    const watcher = new Watcher(target);
    for (const [service, lines] of stack.notStarted) {
      const emerg = lines.filter((l) => /\[(emerg|alert|crit)\]/.test(l));
      watcher.declareDown(service, (emerg.at(-1) ?? lines.at(-1) ?? 'no words').replace(/^.*?\[(emerg|alert|crit)\]\s*\d+#\d+:\s*/, '[$1] '), lines);
    }
    try {
      step(`running ${checks.length} checks${checks.some((c) => c.quiet) ? ' (the idle-WebSocket check holds sockets for a minute)' : ''}${values.skip ? `, without ${skipped(values.skip)} (--skip)` : ''}`);
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
  const report = buildReport(compose ? `compose project ${compose.file}` : 'local stack', modes, all, Date.now() - t0, causes, deployment);
  const files = writeReports(report);
  console.log(summary(report));
  console.log(dim(`reports: ${files.join(', ')}`));
  return exitCode(report, !!values['accept-partial']);
}

/** verify --target: the same suites against a deployment by its domain. */
async function verifyRemote(checks: ReturnType<typeof selectChecks>, values: Parameters<typeof runRemote>[1], acceptPartial: boolean, skip?: string): Promise<number> {
  const r = await runRemote(checks, values, skip ? { note: `without ${skipped(skip)} (--skip)` } : {});
  const report = buildReport(r.target, ['remote'], r.results, r.durationMs, r.rootCauses);
  const files = writeReports(report);
  console.log(summary(report));
  console.log(dim(`reports: ${files.join(', ')}`));
  return exitCode(report, acceptPartial);
}

function readUserCredentials(file: string): Record<string, string> {
  if (!existsSync(file)) throw new HarnessError(`--user-credentials ${file}: no such file`);
  const problems: string[] = [];
  const creds = parseUserCredentials(readFileSync(file, 'utf8'), file, problems);
  if (problems.length) throw new HarnessError(problems.join('\n✖ '));
  return creds;
}

/** A comma-separated option's items. */
const list = (v?: string) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** --compose and its companions; undefined without --compose (the other three need it). */
function parseCompose(v: { compose?: string; 'env-file'?: string; standin?: string; image?: string; users?: string }): ComposeInput | undefined {
  if (!v.compose) {
    const stray = (['env-file', 'standin', 'image'] as const).find((k) => v[k] !== undefined);
    if (stray) throw new HarnessError(`--${stray} needs --compose`, 'give --compose docker-compose.yml too, or leave --' + stray + ' out');
    return undefined;
  }
  if (v.users !== undefined) throw new HarnessError('--users does not go with --compose', 'the users are the compose project\'s own (user001 … in its users file)');
  const images: Record<string, string> = {};
  for (const pair of list(v.image)) {
    const i = pair.indexOf('=');
    if (i < 1 || i === pair.length - 1) throw new HarnessError(`--image ${pair}: expected SERVICE=IMAGE`, 'for example --image queue-manager=registry.example/qm:1.4');
    images[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return { file: v.compose, envFile: v['env-file'], standins: list(v.standin), images };
}

const skipped = (v: string) => list(v).join(', ');

/** --suite: only these suites; --skip: without these checks or suites (an unknown name is bad input). */
export function selectChecks(suites: string | undefined, skip?: string) {
  const names = suites ? list(suites) : SUITES.map((s) => s.name);
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) throw new HarnessError(`unknown suite ${unknown.join(', ')}`, `suites: ${SUITES.map((s) => s.name).join(', ')}`);
  const left = skip ? list(skip) : [];
  const unknownSkip = left.filter((n) => !SUITES.some((s) => s.name === n) && !ALL_CHECKS.some((c) => c.id === n));
  if (unknownSkip.length) throw new HarnessError(`--skip: no check or suite ${unknownSkip.join(', ')}`, 'a check id is suite.name, e.g. websocket.idle-survives (reports/verify.json lists them all)');
  return SUITES.filter((s) => names.includes(s.name)).flatMap((s) => s.checks).filter((c) => !left.includes(c.id) && !left.includes(c.suite));
}

export const verifyCommand: Command = { name: 'verify', summary: 'run every suite against the local stack in both nginx modes', help: HELP, run };
