// One k6 virtual user: its own JavaScript realm (a vm context, as k6 gives each VU its own
// runtime), the init context (open, __ENV, __VU), and the k6 modules the load scripts import,
// implemented on Node: k6, k6/http (asyncRequest), k6/experimental/websockets, k6/timers,
// k6/metrics, k6/execution. Only that subset; anything else fails loudly.
import vm from 'node:vm';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LookupFunction } from 'node:net';
import WsClient from 'ws';
import { parseDuration, type Registry, type MetricType, type Tags } from './metrics.ts';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** What every VU of a test shares. */
export interface Shared {
  registry: Registry;
  env: Record<string, string>;
  scriptDir: string;
  /** options.hosts: hostname -> address (k6's DNS override) */
  hosts: Record<string, string>;
  insecureSkipTLSVerify: boolean;
  /** PEM bundle from SSL_CERT_FILE (Go, and so k6, reads it instead of the system roots) */
  ca?: string;
  options: Record<string, unknown>;
  testStart: () => number;
  instance: { vusActive: number; vusInitialized: number; iterationsCompleted: number; iterationsInterrupted: number };
  checks: Map<string, { passes: number; fails: number }>;
  files: Map<string, string | Buffer>;
  log: Log;
  /** the first function called that the runner does not implement: the run stops and exits 107 */
  unsupported?: string;
  onUnsupported?: (what: string) => void;
  /** exec.test.abort(reason): the run stops, teardown and handleSummary still run, exit 108 */
  aborted?: string;
  onAbort?: (reason: string) => void;
}

export interface ScenarioInfo {
  name: string;
  executor: string;
  startTime: number;
  progress: () => number;
  tags: Tags;
  env: Record<string, string>;
}

const SUPPORTED = ['k6', 'k6/http', 'k6/websockets', 'k6/experimental/websockets', 'k6/timers', 'k6/metrics', 'k6/execution'];
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;
const now = () => performance.now();
/** Go's canonical header names (k6 shows response headers as Go does: Content-Type). */
const canonical = (h: string) => h.toLowerCase().replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
const unsupportedStub = (shared: Shared, what: string) => () => {
  // Refused, never pretended: the first use stops the whole run (exit 107), not just this iteration.
  if (!shared.unsupported) { shared.unsupported = what; shared.onUnsupported?.(what); }
  throw new Error(`k6-shim does not support ${what} (see README, "Load tests")`);
};

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

/** k6's error codes for what never got an HTTP answer (https://grafana.com/docs/k6/latest/javascript-api/error-codes/). */
function networkErrorCode(e: Error & { code?: string }): number {
  if (/timeout/i.test(e.message)) return 1050; // request timeout
  switch (e.code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': return 1101; // no IP found for host
    case 'ECONNREFUSED': return 1212; // connection refused
    case 'ECONNRESET': return 1220; // connection reset by peer
    default: return 1000;
  }
}

interface RequestParams {
  headers?: Record<string, string>; tags?: Record<string, string>; timeout?: string | number; responseType?: 'text' | 'binary' | 'none';
  responseCallback?: ExpectedStatuses | null;
  /** how many redirects this request follows (k6: `redirects`; default options.maxRedirects, 10) */
  redirects?: number;
}

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
  private agents: { http?: http.Agent; https?: https.Agent } = {};
  /** k6's per-VU cookie jar: Set-Cookie answers are sent back to matching URLs */
  private jar = new CookieJar();
  /** http.setResponseCallback: null = nothing is expected or failed; default k6's 200-399 */
  private responseCallback: ExpectedStatuses | null = new ExpectedStatuses([{ min: 200, max: 399 }]);
  private readonly timerFns = this.timers();

  constructor(readonly id: number, private shared: Shared, compiled: vm.Script) {
    const sandbox: Record<string, unknown> = {
      __ENV: { ...shared.env }, __VU: id, __ITER: 0,
      open: (path: string, mode?: string) => this.open(path, mode),
      console: this.console(),
      ...this.timerFns, // k6 also has the timers as globals
    };
    this.ctx = vm.createContext(sandbox, { name: `VU ${id}` });
    const wrapper = compiled.runInContext(this.ctx) as (module: unknown, exports: unknown, require: unknown) => void;
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

  /** Runs one call of an exported function; resolves when it has settled and its event loop is empty (as k6 does). */
  async iterate(fnName: string, data: unknown): Promise<'ok' | 'error' | 'interrupted'> {
    this.ctx.__ITER = this.iterationInScenario;
    // k6 empties the VU's cookie jar for every iteration unless options.noCookiesReset.
    if (!this.shared.options.noCookiesReset) this.jar = new CookieJar();
    return (await this.invoke(fnName, data)).how;
  }

  /** setup, teardown, handleSummary: the function's value; its exception is thrown. */
  async iterateValue(fnName: string, arg: unknown): Promise<unknown> {
    const r = await this.invoke(fnName, arg, true);
    if (r.how !== 'ok') throw r.error ?? new Error(`${fnName}() was interrupted`);
    return r.value;
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
    this.agents.http?.destroy();
    this.agents.https?.destroy();
  }

  // ---------- init context ----------

  private open(path: string, mode?: string): string | ArrayBuffer {
    if (!this.inInit) throw new Error('open() can only be called in the init context');
    const file = resolve(this.shared.scriptDir, path);
    if (!this.shared.files.has(file)) this.shared.files.set(file, readFileSync(file));
    const buf = this.shared.files.get(file) as Buffer;
    return mode === 'b' ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer : buf.toString('utf8');
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
    this.shared.registry.add({ metric, type, value, tags, time: Date.now() });
  }

  // ---------- modules ----------

  private module(name: string): Record<string, unknown> {
    switch (name) {
      case 'k6': return {
        check: this.check.bind(this), group: this.group.bind(this),
        // https://grafana.com/docs/k6/latest/javascript-api/k6/fail/: throws, ending this iteration only.
        fail: (msg?: string) => { throw new Error(msg ?? 'fail() called'); },
        sleep: unsupportedStub(this.shared, 'sleep() (use setTimeout from k6/timers)'),
      };
      case 'k6/http': return {
        asyncRequest: this.asyncRequest.bind(this),
        // https://grafana.com/docs/k6/latest/javascript-api/k6-http/expected-statuses/ and set-response-callback/
        expectedStatuses: (...sts: (number | { min: number; max: number })[]) => new ExpectedStatuses(sts.map((x) => {
          if (typeof x === 'number' && Number.isInteger(x)) return { min: x, max: x };
          if (x && typeof x === 'object' && Number.isInteger(x.min) && Number.isInteger(x.max)) return { min: x.min, max: x.max };
          throw new Error(`expectedStatuses: ${JSON.stringify(x)} is neither a status nor {min, max}`);
        })),
        // https://grafana.com/docs/k6/latest/javascript-api/k6-http/cookiejar/: the VU's jar.
        cookieJar: () => ({
          cookiesForURL: (url: string) => this.jar.forUrl(new URL(url)),
          set: (url: string, name: string, value: string) => this.jar.store(new URL(url), `${name}=${value}`),
          clear: (url: string) => this.jar.clear(new URL(url).hostname),
        }),
        setResponseCallback: (cb: unknown) => {
          if (cb !== null && !(cb instanceof ExpectedStatuses)) throw new Error('setResponseCallback takes http.expectedStatuses(...) or null, as in k6');
          this.responseCallback = cb;
        },
        request: unsupportedStub(this.shared, 'synchronous http.request (use http.asyncRequest)'), get: unsupportedStub(this.shared, 'synchronous http.get (use http.asyncRequest)'), post: unsupportedStub(this.shared, 'synchronous http.post (use http.asyncRequest)') };
      // k6/websockets is the same API, no longer experimental (k6 v0.54+).
      case 'k6/websockets':
      case 'k6/experimental/websockets': return { WebSocket: this.webSocketClass() };
      case 'k6/timers': return this.timerFns;
      case 'k6/metrics': return this.metricClasses();
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
        if (!this.shared.unsupported) { this.shared.unsupported = 'group() with an async function'; this.shared.onUnsupported?.(this.shared.unsupported); }
        throw new Error('k6-shim does not support group() with an async function (k6 does not either; see its docs)');
      }
      return r;
    } finally {
      this.emit('group_duration', 'trend', now() - t0, this.tagsFor());
      this.groupPath = outer;
    }
  }

  private check(val: unknown, sets: Record<string, unknown>, tags?: Record<string, unknown>): boolean {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = !!(typeof fn === 'function' ? fn(val) : fn);
      all &&= ok;
      this.emit('checks', 'rate', ok ? 1 : 0, this.tagsFor({ ...tags, check: name }));
      const c = this.shared.checks.get(name) ?? { passes: 0, fails: 0 };
      c[ok ? 'passes' : 'fails']++;
      this.shared.checks.set(name, c);
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
        vu.shared.registry.define(name, type, isTime);
        this.name = name;
      }
      add(value: number | boolean, tags?: Record<string, string>): void {
        vu.emit(this.name, type, Number(value), vu.tagsFor(tags));
      }
    };
    return { Counter: make('counter'), Gauge: make('gauge'), Rate: make('rate'), Trend: make('trend') };
  }

  private execution() {
    const vu = this, s = this.shared;
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
      get vusActive() { return s.instance.vusActive; },
      get vusInitialized() { return s.instance.vusInitialized; },
      get iterationsCompleted() { return s.instance.iterationsCompleted; },
      get iterationsInterrupted() { return s.instance.iterationsInterrupted; },
      get currentTestRunDuration() { return s.testStart() ? Date.now() - s.testStart() : 0; },
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
      if (s.aborted === undefined) { s.aborted = why; s.onAbort?.(why); }
      throw new Interrupted(`test aborted: ${why}`); // ends this iteration at once, as in k6
    };
    return { scenario, instance, vu: vuInfo, test: { options: s.options, abort, fail: unsupportedStub(this.shared, 'exec.test.fail()') } };
  }

  // ---------- network ----------

  private lookup(host: string): LookupFunction | undefined {
    const to = this.shared.hosts[host];
    if (!to) return undefined;
    const family = to.includes(':') ? 6 : 4;
    return ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      opts?.all ? cb(null, [{ address: to, family }]) : cb(null, to, family)) as unknown as LookupFunction;
  }
  private tlsOptions(host: string) {
    return { servername: host, ca: this.shared.ca, rejectUnauthorized: !this.shared.insecureSkipTLSVerify };
  }

  /** https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#max-redirects: k6 follows up to
   *  options.maxRedirects (default 10; per request `redirects`) as Go does: 301/302/303 turn into a
   *  GET without body, 307/308 repeat the request. Each hop is a request of its own in the metrics. */
  private async asyncRequest(method: string, url: string, body?: unknown, params?: RequestParams | null): Promise<unknown> {
    const max = params?.redirects ?? (this.shared.options.maxRedirects as number | undefined) ?? 10;
    let res = await this.requestOnce(method, url, body, params) as { status: number; headers: Record<string, string>; url: string };
    for (let hops = 0; hops < max && [301, 302, 303, 307, 308].includes(res.status) && res.headers.Location; hops++) {
      const next = new URL(res.headers.Location, res.url).href;
      if ([301, 302, 303].includes(res.status) && method.toUpperCase() !== 'HEAD') { method = 'GET'; body = undefined; }
      res = await this.requestOnce(method, next, body, params) as typeof res;
    }
    return res;
  }

  private requestOnce(method: string, url: string, body?: unknown, params?: RequestParams | null): Promise<unknown> {
    const p = params ?? {};
    const u = new URL(String(url));
    const tls = u.protocol === 'https:';
    const payload = body == null ? undefined : typeof body === 'string' ? Buffer.from(body)
      : body instanceof ArrayBuffer ? Buffer.from(body) : Buffer.from(new URLSearchParams(body as Record<string, string>).toString());
    const headers: Record<string, string> = { 'User-Agent': 'comfy-verify-k6-shim/1', ...p.headers };
    // The VU's cookie jar, as k6 keeps one per VU; a Cookie header given by the script wins.
    const jarCookies = this.jar.header(u);
    if (jarCookies && !Object.keys(headers).some((k) => k.toLowerCase() === 'cookie')) headers.Cookie = jarCookies;
    if (payload) headers['Content-Length'] = String(payload.length);
    if (payload && typeof body === 'object' && !(body instanceof ArrayBuffer)) headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    const timeoutMs = parseDuration(p.timeout, 60_000);
    const tags = this.tagsFor({ method: method.toUpperCase(), url: u.href, name: u.href, ...p.tags });
    let agent = tls ? this.agents.https : this.agents.http;
    if (!agent) agent = tls ? (this.agents.https = new https.Agent({ keepAlive: true })) : (this.agents.http = new http.Agent({ keepAlive: true }));

    return new Promise((resolveResponse) => {
      let req: http.ClientRequest;
      const h = this.hold(() => req?.destroy());
      const t0 = now();
      let ready = t0, sent = 0, headersAt = 0, connecting = 0, handshaking = 0;
      const finish = (status: number, resHeaders: Record<string, string>, buf: Buffer | null, error = '', errorCode = 0) => {
        if (!h.live()) return; // an interrupted iteration's request: nobody waits for it
        h.release();
        clearTimeout(timer);
        const end = now(), start = Math.max(sent, ready);
        const timings = {
          blocked: Math.max(0, ready - t0 - connecting - handshaking), connecting, tls_handshaking: handshaking,
          sending: Math.max(0, start - ready), waiting: headersAt ? headersAt - start : 0, receiving: headersAt ? end - headersAt : 0, duration: 0,
        };
        timings.duration = timings.sending + timings.waiting + timings.receiving;
        const cb = p.responseCallback !== undefined ? p.responseCallback : this.responseCallback;
        const expected = !!cb && cb.has(status);
        const t = { ...tags, status: String(status), ...(cb ? { expected_response: String(expected) } : {}), ...(errorCode ? { error_code: String(errorCode) } : {}) };
        this.emit('http_reqs', 'counter', 1, t);
        if (!error) for (const [m, v] of [['http_req_duration', timings.duration], ['http_req_waiting', timings.waiting], ['http_req_connecting', connecting], ['http_req_tls_handshaking', handshaking]] as const) this.emit(m, 'trend', v, t);
        if (cb) this.emit('http_req_failed', 'rate', expected ? 0 : 1, t); // k6: none with setResponseCallback(null)
        this.emit('data_sent', 'counter', payload?.length ?? 0, t);
        this.emit('data_received', 'counter', buf?.length ?? 0, t);
        const text = buf && p.responseType !== 'binary' ? buf.toString('utf8') : null;
        resolveResponse({
          status, status_text: status ? `${status} ${http.STATUS_CODES[status] ?? ''}`.trim() : '', headers: resHeaders, timings, url: u.href, error, error_code: errorCode,
          proto: 'HTTP/1.1', remote_ip: req?.socket?.remoteAddress ?? '', remote_port: req?.socket?.remotePort ?? 0,
          request: { method: method.toUpperCase(), url: u.href, headers, body: '' },
          body: p.responseType === 'none' ? null : p.responseType === 'binary' && buf ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : text,
          json: (selector?: string) => { if (selector) throw new Error('k6-shim: json(selector) is not supported'); return JSON.parse(text ?? ''); },
        });
      };
      const timer = setTimeout(() => { req.destroy(new Error(`request timeout after ${timeoutMs} ms`)); }, timeoutMs);
      req = (tls ? https : http).request(u, { method: method.toUpperCase(), headers, agent, lookup: this.lookup(u.hostname), ...(tls ? this.tlsOptions(u.hostname) : {}) });
      req.once('socket', (sock) => {
        if (!sock.connecting) return void (ready = now()); // a kept-alive connection
        const at = now();
        sock.once('connect', () => { connecting = now() - at; if (!tls) ready = now(); });
        if (tls) sock.once('secureConnect', () => { handshaking = now() - at - connecting; ready = now(); });
      });
      req.once('finish', () => (sent = now()));
      req.once('response', (res) => {
        headersAt = now();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => { if (p.responseType !== 'none') chunks.push(c); });
        res.once('end', () => {
          const hs: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) hs[canonical(k)] = Array.isArray(v) ? v.join(', ') : String(v);
          for (const c of res.headers['set-cookie'] ?? []) this.jar.store(u, c);
          const st = res.statusCode ?? 0;
          // k6: a 4xx/5xx answer carries error_code 1000 + status (1404, 1500), its duration still counted.
          finish(st, hs, Buffer.concat(chunks), '', st >= 400 && st < 600 ? 1000 + st : 0);
        });
        res.once('error', (e) => finish(0, {}, null, e.message, networkErrorCode(e)));
      });
      req.once('error', (e) => finish(0, {}, null, e.message, networkErrorCode(e)));
      req.end(payload);
    });
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
          headers: params?.headers, handshakeTimeout: 60_000, lookup: vu.lookup(u.hostname),
          ...(u.protocol === 'wss:' ? vu.tlsOptions(u.hostname) : {}),
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
          const payload = isBinary ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.toString('utf8');
          this.dispatch('message', { type: 'message', data: payload, timestamp: Date.now() });
        });
        this.sock.on('ping', () => h.live() && this.dispatch('ping', { type: 'ping' }));
        this.sock.on('pong', () => h.live() && this.dispatch('pong', { type: 'pong' }));
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
      ping(): void { this.sock.ping(); }
      addEventListener(event: string, fn: Listener): void { this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]); }
      private dispatch(event: string, e: unknown): void {
        vu.call((this as unknown as Record<string, unknown>)[`on${event}`], e);
        for (const fn of this.listeners.get(event) ?? []) vu.call(fn, e);
      }
    };
  }
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
