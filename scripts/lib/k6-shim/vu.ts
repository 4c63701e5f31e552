// One k6 virtual user, inside its own worker thread (worker.ts): its own JavaScript realm, the init
// context (open, __ENV, __VU), and the k6 modules scripts import, implemented on Node: k6, k6/http,
// k6/websockets (and the experimental name), k6/timers, k6/metrics, k6/execution. The synchronous
// calls (sleep, http.get, http.batch) block this thread only, as they block one VU in k6. Only
// that subset; anything else stops the run and says what.
import vm from 'node:vm';
import { types } from 'node:util';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import WsClient from 'ws';
import { parseDuration, type MetricType, type Sample, type Tags } from './metrics.ts';
import { exchange, lookupFor, tlsFor, type Agents, type NetConfig, type RawRequest, type RawResponse } from './http.ts';
import type { SharedState, ScenarioContext } from './protocol.ts';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** What a VU's thread knows of its test, and how it reaches the main thread. */
export interface Shared {
  env: Record<string, string>;
  scriptDir: string;
  net: NetConfig;
  options: Record<string, unknown>;
  state: SharedState;
  files: Map<string, string | Buffer>;
  /** k6/data SharedArrays known to this VU (made by an earlier VU's init, or its own), each element as JSON */
  sharedArrays: Map<string, string[]>;
  /** a SharedArray this VU made: the main thread keeps it for the VUs initialised after */
  publishSharedArray: (name: string, elements: string[]) => void;
  log: Log;
  emit: (s: Sample) => void;
  /** a custom metric, made in the init context */
  define: (name: string, type: MetricType, isTime: boolean) => void;
  /** the first function called that the runner does not implement: the run stops and exits 107 */
  unsupported?: string;
  onUnsupported: (what: string) => void;
  /** exec.test.abort(reason): the run stops, teardown and handleSummary still run, exit 108 */
  aborted?: string;
  onAbort: (reason: string) => void;
  /** Blocks this VU until the main thread has exchanged these requests (at most `parallel` at once).
   *  Throws Interrupted when the iteration is interrupted meanwhile. */
  requestSync: (requests: RawRequest[], parallel: number) => RawResponse[];
  /** Blocks this VU for `ms`; throws Interrupted when the iteration is interrupted meanwhile. */
  sleepSync: (ms: number) => void;
  agents: Agents;
}

const SUPPORTED = ['k6', 'k6/http', 'k6/websockets', 'k6/experimental/websockets', 'k6/timers', 'k6/metrics', 'k6/execution', 'k6/data'];
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;
const now = () => performance.now();
const refuse = (shared: Shared, what: string): never => {
  // Refused, never pretended: the first use stops the whole run (exit 107), not just this iteration.
  if (!shared.unsupported) { shared.unsupported = what; shared.onUnsupported(what); }
  throw new Error(`k6-shim does not support ${what} (see docs/k6-runner.md, "The k6 shim")`);
};
const unsupportedStub = (shared: Shared, what: string) => () => refuse(shared, what);

type ScenarioInfo = ScenarioContext & { progress: () => number };

export class Interrupted extends Error {}

/** Cookies by host: name, value, path, expiry (Set-Cookie's Path, Max-Age, Expires; Domain widens to subdomains). */
class CookieJar {
  private readonly cookies: { host: string; sub: boolean; name: string; value: string; path: string; expires: number }[] = [];
  store(u: URL, setCookie: string): void {
    const [pair, ...attrs] = setCookie.split(';').map((x) => x.trim());
    const eq = pair.indexOf('=');
    if (eq < 1) return;
    const c = { host: u.hostname, sub: false, name: pair.slice(0, eq), value: pair.slice(eq + 1), path: '/', expires: Infinity };
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.toLowerCase();
      if (key === 'path' && v.startsWith('/')) c.path = v;
      else if (key === 'domain' && v) { c.host = v.replace(/^\./, '').toLowerCase(); c.sub = true; }
      else if (key === 'max-age') c.expires = Date.now() + Number(v) * 1000;
      else if (key === 'expires' && c.expires === Infinity) c.expires = Date.parse(v);
    }
    const i = this.cookies.findIndex((x) => x.host === c.host && x.name === c.name && x.path === c.path);
    if (i >= 0) this.cookies.splice(i, 1);
    if (c.expires > Date.now()) this.cookies.push(c);
  }
  private matching(u: URL) {
    const now = Date.now();
    return this.cookies.filter((c) => c.expires > now && (u.hostname === c.host || (c.sub && u.hostname.endsWith(`.${c.host}`))) && u.pathname.startsWith(c.path));
  }
  header(u: URL): string { return this.matching(u).map((c) => `${c.name}=${c.value}`).join('; '); }
  forUrl(u: URL): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const c of this.matching(u)) (out[c.name] ??= []).push(c.value);
    return out;
  }
  clear(host: string): void { for (let i = this.cookies.length - 1; i >= 0; i--) if (this.cookies[i].host === host) this.cookies.splice(i, 1); }
}

interface RequestParams {
  headers?: Record<string, string>; tags?: Record<string, string>; timeout?: string | number; responseType?: 'text' | 'binary' | 'none';
  responseCallback?: ExpectedStatuses | null;
  /** how many redirects this request follows (k6: `redirects`; default options.maxRedirects, 10) */
  redirects?: number;
  cookies?: Record<string, string | { value: string; replace?: boolean }>;
  jar?: unknown;
  auth?: string;
  compression?: string;
}
/** A URL made by http.url`...`: requests to it are tagged with the template as their name. */
class TaggedURL {
  constructor(readonly url: string, readonly name: string) {}
  toString(): string { return this.url; }
}
type K6Response = Record<string, unknown> & { status: number; headers: Record<string, string>; url: string };
/** One request as http.batch takes it: a URL, [method, url, body, params] or {method, url, body, params}. */
type BatchItem = string | TaggedURL | unknown[] | { method?: string; url: string | TaggedURL; body?: unknown; params?: RequestParams | null };

/** What http.expectedStatuses() returns: the statuses http_req_failed counts as expected. */
class ExpectedStatuses {
  constructor(readonly ranges: { min: number; max: number }[]) {}
  has(status: number): boolean { return this.ranges.some((r) => status >= r.min && status <= r.max); }
}

export class VU {
  readonly ctx: vm.Context;
  exports: Record<string, unknown> = {};
  inInit = true;
  scenario?: ScenarioInfo;
  iterationInScenario = 0;
  iterationInInstance = 0;
  iterationInTest = 0;
  readonly metricTags: Record<string, string | number | boolean> = {};
  /** Bumped when an iteration ends: work left over from an interrupted iteration is dropped. */
  private epoch = 0;
  private handles = new Map<number, () => void>();
  private nextHandle = 1;
  private idleWaiters: (() => void)[] = [];
  private failIteration?: (e: unknown) => void;
  /** k6's per-VU cookie jar: Set-Cookie answers are sent back to matching URLs */
  private jar = new CookieJar();
  /** http.setResponseCallback: null = nothing is expected or failed; default k6's 200-399 */
  private responseCallback: ExpectedStatuses | null = new ExpectedStatuses([{ min: 200, max: 399 }]);
  private readonly timerFns = this.timers();
  private readonly toArrayBuffer: (b: Uint8Array) => ArrayBuffer;
  /** The script realm's Promise: what asyncRequest returns must pass `instanceof Promise` there. */
  private readonly ScriptPromise: PromiseConstructor;

  constructor(readonly id: number, readonly shared: Shared, code: string, filename: string) {
    const sandbox: Record<string, unknown> = {
      __ENV: { ...shared.env }, __VU: id, __ITER: 0,
      open: (path: string, mode?: string) => this.open(path, mode),
      console: this.console(),
      ...this.timerFns, // k6 also has the timers as globals
    };
    this.ctx = vm.createContext(sandbox, { name: `VU ${id}` });
    // Binary data the script receives is an ArrayBuffer of its own realm (instanceof ArrayBuffer holds there).
    this.toArrayBuffer = vm.runInContext('(function (b) { const a = new ArrayBuffer(b.byteLength); new Uint8Array(a).set(b); return a; })', this.ctx) as (b: Uint8Array) => ArrayBuffer;
    this.ScriptPromise = vm.runInContext('Promise', this.ctx) as PromiseConstructor;
    const wrapper = new vm.Script(code, { filename }).runInContext(this.ctx) as (module: unknown, exports: unknown, require: unknown) => void;
    const module = { exports: {} as Record<string, unknown> };
    const modules = new Map<string, unknown>();
    wrapper(module, module.exports, (name: string) => {
      if (!SUPPORTED.includes(name)) throw new Error(`k6-shim does not provide module "${name}" (it has: ${SUPPORTED.join(', ')})`);
      if (!modules.has(name)) { const m = this.module(name); modules.set(name, { __esModule: true, default: m, ...m }); }
      return modules.get(name);
    });
    this.exports = module.exports;
    this.inInit = false;
  }

  // ---------- iterations ----------

  /** Runs one call of an exported function (an iteration, or setup, teardown, handleSummary); resolves
   *  when it has settled and the VU's event loop is empty (as k6 does). */
  run(fnName: string, arg: unknown, quiet: boolean, scenario?: ScenarioContext, env?: Record<string, string>, iterationInScenario = 0, iterationInTest = 0) {
    if (scenario) {
      this.scenario = { ...scenario, progress: () => this.shared.state.progress(scenario.index) };
      this.ctx.__ENV = env ?? this.shared.env;
      this.iterationInScenario = iterationInScenario;
      this.iterationInTest = iterationInTest;
      this.ctx.__ITER = iterationInScenario;
      // k6 empties the VU's cookie jar for every iteration unless options.noCookiesReset.
      if (!this.shared.options.noCookiesReset) this.jar = new CookieJar();
    }
    // k6 runs setup and teardown in implicit groups: what they emit is tagged group "::setup" / "::teardown".
    const implicitGroup = !scenario && (fnName === 'setup' || fnName === 'teardown');
    if (implicitGroup) this.groupPath = `::${fnName}`;
    const t0 = Date.now();
    const min = scenario ? parseDuration(this.shared.options.minIterationDuration as string | undefined, 0) : 0;
    return this.invoke(fnName, arg, quiet).then(async (r) => {
      if (implicitGroup) this.groupPath = '';
      if (scenario) this.iterationInInstance++;
      // options.minIterationDuration: a shorter iteration waits out the rest (interruptible).
      if (r.how === 'ok' && Date.now() - t0 < min) try { this.shared.sleepSync(min - (Date.now() - t0)); } catch { return { ...r, how: 'interrupted' as const }; }
      return r;
    });
  }

  private invoke(fnName: string, arg: unknown, quiet = false): Promise<{ how: 'ok' | 'error' | 'interrupted'; value?: unknown; error?: unknown }> {
    const fn = this.exports[fnName];
    if (typeof fn !== 'function') return Promise.reject(new Error(`the script exports no function "${fnName}"`));
    const epoch = this.epoch;
    return new Promise((settle) => {
      let value: unknown;
      const end = (how: 'ok' | 'error' | 'interrupted', error?: unknown) => {
        if (epoch !== this.epoch) return;
        this.epoch++;
        this.failIteration = undefined;
        this.dropHandles();
        settle({ how, value, error });
      };
      this.failIteration = (e) => {
        if (!(e instanceof Interrupted) && !quiet) this.shared.log('error', `VU ${this.id}: ${errorText(e)}`);
        end(e instanceof Interrupted ? 'interrupted' : 'error', e);
      };
      Promise.resolve().then(() => (fn as (d: unknown) => unknown)(arg))
        .then((v) => { value = v; return this.whenIdle(epoch); })
        .then(() => end('ok'), (e) => this.failIteration?.(e));
    });
  }

  /** Ends the running iteration now: timers cleared, sockets and requests dropped. */
  interrupt(): void { this.failIteration?.(new Interrupted('interrupted')); }

  private whenIdle(epoch: number): Promise<void> {
    return new Promise((r) => { if (!this.handles.size || epoch !== this.epoch) r(); else this.idleWaiters.push(r); });
  }
  /** Something that keeps the VU's event loop busy; returns its release. */
  private hold(dispose: () => void): { id: number; release: () => void; live: () => boolean } {
    const id = this.nextHandle++, epoch = this.epoch;
    this.handles.set(id, dispose);
    return {
      id,
      live: () => epoch === this.epoch && this.handles.has(id),
      release: () => {
        if (!this.handles.delete(id) || this.handles.size) return;
        for (const w of this.idleWaiters.splice(0)) w();
      },
    };
  }
  private dropHandles(): void {
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const d of all) { try { d(); } catch { /* already gone */ } }
    for (const w of this.idleWaiters.splice(0)) w();
  }
  /** Calls script code from an event; a throw ends the iteration, as an uncaught exception does in k6. */
  private call(fn: unknown, ...args: unknown[]): void {
    if (typeof fn !== 'function') return;
    try { fn(...args); } catch (e) { this.failIteration?.(e); }
  }

  close(): void {
    this.epoch++;
    this.dropHandles();
    this.shared.agents.destroy();
  }

  // ---------- init context ----------

  private open(path: string, mode?: string): string | ArrayBuffer {
    if (!this.inInit) throw new Error('open() can only be called in the init context');
    const file = resolve(this.shared.scriptDir, path);
    if (!this.shared.files.has(file)) this.shared.files.set(file, readFileSync(file));
    const buf = this.shared.files.get(file) as Buffer;
    return mode === 'b' ? this.toArrayBuffer(buf) : buf.toString('utf8');
  }

  private console() {
    const out = (level: 'info' | 'warn' | 'error') => (...a: unknown[]) =>
      this.shared.log(level, a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
    return { log: out('info'), info: out('info'), debug: () => {}, warn: out('warn'), error: out('error') };
  }

  private timers() {
    const ids = new Map<number, { clear: () => void }>();
    const arm = (repeat: boolean) => (fn: unknown, delay = 0, ...args: unknown[]): number => {
      let timer: NodeJS.Timeout;
      const h = this.hold(() => clearTimeout(timer));
      const fire = () => { if (!h.live()) return; if (!repeat) { ids.delete(h.id); h.release(); } this.call(fn, ...args); };
      timer = repeat ? setInterval(fire, delay) : setTimeout(fire, delay);
      ids.set(h.id, { clear: () => { clearTimeout(timer); ids.delete(h.id); h.release(); } });
      return h.id;
    };
    const clear = (id: number) => ids.get(id)?.clear();
    return { setTimeout: arm(false), setInterval: arm(true), clearTimeout: clear, clearInterval: clear };
  }

  // ---------- metrics ----------

  private tagsFor(extra?: Record<string, unknown>): Tags {
    // options.tags on every metric, then the scenario's, the VU's and the call's (k6's order).
    const t: Tags = { ...(this.shared.options.tags as Tags | undefined), ...this.scenario?.tags };
    if (this.scenario) t.scenario = this.scenario.name;
    t.group = this.groupPath;
    for (const [k, v] of Object.entries({ ...this.metricTags, ...extra })) t[k] = String(v);
    return t;
  }
  emit(metric: string, type: MetricType, value: number, tags: Tags): void {
    if (!this.muted) this.shared.emit({ metric, type, value, tags, time: Date.now() });
  }
  private muted = false;
  /** Runs `warm` with a request function that goes through this VU's own HTTP code, emitting nothing. */
  async warmUp(warm: (request: (url: string) => Promise<unknown>) => Promise<void>): Promise<void> {
    this.muted = true;
    try { await warm((url) => this.requestAsync('GET', url, null, null)); } finally { this.muted = false; this.jar = new CookieJar(); }
  }

  // ---------- modules ----------

  private module(name: string): Record<string, unknown> {
    switch (name) {
      case 'k6': return {
        check: this.check.bind(this), group: this.group.bind(this),
        // https://grafana.com/docs/k6/latest/javascript-api/k6/fail/: throws, ending this iteration only.
        fail: (msg?: string) => { throw new Error(msg ?? 'fail() called'); },
        // https://grafana.com/docs/k6/latest/javascript-api/k6/sleep/: blocks this VU, its timers too.
        sleep: (seconds: number) => { this.shared.sleepSync(Math.max(0, Number(seconds) * 1000)); },
        randomSeed: unsupportedStub(this.shared, 'randomSeed()'),
      };
      case 'k6/http': return this.httpModule();
      // k6/websockets is the same API, no longer experimental (k6 v0.54+).
      case 'k6/websockets':
      case 'k6/experimental/websockets': return { WebSocket: this.webSocketClass() };
      case 'k6/timers': return this.timerFns;
      case 'k6/metrics': return this.metricClasses();
      case 'k6/data': return { SharedArray: this.sharedArrayClass() };
      default: return this.execution();
    }
  }

  /** The group the VU is in ("::outer::inner"), tagging what it emits meanwhile. */
  private groupPath = '';
  /** https://grafana.com/docs/k6/latest/javascript-api/k6/group/: runs fn in the group, tags its
   *  samples `group`, emits group_duration. A function that returns a promise is refused, as k6
   *  documents that group does not follow async code. */
  private group(name: string, fn: () => unknown): unknown {
    if (name.includes('::')) throw new Error(`group name "${name}" may not contain "::"`);
    const outer = this.groupPath;
    this.groupPath = `${outer}::${name}`;
    const t0 = now();
    try {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        refuse(this.shared, 'group() with an async function (k6 does not follow async code in a group either; see its docs)');
      }
      return r;
    } finally {
      this.emit('group_duration', 'trend', now() - t0, this.tagsFor());
      this.groupPath = outer;
    }
  }

  /** https://grafana.com/docs/k6/latest/javascript-api/k6/check/: a `checks` sample per condition (the
   *  main thread counts passes and fails by the `check` tag for the summary's root_group). */
  private check(val: unknown, sets: Record<string, unknown>, tags?: Record<string, unknown>): boolean {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = !!(typeof fn === 'function' ? fn(val) : fn);
      all &&= ok;
      this.emit('checks', 'rate', ok ? 1 : 0, this.tagsFor({ ...tags, check: name }));
    }
    return all;
  }

  private metricClasses() {
    const vu = this;
    const make = (type: MetricType) => class {
      readonly name: string;
      constructor(name: string, isTime = false) {
        if (!vu.inInit) throw new Error(`metric "${name}": custom metrics must be created in the init context`);
        if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}" (k6: letters, digits and _, up to 128)`);
        vu.shared.define(name, type, isTime);
        this.name = name;
      }
      add(value: number | boolean, tags?: Record<string, string>): void {
        vu.emit(this.name, type, Number(value), vu.tagsFor(tags));
      }
    };
    return { Counter: make('counter'), Gauge: make('gauge'), Rate: make('rate'), Trend: make('trend') };
  }

  /** https://grafana.com/docs/k6/latest/javascript-api/k6-data/sharedarray/: made in the init context
   *  from a function that returns an array, which runs once in the test (VU 0's init; every later VU
   *  gets its result by name); read-only; `length`, index access, for-of (and Array's other methods,
   *  through the prototype); each element read is a fresh, frozen copy, as in k6. */
  private sharedArrayClass() {
    const vu = this;
    const parse = vm.runInContext('(function deepFrozen(text) { const freeze = (v) => { if (v && typeof v === "object") { Object.values(v).forEach(freeze); Object.freeze(v); } return v; }; return freeze(JSON.parse(text)); })', this.ctx) as (text: string) => unknown;
    const makeTarget = vm.runInContext('(function () { return Object.create(Array.prototype); })', this.ctx) as () => object;
    const readOnly = (): never => { throw new TypeError('SharedArray is read-only'); };
    return function SharedArray(name: unknown, fn: unknown) {
      if (!vu.inInit) throw new Error('new SharedArray must be called in the init context');
      if (typeof name !== 'string' || !name) throw new TypeError('SharedArray needs a name (a non-empty string)');
      let elements = vu.shared.sharedArrays.get(name);
      if (!elements) {
        if (typeof fn !== 'function') throw new TypeError('SharedArray needs a function that returns an array');
        const data = fn();
        if (!Array.isArray(data)) throw new TypeError(`SharedArray "${name}": its function must return an array, not ${data === null ? 'null' : typeof data}`);
        elements = data.map((x) => JSON.stringify(x) ?? 'null');
        vu.shared.sharedArrays.set(name, elements);
        vu.shared.publishSharedArray(name, elements);
      }
      const list = elements;
      const index = (p: string | symbol) => (typeof p === 'string' && /^(0|[1-9]\d*)$/.test(p) && Number(p) < list.length ? Number(p) : -1);
      return new Proxy(makeTarget(), {
        get: (t, p, receiver) => (p === 'length' ? list.length : index(p) >= 0 ? parse(list[index(p)]) : Reflect.get(t, p, receiver)),
        has: (t, p) => p === 'length' || index(p) >= 0 || Reflect.has(t, p),
        ownKeys: () => [...list.keys()].map(String),
        getOwnPropertyDescriptor: (_t, p) => (index(p) >= 0 ? { value: parse(list[index(p)]), writable: false, enumerable: true, configurable: true } : undefined),
        set: readOnly, defineProperty: readOnly, deleteProperty: readOnly, setPrototypeOf: readOnly,
      });
    };
  }

  private execution() {
    const vu = this, s = this.shared, st = s.state;
    const scenario = {
      get name() { return vu.scenario?.name ?? ''; },
      get executor() { return vu.scenario?.executor ?? ''; },
      get startTime() { return vu.scenario?.startTime ?? 0; },
      get progress() { return vu.scenario?.progress() ?? 0; },
      // Counted across the scenario (all its VUs), as k6 does; one instance, so in-test is the same.
      get iterationInInstance() { return vu.iterationInTest; },
      get iterationInTest() { return vu.iterationInTest; },
    };
    const instance = {
      get vusActive() { return st.get('vusActive'); },
      get vusInitialized() { return st.get('vusInitialized'); },
      get iterationsCompleted() { return st.get('iterationsCompleted'); },
      get iterationsInterrupted() { return st.get('iterationsInterrupted'); },
      get currentTestRunDuration() { return st.get('testStart') ? Date.now() - st.get('testStart') : 0; },
    };
    const vuInfo = {
      get idInInstance() { return vu.id; },
      get idInTest() { return vu.id; },
      get iterationInInstance() { return vu.iterationInInstance; },
      get iterationInScenario() { return vu.iterationInScenario; },
      tags: this.metricTags,
      metrics: { tags: this.metricTags, metadata: {} },
    };
    const abort = (reason?: string) => {
      const why = reason ?? 'aborted by the script';
      if (s.aborted === undefined) { s.aborted = why; s.onAbort(why); }
      throw new Interrupted(`test aborted: ${why}`); // ends this iteration at once, as in k6
    };
    return { scenario, instance, vu: vuInfo, test: { options: s.options, abort, fail: unsupportedStub(this.shared, 'exec.test.fail()') } };
  }

  // ---------- k6/http ----------

  /** https://grafana.com/docs/k6/latest/javascript-api/k6-http/ */
  private httpModule(): Record<string, unknown> {
    const sync = (method: string) => (url: unknown, ...rest: unknown[]) => {
      // get/head take (url, params); the others (url, body, params)
      const [body, params] = method === 'GET' || method === 'HEAD' ? [undefined, rest[0]] : rest;
      return this.requestSync(method, url, body, params as RequestParams);
    };
    return {
      request: (method: string, url: unknown, body?: unknown, params?: RequestParams) => this.requestSync(method, url, body, params),
      get: sync('GET'), head: sync('HEAD'), post: sync('POST'), put: sync('PUT'), patch: sync('PATCH'), del: sync('DELETE'), options: sync('OPTIONS'),
      batch: (items: BatchItem[] | Record<string, BatchItem>) => this.batch(items),
      asyncRequest: (method: string, url: unknown, body?: unknown, params?: RequestParams) => {
        const answer = this.requestAsync(method, url, body, params);
        return new this.ScriptPromise((resolve, reject) => { answer.then(resolve, reject); });
      },
      // https://grafana.com/docs/k6/latest/javascript-api/k6-http/url/: the template (with ${}) names the request.
      url: (strings: TemplateStringsArray, ...values: unknown[]) =>
        new TaggedURL(strings.reduce((a, s, i) => a + s + (i < values.length ? String(values[i]) : ''), ''), strings.join('${}')),
      // https://grafana.com/docs/k6/latest/javascript-api/k6-http/expected-statuses/ and set-response-callback/
      expectedStatuses: (...sts: (number | { min: number; max: number })[]) => new ExpectedStatuses(sts.map((x) => {
        if (typeof x === 'number' && Number.isInteger(x)) return { min: x, max: x };
        if (x && typeof x === 'object' && Number.isInteger(x.min) && Number.isInteger(x.max)) return { min: x.min, max: x.max };
        throw new Error(`expectedStatuses: ${JSON.stringify(x)} is neither a status nor {min, max}`);
      })),
      setResponseCallback: (cb: unknown) => {
        if (cb !== null && !(cb instanceof ExpectedStatuses)) throw new Error('setResponseCallback takes http.expectedStatuses(...) or null, as in k6');
        this.responseCallback = cb;
      },
      // https://grafana.com/docs/k6/latest/javascript-api/k6-http/cookiejar/: the VU's jar.
      cookieJar: () => ({
        cookiesForURL: (url: string) => this.jar.forUrl(new URL(url)),
        set: (url: string, name: string, value: string) => this.jar.store(new URL(url), `${name}=${value}`),
        clear: (url: string) => this.jar.clear(new URL(url).hostname),
      }),
      file: unsupportedStub(this.shared, 'http.file() (multipart bodies)'),
      CookieJar: unsupportedStub(this.shared, 'new http.CookieJar() (the VU\'s own jar, http.cookieJar(), is supported)'),
    };
  }

  private requestSync(method: string, url: unknown, body?: unknown, params?: RequestParams | null): K6Response {
    return this.drive([this.flow(method, url, body, params)])[0];
  }

  /** http.batch: the requests go out in parallel (at most options.batch at once, k6's default 20). */
  private batch(items: BatchItem[] | Record<string, BatchItem>): K6Response[] | Record<string, K6Response> {
    const keys = Object.keys(items);
    const flows = keys.map((k) => {
      const it = (items as Record<string, BatchItem>)[k];
      if (typeof it === 'string' || it instanceof TaggedURL) return this.flow('GET', it, null, null);
      if (Array.isArray(it)) return this.flow(String(it[0]), it[1], it[2], it[3] as RequestParams);
      if (it && typeof it === 'object' && 'url' in it) return this.flow(it.method ?? 'GET', it.url, it.body, it.params);
      throw new Error(`http.batch: item ${k} is neither a URL, [method, url, body, params] nor {method, url, …}`);
    });
    const out = this.drive(flows);
    return Array.isArray(items) ? out : Object.fromEntries(keys.map((k, i) => [k, out[i]]));
  }

  /** Runs request flows to their end, each round's requests exchanged by the main thread while this VU waits. */
  private drive(flows: Generator<RawRequest, K6Response, RawResponse>[]): K6Response[] {
    const steps = flows.map((f) => f.next());
    const parallel = Number(this.shared.options.batch ?? 20);
    for (let open = steps.flatMap((s, i) => (s.done ? [] : [i])); open.length; open = steps.flatMap((s, i) => (s.done ? [] : [i]))) {
      const answers = this.shared.requestSync(open.map((i) => steps[i].value as RawRequest), parallel);
      open.forEach((i, k) => (steps[i] = flows[i].next(answers[k])));
    }
    return steps.map((s) => s.value as K6Response);
  }

  private async requestAsync(method: string, url: unknown, body?: unknown, params?: RequestParams | null): Promise<K6Response> {
    const flow = this.flow(method, url, body, params);
    for (let step = flow.next(); ; ) {
      if (step.done) return step.value;
      let cancel = () => {};
      const h = this.hold(() => cancel());
      const answer = await exchange(step.value, this.shared.net, this.shared.agents, (c) => (cancel = c));
      if (!h.live()) return new Promise(() => {}); // an interrupted iteration's request: nobody waits for it
      h.release();
      step = flow.next(answer);
    }
  }

  /** One request as k6 makes it, redirects included: yields each exchange, returns the last response.
   *  https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#max-redirects: up to
   *  options.maxRedirects (default 10; per request `redirects`), as Go does: 301/302/303 turn into a
   *  GET without body, 307/308 repeat the request. Each hop is a request of its own in the metrics. */
  private *flow(method: string, url: unknown, body: unknown, params: RequestParams | null | undefined): Generator<RawRequest, K6Response, RawResponse> {
    const max = params?.redirects ?? (this.shared.options.maxRedirects as number | undefined) ?? 10;
    const name = url instanceof TaggedURL ? url.name : undefined;
    let res = yield* this.once(method, String(url), body, params, name);
    for (let hops = 0; hops < max && [301, 302, 303, 307, 308].includes(res.status) && res.headers.Location; hops++) {
      const next = new URL(res.headers.Location, res.url).href;
      if ([301, 302, 303].includes(res.status) && method.toUpperCase() !== 'HEAD') { method = 'GET'; body = undefined; }
      res = yield* this.once(method, next, body, params, name);
    }
    return res;
  }

  private *once(method: string, url: string, body: unknown, params: RequestParams | null | undefined, name?: string): Generator<RawRequest, K6Response, RawResponse> {
    const p = params ?? {};
    const u = new URL(url);
    method = method.toUpperCase();
    const payload = body == null ? undefined : typeof body === 'string' ? Buffer.from(body)
      : types.isArrayBuffer(body) ? Buffer.from(body) : ArrayBuffer.isView(body) ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
        : Buffer.from(new URLSearchParams(body as Record<string, string>).toString());
    const headers: Record<string, string> = { 'User-Agent': String(this.shared.options.userAgent ?? 'comfy-verify-k6-shim/1'), ...p.headers };
    const has = (h: string) => Object.keys(headers).some((k) => k.toLowerCase() === h);
    // The VU's cookie jar, as k6 keeps one per VU, then params.cookies; a Cookie header given by the script wins.
    const cookies = [this.jar.header(u), ...Object.entries(p.cookies ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : v.value}`)].filter(Boolean).join('; ');
    if (cookies && !has('cookie')) headers.Cookie = cookies;
    if (p.auth === 'basic' || (u.username && !p.auth)) {
      if (u.username) headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    } else if (p.auth) refuse(this.shared, `params.auth "${p.auth}"`);
    if (p.compression) refuse(this.shared, 'params.compression');
    if (payload) headers['Content-Length'] = String(payload.length);
    if (payload && typeof body === 'object' && !types.isArrayBuffer(body) && !ArrayBuffer.isView(body) && !has('content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const target = new URL(u.href);
    target.username = target.password = ''; // credentials travel in the header, not the URL
    const tags = this.tagsFor({ method, url: target.href, name: name ?? target.href, ...p.tags });
    const raw = yield {
      method, url: target.href, headers, body: payload ? new Uint8Array(payload) : undefined,
      timeoutMs: parseDuration(p.timeout, 60_000), keepBody: this.responseType(p) !== 'none',
    };
    // options.throw: a request that got no answer throws instead of returning (https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#throw)
    if (raw.error && this.shared.options.throw) { this.settle(raw, method, target, headers, payload, p, tags); throw new Error(`${method} ${target.href}: ${raw.error}`); }
    return this.settle(raw, method, target, headers, payload, p, tags);
  }

  /** params.responseType, else 'none' under options.discardResponseBodies, else 'text'. */
  private responseType(p: RequestParams): 'text' | 'binary' | 'none' { return p.responseType ?? (this.shared.options.discardResponseBodies ? 'none' : 'text'); }

  /** The metrics k6 emits for a request, and the Response object scripts see. */
  private settle(raw: RawResponse, method: string, u: URL, headers: Record<string, string>, payload: Buffer | undefined, p: RequestParams, tags: Tags): K6Response {
    for (const c of raw.setCookies) this.jar.store(u, c);
    const cb = p.responseCallback !== undefined ? p.responseCallback : this.responseCallback;
    const expected = !!cb && cb.has(raw.status);
    const t: Tags = { ...tags, status: String(raw.status), ...(cb ? { expected_response: String(expected) } : {}), ...(raw.errorCode ? { error_code: String(raw.errorCode) } : {}), proto: 'HTTP/1.1' };
    const tm = raw.timings;
    this.emit('http_reqs', 'counter', 1, t);
    if (!raw.error) {
      for (const [m, v] of [['http_req_duration', tm.duration], ['http_req_blocked', tm.blocked], ['http_req_connecting', tm.connecting], ['http_req_tls_handshaking', tm.tls_handshaking],
        ['http_req_sending', tm.sending], ['http_req_waiting', tm.waiting], ['http_req_receiving', tm.receiving]] as const) this.emit(m, 'trend', v, t);
    }
    if (cb) this.emit('http_req_failed', 'rate', expected ? 0 : 1, t); // k6: none with setResponseCallback(null)
    this.emit('data_sent', 'counter', raw.bytesSent, t);
    this.emit('data_received', 'counter', raw.bytesReceived, t);
    const buf = raw.body ? Buffer.from(raw.body.buffer, raw.body.byteOffset, raw.body.byteLength) : null;
    const rt = this.responseType(p);
    const text = buf && rt !== 'binary' ? buf.toString('utf8') : null;
    let parsed: unknown, parsedOk = false;
    const json = (selector?: string) => {
      if (!parsedOk) { parsed = JSON.parse(text ?? ''); parsedOk = true; }
      if (selector !== undefined && /[*?|@]|#./.test(selector)) refuse(this.shared, `json("${selector}"): GJSON beyond dotted paths and "#"`);
      return selector === undefined ? parsed : jsonPath(parsed, selector);
    };
    const res: K6Response = {
      status: raw.status, status_text: raw.status ? `${raw.status} ${STATUS_CODES[raw.status] ?? ''}`.trim() : '', headers: raw.headers,
      timings: tm, url: u.href, error: raw.error, error_code: raw.errorCode, remote_ip: raw.remoteIp, remote_port: raw.remotePort,
      cookies: responseCookies(raw.setCookies, u),
      request: { method, url: u.href, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])), body: payload?.toString('utf8') ?? '', cookies: {} },
      body: rt === 'none' ? null : rt === 'binary' && buf ? this.toArrayBuffer(buf) : text,
      json, html: unsupportedStub(this.shared, 'Response.html()'), submitForm: unsupportedStub(this.shared, 'Response.submitForm()'), clickLink: unsupportedStub(this.shared, 'Response.clickLink()'),
    };
    // This runner speaks HTTP/1.1 only. Over plain HTTP so does k6, but over TLS k6 negotiates HTTP/2
    // when the server offers it (res.proto "HTTP/2.0"): a script that reads proto there would be told
    // something k6 may not say, so that read is refused (not enumerable: JSON.stringify(res) is fine).
    const https = u.protocol === 'https:';
    Object.defineProperty(res, 'proto', {
      enumerable: false,
      get: () => (https && raw.status ? refuse(this.shared, 'Response.proto of an HTTPS response (this runner does not negotiate HTTP/2 as k6 does over TLS; it speaks HTTP/1.1)') : raw.status ? 'HTTP/1.1' : ''),
    });
    return res;
  }

  private webSocketClass() {
    const vu = this;
    type Listener = (e: unknown) => void;
    return class WebSocket {
      readyState = 0;
      readonly url: string;
      binaryType = 'arraybuffer';
      onopen: unknown = null; onmessage: unknown = null; onclose: unknown = null; onerror: unknown = null; onping: unknown = null; onpong: unknown = null;
      private listeners = new Map<string, Listener[]>();
      private sock: WsClient;
      private tags: Tags;
      get bufferedAmount() { return this.sock.bufferedAmount; }

      constructor(url: string, _protocols?: unknown, params?: { headers?: Record<string, string>; tags?: Record<string, string> } | null) {
        this.url = url;
        const u = new URL(url);
        this.tags = vu.tagsFor({ url, ...params?.tags });
        const t0 = now();
        let opened = 0;
        const h = vu.hold(() => this.sock.terminate());
        this.sock = new WsClient(url, {
          headers: params?.headers, handshakeTimeout: 60_000, lookup: lookupFor(vu.shared.net, u.hostname),
          ...(u.protocol === 'wss:' ? tlsFor(vu.shared.net, u.hostname) : {}),
        } as WsClient.ClientOptions);
        this.sock.on('open', () => {
          if (!h.live()) return;
          opened = now();
          this.readyState = 1;
          vu.emit('ws_connecting', 'trend', opened - t0, { ...this.tags, status: '101' });
          vu.emit('ws_sessions', 'counter', 1, this.tags);
          this.dispatch('open', { type: 'open' });
        });
        this.sock.on('message', (data: Buffer, isBinary: boolean) => {
          if (!h.live()) return;
          vu.emit('ws_msgs_received', 'counter', 1, this.tags);
          const payload = isBinary ? vu.toArrayBuffer(data) : data.toString('utf8');
          this.dispatch('message', { type: 'message', data: payload, timestamp: Date.now() });
        });
        this.sock.on('ping', () => h.live() && this.dispatch('ping', { type: 'ping' }));
        this.sock.on('pong', () => {
          if (!h.live()) return;
          const at = this.pingAt.shift();
          if (at !== undefined) vu.emit('ws_ping', 'trend', now() - at, this.tags);
          this.dispatch('pong', { type: 'pong' });
        });
        this.sock.on('error', (e: Error) => h.live() && this.dispatch('error', { type: 'error', error: e.message }));
        this.sock.on('close', (code: number) => {
          if (!h.live()) return;
          this.readyState = 3;
          if (opened) vu.emit('ws_session_duration', 'trend', now() - t0, this.tags);
          h.release();
          this.dispatch('close', { type: 'close', code });
        });
      }
      send(data: string | ArrayBuffer): void {
        if (this.readyState !== 1) throw new Error('InvalidStateError: the WebSocket is not open');
        this.sock.send(typeof data === 'string' ? data : Buffer.from(data));
        vu.emit('ws_msgs_sent', 'counter', 1, this.tags);
      }
      close(code = 1000, reason?: string): void {
        if (this.readyState >= 2) return;
        this.readyState = 2;
        if (this.sock.readyState === WsClient.CONNECTING) this.sock.terminate(); else this.sock.close(code, reason);
      }
      private pingAt: number[] = [];
      /** ws_ping is the round trip of a ping to its pong (k6's built-in WebSocket metric). */
      ping(): void { this.pingAt.push(now()); this.sock.ping(); }
      addEventListener(event: string, fn: Listener): void { this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]); }
      private dispatch(event: string, e: unknown): void {
        vu.call((this as unknown as Record<string, unknown>)[`on${event}`], e);
        for (const fn of this.listeners.get(event) ?? []) vu.call(fn, e);
      }
    };
  }
}

/** k6's Response.json(selector) takes a GJSON path; the dotted subset: `a.b.0.c`, `items.#` (a count). */
export function jsonPath(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split(/(?<!\\)\./).map((k) => k.replace(/\\\./g, '.'))) {
    if (cur == null || typeof cur !== 'object') return undefined;
    if (key === '#' && Array.isArray(cur)) return cur.length;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Response.cookies: the cookies the answer set, by name (https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/). */
function responseCookies(setCookies: string[], u: URL): Record<string, { name: string; value: string; domain: string; path: string; http_only: boolean; secure: boolean; max_age: number; expires: number }[]> {
  const out: ReturnType<typeof responseCookies> = {};
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';').map((x) => x.trim());
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const c = { name: pair.slice(0, eq), value: pair.slice(eq + 1), domain: u.hostname, path: '/', http_only: false, secure: false, max_age: 0, expires: 0 };
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      switch (k.toLowerCase()) {
        case 'domain': c.domain = v; break;
        case 'path': c.path = v; break;
        case 'httponly': c.http_only = true; break;
        case 'secure': c.secure = true; break;
        case 'max-age': c.max_age = Number(v); break;
        case 'expires': c.expires = Date.parse(v); break;
      }
    }
    (out[c.name] ??= []).push(c);
  }
  return out;
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
