import { parseArgs } from 'node:util';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError, step, done, warn, bold, dim, red, green, EXIT } from '../lib/ui.ts';
import { ensureReady } from '../lib/ready.ts';
import type { Command } from '../lib/args.ts';
import { REPORTS_DIR, writeText } from '../lib/report.ts';
import { ROOT } from '../../stack/images.ts';
import { localTopology, startLocalStack, generateUserPasswords, newRunId } from '../../stack/run.ts';
import { describeStack, type Stack } from '../../stack/stack.ts';
import { localTarget } from '../../suites/lib/local-target.ts';
import type { Target } from '../../suites/lib/target.ts';
import { openRemoteTarget } from '../../suites/lib/remote-target.ts';
import { loadRemoteConfig } from '../lib/config.ts';
import { workshopWorkflow } from '../../fixtures/workflows.ts';
import { K6_EXIT } from '../lib/k6-shim/run.ts';
import { parseDuration } from '../lib/k6-shim/metrics.ts';
import { Observer, cleanUp } from '../lib/load/observe.ts';
import { buildReport, renderHtml } from '../lib/load/report.ts';
import { chooseEngine, startEngine, engineText, type Engine } from '../lib/load/engine.ts';
import type { LoadSummary } from '../../suites/load/lib/summary.ts';

const HELP = `comfy-verify load [--scenario smoke|workshop|ramp] [--users N] [--duration 5m] [--think 15s]
                  [--ramp-max N] [--ramp-step N] [--ramp-hold 25s] [--worker-delay MS]
                  [--target https://DOMAIN --allow-writes [--resolve IP] [--ca FILE] [--env-file F]]
                  [--engine shim|k6|auto] [--k6 PATH] [-e KEY=VALUE]...
  Runs the k6 load scripts (suites/load/workshop.ts) with comfy-verify's k6 shim (or your own k6:
  --engine): N workshop participants open their /userNNN/ workspace, hold the /ws socket, submit
  82 KB workflows and fetch their outputs. Default target: the local stand-in stack (container-nginx
  mode, brought up and removed; the mock GPU worker takes --worker-delay ms per job, default 200).
    smoke      every user once, one job each (1-2 minutes at most)
    workshop   N users (default 20) for --duration (default 5m), thinking --think between jobs
    ramp       users step up (10, 20, … --ramp-max, default 100; --ramp-hold per step) until a
               threshold breaks; reports the headroom: the most users that met every threshold
  --target https://DOMAIN  a deployed platform: needs --allow-writes (it submits tagged jobs and
               deletes what it can afterwards); at most 40 users and 15 minutes. Its workspaces
               are NUM_USERS from --env-file / the environment (default 20); users past that wrap.
  --resolve IP  send the domain's traffic to IP instead of DNS; --ca FILE trusts an extra CA.
  -e KEY=VALUE  passed to the script as __ENV (e.g. -e P95_API_MS=300; see docs/k6-runner.md "Thresholds").
  --engine      shim (default): comfy-verify's built-in k6-compatible runner; k6: your own k6 binary
               (k6 on PATH, or --k6 PATH): the same scripts and the same report; auto: k6 if it is on
               PATH, else the shim.
  Writes reports/load/summary.json and reports/load/index.html; both name the engine that ran.
  Exit code: 0 every threshold met, 1 a threshold broken (or the ramp's headroom below --users),
  2 the harness could not run (or the run was interrupted).`;

const REMOTE_MAX_USERS = 40;
const REMOTE_MAX_MS = 15 * 60_000;
const SCRIPT = join(ROOT, 'suites/load/workshop.ts');
const WORKFLOW = join(ROOT, 'fixtures/load/workflow.json');

async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({ args, options: {
    scenario: { type: 'string', default: 'workshop' }, users: { type: 'string' }, duration: { type: 'string' }, think: { type: 'string' },
    'ramp-max': { type: 'string' }, 'ramp-step': { type: 'string' }, 'ramp-hold': { type: 'string' }, 'worker-delay': { type: 'string' },
    target: { type: 'string' }, 'allow-writes': { type: 'boolean' }, resolve: { type: 'string' }, ca: { type: 'string' },
    'env-file': { type: 'string' }, config: { type: 'string' }, 'user-credentials': { type: 'string' }, 'user-auth': { type: 'boolean' },
    env: { type: 'string', short: 'e', multiple: true }, engine: { type: 'string' }, k6: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (v.help) return console.log(HELP), EXIT.ok;
  const scenario = v.scenario!;
  if (!['smoke', 'workshop', 'ramp'].includes(scenario)) throw new HarnessError(`--scenario must be smoke, workshop or ramp, not "${scenario}"`);
  const remote = v.target !== undefined;
  const maxUsers = remote ? REMOTE_MAX_USERS : 500;
  const count = (name: string, val: string | undefined, d: number, max: number) => {
    const n = val === undefined ? d : Number(val);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new HarnessError(`--${name} must be a whole number from 1 to ${max}${remote ? ' against a remote target' : ''}, not "${val}"`);
    return n;
  };
  const time = (name: string, val: string | undefined, d: string) => {
    try { return parseDuration(val ?? d); } catch { throw new HarnessError(`--${name} must be a duration like 30s or 5m, not "${val}"`); }
  };
  const users = count('users', v.users, 20, maxUsers);
  const durationMs = time('duration', v.duration, '5m');
  const rampMax = count('ramp-max', v['ramp-max'], remote ? REMOTE_MAX_USERS : 100, maxUsers);
  const rampStep = count('ramp-step', v['ramp-step'], 10, maxUsers);
  const rampHoldMs = time('ramp-hold', v['ramp-hold'], '25s');
  const rampMs = Math.ceil(rampMax / rampStep) * (rampHoldMs + 5_000);
  const workerDelay = count('worker-delay', v['worker-delay'], 200, 600_000);
  const extraEnv = Object.fromEntries((v.env ?? []).map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1) throw new HarnessError(`-e needs KEY=VALUE, not "${kv}"`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  // Before anything is brought up: a missing k6 is one line, not a stack started for nothing.
  const engine = chooseEngine(v.engine ?? (v.k6 ? 'k6' : 'shim'), v.k6);
  step(`engine: ${engineText(engine)}${v.engine === 'auto' ? (engine.kind === 'k6' ? ' (--engine auto: k6 found on PATH)' : ' (--engine auto: no k6 on PATH)') : ''}`);

  let target: Target, stack: Stack | undefined, baseUrl: string, resolveTo: string | undefined, caFile: string | undefined, workspaces = 20;
  if (remote) {
    // A real deployment: only with consent, bounded, and every write tagged and cleaned up.
    if (!v['allow-writes']) throw new HarnessError(`refusing to load ${v.target}: the load test submits jobs there`, 'add --allow-writes if that is what you want (jobs are tagged comfy-verify and deleted where the API allows)');
    if ((scenario === 'workshop' ? durationMs : scenario === 'ramp' ? rampMs : 0) > REMOTE_MAX_MS) throw new HarnessError('against a remote target a run may last at most 15 minutes', 'shorten --duration (or --ramp-hold / --ramp-max)');
    const c = loadRemoteConfig({ target: v.target, resolve: v.resolve, ca: v.ca, 'allow-writes': true, 'env-file': v['env-file'], config: v.config, 'user-credentials': v['user-credentials'] });
    target = await openRemoteTarget(c);
    baseUrl = `${c.url}`; resolveTo = c.resolve; caFile = c.caFile; workspaces = c.users;
  } else {
    await ensureReady();
    const t = localTopology('container', { worker: { delayMs: workerDelay }, ...(v['user-auth'] ? { userAuth: generateUserPasswords(20) } : {}) });
    step(`bringing up the local stack (container-nginx mode, 20 users, mock GPU worker ${workerDelay} ms per job)`);
    stack = await startLocalStack(t, (m) => step(m));
    const d = describeStack(stack);
    target = localTarget(d);
    baseUrl = `https://${d.domain}`; resolveTo = d.publicAddress; caFile = join(d.runDir, 'tls/ca.pem');
  }

  try {
    const health = await target.request('/api/health', { timeoutMs: 10_000 }).catch((e: Error) => { throw new HarnessError(`cannot reach ${baseUrl}: ${e.message}`); });
    if (health.status !== 200) throw new HarnessError(`${baseUrl}/api/health answered HTTP ${health.status}; not starting a load test on an unhealthy platform`);
    return await loadRun({ engine, scenario, users, durationMs, think: v.think, rampMax, rampStep, rampHold: v['ramp-hold'], workerDelay: remote ? undefined : workerDelay, extraEnv, target, baseUrl, resolveTo, caFile, remote, workspaces });
  } finally {
    await target.close();
    if (stack) { step('removing the stack'); await stack.stop(); }
  }
}

interface LoadRunOptions {
  engine: Engine; scenario: string; users: number; durationMs: number; think?: string; rampMax: number; rampStep: number; rampHold?: string;
  workerDelay?: number; extraEnv: Record<string, string>; target: Target; baseUrl: string; resolveTo?: string; caFile?: string; remote: boolean; workspaces: number;
}

async function loadRun(o: LoadRunOptions): Promise<number> {
  ensureWorkflowFixture();
  const runId = `load-${newRunId()}`;
  const k6Summary = join(REPORTS_DIR, 'load', 'k6-summary.json');
  const env: Record<string, string> = {
    SCENARIO: o.scenario, BASE_URL: o.baseUrl, VUS: String(o.users), WORKSPACES: String(o.workspaces), DURATION: `${Math.round(o.durationMs / 1000)}s`, RUN_ID: runId, SUMMARY_JSON: k6Summary,
    RAMP_START: String(o.rampStep), RAMP_STEP: String(o.rampStep), RAMP_MAX: String(o.rampMax),
    ...(o.think ? { THINK: o.think } : {}), ...(o.rampHold ? { RAMP_HOLD: o.rampHold } : {}),
    ...(o.resolveTo ? { RESOLVE: o.resolveTo } : {}), ...(o.caFile ? { SSL_CERT_FILE: o.caFile } : {}), ...o.extraEnv,
  };
  // Each participant opens their workspace with their own password (user:password lines; a secret,
  // so never on k6's command line).
  const creds = o.target.userCredentials();
  const secretEnv: Record<string, string> = creds ? { USER_CREDENTIALS: Object.entries(creds).map(([u, p]) => `${u}:${p}`).join('\n') } : {};
  const logged = new Map<string, number>();
  // k6 is a process of its own: the generator's cost is its CPU and memory, not this process's.
  const obs = new Observer(o.engine.kind === 'k6' ? () => r.usage() : undefined);
  const r = startEngine(o.engine, {
    script: SCRIPT, env, secretEnv, summaryFile: k6Summary, cwd: ROOT, onSample: obs.sample, stdout: (t) => process.stdout.write(t),
    log: (level, msg) => {
      const n = (logged.get(msg) ?? 0) + 1;
      logged.set(msg, n);
      if (n === 1 && logged.size <= 10) (level === 'info' ? step : warn)(`script: ${msg}`);
    },
  });
  // A second Ctrl-C kills, as it always did; k6 in its own process group is killed first.
  const kill = () => { r.kill(); process.kill(process.pid, 'SIGINT'); };
  const stop = () => { warn('stopping: iterations end now, then clean-up and the report (Ctrl-C again to kill)'); r.stop('interrupted (Ctrl-C)'); process.once('SIGINT', kill); };
  process.once('SIGINT', stop);
  step(`${bold(o.scenario)} scenario: ${o.scenario === 'ramp' ? `${o.rampStep} → ${o.rampMax} users` : `${o.users} users`} against ${o.baseUrl} (run ${runId})`);

  // Progress: the queue each second (charted), a line every 5 s.
  let begun = false, ticks = 0;
  const timer = setInterval(() => {
    if (r.live.phase !== 'running') return;
    if (!begun) { begun = true; obs.begin(); }
    void obs.tick(o.target, r.live);
    if (++ticks % 5) return;
    const since = Date.now() - obs.start - 15_000; // p95 of the last 15 s: what participants feel now
    const p = (k: Parameters<Observer['p95']>[0]) => { const x = obs.p95(k, since); return x === null ? '–' : `${Math.round(x)}`; };
    const q = obs.queue[obs.queue.length - 1];
    step(`${String(Math.round((Date.now() - obs.start) / 1000)).padStart(4)} s  VUs ${String(r.live.vusActive).padStart(3)}  iterations ${r.live.iterations}  jobs ${obs.jobsDone} done${obs.jobsFailed ? red(` ${obs.jobsFailed} failed`) : ''}  queue ${q?.pending ?? '–'}  ` +
      dim(`p95 (last 15 s) page ${p('page')} · api ${p('api')} · ws connect ${p('wsConnect')} · ws rtt ${p('wsRtt')} ms`));
  }, 1_000);
  const res = await r.result.finally(() => { clearInterval(timer); process.removeListener('SIGINT', stop); process.removeListener('SIGINT', kill); });
  if (!begun) obs.begin();
  const generator = obs.generator();

  // Ctrl-C on the local stack: run.ts is removing the stack (and its queue) already.
  const interruptedLocal = !o.remote && res.exitCode === K6_EXIT.externalAbort;
  const cleanup = interruptedLocal ? { submitted: obs.submitted.size, deleted: 0, leftFinished: 0, errors: [] } : await cleanUp(o.target, obs);
  if (cleanup.deleted) step(`clean-up: deleted ${cleanup.deleted} unfinished job(s) this run created`);
  if (cleanup.errors.length) warn(`clean-up: ${cleanup.errors.length} job(s) could not be deleted: ${cleanup.errors[0]}`);
  if (cleanup.leftFinished) step(dim(`${cleanup.leftFinished} finished job(s) stay in the queue's history (tagged comfy-verify; the API cannot delete completed jobs)`));
  const scriptErrors = [...logged.values()].reduce((a, b) => a + b, 0);

  if (res.exitCode !== K6_EXIT.ok && res.exitCode !== K6_EXIT.thresholdsFailed && res.exitCode !== K6_EXIT.externalAbort) {
    throw new HarnessError(`the load script could not run (k6 exit code ${res.exitCode}): ${res.error}`);
  }
  if (!res.summary) throw new HarnessError(`the load script wrote no summary${res.error ? `: ${res.error}` : ''}`);
  const summary = JSON.parse(res.summary) as LoadSummary;
  const extraReasons = res.aborted && res.exitCode === K6_EXIT.externalAbort ? [`the run was interrupted: ${res.aborted}`] : [];
  const report = buildReport(summary, obs, {
    id: runId, scenario: o.scenario, target: o.baseUrl, targetKind: o.remote ? 'remote' : 'local', startedAt: new Date(obs.start).toISOString(),
    workerDelayMs: o.workerDelay, aborted: res.aborted, k6ExitCode: res.exitCode, engine: o.engine, extraReasons,
  }, generator, cleanup);
  const files = [writeText('load/summary.json', JSON.stringify(report, null, 2)), writeText('load/index.html', renderHtml(report))];

  console.log(report.verdict === 'pass' ? bold(green(`PASS: ${headline(summary)}`)) : bold(red(`FAIL: ${report.reasons.join('; ')}`)));
  console.log(dim(`engine: ${report.engine}`));
  console.log(dim(`generator: ${generator.cpuMsPerVuSecond ?? '–'} ms CPU per VU-second${generator.eventLoopDelayP99Ms === null ? '' : `, event-loop delay p99 ${generator.eventLoopDelayP99Ms} ms`}${scriptErrors ? `; ${scriptErrors} script error line(s)` : ''}`));
  console.log(dim(`reports: ${files.join(', ')}`));
  if (res.exitCode === K6_EXIT.externalAbort) return EXIT.harness;
  done(`${o.scenario} finished`);
  return report.verdict === 'pass' ? EXIT.ok : EXIT.checkFailed;
}

const headline = (s: LoadSummary) => s.ramp
  ? `the stack held ${s.ramp.headroom} users within every threshold (${s.ramp.needed} needed)${s.ramp.brokeAt ? `; broke at ${s.ramp.brokeAt}` : ''}`
  : `${s.vus} users, every threshold met`;

/** The workflow k6 open()s: generated by fixtures/workflows.ts, committed so real k6 needs nothing else. */
export function ensureWorkflowFixture(): void {
  if (existsSync(WORKFLOW)) return;
  mkdirSync(join(ROOT, 'fixtures/load'), { recursive: true });
  writeFileSync(WORKFLOW, `${workflowFixtureText()}`);
}
export const workflowFixtureText = () => `${JSON.stringify(workshopWorkflow({ targetBytes: 85_000 }))}\n`;

export const loadCommand: Command = { name: 'load', summary: 'load-test the platform with 20 workshop participants (k6 scripts; HTML report)', help: HELP, run };
