// The main thread's side of the VUs: one worker thread per VU (worker.ts, bundled once per process),
// their samples into the registry, their logs, and the synchronous requests they hand over: the
// main thread exchanges them on that VU's connections and wakes the VU with the answers.
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Registry, Sample } from './metrics.ts';
import { Agents, exchange, type NetConfig, type RawRequest, type RawResponse } from './http.ts';
import { SharedState, WAKE, INTERRUPT, type WorkerInit, type ToWorker, type FromWorker, type ScenarioContext } from './protocol.ts';
import type { Log } from './vu.ts';
import type { CheckTally } from './summary.ts';

let workerCode: Promise<string> | undefined;
/** worker.ts and what it imports as one CommonJS text: a worker runs it whether the runner itself
 *  runs under tsx, vitest or anything else. */
function bundledWorker(): Promise<string> {
  workerCode ??= build({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))], bundle: true, write: false, platform: 'node', format: 'cjs',
    target: 'node20', external: ['bufferutil', 'utf-8-validate'], logLevel: 'silent',
  }).then((r) => r.outputFiles[0].text);
  return workerCode;
}

/** What every VU's thread reports to: the test's registry and its hooks. */
export interface Hub {
  registry: Registry;
  state: SharedState;
  net: NetConfig;
  log: Log;
  onUnsupported: (what: string) => void;
  onAbort: (reason: string) => void;
  /** what handleSummary's root_group is made of: checks by group and name, counted from the `checks`
   *  samples, and every group entered (from group_duration) */
  checks: CheckTally;
  /** k6/data SharedArrays by name, each element as JSON: made once (VU 0 initialises first, alone),
   *  handed to every later VU, which does not run the constructor's function again */
  sharedArrays: Map<string, string[]>;
}

export interface RunOutcome { how: 'ok' | 'error' | 'interrupted'; value?: unknown; error?: string }

/** A VU as the scheduler sees it: a worker thread it asks to run things. */
export class VUHandle {
  functions: string[] = [];
  options: Record<string, unknown> = {};
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private readonly replies: MessagePort;
  private readonly worker: Worker;
  private readonly agents = new Agents();
  private readonly pending = new Map<number, (r: RunOutcome) => void>();
  private readonly cancels = new Map<number, (() => void)[]>();
  private seq = 0;
  private dead?: string;
  readonly ready: Promise<void>;

  private constructor(readonly id: number, bundle: string, init: Omit<WorkerInit, 'id' | 'state' | 'signal'>, private hub: Hub) {
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.worker = new Worker(bundle, {
      eval: true, workerData: { ...init, id, state: hub.state.buffer, signal: this.signal.buffer, replies: port2 }, transferList: [port2],
      stdout: false, stderr: false,
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.t === 'ready') { this.functions = m.functions; this.options = m.options; resolve(); } else if (m.t === 'initError') reject(new Error(m.error));
        else this.receive(m);
      });
      this.worker.once('error', (e) => { this.died(e.message); reject(e); });
      this.worker.once('exit', () => { this.died('its thread ended'); reject(new Error(`VU ${id}: its thread ended during init`)); });
    });
  }

  static async start(id: number, script: { code: string; filename: string }, env: Record<string, string>, scriptDir: string, hub: Hub, options?: Record<string, unknown>): Promise<VUHandle> {
    const vu = new VUHandle(id, await bundledWorker(), {
      code: script.code, filename: script.filename, env, scriptDir, net: hub.net, options, sharedArrays: Object.fromEntries(hub.sharedArrays),
    }, hub);
    try { await vu.ready; } catch (e) { vu.close(); throw e; }
    return vu;
  }

  has(fn: string): boolean { return this.functions.includes(fn); }
  setOptions(options: Record<string, unknown>, net: NetConfig): void { this.send({ t: 'options', options, net }); }

  /** Runs an exported function on the VU: an iteration (with its scenario), or setup/teardown/handleSummary (quiet: the caller reports errors). */
  run(fn: string, arg: unknown, ctx?: { scenario: ScenarioContext; env: Record<string, string>; iterationInScenario: number; iterationInTest: number }): Promise<RunOutcome> {
    if (this.dead) return Promise.resolve({ how: 'error', error: `VU ${this.id}: ${this.dead}` });
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.send({ t: 'run', seq, fn, arg, quiet: !ctx, scenario: ctx?.scenario, env: ctx?.env, iterationInScenario: ctx?.iterationInScenario ?? 0, iterationInTest: ctx?.iterationInTest ?? 0 });
    }) as Promise<RunOutcome>;
  }

  /** Ends the running iteration now, also while the VU is blocked in sleep or a synchronous request. */
  interrupt(): void {
    if (!this.pending.has(this.seq)) return;
    Atomics.store(this.signal, INTERRUPT, this.seq);
    this.wake();
    this.send({ t: 'interrupt', seq: this.seq });
  }

  close(): void {
    this.send({ t: 'close' });
    this.agents.destroy();
    this.replies.close();
    // A script stuck in a loop of its own does not hold the run: the thread goes after a grace.
    setTimeout(() => void this.worker.terminate(), 2_000).unref();
  }

  private send(m: ToWorker): void { if (!this.dead) this.worker.postMessage(m); }
  private wake(): void { Atomics.add(this.signal, WAKE, 1); Atomics.notify(this.signal, WAKE); }

  private died(why: string): void {
    if (this.dead) return;
    this.dead = why;
    for (const [, resolve] of this.pending) resolve({ how: 'error', error: `VU ${this.id}: ${why}` });
    this.pending.clear();
  }

  private receive(m: FromWorker): void {
    const hub = this.hub;
    switch (m.t) {
      case 'samples':
        for (const s of m.samples) this.sample(s);
        break;
      case 'define':
        try { hub.registry.define(m.name, m.type, m.isTime); } catch (e) { hub.log('error', `VU ${this.id}: ${(e as Error).message}`); }
        break;
      case 'sharedArray': if (!hub.sharedArrays.has(m.name)) hub.sharedArrays.set(m.name, m.elements); break;
      case 'log': hub.log(m.level, m.msg); break;
      case 'unsupported': hub.onUnsupported(m.what); break;
      case 'abort': hub.onAbort(m.reason); break;
      case 'http': void this.exchangeAll(m.id, m.requests, m.parallel); break;
      case 'cancel': for (const c of this.cancels.get(m.id) ?? []) c(); this.cancels.delete(m.id); break;
      case 'done': {
        const resolve = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        resolve?.({ how: m.how, value: m.value, error: m.error });
        break;
      }
    }
  }

  private sample(s: Sample): void {
    this.hub.registry.add(s);
    if (s.metric === 'checks' && s.tags.check !== undefined) this.hub.checks.count(s.tags.group ?? '', s.tags.check, !!s.value);
    if (s.metric === 'group_duration' && s.tags.group) this.hub.checks.group(s.tags.group);
  }

  /** A VU's synchronous request(s): exchanged here, at most `parallel` at once, then the VU is woken. */
  private async exchangeAll(id: number, requests: RawRequest[], parallel: number): Promise<void> {
    const out: RawResponse[] = new Array(requests.length);
    const cancels: (() => void)[] = [];
    this.cancels.set(id, cancels);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < requests.length; i = next++) out[i] = await exchange(requests[i], this.hub.net, this.agents, (c) => cancels.push(c));
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, requests.length)) }, lane));
    if (!this.cancels.delete(id)) return; // cancelled: the VU has moved on
    this.replies.postMessage({ id, responses: out });
    this.wake();
  }
}
