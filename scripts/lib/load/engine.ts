// Which runner executes the k6 load scripts: comfy-verify's k6 shim (in this process), or the
// operator's own k6 binary (a child process whose JSON output is read while it grows). Both hand
// the Observer the same samples and give back the script's summary, so progress, charts and report
// are alike, and the report names the engine. k6 itself (AGPL) is never fetched or shipped: only a
// k6 the operator already has is run.
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, statSync, mkdtempSync, rmSync, existsSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { delimiter, join, resolve } from 'node:path';
import { tmpdir, constants as os } from 'node:os';
import { HarnessError } from '../../../stack/errors.ts';
import { runScript, K6_EXIT, type Live, type RunOptions } from '../k6-shim/run.ts';
import type { Sample } from '../k6-shim/metrics.ts';
import { jsonReader, splitLines } from '../k6-shim/json-output.ts';
import { SHIM_VERSION } from '../k6-shim/version.ts';

export interface Engine { kind: 'shim' | 'k6'; version: string; path?: string }

export const engineText = (e: Engine): string => (e.kind === 'shim' ? `${e.version} (built in)` : `${e.version} (the operator's k6 at ${e.path})`);

/** --engine shim|k6|auto: the shim; the operator's k6 (--k6 PATH, else `k6` on PATH); k6 when there is one, else the shim. */
export function chooseEngine(name: string, k6Path?: string, searchPath = process.env.PATH ?? ''): Engine {
  if (!['shim', 'k6', 'auto'].includes(name)) throw new HarnessError(`--engine must be shim, k6 or auto, not "${name}"`);
  if (name === 'shim' && k6Path) throw new HarnessError('--k6 PATH is for --engine k6 or auto, not for the shim');
  if (name === 'shim') return { kind: 'shim', version: SHIM_VERSION };
  const path = k6Path ? resolve(k6Path) : searchPath.split(delimiter).filter(Boolean).map((d) => join(d, 'k6')).find(executable);
  if (path && executable(path)) return { kind: 'k6', path, version: k6Version(path) };
  if (k6Path) throw new HarnessError(`--k6 ${k6Path}: no executable file there`);
  if (name === 'auto') return { kind: 'shim', version: SHIM_VERSION };
  throw new HarnessError('--engine k6: no k6 executable on PATH; install k6, give its path with --k6 PATH, or use --engine shim (the built-in runner)');
}

function executable(p: string): boolean {
  try { accessSync(p, constants.X_OK); return statSync(p).isFile(); } catch { return false; }
}

/** `k6 version` prints "k6 v1.0.0 (commit/…, go1.24.2, linux/amd64)": the name and version are what a report needs. */
function k6Version(path: string): string {
  try {
    return execFileSync(path, ['version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0].split(' (')[0];
  } catch (e) {
    throw new HarnessError(`${path} version failed (${(e as Error).message.split('\n')[0]}): is it k6?`);
  }
}

export interface EngineOptions {
  script: string;
  /** where the script's relative files go (handleSummary's) */
  cwd: string;
  /** __ENV, given to k6 as -e KEY=VALUE: never a secret, as a command line is visible to every user of the machine */
  env: Record<string, string>;
  /** secrets for __ENV: k6 takes them from its environment (k6 puts the process environment in __ENV) */
  secretEnv: Record<string, string>;
  /** the file the script's handleSummary writes (SUMMARY_JSON) */
  summaryFile: string;
  onSample: (s: Sample) => void;
  log: NonNullable<RunOptions['log']>;
  stdout: (text: string) => void;
}
/** What the progress line reads while the run goes on. */
export type EngineLive = Pick<Live, 'phase' | 'vusActive' | 'iterations'>;
/** CPU and peak memory of a load generator in another process. */
export interface ProcessUsage { cpuSeconds: number; peakRssMb: number }
export interface EngineResult {
  /** k6's exit code (the shim keeps k6's codes) */
  exitCode: number;
  error?: string;
  /** why the run stopped early (Ctrl-C, abortOnFail), when known */
  aborted?: string;
  /** what handleSummary wrote to summaryFile */
  summary?: string;
}
export interface EngineRun {
  live: EngineLive;
  /** ends the run as Ctrl-C ends k6's: iterations stop, then teardown and handleSummary */
  stop: (why: string) => void;
  /** ends it now (a second Ctrl-C) */
  kill: () => void;
  /** the generator's cost when it is another process (undefined: it is this one) */
  usage: () => ProcessUsage | undefined;
  result: Promise<EngineResult>;
}

export function startEngine(e: Engine, o: EngineOptions): EngineRun {
  return e.kind === 'k6' ? startK6(e.path!, o) : startShim(o);
}

function startShim(o: EngineOptions): EngineRun {
  const r = runScript({ script: o.script, env: { ...o.env, ...o.secretEnv }, includeSystemEnv: false, cwd: o.cwd, onSample: o.onSample, stdout: o.stdout, log: o.log });
  const result = r.result.then((res) => ({
    exitCode: res.exitCode, error: res.error, aborted: res.aborted,
    summary: res.outputs[o.summaryFile] ?? Object.entries(res.outputs).find(([k]) => k.endsWith('.json'))?.[1],
  }));
  return { live: r.live, stop: r.stop, kill: () => {}, usage: () => undefined, result };
}

/** The child's environment: what k6 and Go need (PATH, HOME, proxies), the operator's own K6_* settings,
 *  and nothing else, so that __ENV is what -e says, as on the shim (a THINK or P95_API_MS left in the
 *  operator's shell must not change the run). */
const KEEP_ENV = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_\w+|XDG_\w+|(HTTPS?|NO|ALL)_PROXY|K6_\w+)$/i;

function startK6(bin: string, o: EngineOptions): EngineRun {
  const dir = mkdtempSync(join(tmpdir(), 'cv-k6-'));
  const points = join(dir, 'points.json');
  const summaryPath = resolve(o.cwd, o.summaryFile);
  rmSync(summaryPath, { force: true }); // an earlier run's summary must not pass for this one's
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => KEEP_ENV.test(k))),
    // Go's TLS reads a private CA from the process environment, not from __ENV
    ...(o.env.SSL_CERT_FILE ? { SSL_CERT_FILE: o.env.SSL_CERT_FILE } : {}),
    ...o.secretEnv,
  };
  // --quiet: the load command prints its own progress; JSON log lines are read as the shim's log calls.
  const args = ['run', '--quiet', '--log-format=json', `--out=json=${points}`, ...Object.entries(o.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), o.script];
  // Its own process group: a Ctrl-C at the terminal reaches only us, and we pass on exactly one
  // SIGINT (k6 takes a second one as "exit now", without teardown or handleSummary).
  const child = spawn(bin, args, { cwd: o.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const killNow = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone already */ } };
  process.on('exit', killNow); // this process ending (the local stack's Ctrl-C handler exits) must not leave k6 running

  const live: EngineLive = { phase: 'init', vusActive: 0, iterations: 0 };
  const reader = jsonReader((s) => {
    live.phase = 'running';
    if (s.metric === 'vus') live.vusActive = s.value;
    if (s.metric === 'iterations') live.iterations += s.value;
    o.onSample(s);
  });
  const tail = tailFile(points, reader.push);
  let usage: ProcessUsage | undefined;
  const poll = () => { tail(); usage = raiseUsage(usage, procUsage(child.pid!)); };
  const timer = setInterval(poll, 250);

  child.stdout.setEncoding('utf8').on('data', (t: string) => o.stdout(t));
  let lastError: string | undefined;
  const logs = splitLines((text) => {
    let j: { level?: string; msg?: string };
    try { j = JSON.parse(text); } catch { j = { level: 'error', msg: text }; } // a panic, or a k6 that ignores --log-format
    const level = j.level === 'info' ? 'info' : j.level === 'warning' || j.level === 'warn' ? 'warn' : j.level === 'debug' || j.level === 'trace' ? undefined : 'error';
    if (!level || !j.msg) return;
    if (level === 'error') lastError = j.msg;
    o.log(level, j.msg);
  });
  child.stderr.setEncoding('utf8').on('data', logs);

  let aborted: string | undefined;
  const result = new Promise<EngineResult>((done, fail) => {
    const end = () => {
      clearInterval(timer);
      process.removeListener('exit', killNow);
      poll();
      live.phase = 'done';
    };
    child.on('error', (e) => { end(); rmSync(dir, { recursive: true, force: true }); fail(new HarnessError(`cannot run ${bin}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      end();
      const summary = existsSync(summaryPath) ? readFileSync(summaryPath, 'utf8') : undefined;
      rmSync(dir, { recursive: true, force: true });
      const exitCode = code ?? 128 + os.signals[signal ?? 'SIGKILL'];
      const fine = ([K6_EXIT.ok, K6_EXIT.thresholdsFailed, K6_EXIT.externalAbort] as number[]).includes(exitCode);
      done({ exitCode, aborted, summary, error: fine ? undefined : signal ? `${bin} was killed by ${signal}` : lastError ?? `${bin} exited with code ${exitCode}` });
    });
  });
  return {
    live,
    stop: (why) => { if (aborted === undefined) { aborted = why; child.kill('SIGINT'); } },
    kill: killNow,
    usage: () => usage,
    result,
  };
}

/** Returns a function that passes on whatever was appended to `file` since it was last called. */
function tailFile(file: string, onText: (text: string) => void): () => void {
  let pos = 0;
  const decoder = new StringDecoder('utf8'); // a read may end inside a multi-byte character
  const buf = Buffer.alloc(1 << 20);
  return () => {
    let fd: number;
    try { fd = openSync(file, 'r'); } catch { return; } // k6 has not created it yet
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) onText(decoder.write(buf.subarray(0, n)));
    } finally {
      closeSync(fd);
    }
  };
}

/** A reading only raises the figures: a process that has exited and is not yet reaped (a zombie)
 *  still shows its CPU time, but no memory at all (its VmHWM line is gone). */
export function raiseUsage(was: ProcessUsage | undefined, now: ProcessUsage | undefined): ProcessUsage | undefined {
  if (!now) return was;
  return { cpuSeconds: Math.max(now.cpuSeconds, was?.cpuSeconds ?? 0), peakRssMb: Math.max(now.peakRssMb, was?.peakRssMb ?? 0) };
}

let clockTicks: number | undefined;
/** A process's CPU time and peak memory from /proc (Linux); undefined elsewhere or once it is gone. */
export function procUsage(pid: number): ProcessUsage | undefined {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on; utime and stime are the 14th and 15th
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / clockTicks, peakRssMb: hwm ? Math.round(Number(hwm[1]) / 1024) : 0 };
  } catch {
    return undefined;
  }
}
