// The k6 shim's runner: bundles a k6 script (TypeScript or JavaScript) with esbuild, keeping the
// k6 modules external, gives each VU a thread and realm of its own (pool.ts, worker.ts), runs the
// scenarios with k6's executors, evaluates thresholds (also abortOnFail while running) and calls
// setup, teardown and handleSummary with k6-shaped data. Exit codes are k6's.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { Registry, parseDuration, type Sample, type MetricType, type Tags } from './metrics.ts';
import { errorText, type Log } from './vu.ts';
import { VUHandle, type Hub, type RunOutcome } from './pool.ts';
import { SharedState, type ScenarioContext } from './protocol.ts';
import { summaryData, emptyData, textSummary, CheckTally, DEFAULT_SUBMETRICS, type SummaryData } from './summary.ts';

export type { SummaryData };

/** k6's exit codes (the ones the shim can produce). */
export const K6_EXIT = { ok: 0, thresholdsFailed: 99, invalidConfig: 104, externalAbort: 105, scriptException: 107, scriptAborted: 108 } as const;

export interface RunOptions {
  script: string;
  /** -e KEY=VALUE; merged over the process environment, as k6 does */
  env?: Record<string, string>;
  includeSystemEnv?: boolean;
  /** where handleSummary's files go (k6: the working directory) */
  cwd?: string;
  log?: Log;
  /** receives handleSummary's stdout (or the default summary) */
  stdout?: (text: string) => void;
  onSample?: (s: Sample) => void;
  /** `k6 run --vus/--duration/--iterations`: as in k6, they override the script's options and, being
   *  the shortcuts, replace its scenarios */
  overrides?: { vus?: number; duration?: string; iterations?: number };
  /** remote modules' local copies (`--module URL=FILE`): a URL ending in "/" maps everything under it
   *  to a directory. Nothing is fetched; a remote import not mapped here is refused (107). */
  modules?: Record<string, string>;
}

export interface Live {
  phase: 'init' | 'setup' | 'running' | 'teardown' | 'done';
  startedAt: number;
  vusActive: number;
  vusMax: number;
  iterations: number;
  registry: Registry;
}

export interface RunResult {
  exitCode: number;
  /** what handleSummary received */
  data: SummaryData;
  /** what handleSummary returned (file name -> content) */
  outputs: Record<string, string>;
  failedThresholds: string[];
  /** why the run stopped early, if it did */
  aborted?: string;
  error?: string;
  durationMs: number;
}


interface Scenario {
  name: string;
  executor: 'per-vu-iterations' | 'shared-iterations' | 'constant-vus' | 'ramping-vus' | 'constant-arrival-rate' | 'ramping-arrival-rate';
  vus: number;
  /** arrival-rate executors: iterations per timeUnit (constant), or where the stages start (ramping) */
  rate: number;
  timeUnitMs: number;
  preAllocatedVUs: number;
  maxVUsOpt: number;
  iterations: number;
  durationMs: number;
  maxDurationMs: number;
  stages: { durationMs: number; target: number }[];
  startVUs: number;
  startTimeMs: number;
  gracefulStopMs: number;
  gracefulRampDownMs: number;
  exec: string;
  env: Record<string, string>;
  tags: Record<string, string>;
}

const BUILTIN: [string, MetricType, boolean][] = [
  ['vus', 'gauge', false], ['vus_max', 'gauge', false], ['iterations', 'counter', false], ['dropped_iterations', 'counter', false], ['iteration_duration', 'trend', true],
  ['checks', 'rate', false], ['data_sent', 'counter', false], ['data_received', 'counter', false],
  ['http_reqs', 'counter', false], ['http_req_duration', 'trend', true], ['http_req_blocked', 'trend', true], ['http_req_sending', 'trend', true],
  ['http_req_waiting', 'trend', true], ['http_req_receiving', 'trend', true], ['ws_ping', 'trend', true],
  ['http_req_connecting', 'trend', true], ['http_req_tls_handshaking', 'trend', true], ['http_req_failed', 'rate', false],
  ['ws_connecting', 'trend', true], ['ws_session_duration', 'trend', true], ['ws_sessions', 'counter', false],
  ['ws_msgs_sent', 'counter', false], ['ws_msgs_received', 'counter', false], ['group_duration', 'trend', true],
];

class ScriptError extends Error {}
class ConfigError extends Error {}

/** Starts a run; `stop()` is k6's first Ctrl-C: iterations end, teardown and handleSummary still run. */
export function runScript(o: RunOptions): { live: Live; stop: (why?: string) => void; result: Promise<RunResult> } {
  const registry = new Registry();
  const live: Live = { phase: 'init', startedAt: 0, vusActive: 0, vusMax: 0, iterations: 0, registry };
  let stopReason: string | undefined;
  let stopKind: 'signal' | 'threshold' | undefined;
  const stoppers = new Set<() => void>();
  const stopAll = (kind: 'signal' | 'threshold', why: string) => {
    if (stopReason) return;
    stopReason = why; stopKind = kind;
    for (const s of stoppers) s();
  };
  const result = run(o, live, registry, () => stopReason, (fn) => { stoppers.add(fn); return () => stoppers.delete(fn); }, stopAll)
    .then((r) => ({ ...r, aborted: stopReason, exitCode: stopKind === 'signal' && r.exitCode === 0 ? K6_EXIT.externalAbort : r.exitCode }));
  return { live, stop: (why = 'stopped by the user') => stopAll('signal', why), result };
}

async function run(
  o: RunOptions, live: Live, registry: Registry, stopped: () => string | undefined,
  onStop: (fn: () => void) => () => void, stopAll: (kind: 'threshold', why: string) => void,
): Promise<Omit<RunResult, 'aborted'>> {
  const log: Log = o.log ?? ((level, msg) => console.error(`${level.toUpperCase()} ${msg}`));
  const t0 = Date.now();
  for (const [name, type, isTime] of BUILTIN) registry.define(name, type, isTime);
  DEFAULT_SUBMETRICS.forEach((k) => registry.track(k));
  if (o.onSample) registry.onSample(o.onSample);
  const env: Record<string, string> = { ...(o.includeSystemEnv === false ? {} : (process.env as Record<string, string>)), ...o.env };
  let unsupported: string | undefined, aborted: string | undefined;
  const hub: Hub = {
    registry, state: new SharedState(), log, checks: new CheckTally(), sharedArrays: new Map(),
    net: { hosts: {}, insecureSkipTLSVerify: false, ca: env.SSL_CERT_FILE ? readFileSync(env.SSL_CERT_FILE, 'utf8') : undefined },
    onUnsupported: (what) => { unsupported ??= what; stopAll('threshold', `the script uses ${what}, which this runner does not implement`); },
    onAbort: (reason) => { aborted ??= reason; stopAll('threshold', `test aborted: ${reason}`); },
  };
  const rt: Runtime = {
    hub, live, env, stopped, onStop, tags: {}, emit: (metric, type, value, tags) => registry.add({ metric, type, value, tags, time: Date.now() }),
    allocate: (n) => hub.state.set('vusInitialized', (live.vusMax += n)),
  };
  const fail = (exitCode: number, error: string) => ({ exitCode, error, data: emptyData(), outputs: {}, failedThresholds: [], durationMs: Date.now() - t0 });
  const scriptDir = dirname(resolve(o.script));
  const vus: VUHandle[] = [];
  let main: VUHandle | undefined;
  const closeAll = () => { vus.forEach((v) => v.close()); main?.close(); };

  let script: { code: string; filename: string };
  let scenarios: Scenario[], options: Record<string, unknown>;
  try {
    script = await compile(o.script, o.modules ?? {});
    main = await VUHandle.start(0, script, env, scriptDir, hub); // runs the init context once to read options; later setup/teardown/handleSummary
    options = main.options;
    const ov = Object.fromEntries(Object.entries(o.overrides ?? {}).filter(([, v]) => v !== undefined));
    if (Object.keys(ov).length) {
      const { scenarios: _replaced, stages: _stages, ...rest } = options;
      options = { ...rest, ...ov };
    }
    hub.net = { ...hub.net, hosts: (options.hosts ?? {}) as Record<string, string>, insecureSkipTLSVerify: !!options.insecureSkipTLSVerify };
    checkOptions(options);
    // As k6 consolidates them: the shortcuts become scenarios.default (exec.test.options shows it).
    options = { ...options, scenarios: scenarioDefinitions(options) };
    main.setOptions(options, hub.net);
    scenarios = consolidate(options);
    rt.tags = (options.tags ?? {}) as Tags;
    // An invalid threshold is invalid configuration (k6: exit 104), not a script exception.
    // So is one on a metric that does not exist or with an aggregation its type does not have
    // (https://grafana.com/docs/k6/latest/using-k6/thresholds/#aggregation-methods-by-type): refused now, not after the run.
    try { registry.setThresholds((options.thresholds ?? {}) as never); registry.evaluate(0); } catch (e) { throw new ConfigError(errorText(e)); }
  } catch (e) {
    closeAll();
    return fail(e instanceof ConfigError ? K6_EXIT.invalidConfig : K6_EXIT.scriptException, errorText(e));
  }
  const trendStats = (options.summaryTrendStats as string[] | undefined) ?? ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

  // Every VU is initialised before the test starts, as in k6 (each in its own thread, so at once).
  try {
    const need = scenarios.reduce((n, s) => n + maxVUs(s), 0);
    await Promise.all(Array.from({ length: need }, async (_, k) => {
      const vu = await VUHandle.start(k + 1, script, env, scriptDir, hub, options);
      vus[k] = vu;
      hub.state.set('vusInitialized', (live.vusMax = vus.filter(Boolean).length));
    }));
  } catch (e) {
    closeAll();
    return fail(K6_EXIT.scriptException, `init: ${errorText(e)}`);
  }
  // vus_max as k6 counts it: every VU of the other executors, an arrival-rate scenario's preAllocatedVUs
  // (it adds the rest of its pool, up to maxVUs, only when an iteration finds none of them idle).
  rt.allocate(scenarios.reduce((n, s) => n + (s.executor.endsWith('arrival-rate') ? s.preAllocatedVUs : maxVUs(s)), 0) - live.vusMax);

  let setupData: unknown;
  live.phase = 'setup';
  if (main.has('setup')) {
    const r = await lifecycle(rt, main, 'setup', undefined, options.setupTimeout);
    if (r.how !== 'ok') { closeAll(); return fail(K6_EXIT.scriptException, `setup: ${r.error ?? 'interrupted'}`); }
    setupData = clone(r.value);
  }

  live.phase = 'running';
  live.startedAt = Date.now();
  hub.state.set('testStart', live.startedAt);
  const elapsed = () => Date.now() - live.startedAt;
  const sampleVUs = () => { rt.emit('vus', 'gauge', live.vusActive, {}); rt.emit('vus_max', 'gauge', live.vusMax, {}); };
  const tick = setInterval(() => {
    sampleVUs();
    const broken = registry.abortingNow(elapsed(), elapsed() / 1000);
    if (broken.length) stopAll('threshold', `thresholds crossed (abortOnFail): ${broken.join('; ')}`);
  }, 1_000);
  let offset = 0;
  const running = Promise.all(scenarios.map((s, index) => {
    const mine = vus.slice(offset, (offset += maxVUs(s)));
    return runScenario(rt, s, index, mine, setupData);
  }));
  // Once the scenarios have activated their first VUs (synchronously, after a resolved startTime of 0),
  // and before any iteration can have ended (that needs a message from its thread): a run shorter
  // than the 1 s tick has its vus and vus_max too, as in k6.
  setImmediate(sampleVUs);
  await running;
  clearInterval(tick);
  const durationMs = elapsed();

  live.phase = 'teardown';
  let error: string | undefined;
  if (main.has('teardown')) {
    const r = await lifecycle(rt, main, 'teardown', clone(setupData), options.teardownTimeout);
    if (r.how !== 'ok') error = `teardown: ${r.error ?? 'interrupted'}`;
  }
  // "No sample at all" is judged only on a run that ran its course: a stopped one is told as stopped.
  const failedThresholds = registry.evaluate(durationMs / 1000, !stopped() || !!unsupported);
  // A function the runner does not implement was called: refused, never a pass on what did not run.
  if (unsupported) error = `the script uses ${unsupported}, which this runner does not implement (see docs/k6-runner.md, "The k6 shim")`;
  const data = summaryData(registry, hub.checks, trendStats, durationMs, setupData);
  let outputs: Record<string, string> = {};
  if (main.has('handleSummary')) {
    const r = await main.run('handleSummary', data);
    if (r.how === 'ok') outputs = (r.value ?? {}) as Record<string, string>;
    else { error ??= `handleSummary: ${r.error ?? 'interrupted'}`; outputs = { stdout: textSummary(data, registry) }; }
  } else outputs = { stdout: textSummary(data, registry) };
  for (const [file, content] of Object.entries(outputs)) {
    if (file === 'stdout' || file === 'stderr') (o.stdout ?? ((t: string) => process.stdout.write(t)))(String(content));
    else {
      const path = resolve(o.cwd ?? process.cwd(), file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, String(content));
    }
  }
  closeAll();
  live.phase = 'done';
  // exec.test.abort(): k6's ScriptAborted (108), https://grafana.com/docs/k6/latest/javascript-api/k6-execution/#test
  if (aborted !== undefined) error ??= `test aborted: ${aborted}`;
  const exitCode = unsupported ? K6_EXIT.scriptException : aborted !== undefined ? K6_EXIT.scriptAborted
    : failedThresholds.length ? K6_EXIT.thresholdsFailed : error ? K6_EXIT.scriptException : K6_EXIT.ok;
  return { exitCode, error, data, outputs, failedThresholds, durationMs };
}

/** setup and teardown get options.setupTimeout / teardownTimeout (k6: 60 s each), then are interrupted.
 *  Each that completes emits an iteration_duration in its implicit group, as k6's do
 *  (https://grafana.com/docs/k6/latest/using-k6/workaround-iteration-duration/). */
async function lifecycle(rt: Runtime, vu: VUHandle, fn: 'setup' | 'teardown', arg: unknown, limit: unknown): Promise<RunOutcome> {
  const ms = parseDuration(limit as string | undefined, 60_000);
  let late = false;
  const t0 = Date.now();
  const timer = setTimeout(() => { late = true; vu.interrupt(); }, ms);
  const r = await vu.run(fn, arg).finally(() => clearTimeout(timer));
  if (late) return { how: 'error', error: `exceeded ${fn}Timeout (${ms / 1000} s)` };
  if (r.how === 'ok') rt.emit('iteration_duration', 'trend', Date.now() - t0, { ...rt.tags, group: `::${fn}` });
  return r;
}

async function compile(script: string, modules: Record<string, string>): Promise<{ code: string; filename: string }> {
  const out = await build({
    entryPoints: [script], bundle: true, write: false, format: 'cjs', platform: 'neutral', target: 'es2020',
    external: ['k6', 'k6/*'], logLevel: 'silent', sourcemap: 'inline', plugins: [moduleMap(modules)],
  }).catch((e: Error & { errors?: { text: string; pluginName?: string }[] }) => {
    const refused = e.errors?.find((x) => x.pluginName === 'module-map');
    throw new ScriptError(refused ? refused.text : `cannot compile ${script}: ${e.message.split('\n').slice(0, 3).join(' ')}`);
  });
  return { code: `(function (module, exports, require) {${out.outputFiles[0].text}\n})`, filename: resolve(script) };
}

/** Remote modules (https://jslib.k6.io/…) are never fetched: an import of one resolves to the local copy
 *  the module map names (the URL itself, or the longest mapped prefix ending in "/"), or is refused. */
export function moduleMap(modules: Record<string, string>): Plugin {
  return {
    name: 'module-map',
    setup(b) {
      b.onResolve({ filter: /^https?:\/\// }, ({ path }) => {
        const local = mappedModule(path, modules);
        if (local) return { path: local };
        return { errors: [{ text: `remote module ${path}: this runner fetches nothing; give a local copy with --module ${path}=FILE (docs/k6-runner.md, "The k6 shim")` }] };
      });
    },
  };
}

export function mappedModule(url: string, modules: Record<string, string>): string | undefined {
  if (modules[url]) return resolve(modules[url]);
  const prefix = Object.keys(modules).filter((k) => k.endsWith('/') && url.startsWith(k)).sort((a, b) => b.length - a.length)[0];
  return prefix ? resolve(modules[prefix], url.slice(prefix.length)) : undefined;
}

// ---------- options ----------

// The options this runner implements (https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/).
// `ext` and `cloud` are Grafana Cloud's and change nothing in a local run, for k6 neither.
const OPTIONS = new Set(['scenarios', 'vus', 'duration', 'iterations', 'stages', 'thresholds', 'hosts', 'insecureSkipTLSVerify', 'summaryTrendStats',
  'tags', 'noCookiesReset', 'maxRedirects', 'batch', 'userAgent', 'discardResponseBodies', 'throw', 'setupTimeout', 'teardownTimeout',
  'minIterationDuration', 'ext', 'cloud']);
const SCENARIO_KEYS = new Set(['executor', 'exec', 'env', 'tags', 'startTime', 'gracefulStop', 'gracefulRampDown', 'vus', 'iterations', 'duration',
  'maxDuration', 'stages', 'startVUs', 'rate', 'startRate', 'timeUnit', 'preAllocatedVUs', 'maxVUs']);

/** Refuses, at init, an option the runner would otherwise ignore: the run would not be the one the script asks for. */
function checkOptions(options: Record<string, unknown>): void {
  const unknown = Object.keys(options).filter((k) => !OPTIONS.has(k) && options[k] !== undefined);
  if (unknown.length) throw new ScriptError(`the script sets ${unknown.map((k) => `options.${k}`).join(', ')}, which this runner does not implement (see docs/k6-runner.md, "The k6 shim")`);
  // Every request here is HTTP/1.1 (k6 negotiates HTTP/2 over TLS): a threshold on HTTP/2 requests would judge none.
  const h2 = Object.keys((options.thresholds ?? {}) as object).find((k) => /proto:\s*["']?HTTP\/2/i.test(k));
  if (h2) throw new ScriptError(`the threshold on ${h2} selects HTTP/2 requests: this runner speaks HTTP/1.1 only and does not negotiate HTTP/2 as k6 does over TLS (see docs/k6-runner.md, "The k6 shim")`);
  for (const [name, sc] of Object.entries((options.scenarios ?? {}) as Record<string, Record<string, unknown>>)) {
    if (sc.options) throw new ScriptError(`scenario ${name} sets options (k6 browser), which this runner does not implement`);
    const bad = Object.keys(sc).filter((k) => !SCENARIO_KEYS.has(k));
    if (bad.length) throw new ConfigError(`scenario ${name}: unknown field${bad.length > 1 ? 's' : ''} ${bad.join(', ')}`);
  }
}

function scenarioDefinitions(options: Record<string, unknown>): Record<string, Record<string, unknown>> {
  let raw = options.scenarios as Record<string, Record<string, unknown>> | undefined;
  if (!raw) {
    // k6's shortcuts (https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/, "vus",
    // "iterations", "stages"): stages → ramping-vus starting at `vus` (default 1); iterations →
    // shared-iterations among `vus`, `duration` its maxDuration; vus + duration → constant-vus.
    const vus = options.vus ?? 1;
    if (options.stages) raw = { default: { executor: 'ramping-vus', startVUs: vus, stages: options.stages } };
    else if (options.iterations) raw = { default: { executor: 'shared-iterations', vus, iterations: options.iterations, ...(options.duration ? { maxDuration: options.duration } : {}) } };
    // Neither: one iteration of one VU, as shared-iterations' defaults (vus 1, iterations 1).
    else raw = { default: options.duration ? { executor: 'constant-vus', vus, duration: options.duration } : { executor: 'shared-iterations', vus: 1, iterations: 1 } };
  }
  return raw;
}

function consolidate(options: Record<string, unknown>): Scenario[] {
  return Object.entries(scenarioDefinitions(options)).map(([name, s]) => {
    const executor = s.executor as Scenario['executor'];
    if (!EXECUTORS.includes(executor)) throw new ConfigError(`scenario ${name}: executor "${String(s.executor)}" is not supported by k6-shim (${EXECUTORS.join(', ')})`);
    const arrival = executor.endsWith('arrival-rate');
    const dur = (k: string, d: number) => { try { return parseDuration(s[k] as string, d); } catch (e) { throw new ConfigError(`scenario ${name}.${k}: ${errorText(e)}`); } };
    const sc: Scenario = {
      name, executor, vus: Number(s.vus ?? 1), iterations: Number(s.iterations ?? 1),
      rate: Number(executor === 'ramping-arrival-rate' ? s.startRate ?? 0 : s.rate ?? 0), timeUnitMs: dur('timeUnit', 1000),
      preAllocatedVUs: Number(s.preAllocatedVUs ?? 0), maxVUsOpt: Number(s.maxVUs ?? s.preAllocatedVUs ?? 0),
      durationMs: dur('duration', 0), maxDurationMs: dur('maxDuration', 600_000), startTimeMs: dur('startTime', 0),
      gracefulStopMs: dur('gracefulStop', 30_000), gracefulRampDownMs: dur('gracefulRampDown', 30_000),
      stages: ((s.stages ?? []) as { duration: string; target: number }[]).map((st) => ({ durationMs: parseDuration(st.duration), target: st.target })),
      startVUs: Number(s.startVUs ?? 1), exec: String(s.exec ?? 'default'),
      env: (s.env ?? {}) as Record<string, string>, tags: (s.tags ?? {}) as Record<string, string>,
    };
    if (executor === 'constant-vus' && !sc.durationMs) throw new ConfigError(`scenario ${name}: constant-vus needs a duration`);
    if (executor === 'ramping-vus' && !sc.stages.length) throw new ConfigError(`scenario ${name}: ramping-vus needs stages`);
    if (arrival && !(sc.preAllocatedVUs >= 1)) throw new ConfigError(`scenario ${name}: ${executor} needs preAllocatedVUs`);
    if (executor === 'constant-arrival-rate' && (!sc.durationMs || !(sc.rate > 0))) throw new ConfigError(`scenario ${name}: constant-arrival-rate needs rate and duration`);
    if (executor === 'ramping-arrival-rate' && !sc.stages.length) throw new ConfigError(`scenario ${name}: ramping-arrival-rate needs stages`);
    if (executor === 'shared-iterations' && sc.iterations < sc.vus) throw new ConfigError(`scenario ${name}: shared-iterations needs at least as many iterations (${sc.iterations}) as vus (${sc.vus})`);
    return sc;
  });
}

const EXECUTORS: Scenario['executor'][] = ['per-vu-iterations', 'shared-iterations', 'constant-vus', 'ramping-vus', 'constant-arrival-rate', 'ramping-arrival-rate'];
// Arrival-rate pools are initialised up front, up to maxVUs (k6 initialises those past preAllocatedVUs
// when they are needed; vus_max counts them from then on here too).
const maxVUs = (s: Scenario) => (s.executor === 'ramping-vus' ? Math.max(s.startVUs, ...s.stages.map((x) => x.target))
  : s.executor.endsWith('arrival-rate') ? Math.max(s.preAllocatedVUs, s.maxVUsOpt) : s.vus);
const totalMs = (s: Scenario) =>
  ['ramping-vus', 'ramping-arrival-rate'].includes(s.executor) ? s.stages.reduce((n, x) => n + x.durationMs, 0)
    : ['constant-vus', 'constant-arrival-rate'].includes(s.executor) ? s.durationMs : s.maxDurationMs;

/** ramping-vus: the VU count at `t` ms, linear within each stage (ramping-arrival-rate: the rate). */
export function targetAt(s: Pick<Scenario, 'startVUs' | 'stages'>, t: number, whole = true): number {
  let from = s.startVUs, at = 0;
  for (const st of s.stages) {
    if (t < at + st.durationMs) {
      const v = from + ((st.target - from) * (t - at)) / st.durationMs;
      return whole ? Math.floor(v) : v; // VUs are whole; a rate need not be
    }
    from = st.target; at += st.durationMs;
  }
  return from;
}

// ---------- executors ----------

/** What the executors share: the VUs' hub, live counters, the stop signal, samples of the runner's own. */
interface Runtime {
  hub: Hub;
  live: Live;
  env: Record<string, string>;
  stopped: () => string | undefined;
  onStop: (fn: () => void) => () => void;
  emit: (metric: string, type: MetricType, value: number, tags: Tags) => void;
  /** options.tags: on the runner's own samples too (iterations, iteration_duration, dropped_iterations) */
  tags: Tags;
  /** n more VUs count as initialised (vus_max, exec.instance.vusInitialized) */
  allocate: (n: number) => void;
}
const scenarioTags = (rt: Runtime, s: Scenario): Tags => ({ ...rt.tags, ...s.tags, scenario: s.name });

/** A scenario as its VUs see it (k6/execution), with its progress kept current in shared memory. */
function scenarioContext(rt: Runtime, s: Scenario, index: number, progress: () => number): { ctx: ScenarioContext; stop: () => void } {
  const ctx: ScenarioContext = { name: s.name, executor: s.executor, startTime: Date.now(), tags: s.tags, env: s.env, index };
  const timer = setInterval(() => rt.hub.state.progress(index, progress()), 50);
  return { ctx, stop: () => { clearInterval(timer); rt.hub.state.progress(index, progress()); } };
}

/** One iteration on one VU, counted as k6 counts it (iterations and iteration_duration only when it completed). */
async function iteration(rt: Runtime, s: Scenario, sc: ScenarioContext, vu: VUHandle, data: unknown, iterationInScenario: number, iterationInTest: number): Promise<'ok' | 'error' | 'interrupted'> {
  const t = Date.now();
  const { how } = await vu.run(s.exec, clone(data), { scenario: sc, env: { ...rt.env, ...s.env }, iterationInScenario, iterationInTest });
  const st = rt.hub.state;
  if (how === 'interrupted') { st.set('iterationsInterrupted', st.get('iterationsInterrupted') + 1); return how; }
  st.set('iterationsCompleted', ++rt.live.iterations);
  rt.emit('iterations', 'counter', 1, scenarioTags(rt, s));
  rt.emit('iteration_duration', 'trend', Date.now() - t, scenarioTags(rt, s));
  return how;
}
const activeVUs = (rt: Runtime, d: number) => rt.hub.state.set('vusActive', (rt.live.vusActive += d));

/** constant-arrival-rate and ramping-arrival-rate (https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/):
 *  iterations start at the rate, whatever the system's response, each on an idle VU of the pool; with
 *  none idle it is dropped (dropped_iterations). The rate ramps linearly within each stage. The
 *  preAllocatedVUs are active for the whole scenario; the pool's others (up to maxVUs) are activated,
 *  and counted in vus_max, the first time an iteration finds no idle VU. */
async function runArrivalRate(rt: Runtime, s: Scenario, index: number, vus: VUHandle[], data: unknown): Promise<void> {
  const start = Date.now();
  const end = start + totalMs(s);
  const rateAt = (t: number) => (s.executor === 'constant-arrival-rate' ? s.rate : targetAt({ startVUs: s.rate, stages: s.stages }, t, false));
  let due = 0, begun = 0, iterationInTest = 0, last = start;
  const sc = scenarioContext(rt, s, index, () => Math.min(1, (Date.now() - start) / totalMs(s)));
  const busy = new Map<number, Promise<void>>();
  const counts = new Map<number, number>();
  let allocated = Math.min(s.preAllocatedVUs, vus.length);
  activeVUs(rt, +allocated);
  const one = async (i: number) => {
    const n = counts.get(i) ?? 0;
    counts.set(i, n + 1);
    try {
      await iteration(rt, s, sc.ctx, vus[i], data, n, iterationInTest++);
    } finally {
      busy.delete(i);
    }
  };
  const offStop = rt.onStop(() => { for (const i of busy.keys()) vus[i].interrupt(); });
  for (; !rt.stopped() && Date.now() < end; await new Promise((r) => setTimeout(r, 5))) {
    const now = Date.now();
    due += (rateAt(last - start) + rateAt(now - start)) / 2 * (now - last) / s.timeUnitMs; // the rate's integral
    last = now;
    for (; begun < Math.floor(due + 1e-9); begun++) {
      let idle = vus.findIndex((_, i) => i < allocated && !busy.has(i));
      if (idle < 0 && allocated < vus.length) { idle = allocated++; activeVUs(rt, +1); rt.allocate(1); }
      if (idle < 0) { rt.emit('dropped_iterations', 'counter', 1, scenarioTags(rt, s)); continue; }
      busy.set(idle, one(idle));
    }
  }
  // gracefulStop for what is still running, then interrupted.
  const grace = setTimeout(() => { for (const i of busy.keys()) vus[i].interrupt(); }, s.gracefulStopMs);
  while (busy.size) await Promise.race([...busy.values()]);
  clearTimeout(grace);
  activeVUs(rt, -allocated);
  offStop();
  sc.stop();
}

async function runScenario(rt: Runtime, s: Scenario, index: number, vus: VUHandle[], data: unknown): Promise<void> {
  await sleepUnless(s.startTimeMs, rt.stopped, rt.onStop);
  if (rt.stopped()) return;
  if (s.executor.endsWith('arrival-rate')) return runArrivalRate(rt, s, index, vus, data);
  const start = Date.now();
  const end = start + totalMs(s);
  let iterationsDone = 0, iterationInTest = 0;
  // shared-iterations: VUs take the next iteration of one common pool until it is empty.
  const shared_ = s.executor === 'shared-iterations';
  let claimed = 0;
  const counted = s.executor === 'per-vu-iterations' || shared_;
  const sc = scenarioContext(rt, s, index, () => (s.executor === 'per-vu-iterations' ? iterationsDone / (s.vus * s.iterations)
    : shared_ ? iterationsDone / s.iterations : Math.min(1, (Date.now() - start) / totalMs(s))));
  // A VU may start iterations while `wanted(i)` holds; it is interrupted once its grace has run out.
  const finished = new Set<number>(); // per-vu-iterations: VUs that did all theirs
  const wanted = (i: number) => {
    if (rt.stopped() || Date.now() >= end || finished.has(i) || (shared_ && claimed >= s.iterations)) return false;
    return s.executor !== 'ramping-vus' || i < targetAt(s, Date.now() - start);
  };
  const running = new Map<number, Promise<void>>();
  const loop = async (i: number) => {
    activeVUs(rt, +1);
    try {
      for (let n = 0; wanted(i) && (s.executor !== 'per-vu-iterations' || n < s.iterations); n++) {
        if (shared_) claimed++;
        const how = await iteration(rt, s, sc.ctx, vus[i], data, n, iterationInTest++);
        if (how === 'interrupted') break;
        iterationsDone++;
        if (s.executor === 'per-vu-iterations' && n + 1 >= s.iterations) finished.add(i);
      }
    } finally {
      activeVUs(rt, -1);
      running.delete(i);
      clearTimeout(graceTimers.get(i));
      graceTimers.delete(i);
    }
  };
  // Grace: after the scenario's end (or a ramp-down), in-flight iterations get gracefulStop
  // (gracefulRampDown) and are then interrupted. A stop (Ctrl-C, abortOnFail) interrupts at once.
  const graceTimers = new Map<number, NodeJS.Timeout>();
  const interruptLater = (i: number, ms: number) => {
    if (graceTimers.has(i)) return;
    graceTimers.set(i, setTimeout(() => { graceTimers.delete(i); if (running.has(i)) vus[i].interrupt(); }, ms));
  };
  const offStop = rt.onStop(() => { for (const i of running.keys()) vus[i].interrupt(); });
  const scheduler = setInterval(() => {
    for (let i = 0; i < vus.length; i++) {
      if (wanted(i) && !running.has(i)) running.set(i, loop(i));
    }
    if (s.executor === 'ramping-vus') {
      const target = targetAt(s, Date.now() - start);
      for (const i of running.keys()) if (i >= target && Date.now() < end) interruptLater(i, s.gracefulRampDownMs);
    }
  }, 100);
  for (let i = 0; i < vus.length; i++) if (wanted(i)) running.set(i, loop(i));
  const endTimer = setTimeout(() => { for (const i of running.keys()) interruptLater(i, s.gracefulStopMs); }, Math.max(0, end - Date.now()));
  // Done when every VU has left its loop and nothing more will start.
  while (running.size || (!rt.stopped() && Date.now() < end && !counted)) {
    await Promise.race([...running.values(), new Promise((r) => setTimeout(r, 200))]);
    if (counted && !running.size) break;
  }
  clearInterval(scheduler);
  clearTimeout(endTimer);
  graceTimers.forEach(clearTimeout);
  offStop();
  sc.stop();
}

function sleepUnless(ms: number, stopped: () => string | undefined, onStop: (fn: () => void) => () => void): Promise<void> {
  if (!ms || stopped()) return Promise.resolve();
  return new Promise((r) => { const t = setTimeout(done, ms); const off = onStop(done); function done() { clearTimeout(t); off(); r(); } });
}

const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
